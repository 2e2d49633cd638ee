//! The guard around a real third-party MCP server: `@modelcontextprotocol/server-filesystem`
//! from the npm registry (pinned in `.ci/run`), its tools offered to the model as they are.
//!
//! Needs `BIGHUB_TEST_MCP_FILESYSTEM`, the path of its `mcp-server-filesystem` command
//! (`.ci/run` installs it and sets it; by hand: `npm install --prefix .ci/node
//! @modelcontextprotocol/server-filesystem@2026.8.31` and point the variable at
//! `.ci/node/node_modules/.bin/mcp-server-filesystem`). Without it the tests say they were
//! skipped, except under `CI=true`, where it fails them.

use bighub::mcp::McpServer;
use bighub::{BighubOpenAI, ExecutionStatus, local::LocalEngine};
use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
use serde_json::json;

const MODEL: &str = "gpt-test";

/// The server's command, or `None` (after saying why) when the tests must skip.
fn filesystem_server() -> Option<String> {
    match std::env::var("BIGHUB_TEST_MCP_FILESYSTEM") {
        Ok(path) if !path.trim().is_empty() => Some(path),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "BIGHUB_TEST_MCP_FILESYSTEM is not set, and under CI=true the filesystem MCP tests must run; .ci/run sets it"
        ),
        _ => {
            // Past the harness's output capture, so the skip shows in `cargo test`'s output.
            let _ = std::io::Write::write_fmt(
                &mut std::io::stderr(),
                format_args!(
                    "skipped: BIGHUB_TEST_MCP_FILESYSTEM is not set. To run these tests: npm install --prefix .ci/node @modelcontextprotocol/server-filesystem@2026.8.31 and set BIGHUB_TEST_MCP_FILESYSTEM=$PWD/.ci/node/node_modules/.bin/mcp-server-filesystem\n"
                ),
            );
            None
        }
    }
}

#[tokio::test]
async fn a_listing_runs_and_a_write_in_production_is_held_with_no_file_created() {
    let Some(command) = filesystem_server() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("runbook.md"), "# Runbook\n").unwrap();
    std::fs::create_dir(root.join("incidents")).unwrap();
    let root_text = root.to_string_lossy().into_owned();

    let fs = McpServer::stdio(&command, [root_text.clone()])
        .system("filesystem")
        .environment("production")
        .connect()
        .await
        .expect("the filesystem server starts");
    let tools = fs.tools();
    let list = tools.iter().find(|t| t.name == "list_directory").unwrap();
    assert!(list.hints.read_only, "{list:?}");
    let write = tools.iter().find(|t| t.name == "write_file").unwrap();
    assert!(
        write.hints.destructive && !write.hints.read_only,
        "{write:?}"
    );

    let openai = FakeOpenAi::start().await.unwrap();
    let target = root.join("incidents/INC-42.md");
    openai.push(
        Turn::new()
            .call_with_id(
                "list_directory",
                json!({"path": root_text}).to_string(),
                "call_list",
            )
            .call_with_id(
                "write_file",
                json!({"path": target.to_string_lossy(), "content": "rolled back"}).to_string(),
                "call_write",
            ),
    );
    openai.push(Turn::text("Listed; the write waits."));
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(LocalEngine::builder().in_memory().build().unwrap())
        .mcp_server(fs)
        .build()
        .unwrap();

    let result = agent
        .run("Look at the runbook folder and log the incident", MODEL)
        .await
        .unwrap();
    let events = &result.execution.events;
    let listed = events.iter().find(|e| e.tool == "list_directory").unwrap();
    assert_eq!(listed.status, ExecutionStatus::Executed, "{listed:?}");
    let text = listed.output.as_ref().unwrap()["text"].as_str().unwrap();
    assert!(text.contains("[FILE] runbook.md"), "{text}");
    assert!(text.contains("[DIR] incidents"), "{text}");

    let pending = result.pending_approvals();
    assert_eq!(pending.len(), 1, "{result:?}");
    assert_eq!(pending[0].tool, "write_file");
    assert!(!target.exists(), "the held write created the file");
    agent.close().await.unwrap();
    assert!(!target.exists());
}
