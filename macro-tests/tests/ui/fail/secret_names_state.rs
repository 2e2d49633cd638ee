use bighub::State;

struct Vault;

/// Rotate a credential.
#[bighub::action(system = "vault", secret = "vault", target = "nothing_close")]
fn rotate(path: String, vault: State<Vault>) -> String {
    let _ = vault;
    path
}

fn main() {}
