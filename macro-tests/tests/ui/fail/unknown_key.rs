/// Restart a deployment.
#[bighub::action(system = "kubernetes", enviroment = "production")]
fn restart(deployment: String) -> String {
    deployment
}

fn main() {}
