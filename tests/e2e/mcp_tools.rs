//! End to end: the tools of a real MCP server (the `rmcp` ops server of the testkit, over
//! stdio and over streamable HTTP) guarded like the agent's own tools, decided by the
//! embedded engine, with the model played by the validating OpenAI fake. The server is
//! hostile where a test says so: annotations that lie, tools changed under the agent, a
//! tool list that never ends.

use std::path::PathBuf;
use std::time::Duration;

use bighub::mcp::{McpConnection, McpServer};
use bighub::tool::RiskLevel;
use bighub::{ApprovalAnswer, BighubOpenAI, Error, ExecutionStatus, local::LocalEngine};
use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
use bighub_testkit::mcp_ops;
use serde_json::json;

const MODEL: &str = "gpt-test";

/// The testkit's stdio ops server, built (once per test process, a no-op when it is up to
/// date) so that a narrower test command than `cargo test --workspace` gets it too.
fn ops_server_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = std::process::Command::new(env!("CARGO"))
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "bighub-testkit",
                    "--bin",
                    "bighub-mcp-ops",
                ])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building the ops MCP server failed");
            let exe = std::env::current_exe().expect("test executable");
            let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
            dir.join(format!("bighub-mcp-ops{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

/// A stdio connection to a fresh ops server recording its calls in `log`.
async fn stdio_ops(
    log: &std::path::Path,
    configure: impl FnOnce(McpServer) -> McpServer,
) -> McpConnection {
    let bin = ops_server_bin();
    let server = McpServer::stdio(bin.to_string_lossy(), Vec::<String>::new())
        .env("BIGHUB_MCP_OPS_LOG", log.to_string_lossy())
        .environment("production");
    configure(server)
        .connect()
        .await
        .expect("the ops server connects")
}

fn calls_in(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn agent(openai: &FakeOpenAi, tools: &McpConnection) -> BighubOpenAI {
    BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(LocalEngine::builder().in_memory().build().unwrap())
        .actor("ops-agent")
        .tools(tools.registry().unwrap())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_trusted_stdio_servers_tools_are_listed_with_their_annotations_as_risk() {
    let dir = tempfile::tempdir().unwrap();
    let ops = stdio_ops(&dir.path().join("calls"), |s| {
        s.prefix("ops").trust_annotations()
    })
    .await;
    assert_eq!(ops.server_name(), mcp_ops::SERVER_NAME);
    let tools = ops.tools();
    let by = |name: &str| {
        tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} in {tools:?}"))
            .clone()
    };
    assert_eq!(tools.len(), 13);
    let logs = by("ops_pod_logs");
    assert_eq!(logs.server_name, "pod_logs");
    assert!(logs.hints.read_only && !logs.hints.destructive && !logs.hints.open_world);
    assert!(logs.hints.trusted);
    assert_eq!(logs.metadata.risk, RiskLevel::Low);
    assert_eq!(logs.metadata.system.as_deref(), Some(mcp_ops::SERVER_NAME));
    assert_eq!(logs.metadata.environment.as_deref(), Some("production"));
    assert_eq!(by("ops_delete_namespace").metadata.risk, RiskLevel::High);
    assert_eq!(by("ops_scale_deployment").metadata.risk, RiskLevel::Medium);
    // Any JSON value cannot be strict: offered with strict: false, and said so.
    let labels = by("ops_patch_deployment");
    assert!(!labels.strict);
    assert!(labels.note.as_deref().unwrap().contains("strict: false"));
    assert!(by("ops_pod_logs").strict);

    let registry = ops.registry().unwrap();
    let listed = registry.list_tools();
    let def =
        |name: &str| serde_json::to_value(listed.iter().find(|d| d.name == name).unwrap()).unwrap();
    assert_eq!(def("ops_pod_logs")["strict"], true);
    assert_eq!(def("ops_patch_deployment")["strict"], false);
    ops.close().await;
}

#[tokio::test]
async fn a_read_runs_and_a_destructive_tool_in_production_waits_for_review_then_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let ops = stdio_ops(&log, |s| s.trust_annotations()).await;
    let openai = FakeOpenAi::start().await.unwrap();
    openai.push(
        Turn::new()
            .call_with_id(
                "pod_logs",
                json!({"pod": "api-1", "namespace": "payments"}).to_string(),
                "call_logs",
            )
            .call_with_id(
                "drain_node",
                json!({"node": "node-7"}).to_string(),
                "call_drain",
            ),
    );
    openai.push(Turn::text("Drained after review."));
    let agent = agent(&openai, &ops);

    let paused = agent.run("Clean up payments", MODEL).await.unwrap();
    let read = paused
        .execution
        .events
        .iter()
        .find(|e| e.tool == "pod_logs")
        .expect("the read is recorded");
    assert_eq!(read.status, ExecutionStatus::Executed, "{read:?}");
    assert!(
        read.output.as_ref().unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("payments/api-1: ready")
    );
    let pending = paused.pending_approvals();
    assert_eq!(pending.len(), 1, "{paused:?}");
    assert_eq!(pending[0].tool, "drain_node");
    // The destructive call did not reach the server.
    assert_eq!(calls_in(&log), ["pod_logs"]);

    let state = paused.paused.clone().unwrap();
    let done = agent
        .resume(
            state,
            [(
                pending[0].request_id.clone(),
                ApprovalAnswer::approved("node is cordoned"),
            )],
        )
        .await
        .unwrap();
    assert_eq!(done.output_text(), "Drained after review.");
    assert_eq!(calls_in(&log), ["pod_logs", "drain_node"]);
    ops.close().await;
}

#[tokio::test]
async fn a_rejected_or_blocked_call_is_never_forwarded() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let ops = stdio_ops(&log, |s| s).await;
    let openai = FakeOpenAi::start().await.unwrap();
    // Deleting in production is blocked outright; draining waits for a human, who says no.
    openai.push(
        Turn::new()
            .call_with_id(
                "delete_namespace",
                json!({"namespace": "payments"}).to_string(),
                "call_delete",
            )
            .call_with_id(
                "drain_node",
                json!({"node": "node-7"}).to_string(),
                "call_drain",
            ),
    );
    openai.push(Turn::text("Nothing changed."));
    let agent = agent(&openai, &ops);
    let paused = agent
        .run("Delete payments and drain node-7", MODEL)
        .await
        .unwrap();
    let delete = paused
        .execution
        .events
        .iter()
        .find(|e| e.tool == "delete_namespace")
        .unwrap();
    assert_eq!(delete.status, ExecutionStatus::Blocked, "{delete:?}");
    let pending = paused.pending_approvals();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].tool, "drain_node");
    let done = agent
        .resume(
            paused.paused.clone().unwrap(),
            [(
                pending[0].request_id.clone(),
                ApprovalAnswer::rejected("no"),
            )],
        )
        .await
        .unwrap();
    assert_eq!(done.output_text(), "Nothing changed.");
    assert!(calls_in(&log).is_empty(), "{:?}", calls_in(&log));
    ops.close().await;
}

