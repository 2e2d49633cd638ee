struct Receipt;

/// Apply a plan.
#[bighub::action(system = "terraform")]
fn apply(plan: String) -> Receipt {
    let _ = plan;
    Receipt
}

/// Apply a plan, maybe.
#[bighub::action(system = "terraform")]
fn try_apply(plan: String) -> Result<String, Receipt> {
    Ok(plan)
}

fn main() {}
