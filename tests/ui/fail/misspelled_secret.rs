/// Rotate a credential.
#[bighub::action(system = "vault", secret = ["new_secret", "tokn"])]
fn rotate(path: String, new_secret: String, token: String) -> String {
    format!("{path} {new_secret} {token}")
}

fn main() {}
