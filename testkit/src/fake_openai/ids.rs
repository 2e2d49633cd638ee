//! Identifiers the fake hands out: `resp_...`, `msg_...`, `fc_...`, `rs_...`, the client-side
//! calls' `cu_...`, `lsh_...`, `sh_...`, `apc_...`, `ctc_...`, `call_...`, and opaque
//! `encrypted_content` blobs.
//!
//! Owns their format only; which ids are stored or valid is the server state's business.

/// A fresh id with this prefix: the prefix, then 32 random lowercase hex digits.
pub(crate) fn new_id(prefix: &str) -> String {
    format!(
        "{prefix}_{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    )
}

/// A call id in the real API's style: `call_` then 24 random alphanumerics.
pub(crate) fn new_call_id() -> String {
    let tail: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(24)
        .collect();
    format!("call_{tail}")
}

/// An opaque stand-in for the encrypted reasoning blob.
pub(crate) fn new_encrypted_content() -> String {
    let tail: String = std::iter::repeat_with(fastrand::alphanumeric)
        .take(64)
        .collect();
    format!("gAAAAAB{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_differ() {
        let a = new_id("resp");
        let b = new_id("resp");
        assert!(a.starts_with("resp_") && a.len() == 37);
        assert_ne!(a, b);
        assert!(new_call_id().starts_with("call_"));
        assert_ne!(new_encrypted_content(), new_encrypted_content());
    }
}
