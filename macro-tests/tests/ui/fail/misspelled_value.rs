/// Refund a payment.
#[bighub::action(system = "stripe", value = "ammount")]
fn refund(payment_id: String, amount: f64) -> String {
    format!("{payment_id} {amount}")
}

fn main() {}
