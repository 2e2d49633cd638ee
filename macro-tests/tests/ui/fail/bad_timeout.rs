/// Restart a deployment.
#[bighub::action(system = "kubernetes", timeout = "30 seconds")]
fn restart(deployment: String) -> String {
    deployment
}

/// Check a cluster.
#[bighub::action(system = "kubernetes", timeout = "0s")]
fn check(cluster: String) -> String {
    cluster
}

/// Drain a node.
#[bighub::action(system = "kubernetes", timeout = "48h")]
fn drain(node: String) -> String {
    node
}

/// Scale a deployment.
#[bighub::action(system = "kubernetes", timeout = 30)]
fn scale(deployment: String) -> String {
    deployment
}

fn main() {}
