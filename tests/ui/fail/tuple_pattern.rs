/// Move a user between groups.
#[bighub::action(system = "okta")]
fn move_user((from, to): (String, String)) -> String {
    format!("{from} {to}")
}

fn main() {}
