/// Restart a deployment.
#[bighub::action(system = "kubernetes", risk = "hgh")]
fn restart(deployment: String) -> String {
    deployment
}

/// Delete a namespace.
#[bighub::action(system = "kubernetes", risk = "extreme")]
fn delete_namespace(namespace: String) -> String {
    namespace
}

fn main() {}
