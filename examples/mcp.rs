//! An ops agent whose tools come from an MCP server, every call decided before it runs.
//!
//! ```sh
//! cargo run --example mcp -- [--json] [--prompt TEXT] [--system NAME] [--environment ENV] -- COMMAND [ARGS...]
//! # for example, with the testkit's ops server:
//! cargo build -p bighub-testkit --bin bighub-mcp-ops
//! cargo run --example mcp -- --environment production -- target/debug/bighub-mcp-ops
//! ```
//!
//! COMMAND is started as a stdio MCP server; its tools are listed, guarded and offered to
//! the model. Settings come from the environment as in the quickstart (`OPENAI_API_KEY`,
//! `OPENAI_BASE_URL`, `OPENAI_MODEL`, `BIGHUB_API_KEY`, `BIGHUB_BASE_URL`, `BIGHUB_POLICY`,
//! `BIGHUB_DB`). Without OpenAI credentials it lists the guarded tools and shows the
//! decision for one sample call of the first of them, without a model. `--json` prints
//! one JSON document instead.

use bighub::BighubOpenAI;
use bighub::mcp::{McpServer, McpToolInfo};
use serde_json::{Map, Value, json};

const DEFAULT_PROMPT: &str = "Check the health of the payments namespace and fix what is broken.";

struct Options {
    json: bool,
    prompt: String,
    system: Option<String>,
    environment: Option<String>,
    command: String,
    args: Vec<String>,
}

const USAGE: &str =
    "usage: mcp [--json] [--prompt TEXT] [--system NAME] [--environment ENV] -- COMMAND [ARGS...]";

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        json: false,
        prompt: DEFAULT_PROMPT.to_owned(),
        system: None,
        environment: None,
        command: String::new(),
        args: Vec::new(),
    };
    let value = |args: &mut dyn Iterator<Item = String>, flag: &str| {
        args.next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => options.json = true,
            "--prompt" => options.prompt = value(&mut args, "--prompt")?,
            "--system" => options.system = Some(value(&mut args, "--system")?),
            "--environment" => options.environment = Some(value(&mut args, "--environment")?),
            "--" => break,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }
    options.command = args
        .next()
        .ok_or_else(|| format!("no MCP server command given\n{USAGE}"))?;
    options.args = args.collect();
    Ok(options)
}

#[tokio::main]
async fn main() {
    // `RUST_LOG=bighub_openai=debug` shows the SDK's spans and events on stderr;
    // `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318` also exports the spans as traces
    // (flushed when `telemetry` is dropped).
    let telemetry = match bighub_telemetry::init_with_filter(log_filter(), "bighub-example-mcp") {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    };
    let options = match options() {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if let Err(error) = run(options).await {
        // The error may quote what the server said.
        eprintln!("error: {}", printable(&error.to_string()));
        drop(telemetry);
        std::process::exit(1);
    }
}

async fn run(options: Options) -> Result<(), bighub::Error> {
    let mut server = McpServer::stdio(&options.command, options.args.clone());
    if let Some(system) = &options.system {
        server = server.system(system);
    }
    if let Some(environment) = &options.environment {
        server = server.environment(environment);
    }
    let mcp = server.connect().await?;
    let tools = mcp.tools();
    let server_name = mcp.server_name().to_owned();
    // The agent keeps the session and ends it on close.
    let agent = BighubOpenAI::from_env()
        .actor("ops-agent")
        .domain("it_actions")
        .mcp_server(mcp)
        .build()?;

    let has_openai = ["OPENAI_API_KEY", "OPENAI_BASE_URL"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()));
    if !has_openai {
        eprintln!(
            "OPENAI_API_KEY is not set (nor OPENAI_BASE_URL), so no model runs. The guarded \
             tools of `{}` and the decision for one sample call:\n",
            printable(&server_name)
        );
        if !options.json {
            for tool in &tools {
                print_tool(tool);
            }
        }
        let sample = tools.first().map(|t| (t.name.clone(), sample_arguments(t)));
        // A sample the tool refuses is reported, not fatal: the listing above stands.
        let check = match &sample {
            Some((name, args)) => Some(
                agent
                    .check_tool(name, args.clone())
                    .await
                    .map_err(|e| e.to_string()),
            ),
            None => None,
        };
        if options.json {
            let doc = json!({
                "server": server_name,
                "tools": tools.iter().map(tool_json).collect::<Vec<_>>(),
                "sample_call": sample.as_ref().map(|(name, args)| json!({"tool": name, "arguments": args})),
                "check": check.as_ref().and_then(|c| c.as_ref().ok()),
                "check_error": check.as_ref().and_then(|c| c.as_ref().err()),
            });
            println!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
        } else if let (Some((name, args)), Some(check)) = (&sample, &check) {
            println!("\nsample call: {}({args})", printable(name));
            match check {
                Ok(check) => {
                    println!("verdict:     {}", check.verdict);
                    println!(
                        "reason:      {}",
                        printable(check.decision.reason.as_deref().unwrap_or("-"))
                    );
                }
                Err(error) => println!("refused:     {}", printable(error)),
            }
        }
        agent.close().await?;
        return Ok(());
    }

    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-5.5".to_owned());
    let result = agent.run(options.prompt.as_str(), &model).await?;
    if options.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).expect("a result serializes")
        );
    } else {
        for event in &result.execution.events {
            let reason = event
                .decision
                .as_ref()
                .and_then(|d| d.reason.as_deref())
                .unwrap_or("-");
            println!(
                "{:<24} {:<18} {}",
                printable(&event.tool),
                event.status.to_string(),
                printable(reason)
            );
        }
        for pending in result.pending_approvals() {
            println!(
                "paused: `{}` waits for approval of request {} (see examples/approvals.rs)",
                printable(&pending.tool),
                pending.request_id
            );
        }
        if !result.is_paused() {
            println!("\nmodel: {}", printable(result.output_text()));
        }
    }
    agent.close().await?;
    Ok(())
}

