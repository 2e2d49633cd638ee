/// Rotate a token.
#[bighub::action(system = "vault", target = "token", value = "pin", environment_arg = "env", secret = ["token", "pin", "env"])]
fn rotate(token: String, pin: u32, env: String) -> String {
    let _ = (pin, env);
    token
}

fn main() {}
