/// Restart a deployment.
#[bighub::action(risk = "high")]
fn restart(deployment: String) -> String {
    deployment
}

fn main() {}
