use bighub::Action;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Strategy {
    Rolling,
    Recreate,
}

#[derive(Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Source {
    Git { repo: String, revision: String },
    Helm { chart: String },
}

/// Deploy an application.
#[bighub::action(system = "argocd", risk = "high")]
fn deploy(strategy: Strategy, source: Source) -> String {
    let strategy = match strategy {
        Strategy::Rolling => "rolling",
        Strategy::Recreate => "recreate",
    };
    match source {
        Source::Git { repo, revision } => format!("{strategy} {repo}@{revision}"),
        Source::Helm { chart } => format!("{strategy} {chart}"),
    }
}

fn main() {
    let schema = Deploy.parameters_schema();
    let text = schema.to_string();
    assert!(text.contains("rolling") && text.contains("recreate"), "{text}");
    assert!(text.contains("\"kind\""), "{text}");
    assert_eq!(schema["required"], serde_json::json!(["strategy", "source"]));
}
