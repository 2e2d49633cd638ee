use bighub::Action;

/// Create a ticket.
#[bighub::action(system = "jira", risk = "low")]
fn create_ticket(title: String, assignee: Option<String>, priority: Option<u8>) -> String {
    format!("{title} {assignee:?} {priority:?}")
}

fn main() {
    let schema = CreateTicket.parameters_schema();
    assert_eq!(schema["required"], serde_json::json!(["title"]));
    assert!(schema["properties"]["assignee"].is_object());
    assert!(schema["properties"]["priority"].is_object());
}
