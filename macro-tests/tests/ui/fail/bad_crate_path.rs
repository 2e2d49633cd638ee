/// Restart a deployment.
#[bighub::action(system = "kubernetes", crate = "not a path")]
fn restart(deployment: String) -> String {
    deployment
}

fn main() {}
