// The runtime reached through a re-export the macro cannot find in Cargo.toml.
mod sdk {
    pub use bighub as runtime;
}

use bighub::Action;

/// Rotate a key.
#[bighub::action(system = "vault", crate = "crate::sdk::runtime")]
fn rotate_key(path: String) -> String {
    path
}

fn main() {
    assert_eq!(RotateKey.name(), "rotate_key");
}
