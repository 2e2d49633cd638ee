// Every mistake in one build: an unknown key, values, parameter names and the signature.
#[bighub::action(system = "okta", enviroment = "production", risk = "hihg", target = "grp", secret = ["tokn", "user_id"])]
fn grant_access<T>(user_id: &str, group: String, token: String, extra: T) -> String {
    let _ = extra;
    format!("{user_id} {group} {token}")
}

// Keys that cannot be read, reported together with the checks of those that can and with
// the signature's problems.
/// Revoke a grant.
#[bighub::action(sytem = "okta", risk = "low", risk = "high", environment = production, timeout = "soon")]
fn revoke(self, grant_id: &String) -> bool {
    true
}

fn main() {}
