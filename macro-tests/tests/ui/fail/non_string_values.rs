/// Restart a deployment.
#[bighub::action(system = 5, risk = high)]
fn restart(deployment: String) -> String {
    deployment
}

fn main() {}
