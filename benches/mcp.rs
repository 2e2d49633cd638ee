//! Benchmark: what guarding adds to a call of an MCP tool.
//!
//! Against the testkit's `rmcp` ops server over stdio (one process, one session), the
//! median of many calls of its read-only `pod_logs` tool:
//! 1. a bare `tools/call` (the tool called directly, no decision);
//! 2. the same call guarded: decided and recorded by the embedded engine (in memory, the
//!    default policy), then forwarded, as the agent does for each call the model makes;
//! 3. the decision alone, for comparison.
//!
//! `cargo bench --bench mcp` (builds the ops server in release first).

use std::time::{Duration, Instant};

use bighub::mcp::McpServer;
use bighub::tool::ToolContext;
use bighub::{BighubOpenAI, Verdict, local::LocalEngine};
use serde_json::json;

const CALLS: usize = 500;
const WARMUP: usize = 50;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ops_server() -> std::path::PathBuf {
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "bighub-testkit",
            "--bin",
            "bighub-mcp-ops",
        ])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the ops MCP server failed");
    let exe = std::env::current_exe().expect("bench executable");
    exe.parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("bighub-mcp-ops")
}

#[tokio::main]
async fn main() {
    // The testkit's server is ours: its read-only pod_logs is taken at its word.
    let ops = McpServer::stdio(ops_server().to_string_lossy(), Vec::<String>::new())
        .environment("production")
        .trust_annotations()
        .connect()
        .await
        .expect("the ops server connects");
    let tools = ops.registry().expect("tools register");
    let tool = tools.get("pod_logs").expect("pod_logs");
    let agent = BighubOpenAI::builder()
        .openai_api_key("sk-unused")
        .engine(LocalEngine::builder().in_memory().build().unwrap())
        .mcp_server(ops)
        .build()
        .expect("agent builds");
    let args = json!({"pod": "api-1", "namespace": "payments"});

    let mut bare = Vec::with_capacity(CALLS);
    let mut guarded = Vec::with_capacity(CALLS);
    let mut decision = Vec::with_capacity(CALLS);
    for i in 0..WARMUP + CALLS {
        // Interleaved, so that the machine's noise falls on all three alike.
        let t = Instant::now();
        tool.call(args.clone(), ToolContext::default())
            .await
            .expect("bare call");
        let b = t.elapsed();

        let t = Instant::now();
        let check = agent
            .decide_tool("pod_logs", args.clone())
            .await
            .expect("decided");
        assert_eq!(check.verdict, Verdict::Execute);
        tool.call(args.clone(), ToolContext::default())
            .await
            .expect("guarded call");
        let g = t.elapsed();

        let t = Instant::now();
        agent
            .decide_tool("pod_logs", args.clone())
            .await
            .expect("decided");
        let d = t.elapsed();
        if i >= WARMUP {
            bare.push(b);
            guarded.push(g);
            decision.push(d);
        }
    }
    let (b, g, d) = (median(bare), median(guarded), median(decision));
    println!("MCP pod_logs over stdio, median of {CALLS} calls each:");
    println!(
        "  bare tools/call                 {:>9.1} µs",
        b.as_secs_f64() * 1e6
    );
    println!(
        "  guarded (decide + tools/call)   {:>9.1} µs   ({:.2}x bare, +{:.1} µs)",
        g.as_secs_f64() * 1e6,
        g.as_secs_f64() / b.as_secs_f64(),
        (g.as_secs_f64() - b.as_secs_f64()) * 1e6
    );
    println!(
        "  decision alone                  {:>9.1} µs",
        d.as_secs_f64() * 1e6
    );
    agent.close().await.expect("closes");
}
