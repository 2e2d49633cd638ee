//! The ops MCP server of `bighub_testkit::mcp_ops`, on stdin/stdout.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    bighub_testkit::mcp_ops::serve_stdio().await
}
