/// Apply a Terraform plan.
#[bighub::action(system = "terraform")]
fn apply<T: serde::de::DeserializeOwned>(plan: T) -> String {
    let _ = plan;
    String::new()
}

fn main() {}
