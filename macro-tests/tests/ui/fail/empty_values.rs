/// Restart a deployment.
#[bighub::action(system = "", environment = " ", description = "")]
fn restart(deployment: String) -> String {
    deployment
}

fn main() {}