#[tokio::test]
async fn a_tool_the_user_distrusts_is_described_as_the_user_says() {
    let dir = tempfile::tempdir().unwrap();
    // The server calls pod_logs read-only; this user wants it treated as a critical change.
    let ops = stdio_ops(&dir.path().join("calls"), |s| {
        s.tool_metadata("pod_logs", |m| m.risk = RiskLevel::Critical)
    })
    .await;
    let logs = ops
        .tools()
        .into_iter()
        .find(|t| t.name == "pod_logs")
        .unwrap();
    assert_eq!(logs.metadata.risk, RiskLevel::Critical);
    ops.close().await;
}

#[tokio::test]
async fn mcp_errors_and_timeouts_are_tool_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let ops = stdio_ops(&log, |s| {
        s.environment("staging").tool_metadata("slow_rollout", |m| {
            m.timeout = Some(Duration::from_millis(300))
        })
    })
    .await;
    let openai = FakeOpenAi::start().await.unwrap();
    openai.push(
        Turn::new()
            .call_with_id(
                "failing_check",
                json!({"namespace": "payments"}).to_string(),
                "call_check",
            )
            .call_with_id(
                "slow_rollout",
                json!({"namespace": "payments"}).to_string(),
                "call_slow",
            ),
    );
    openai.push(Turn::text("Both failed."));
    let agent = agent(&openai, &ops);
    let result = agent.run("Check and roll out", MODEL).await.unwrap();
    let event = |tool: &str| {
        result
            .execution
            .events
            .iter()
            .find(|e| e.tool == tool)
            .unwrap()
    };
    let check = event("failing_check");
    assert_eq!(check.status, ExecutionStatus::ToolError, "{check:?}");
    assert!(
        check
            .error
            .as_deref()
            .unwrap()
            .contains("2 of 3 pods not ready")
    );
    let slow = event("slow_rollout");
    assert_eq!(slow.status, ExecutionStatus::ToolError, "{slow:?}");
    assert!(
        slow.error
            .as_deref()
            .unwrap()
            .contains("did not finish within 300ms"),
        "{slow:?}"
    );
    assert_eq!(result.output_text(), "Both failed.");
    ops.close().await;
}

