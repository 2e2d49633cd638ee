use bighub::{Action, State};

struct OktaClient {
    domain: String,
}

struct AuditLog;

/// Suspend an Okta user.
#[bighub::action(system = "okta", risk = "high")]
fn suspend_user(okta: State<OktaClient>, user_id: String, State(_audit): bighub::State<AuditLog>) -> String {
    format!("{} {user_id}", okta.domain)
}

fn main() {
    let schema = SuspendUser.parameters_schema();
    assert_eq!(schema["required"], serde_json::json!(["user_id"]));
    assert_eq!(schema["properties"].as_object().unwrap().len(), 1);
}
