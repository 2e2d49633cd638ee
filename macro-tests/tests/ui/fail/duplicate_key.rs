/// Restart a deployment.
#[bighub::action(system = "kubernetes", risk = "high", risk = "low")]
fn restart(deployment: String) -> String {
    deployment
}

fn main() {}
