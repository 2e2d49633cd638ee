/// Restart a deployment.
#[bighub::action(system = "kubernetes", environment = "production", environment_arg = "namespace")]
fn restart(deployment: String, namespace: String) -> String {
    format!("{namespace}/{deployment}")
}

fn main() {}