#[tokio::test]
async fn a_streamable_http_server_with_a_bearer_token() {
    let server = mcp_ops::serve_http(Some("s3cret-token")).await.unwrap();

    let refused = McpServer::http(&server.url).connect().await.unwrap_err();
    assert!(matches!(refused, Error::Mcp { .. }), "{refused}");
    assert!(refused.to_string().contains("127.0.0.1"), "{refused}");

    let ops = McpServer::http(&server.url)
        .bearer_token("s3cret-token")
        .trust_annotations()
        .system("kubernetes")
        .environment("production")
        .allow(["scale_deployment", "pod_logs"])
        .connect()
        .await
        .unwrap();
    assert!(!format!("{ops:?}").contains("s3cret"));
    let mut names: Vec<String> = ops.tools().into_iter().map(|t| t.name).collect();
    names.sort();
    assert_eq!(names, ["pod_logs", "scale_deployment"]);

    let openai = FakeOpenAi::start().await.unwrap();
    openai.push(Turn::new().call_with_id(
        "scale_deployment",
        json!({"deployment": "api", "namespace": "payments", "replicas": 3}).to_string(),
        "call_scale",
    ));
    openai.push(Turn::text("Scaled."));
    let agent = agent(&openai, &ops);
    let result = agent.run("Scale api to 3", MODEL).await.unwrap();
    let scale = result.last().unwrap();
    // Medium risk in production runs constrained under the default policy.
    assert_eq!(scale.status, ExecutionStatus::Executed, "{scale:?}");
    assert_eq!(
        scale.output.as_ref().unwrap()["structured_content"],
        json!({"deployment": "api", "namespace": "payments", "replicas": 3})
    );
    assert_eq!(server.calls(), ["scale_deployment"]);
    ops.close().await;
}

#[tokio::test]
async fn connecting_fails_clearly() {
    let missing = McpServer::stdio("/nonexistent/mcp-server", ["--x"])
        .connect()
        .await
        .unwrap_err();
    let text = missing.to_string();
    assert!(text.contains("/nonexistent/mcp-server"), "{text}");
    assert!(text.contains("cannot start"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let bin = ops_server_bin();
    let unknown = McpServer::stdio(bin.to_string_lossy(), Vec::<String>::new())
        .env(
            "BIGHUB_MCP_OPS_LOG",
            dir.path().join("calls").to_string_lossy(),
        )
        .allow(["pod_logs", "drop_database"])
        .connect()
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("no tool named drop_database"),
        "{unknown}"
    );
}

#[tokio::test]
async fn after_close_the_tools_fail_as_tool_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let ops = stdio_ops(&log, |s| s).await;
    let registry = ops.registry().unwrap();
    ops.close().await;
    ops.close().await;
    let tool = registry.get("pod_logs").unwrap();
    let out = tool
        .call(
            json!({"pod": "api-1", "namespace": "payments"}),
            bighub::tool::ToolContext::default(),
        )
        .await;
    assert!(out.is_err(), "{out:?}");
    assert!(calls_in(&log).is_empty());
}

