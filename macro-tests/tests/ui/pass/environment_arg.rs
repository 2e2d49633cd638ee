use bighub::{Action, ToolOptions, tool::ToolRegistry};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// Restart a deployment in the namespace the model names.
#[bighub::action(system = "kubernetes", environment_arg = "namespace", target = "deployment")]
fn restart(deployment: String, namespace: String) -> String {
    format!("{namespace}/{deployment}")
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Stage {
    Staging,
    Production,
}

/// Promote a release to a stage; the model may only pick a listed one.
#[bighub::action(system = "argocd", risk = "high", environment_arg = "stage")]
fn promote(release: String, stage: Stage) -> String {
    let stage = match stage {
        Stage::Staging => "staging",
        Stage::Production => "production",
    };
    format!("{release} -> {stage}")
}

/// Rotate a credential, in the given environment or none.
#[bighub::action(system = "vault", environment_arg = "in")]
fn rotate(path: String, r#in: Option<String>) -> String {
    let _ = r#in;
    path
}

fn main() {
    let meta = Restart.metadata();
    assert_eq!(meta.environment_arg.as_deref(), Some("namespace"));
    assert_eq!(meta.environment, None, "nothing is fixed");

    let mut tools = ToolRegistry::new();
    tools.register(Restart).unwrap();
    tools.register(Promote).unwrap();
    tools.register(Rotate).unwrap();

    let restart = tools.get("restart").unwrap();
    let action = restart.proposed_action(&json!({"deployment": "checkout", "namespace": "prod-eu"}));
    assert_eq!(action.environment.as_deref(), Some("prod-eu"));
    assert_eq!(action.target.as_deref(), Some("checkout"));
    let action = restart.proposed_action(&json!({"deployment": "checkout", "namespace": "dev"}));
    assert_eq!(action.environment.as_deref(), Some("dev"), "read at each call");

    let promote = tools.get("promote").unwrap();
    let action = promote.proposed_action(&json!({"release": "v2", "stage": "production"}));
    assert_eq!(action.environment.as_deref(), Some("production"));

    let rotate = tools.get("rotate").unwrap();
    let action = rotate.proposed_action(&json!({"path": "db/password", "in": "staging"}));
    assert_eq!(action.environment.as_deref(), Some("staging"));
    let action = rotate.proposed_action(&json!({"path": "db/password", "in": null}));
    assert_eq!(action.environment, None);

    // A fixed environment given at registration replaces the argument.
    let mut pinned = ToolRegistry::new();
    let tool = pinned
        .register_with(Restart, ToolOptions::new().environment("sandbox"))
        .unwrap();
    assert_eq!(tool.metadata().environment_arg, None);
    let action = tool.proposed_action(&json!({"deployment": "checkout", "namespace": "prod-eu"}));
    assert_eq!(action.environment.as_deref(), Some("sandbox"));
}
