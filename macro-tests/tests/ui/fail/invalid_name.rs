/// Restart a deployment.
#[bighub::action(system = "kubernetes", name = "restart deployment")]
fn restart(deployment: String) -> String {
    deployment
}

/// Scale a deployment.
#[bighub::action(system = "kubernetes", name = "")]
fn scale(deployment: String) -> String {
    deployment
}

/// Drain a node.
#[bighub::action(system = "kubernetes")]
fn drain_nœud(node: String) -> String {
    node
}

fn main() {}