/// Waits (up to 10 s) for process `pid` to be gone; whether it went.
async fn exited(pid: &str) -> bool {
    for _ in 0..100 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting to be reaped: either way it no longer runs.
        if status.is_empty() || status.split(' ').nth(2) == Some("Z") {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_server_process_stops_on_close_and_on_drop() {
    for how in ["close", "drop", "agent close"] {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let ops = stdio_ops(&dir.path().join("calls"), |s| {
            s.env("BIGHUB_MCP_OPS_PIDFILE", pidfile.to_string_lossy())
        })
        .await;
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        assert!(!exited_now(&pid), "the server runs while connected");
        match how {
            "close" => ops.close().await,
            "drop" => {
                let registry = ops.registry().unwrap();
                drop(ops);
                drop(registry);
            }
            _ => {
                let openai = FakeOpenAi::start().await.unwrap();
                let agent = BighubOpenAI::builder()
                    .openai_api_key(openai.api_key())
                    .openai_base_url(openai.base_url())
                    .engine(LocalEngine::builder().in_memory().build().unwrap())
                    .mcp_server(ops)
                    .build()
                    .unwrap();
                assert!(agent.list_tools().iter().any(|t| t.name == "pod_logs"));
                agent.close().await.unwrap();
                assert!(
                    exited(&pid).await,
                    "server {pid} still runs after the agent closed"
                );
                drop(agent);
            }
        }
        assert!(exited(&pid).await, "server {pid} still runs ({how})");
    }
}

fn exited_now(pid: &str) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    status.is_empty() || status.split(' ').nth(2) == Some("Z")
}

#[tokio::test]
async fn a_streamed_run_decides_an_mcp_call_early_and_runs_it_once() {
    use futures::StreamExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let ops = stdio_ops(&log, |s| s.trust_annotations()).await;
    let openai = FakeOpenAi::start().await.unwrap();
    openai.push(Turn::new().call_with_id(
        "pod_logs",
        json!({"pod": "api-1", "namespace": "payments"}).to_string(),
        "call_logs",
    ));
    openai.push(Turn::text("Logs read."));
    let agent = agent(&openai, &ops);
    let mut stream = agent.run_stream("Read the api logs", MODEL);
    let mut kinds = Vec::new();
    let mut executed = None;
    let mut last = None;
    while let Some(item) = stream.next().await {
        let event = item.unwrap();
        kinds.push(event.kind());
        match event {
            bighub::StreamEvent::ExecutionEvent { event } => executed = Some(event),
            bighub::StreamEvent::FinalResponse { response } => last = Some(response),
            _ => {}
        }
    }
    assert!(kinds.contains(&"decision"), "{kinds:?}");
    let executed = executed.expect("an execution event");
    assert_eq!(executed.tool, "pod_logs");
    assert_eq!(executed.status, ExecutionStatus::Executed);
    assert_eq!(last.unwrap().output_text(), "Logs read.");
    assert_eq!(calls_in(&log), ["pod_logs"]);
    ops.close().await;
}

#[tokio::test]
async fn a_paused_mcp_call_resumes_in_another_agent_with_its_own_connection() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let db = dir.path().join("bighub.db");
    let openai = FakeOpenAi::start().await.unwrap();
    openai.push(Turn::new().call_with_id(
        "drain_node",
        json!({"node": "node-7"}).to_string(),
        "call_drain",
    ));
    openai.push(Turn::text("Drained."));
    let build = |ops: McpConnection| {
        BighubOpenAI::builder()
            .openai_api_key(openai.api_key())
            .openai_base_url(openai.base_url())
            .engine(LocalEngine::builder().db_path(&db).build().unwrap())
            .mcp_server(ops)
            .build()
            .unwrap()
    };

    // One process pauses and saves the state.
    let first = build(stdio_ops(&log, |s| s).await);
    let paused = first.run("Drain node-7", MODEL).await.unwrap();
    let request_id = paused.pending_approvals()[0].request_id.clone();
    let json = paused.paused.as_ref().unwrap().to_json().unwrap();
    first.close().await.unwrap();
    assert!(calls_in(&log).is_empty());

    // Another connects its own server and resumes.
    let second = build(stdio_ops(&log, |s| s).await);
    let done = second
        .resume(
            bighub::RunState::from_json(&json).unwrap(),
            [(request_id, ApprovalAnswer::approved("cordoned"))],
        )
        .await
        .unwrap();
    assert_eq!(done.output_text(), "Drained.");
    assert_eq!(calls_in(&log), ["drain_node"]);
    second.close().await.unwrap();
}

#[tokio::test]
async fn a_server_that_dies_mid_run_fails_its_calls_closed_and_the_record_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let ops = stdio_ops(&log, |s| s.environment("staging")).await;
    let openai = FakeOpenAi::start().await.unwrap();
    openai.push(Turn::new().call_with_id("restart_server", "{}", "call_restart"));
    openai.push(Turn::new().call_with_id(
        "pod_logs",
        json!({"pod": "api-1", "namespace": "payments"}).to_string(),
        "call_logs",
    ));
    openai.push(Turn::text("The server is gone."));
    let agent = agent(&openai, &ops);
    let result = agent
        .run("Restart the server, then read logs", MODEL)
        .await
        .unwrap();
    let events = &result.execution.events;
    assert_eq!(events.len(), 2, "{events:?}");
    for event in events {
        assert_eq!(event.status, ExecutionStatus::ToolError, "{event:?}");
        assert!(event.output.is_none());
        assert!(event.decision.is_some(), "the decision stays on the record");
    }
    assert_eq!(result.output_text(), "The server is gone.");
    // The call that killed it reached it; nothing after did.
    assert_eq!(calls_in(&log), ["restart_server"]);
    ops.close().await;
}

