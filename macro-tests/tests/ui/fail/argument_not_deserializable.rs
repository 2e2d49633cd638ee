struct Plan {
    id: u64,
}

/// Apply a plan.
#[bighub::action(system = "terraform")]
fn apply(plan: Plan) -> u64 {
    plan.id
}

fn main() {}
