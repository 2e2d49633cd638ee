/// Rotate a credential.
#[bighub::action(system = "vault", secret = ["new_secret", "tokn"])]
fn rotate(path: String, new_secret: String, token: String) -> String {
    format!("{path} {new_secret} {token}")
}

/// Rotate another credential.
#[bighub::action(system = "vault", secret = ["token", "token"])]
fn rotate_again(token: String) -> String {
    token
}

fn main() {}
