//! A `ToolContext` parameter is injected, whatever its path, and is not in the schema.
use bighub::{Action, tool::ToolContext};
use serde_json::json;

/// Deploy a service.
#[bighub::action(system = "argocd", risk = "high", target = "service")]
async fn deploy(service: String, context: ToolContext) -> String {
    format!("{service} {}", context.constraints().is_some())
}

/// Restart a deployment.
#[bighub::action(system = "kubernetes")]
fn restart(_: bighub::tool::ToolContext, deployment: String) -> String {
    deployment
}

fn main() {
    assert_eq!(Deploy.parameters_schema()["required"], json!(["service"]));
    assert_eq!(Restart.parameters_schema()["required"], json!(["deployment"]));
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let output = runtime.block_on(Deploy.call(json!({"service": "payments"}), ToolContext::default()));
    assert_eq!(output.unwrap(), "payments false");
}
