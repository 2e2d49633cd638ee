/// Move a user between groups.
#[bighub::action(system = "okta")]
fn move_user((from, to): (String, String)) -> String {
    format!("{from} {to}")
}

/// Rename a user.
#[bighub::action(system = "okta")]
fn rename(ref name: String, Wrapper(id): Wrapper) -> String {
    format!("{name} {id}")
}

struct Wrapper(String);

fn main() {}