#[tokio::test]
async fn two_servers_offering_one_name_are_refused_unless_prefixed() {
    let dir = tempfile::tempdir().unwrap();
    let one = stdio_ops(&dir.path().join("a"), |s| s).await;
    let two = stdio_ops(&dir.path().join("b"), |s| s).await;
    let openai = FakeOpenAi::start().await.unwrap();
    let clash = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(LocalEngine::builder().in_memory().build().unwrap())
        .mcp_server(one)
        .mcp_server(two)
        .build()
        .unwrap_err();
    assert!(
        matches!(clash, Error::DuplicateTool(ref name) if !name.is_empty()),
        "{clash}"
    );

    let one = stdio_ops(&dir.path().join("a"), |s| s).await;
    let two = stdio_ops(&dir.path().join("b"), |s| s.prefix("staging")).await;
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(LocalEngine::builder().in_memory().build().unwrap())
        .mcp_server(one)
        .mcp_server(two)
        .build()
        .unwrap();
    let names: Vec<String> = agent.list_tools().into_iter().map(|t| t.name).collect();
    assert!(
        names.contains(&"pod_logs".to_owned()) && names.contains(&"staging_pod_logs".to_owned())
    );
    agent.close().await.unwrap();
}

/// The run's event for `tool`.
fn event_of<'a>(result: &'a bighub::RunResult, tool: &str) -> &'a bighub::ExecutionEvent {
    result
        .execution
        .events
        .iter()
        .find(|e| e.tool == tool)
        .unwrap_or_else(|| panic!("no event for {tool}: {:?}", result.execution.events))
}

#[tokio::test]
async fn untrusted_annotations_raise_risk_but_never_lower_it() {
    let dir = tempfile::tempdir().unwrap();
    let ops = stdio_ops(&dir.path().join("calls"), |s| s).await;
    for tool in ops.tools() {
        // Whatever a tool claims, it is no less risky than one that says nothing.
        assert!(!tool.hints.trusted, "{tool:?}");
        assert_eq!(tool.metadata.risk, RiskLevel::High, "{tool:?}");
    }
    ops.close().await;

    // One tool trusted through its metadata; the others stay untrusted.
    let ops = stdio_ops(&dir.path().join("calls"), |s| {
        s.tool_metadata("pod_logs", |m| m.trust_annotations = true)
    })
    .await;
    let tools = ops.tools();
    let by = |name: &str| tools.iter().find(|t| t.name == name).unwrap().clone();
    assert!(by("pod_logs").hints.trusted);
    assert_eq!(by("pod_logs").metadata.risk, RiskLevel::Low);
    assert!(!by("scale_deployment").hints.trusted);
    assert_eq!(by("scale_deployment").metadata.risk, RiskLevel::High);
    ops.close().await;
}

#[tokio::test]
async fn lying_read_only_annotations_do_not_run_in_production_unless_trusted() {
    let exec = json!({"sql": "DELETE FROM payments; DROP TABLE audit_log"});
    let turn = || {
        Turn::new()
            .call_with_id(
                "rotate_keys",
                json!({"service": "payments"}).to_string(),
                "call_rotate",
            )
            .call_with_id("exec_sql", exec.to_string(), "call_sql")
    };

    // Untrusted (the default): "read-only" is a claim, and claims lower nothing.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let ops = stdio_ops(&log, |s| s).await;
    let openai = FakeOpenAi::start().await.unwrap();
    openai.push(turn());
    let guarded = agent(&openai, &ops);
    let paused = guarded.run("Rotate and clean up", MODEL).await.unwrap();
    let pending = paused.pending_approvals();
    let mut held: Vec<&str> = pending.iter().map(|p| p.tool.as_str()).collect();
    held.sort_unstable();
    assert_eq!(held, ["exec_sql", "rotate_keys"], "{paused:?}");
    for p in &pending {
        let reason = p.decision.reason.as_deref().unwrap_or_default();
        assert!(!reason.contains("only reads"), "{reason}");
    }
    assert!(calls_in(&log).is_empty(), "{:?}", calls_in(&log));
    guarded.close().await.unwrap();

    // The user trusts the server: its word is taken, and both run.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let ops = stdio_ops(&log, |s| s.trust_annotations()).await;
    let openai = FakeOpenAi::start().await.unwrap();
    openai.push(turn());
    openai.push(Turn::text("Done."));
    let guarded = agent(&openai, &ops);
    let done = guarded.run("Rotate and clean up", MODEL).await.unwrap();
    for tool in ["rotate_keys", "exec_sql"] {
        let event = event_of(&done, tool);
        assert_eq!(event.status, ExecutionStatus::Executed, "{event:?}");
    }
    let mut ran = calls_in(&log);
    ran.sort();
    assert_eq!(ran, ["exec_sql", "rotate_keys"]);
    guarded.close().await.unwrap();
}

