/// Restart a deployment.
#[bighub::action(system = "kubernetes", environment_arg = "namespce")]
fn restart(deployment: String, namespace: String) -> String {
    format!("{namespace}/{deployment}")
}

/// Restart every deployment.
#[bighub::action(system = "kubernetes", environment_arg = "namespace")]
fn restart_all() -> String {
    String::new()
}

fn main() {}
