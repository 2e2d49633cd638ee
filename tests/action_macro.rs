use bighub::{Action, ToolContext, ToolError};

/// Grant a user temporary membership in an Okta group.
#[bighub::action(
    system = "okta",
    risk = "high",
    environment = "production",
    target = "group"
)]
async fn grant_access(
    /// Okta user login, e.g. alice@example.com
    user_id: String,
    group: String,
    /// How long the membership lasts, e.g. "2h"
    duration: String,
) -> Result<String, ToolError> {
    Ok(format!("{user_id} in {group} for {duration}"))
}

#[test]
fn smoke() {
    let tool = GrantAccess;
    println!(
        "{}",
        serde_json::to_string_pretty(&tool.parameters_schema()).unwrap()
    );
    println!("{:?}", tool.metadata());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let out = rt.block_on(tool.call(
        serde_json::json!({"user_id":"a","group":"g","duration":"2h"}),
        ToolContext::default(),
    ));
    println!("{out:?}");
}
