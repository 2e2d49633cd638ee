// Every mistake in one build: values, parameter names and the signature.
#[bighub::action(system = "okta", risk = "hihg", target = "grp", secret = ["tokn", "user_id"])]
fn grant_access<T>(user_id: &str, group: String, token: String, extra: T) -> String {
    let _ = extra;
    format!("{user_id} {group} {token}")
}

// Keys darling rejects, reported together with the signature's problems.
/// Revoke a grant.
#[bighub::action(sytem = "okta", risk = "low", risk = "high", environment = production)]
fn revoke(self, grant_id: &String) -> bool {
    true
}

fn main() {}
