//! Human-in-the-loop approvals: the decision is shown (reason, risk, better action,
//! factors) and a person answers on the terminal; an approved call runs inside the same run
//! and the model sees its output, a rejected one is reported to the model with the comment.
//!
//! ```sh
//! cargo run --example approvals                 # asks on the terminal
//! cargo run --example approvals -- --approve    # answers yes without a terminal
//! cargo run --example approvals -- --reject     # answers no without a terminal
//! cargo run --example approvals -- --approve --json  # the result as one JSON document
//! ```
//!
//! Settings come from the environment: `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_MODEL`
//! (default `gpt-5.5`), `BIGHUB_API_KEY`, `BIGHUB_BASE_URL`, `BIGHUB_POLICY`, `BIGHUB_DB`.
//! Without OpenAI credentials it says what is missing and shows the decision that would be
//! put to a person, without a model.

use std::io::{BufRead, Write};

use bighub::{ApprovalAnswer, BighubOpenAI, Decision, ToolError, run::ApprovalRequest};
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

const PROMPT: &str = "Grant temporary Okta admin access to alice for 48h";

#[derive(Clone, Copy, PartialEq)]
enum Answer {
    Ask,
    Approve,
    Reject,
}

#[tokio::main]
async fn main() {
    // `RUST_LOG=bighub_openai=debug` shows the SDK's spans and events on stderr;
    // `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318` also exports the spans as traces
    // (flushed when `telemetry` is dropped).
    let telemetry =
        match bighub_telemetry::init_with_filter(log_filter(), "bighub-example-approvals") {
            Ok(telemetry) => telemetry,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::exit(2);
            }
        };
    let args: Vec<String> = std::env::args().collect();
    let json_output = args.iter().any(|a| a == "--json");
    let answer = if args.iter().any(|a| a == "--approve") {
        Answer::Approve
    } else if args.iter().any(|a| a == "--reject") {
        Answer::Reject
    } else {
        Answer::Ask
    };
    if let Err(error) = run(json_output, answer).await {
        eprintln!("error: {error}");
        drop(telemetry);
        std::process::exit(1);
    }
}

async fn run(json_output: bool, answer: Answer) -> Result<(), bighub::Error> {
    let agent = BighubOpenAI::from_env()
        .actor("ops-agent")
        .action(GrantAccess)
        .build()?;
    let has_openai = ["OPENAI_API_KEY", "OPENAI_BASE_URL"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()));
    if !has_openai {
        eprintln!(
            "OPENAI_API_KEY is not set (nor OPENAI_BASE_URL for an OpenAI-compatible server), so no model runs.\n\
             This is the decision a person would be asked about for grant_access(\"alice\", \"okta-admins\", \"48h\"):\n"
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
            println!("verdict: {}", check.verdict);
            show(&check.decision);
        }
        agent.close().await?;
        return Ok(());
    }

    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-5.5".to_owned());
    let result = agent
        .run_with_approval(PROMPT, &model, move |request| async move {
            // The terminal is blocking I/O: keep it off the runtime's threads.
            tokio::task::spawn_blocking(move || decide(&request, answer, json_output))
                .await
                .ok()
                .flatten()
        })
        .await?;

    if json_output {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).expect("a result serializes")
        );
    } else {
        if let Some(approval) = &result.approval_loop {
            println!(
                "\napproval: resolved={} resumed={} output={}",
                approval.resolved,
                approval.resumed,
                approval
                    .tool_output
                    .as_ref()
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| "-".into())
            );
            if let Some(record) = &approval.approval {
                println!(
                    "record: {} {:?} by {} at {}; used={}",
                    record.request_id,
                    record.resolution,
                    record.resolved_by.as_deref().unwrap_or("-"),
                    record.resolved_at,
                    record.used
                );
            }
        }
        if result.is_paused() {
            println!("the run is paused: no answer was given");
        }
        println!("model: {}", result.output_text());
    }
    agent.close().await?;
    Ok(())
}

/// Shows the request (on stderr when stdout carries JSON) and gets the answer.
fn decide(request: &ApprovalRequest, answer: Answer, json_output: bool) -> Option<ApprovalAnswer> {
    let say = |line: String| {
        if json_output {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    say(format!(
        "\n{} wants to run with {} (request {})",
        request.tool, request.arguments, request.request_id
    ));
    if !json_output {
        show(&request.decision);
    }
    match answer {
        Answer::Approve => return Some(ApprovalAnswer::approved("approved with --approve")),
        Answer::Reject => return Some(ApprovalAnswer::rejected("rejected with --reject")),
        Answer::Ask => {}
    }
    eprint!("approve? [y/N/s(kip: leave pending)] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).ok()? == 0 {
        eprintln!("no terminal input: leaving the approval pending (use --approve or --reject)");
        return None;
    }
    match line.trim() {
        "y" | "Y" | "yes" => Some(ApprovalAnswer::approved("approved on the terminal")),
        "s" | "S" | "skip" => None,
        _ => Some(ApprovalAnswer::rejected("rejected on the terminal")),
    }
}

fn show(decision: &Decision) {
    println!(
        "  mode:   {}",
        decision
            .mode
            .map(|m| m.to_string())
            .unwrap_or_else(|| "-".into())
    );
    println!(
        "  risk:   {}",
        decision
            .risk
            .map(|r| format!("{r:.2}"))
            .unwrap_or_else(|| "-".into())
    );
    println!("  reason: {}", decision.reason.as_deref().unwrap_or("-"));
    println!(
        "  better: {}",
        decision.better_action.as_deref().unwrap_or("-")
    );
    println!("  factors:");
    for factor in &decision.salient_factors {
        println!(
            "    - {} [{}] {}",
            factor.factor.as_deref().unwrap_or("?"),
            factor.severity.as_deref().unwrap_or("-"),
            factor.reason.as_deref().unwrap_or("")
        );
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