/// What the server wrote, safe for a terminal: control characters (escape sequences,
/// newlines, bidi overrides) shown escaped, so a server cannot rewrite what is printed.
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let unsafe_char = c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c);
            let shown: Vec<char> = if unsafe_char {
                c.escape_unicode().collect()
            } else {
                vec![c]
            };
            shown
        })
        .collect()
}

fn tool_json(tool: &McpToolInfo) -> Value {
    json!({
        "name": tool.name,
        "server_name": tool.server_name,
        "description": tool.description,
        "risk": tool.metadata.risk.as_str(),
        "system": tool.metadata.system,
        "environment": tool.metadata.environment,
        "read_only": tool.hints.read_only,
        "destructive": tool.hints.destructive,
        "strict": tool.strict,
        "note": tool.note,
    })
}

fn print_tool(tool: &McpToolInfo) {
    let kind = if tool.hints.read_only {
        "read-only"
    } else if tool.hints.destructive {
        "destructive"
    } else {
        "change"
    };
    println!(
        "{:<24} risk {:<8} {:<12} {}{}",
        printable(&tool.name),
        tool.metadata.risk.as_str(),
        kind,
        printable(tool.description.lines().next().unwrap_or("")),
        tool.note
            .as_deref()
            .map(|n| format!(" [{}]", printable(n)))
            .unwrap_or_default()
    );
}

/// Arguments for a sample call: each required property with a placeholder of its type,
/// and, for a tool offered in strict mode (where the model sends every property), each
/// optional one as `null`.
fn sample_arguments(tool: &McpToolInfo) -> Value {
    let schema = &tool.input_schema;
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut args = Map::new();
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let placeholder = if !required.contains(&name.as_str()) {
            if !tool.strict {
                continue;
            }
            Value::Null
        } else {
            match property["type"].as_str() {
                Some("integer") | Some("number") => json!(1),
                Some("boolean") => json!(false),
                Some("array") => json!([]),
                Some("object") => json!({}),
                _ => json!(format!("example-{name}")),
            }
        };
        args.insert(name.clone(), placeholder);
    }
    Value::Object(args)
}

/// `RUST_LOG`'s filter, with rmcp's own events off unless `RUST_LOG` names `rmcp`: they
/// quote what an MCP server sent (request ids, error messages) unescaped, so a server
/// could forge log lines. Everything bighub logs about MCP servers is escaped.
fn log_filter() -> tracing_subscriber::EnvFilter {
    let filter = tracing_subscriber::EnvFilter::from_default_env();
    if std::env::var("RUST_LOG").is_ok_and(|v| v.contains("rmcp")) {
        filter
    } else {
        filter.add_directive("rmcp=off".parse().expect("a valid directive"))
    }
}
