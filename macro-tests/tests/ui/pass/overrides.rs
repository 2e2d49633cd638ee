use bighub::{Action, tool::RiskLevel};

/// This doc comment is not what the model sees.
#[bighub::action(
    system = "stripe",
    risk = "critical",
    environment = "production",
    name = "refund-payment",
    description = "Refund a payment, fully or in part.",
    action_name = "refund",
    domain = "payments",
    actor = "billing-bot",
    target = "payment_id",
    value = "amount",
    secret = ["api_key", "otp"],
    timeout = "1500ms",
)]
fn refund(payment_id: String, amount: f64, api_key: String, otp: String) -> bool {
    let _ = (payment_id, amount, api_key, otp);
    true
}

// No doc comment is needed when `description` is given.
#[bighub::action(system = "stripe", description = "List payments.", secret = "api_key")]
fn list_payments(api_key: String) -> Vec<String> {
    let _ = api_key;
    Vec::new()
}

fn main() {
    assert_eq!(Refund.name(), "refund-payment");
    assert_eq!(Refund.description(), "Refund a payment, fully or in part.");
    let meta = Refund.metadata();
    assert_eq!(meta.system.as_deref(), Some("stripe"));
    assert_eq!(meta.risk, RiskLevel::Critical);
    assert_eq!(meta.environment.as_deref(), Some("production"));
    assert_eq!(meta.action_name.as_deref(), Some("refund"));
    assert_eq!(meta.domain.as_deref(), Some("payments"));
    assert_eq!(meta.actor.as_deref(), Some("billing-bot"));
    assert_eq!(meta.target_arg.as_deref(), Some("payment_id"));
    assert_eq!(meta.value_arg.as_deref(), Some("amount"));
    assert_eq!(meta.secret_args, ["api_key", "otp"]);
    assert_eq!(meta.timeout, Some(std::time::Duration::from_millis(1500)));
    assert_eq!(ListPayments.name(), "list_payments");
    assert_eq!(ListPayments.metadata().secret_args, ["api_key"]);
    assert_eq!(ListPayments.metadata().timeout, None, "the agent's tool_timeout applies");
}
