//! The quickstart: an ops agent that may grant temporary Okta access, guarded.
//!
//! ```sh
//! cargo run --example quickstart            # human-readable
//! cargo run --example quickstart -- --json  # the whole result as one JSON document
//! ```
//!
//! Settings come from the environment: `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_MODEL`
//! (default `gpt-5.5`), `BIGHUB_API_KEY`, `BIGHUB_BASE_URL`, `BIGHUB_POLICY`, `BIGHUB_DB`.
//! Without OpenAI credentials it says what is missing and shows the decision the guard
//! makes for the example call, without a model.

use bighub::{BighubOpenAI, Decision, ExecutionEvent, ToolError};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Serialize)]
struct Grant {
    ok: bool,
    user_id: String,
    group: String,
    duration: String,
}

/// Grant a user temporary membership in an Okta group.
#[bighub::action(
    system = "okta",
    risk = "high",
    environment = "production",
    target = "group"
)]
async fn grant_access(
    /// Okta user login, e.g. alice@example.com
    user_id: String,
    /// The Okta group, e.g. okta-admins
    group: String,
    /// How long the membership lasts, e.g. "2h"
    duration: String,
) -> Result<Grant, ToolError> {
    Ok(Grant {
        ok: true,
        user_id,
        group,
        duration,
    })
}

const PROMPT: &str = "Grant Alice temporary Okta admin access for 48h";

#[tokio::main]
async fn main() {
    // `RUST_LOG=bighub_openai=debug` shows the SDK's spans and events on stderr;
    // `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318` also exports the spans as traces
    // (flushed when `telemetry` is dropped).
    let telemetry =
        match bighub_telemetry::init_with_filter(log_filter(), "bighub-example-quickstart") {
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

async fn run(json_output: bool) -> Result<(), bighub::Error> {
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-5.5".to_owned());
    let mut builder = BighubOpenAI::from_env()
        .actor("ops-agent")
        .domain("it_actions")
        .action(GrantAccess);
    // With no BIGHUB key the embedded engine decides; say where it keeps its store.
    let mut local_store = None;
    if !std::env::var("BIGHUB_API_KEY").is_ok_and(|k| !k.trim().is_empty())
        && !std::env::var("BIGHUB_BASE_URL").is_ok_and(|u| !u.trim().is_empty())
    {
        let engine = bighub::local::LocalEngine::from_env()?;
        local_store = Some(engine.store_name().to_owned());
        builder = builder.engine(engine);
    }
    let agent = builder.build()?;

    let has_openai = ["OPENAI_API_KEY", "OPENAI_BASE_URL"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()));
    if !has_openai {
        eprintln!(
            "OPENAI_API_KEY is not set (nor OPENAI_BASE_URL for an OpenAI-compatible server), so no model runs.\n\
             Here is the decision the guard makes for the example call \
             grant_access(\"alice\", \"okta-admins\", \"48h\"):\n"
        );
        let check = agent
            .check_tool(
                "grant_access",
                json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}),
            )
            .await?;
        if json_output {
            println!(
                "{}",
                serde_json::to_string_pretty(&check).expect("a check serializes")
            );
        } else {
            println!("verdict:  {}", check.verdict);
            print_decision(&check.decision);
            next_steps(local_store.as_deref());
        }
        agent.close().await?;
        return Ok(());
    }

    let result = agent.run(PROMPT, &model).await?;
    if json_output {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).expect("a result serializes")
        );
    } else {
        match result.last() {
            Some(last) => print_event(last),
            None => println!("the model called no tool"),
        }
        if result.is_paused() {
            for pending in result.pending_approvals() {
                println!(
                    "\npaused: `{}` waits for approval of request {}; see examples/approvals.rs to \
                     approve it and resume the conversation",
                    pending.tool, pending.request_id
                );
            }
        } else {
            println!("\nmodel: {}", result.output_text());
        }
    }
    agent.close().await?;
    Ok(())
}

/// What to try next, on standard error.
fn next_steps(local_store: Option<&str>) {
    match local_store {
        Some(store) => eprintln!(
            "\nDecided by the embedded engine (no BIGHUB_API_KEY), with the default policy; its \
             store is {store} (this preview recorded nothing in it)."
        ),
        None => {
            eprintln!("\nDecided by the BIGHUB service at BIGHUB_BASE_URL (or the hosted one).")
        }
    }
    eprintln!(
        "Next:\n  \
         - let a model call the tool: set OPENAI_API_KEY, or OPENAI_BASE_URL for the fake \
         Responses server (README, \"Try a client without OpenAI\");\n  \
         - see what was decided: cargo run -p bighub-cli -- decisions; answer reviews: \
         cargo run -p bighub-cli -- approvals list;\n  \
         - write your own rules: BIGHUB_POLICY=my-policies/ (README, \"A policy of your own, tested\");\n  \
         - share decisions and approvals: run bighub serve and set BIGHUB_BASE_URL and \
         BIGHUB_API_KEY (README, \"Run your own decision server\")."
    );
}

fn print_event(event: &ExecutionEvent) {
    println!("status:   {}", event.status);
    match &event.decision {
        Some(decision) => print_decision(decision),
        None => println!("error:    {}", event.error.as_deref().unwrap_or("-")),
    }
}

/// `grant_access (duration <= 2h)`: the action and what limits or explains it.
fn describe_option(item: &serde_json::Map<String, serde_json::Value>) -> String {
    let action = item.get("action").and_then(|a| a.as_str()).unwrap_or("?");
    let detail = match (item.get("constraints"), item.get("reason")) {
        (Some(serde_json::Value::Array(c)), _) => c
            .iter()
            .filter_map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        (_, Some(serde_json::Value::String(reason))) => reason.clone(),
        _ => String::new(),
    };
    if detail.is_empty() {
        action.to_owned()
    } else {
        format!("{action} ({detail})")
    }
}

fn print_decision(decision: &Decision) {
    println!(
        "mode:     {}",
        decision
            .mode
            .map(|m| m.to_string())
            .unwrap_or_else(|| "-".into())
    );
    println!(
        "risk:     {}",
        decision
            .risk
            .map(|r| format!("{r:.2}"))
            .unwrap_or_else(|| "-".into())
    );
    println!("reason:   {}", decision.reason.as_deref().unwrap_or("-"));
    if let Some(better) = &decision.better_action {
        println!("better:   {better}");
    }
    println!("factors:");
    for factor in &decision.salient_factors {
        println!(
            "  - {} [{}] {}",
            factor.factor.as_deref().unwrap_or("?"),
            factor.severity.as_deref().unwrap_or("-"),
            factor.reason.as_deref().unwrap_or("")
        );
    }
    let space = &decision.responsible_action_space;
    println!("action space:");
    for (group, items) in [
        ("available", &space.available),
        ("constrained", &space.constrained),
        ("forbidden", &space.forbidden),
        ("information_gathering", &space.information_gathering),
    ] {
        let names: Vec<String> = items.iter().map(describe_option).collect();
        println!(
            "  {group}: {}",
            if names.is_empty() {
                "-".to_owned()
            } else {
                names.join("; ")
            }
        );
    }
    if let Some(precedents) = decision.decision_brain().and_then(|b| b.get("precedents")) {
        println!("precedents seen: {precedents}");
    }
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
