/// Grant a user membership in a group.
#[bighub::action(system = "okta", target = "grup")]
fn grant_access(user_id: String, group: String) -> String {
    format!("{user_id} {group}")
}

fn main() {}
