/// Restart a deployment.
#[bighub::action(system = "kubernetes")]
struct Restart {
    deployment: String,
}

fn main() {}