#[tokio::test]
async fn a_tool_changed_under_the_agent_is_decided_as_changed_and_a_removed_one_fails() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let ops = stdio_ops(&log, |s| s.environment("staging").trust_annotations()).await;
    let summary = ops
        .tools()
        .into_iter()
        .find(|t| t.name == "report_summary")
        .unwrap();
    assert!(summary.hints.read_only);
    let q3 = json!({"quarter": "2026-Q3"}).to_string();
    let openai = FakeOpenAi::start().await.unwrap();
    // The server changes report_summary into a destructive tool and drops archive_reports,
    // and says so with notifications/tools/list_changed.
    openai.push(Turn::new().call_with_id("refresh_catalog", "{}", "call_refresh"));
    openai.push(
        Turn::new()
            .call_with_id("report_summary", q3.clone(), "call_summary")
            .call_with_id("archive_reports", q3.clone(), "call_archive"),
    );
    openai.push(Turn::text("Nothing ran."));
    let agent = agent(&openai, &ops);
    let paused = agent.run("Summarize Q3", MODEL).await.unwrap();

    assert_eq!(
        event_of(&paused, "refresh_catalog").status,
        ExecutionStatus::Executed
    );
    // Decided on the definition the server offers now, as changed: a human looks first.
    let pending = paused.pending_approvals();
    assert_eq!(pending.len(), 1, "{paused:?}");
    assert_eq!(pending[0].tool, "report_summary");
    let reason = pending[0].decision.reason.clone().unwrap_or_default();
    assert!(
        reason.contains("changed the definition of report_summary (description, annotations)"),
        "{reason}"
    );
    assert!(
        pending[0]
            .decision
            .salient_factors
            .iter()
            .any(|f| f.factor.as_deref() == Some("definition_changed")),
        "{:?}",
        pending[0].decision.salient_factors
    );
    // A tool the server no longer lists is a tool error, never forwarded.
    let archive = event_of(&paused, "archive_reports");
    assert_eq!(archive.status, ExecutionStatus::ToolError, "{archive:?}");
    assert!(
        archive
            .error
            .as_deref()
            .unwrap()
            .contains("no longer offers `archive_reports`"),
        "{archive:?}"
    );

    let done = agent
        .resume(
            paused.paused.clone().unwrap(),
            [(
                pending[0].request_id.clone(),
                ApprovalAnswer::rejected("it deletes reports now"),
            )],
        )
        .await
        .unwrap();
    assert_eq!(done.output_text(), "Nothing ran.");
    assert_eq!(calls_in(&log), ["refresh_catalog"]);
    agent.close().await.unwrap();
}

#[tokio::test]
async fn a_call_decided_before_its_tool_changed_is_not_forwarded() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let ops = stdio_ops(&log, |s| s.environment("staging").trust_annotations()).await;
    let openai = FakeOpenAi::start().await.unwrap();
    // Both calls are decided before either runs: report_summary as the read it was.
    openai.push(
        Turn::new()
            .call_with_id("refresh_catalog", "{}", "call_refresh")
            .call_with_id(
                "report_summary",
                json!({"quarter": "2026-Q3"}).to_string(),
                "call_summary",
            ),
    );
    openai.push(Turn::text("The summary failed."));
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(LocalEngine::builder().in_memory().build().unwrap())
        .parallel_tool_execution(false)
        .tools(ops.registry().unwrap())
        .build()
        .unwrap();
    let result = agent
        .run("Refresh, then summarize Q3", MODEL)
        .await
        .unwrap();
    let summary = event_of(&result, "report_summary");
    assert_eq!(
        summary
            .decision
            .as_ref()
            .unwrap()
            .mode
            .map(|m| m.to_string()),
        Some("autonomous".to_owned()),
        "{summary:?}"
    );
    assert_eq!(summary.status, ExecutionStatus::ToolError, "{summary:?}");
    assert!(
        summary
            .error
            .as_deref()
            .unwrap()
            .contains("changed the definition of `report_summary` after this call was decided"),
        "{summary:?}"
    );
    assert_eq!(calls_in(&log), ["refresh_catalog"]);
    agent.close().await.unwrap();
}

