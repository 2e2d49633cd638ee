//! A streamed run: the model's text as it arrives, and each decision as soon as it lands
//! (decisions are requested while the model is still writing).
//!
//! ```sh
//! cargo run --example streaming            # human-readable, as it happens
//! cargo run --example streaming -- --json  # every event, then one JSON document
//! ```
//!
//! Settings come from the environment: `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_MODEL`
//! (default `gpt-5.5`), `BIGHUB_API_KEY`, `BIGHUB_BASE_URL`, `BIGHUB_POLICY`, `BIGHUB_DB`.

use std::io::Write;

use bighub::{BighubOpenAI, StreamEvent};
use futures::StreamExt;
use serde_json::{Value, json};

/// Sync an Argo CD application to its target revision.
#[bighub::action(
    system = "argocd",
    risk = "high",
    environment = "production",
    target = "app"
)]
fn sync_application(
    /// The Argo CD application, e.g. checkout-service
    app: String,
) -> Value {
    json!({"synced": app, "revision": "HEAD"})
}

const PROMPT: &str = "Sync checkout-service in Argo CD production";

#[tokio::main]
async fn main() {
    // `RUST_LOG=bighub_openai=debug` shows the SDK's spans and events on stderr;
    // `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318` also exports the spans as traces
    // (flushed when `telemetry` is dropped).
    let telemetry =
        match bighub_telemetry::init_with_filter(log_filter(), "bighub-example-streaming") {
            Ok(telemetry) => telemetry,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::exit(2);
            }
        };
    let json_output = std::env::args().any(|a| a == "--json");
    if let Err(error) = run(json_output).await {
        eprintln!("error: {error}");
        drop(telemetry);
        std::process::exit(1);
    }
}

fn has_openai_credentials() -> bool {
    ["OPENAI_API_KEY", "OPENAI_BASE_URL"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()))
}

async fn run(json_output: bool) -> Result<(), bighub::Error> {
    if !has_openai_credentials() {
        let missing = "OPENAI_API_KEY is not set (nor OPENAI_BASE_URL for an OpenAI-compatible server): streaming needs a model";
        if json_output {
            println!(
                "{}",
                json!({"error": "missing_credentials", "missing": ["OPENAI_API_KEY"], "message": missing})
            );
        } else {
            eprintln!(
                "{missing}.\nSet OPENAI_API_KEY (and optionally OPENAI_MODEL), then run this example again."
            );
        }
        std::process::exit(2);
    }
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-5.5".to_owned());
    let agent = BighubOpenAI::from_env()
        .actor("ops-agent")
        .action(SyncApplication)
        .build()?;

    let mut events = agent.run_stream(PROMPT, &model);
    let mut seen = Vec::new();
    while let Some(event) = events.next().await {
        let event = event?;
        if json_output {
            // Kept for the one document printed at the end.
            seen.push(event);
            continue;
        }
        match &event {
            StreamEvent::LlmDelta { delta, .. } => {
                print!("{delta}");
                let _ = std::io::stdout().flush();
            }
            StreamEvent::FunctionCallArgsDone {
                name, arguments, ..
            } => println!("\n[model calls {name}({arguments}); deciding now]"),
            StreamEvent::Decision {
                tool,
                verdict,
                decision,
                ..
            } => println!(
                "[decision for {tool}: {verdict} — {}]",
                decision.reason.as_deref().unwrap_or("no reason given")
            ),
            StreamEvent::ExecutionEvent { event } => {
                println!("[{} {}]", event.tool, event.status)
            }
            StreamEvent::FinalResponse { response } => {
                println!();
                if let Some(state) = &response.paused {
                    println!(
                        "paused: {} call(s) wait for approval (see the approvals example)",
                        state.pending_approvals().len()
                    );
                }
            }
            _ => {}
        }
    }
    if json_output {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"events": seen})).expect("events serialize")
        );
    }
    agent.close().await?;
    Ok(())
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
