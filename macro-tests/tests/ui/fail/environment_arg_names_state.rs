use bighub::State;

struct Cluster;

/// Restart a deployment.
#[bighub::action(system = "kubernetes", environment_arg = "cluster")]
fn restart(deployment: String, cluster: State<Cluster>) -> String {
    let _ = cluster;
    deployment
}

fn main() {}