#[tokio::test]
async fn a_tool_list_that_never_ends_is_refused_at_a_cap() {
    let dir = tempfile::tempdir().unwrap();
    let endless = || {
        McpServer::stdio(ops_server_bin().to_string_lossy(), Vec::<String>::new())
            .env(
                "BIGHUB_MCP_OPS_LOG",
                dir.path().join("calls").to_string_lossy(),
            )
            .env("BIGHUB_MCP_OPS_ENDLESS_LIST", "1")
    };
    let started = std::time::Instant::now();
    let refused = endless().connect().await.unwrap_err();
    // Refused at the page cap, long before the 60 s connect timeout.
    assert!(started.elapsed() < Duration::from_secs(30), "{refused}");
    assert!(
        matches!(
            refused,
            Error::McpListingTooLarge {
                cap: bighub::mcp::McpListingCap::Pages(bighub::mcp::DEFAULT_MAX_LIST_PAGES),
                ..
            }
        ),
        "{refused}"
    );
    assert!(refused.to_string().contains("max_list_pages"), "{refused}");

    let refused = endless().max_list_tools(7).connect().await.unwrap_err();
    assert!(
        matches!(
            refused,
            Error::McpListingTooLarge {
                cap: bighub::mcp::McpListingCap::Tools(7),
                ..
            }
        ),
        "{refused}"
    );
    let refused = endless().max_list_bytes(2_000).connect().await.unwrap_err();
    assert!(
        matches!(
            refused,
            Error::McpListingTooLarge {
                cap: bighub::mcp::McpListingCap::Bytes(2_000),
                ..
            }
        ),
        "{refused}"
    );
}

#[tokio::test]
async fn a_call_paused_before_its_tool_changed_is_not_forwarded_when_approved() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls");
    let ops = stdio_ops(&log, |s| {
        s.environment("staging")
            .tool_metadata("refresh_catalog", |m| m.trust_annotations = true)
            .tool_metadata("report_summary", |m| {
                m.environment = Some("production".into());
            })
    })
    .await;
    let openai = FakeOpenAi::start().await.unwrap();
    openai.push(Turn::new().call_with_id(
        "report_summary",
        json!({"quarter": "2026-Q3"}).to_string(),
        "call_summary",
    ));
    openai.push(Turn::new().call_with_id("refresh_catalog", "{}", "call_refresh"));
    openai.push(Turn::text("Refreshed."));
    openai.push(Turn::text("The summary was not run."));
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(LocalEngine::builder().in_memory().build().unwrap())
        .tools(ops.registry().unwrap())
        .build()
        .unwrap();
    // The summary waits for a review, decided on the definition the server listed then.
    let paused = agent.run("Summarize Q3", MODEL).await.unwrap();
    let pending = paused.pending_approvals();
    assert_eq!(pending.len(), 1, "{paused:?}");
    // Meanwhile the server turns report_summary into "Deletes every report."
    let refreshed = agent.run("Refresh the catalog", MODEL).await.unwrap();
    assert_eq!(
        event_of(&refreshed, "refresh_catalog").status,
        ExecutionStatus::Executed
    );
    // Approved afterwards, the call is not forwarded on the new definition.
    let result = agent
        .resume(
            paused.paused.unwrap(),
            [(
                pending[0].request_id.clone(),
                ApprovalAnswer::approved("ok"),
            )],
        )
        .await
        .unwrap();
    let summary = event_of(&result, "report_summary");
    assert_eq!(summary.status, ExecutionStatus::ToolError, "{summary:?}");
    assert!(
        summary
            .error
            .as_deref()
            .unwrap()
            .contains("changed the definition of `report_summary` after this call was decided"),
        "{summary:?}"
    );
    assert_eq!(calls_in(&log), ["refresh_catalog"]);
    agent.close().await.unwrap();
}
