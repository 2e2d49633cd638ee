#[bighub::action(system = "kubernetes")]
fn restart(deployment: String) -> String {
    deployment
}

fn main() {}
