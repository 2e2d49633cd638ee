use bighub::Action;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, JsonSchema)]
struct Resources {
    cpu: String,
    memory: String,
}

#[derive(Deserialize, JsonSchema)]
struct Spec {
    image: String,
    /// Requested resources.
    resources: Resources,
}

#[derive(Serialize)]
struct Rollout {
    image: String,
    cpu: String,
}

/// Roll out a new spec.
#[bighub::action(system = "kubernetes", environment = "staging")]
fn roll_out(name: String, spec: Spec) -> Rollout {
    let _ = name;
    Rollout { image: spec.image, cpu: spec.resources.cpu }
}

fn main() {
    let schema = RollOut.parameters_schema();
    assert_eq!(schema["required"], serde_json::json!(["name", "spec"]));
    assert!(schema.to_string().contains("memory"), "{schema}");
    assert_eq!(RollOut.metadata().environment.as_deref(), Some("staging"));
}
