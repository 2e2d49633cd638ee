use std::borrow::Cow;

/// Apply a Terraform plan.
#[bighub::action(system = "terraform")]
fn apply<'a, const N: usize>(plan: Cow<'a, str>) -> String {
    plan.into_owned()
}

fn main() {}
