/// Apply a Terraform plan.
#[bighub::action(system = "terraform")]
fn apply<T: serde::de::DeserializeOwned>(plan: T) -> String {
    let _ = plan;
    String::new()
}

/// Plan a change.
#[bighub::action(system = "terraform")]
fn plan(workspace: String) -> String
where
    String: Clone,
{
    workspace
}

fn main() {}
