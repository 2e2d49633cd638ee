//! Signatures: how a webhook receiver knows a notification came from this server, and how
//! this server knows a Slack request came from Slack.
//!
//! This module owns [`SigningSecret`] (a secret `Debug` never prints), the signature of
//! outgoing notifications ([`sign`], headers [`TIMESTAMP_HEADER`] and
//! [`SIGNATURE_HEADER`]) and the check of Slack's `X-Slack-Signature`. Both are
//! HMAC-SHA256 over a version, the timestamp and the raw body; both are compared in
//! constant time. It does not decide what is sent or accepted, only whether it is signed.
//!
//! # Verifying a notification
//!
//! A receiver recomputes `v1=` + hex(HMAC-SHA256(secret, `v1:{timestamp}:{body}`)), with the
//! timestamp exactly as sent in `X-Bighub-Timestamp` and the body's bytes exactly as
//! received, compares it in constant time with `X-Bighub-Signature`, and refuses a
//! timestamp far from its own clock (five minutes, say) so a recorded request cannot be
//! replayed later. Retries are signed again, with the time of the retry; the body's `id`
//! stays the same, so a receiver can also drop a delivery it has seen.
//!
//! ```
//! use hmac::{Hmac, Mac};
//! use sha2::Sha256;
//!
//! fn verify(secret: &[u8], timestamp: &str, body: &[u8], signature: &str, now: u64) -> bool {
//!     let Ok(sent) = timestamp.parse::<u64>() else { return false };
//!     if sent.abs_diff(now) > 300 {
//!         return false;
//!     }
//!     let Some(hex) = signature.strip_prefix("v1=") else { return false };
//!     let Some(tag) = (0..hex.len())
//!         .step_by(2)
//!         .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
//!         .collect::<Option<Vec<u8>>>()
//!     else {
//!         return false;
//!     };
//!     let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
//!     mac.update(format!("v1:{timestamp}:").as_bytes());
//!     mac.update(body);
//!     mac.verify_slice(&tag).is_ok() // constant time
//! }
//!
//! let secret = bighub_server::notify::SigningSecret::new("whsec_0123456789abcdef").unwrap();
//! let body = br#"{"type":"approval.requested"}"#;
//! let signature = bighub_server::notify::sign(&secret, 1_760_000_000, body);
//! assert!(verify(b"whsec_0123456789abcdef", "1760000000", body, &signature, 1_760_000_100));
//! assert!(!verify(b"whsec_0123456789abcdef", "1760000000", b"{}", &signature, 1_760_000_100));
//! assert!(!verify(b"whsec_0123456789abcdef", "1760000000", body, &signature, 1_760_009_999));
//! ```

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::NotifyError;

/// The header carrying the Unix time (seconds) a notification was signed at.
pub const TIMESTAMP_HEADER: &str = "x-bighub-timestamp";
/// The header carrying a notification's signature, `v1=<hex>`.
pub const SIGNATURE_HEADER: &str = "x-bighub-signature";
/// The shortest signing secret accepted.
pub const MIN_SECRET_LEN: usize = 16;

/// A shared secret that signs or verifies requests. `Debug` never shows it.
///
/// ```
/// use bighub_server::notify::SigningSecret;
///
/// let secret = SigningSecret::new("whsec_0123456789abcdef\n").unwrap();
/// assert_eq!(format!("{secret:?}"), "SigningSecret([REDACTED])");
/// assert!(SigningSecret::new("short").is_err());
/// ```
#[derive(Clone)]
pub struct SigningSecret(Box<[u8]>);

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([REDACTED])")
    }
}

impl SigningSecret {
    /// The secret `text`, without surrounding whitespace (a file's last newline).
    ///
    /// # Errors
    ///
    /// A secret shorter than [`MIN_SECRET_LEN`] bytes.
    pub fn new(text: &str) -> Result<Self, NotifyError> {
        Self::named(text, "signing secret")
    }

    /// As [`new`](Self::new), naming the secret `what` in the error.
    pub(crate) fn named(text: &str, what: &'static str) -> Result<Self, NotifyError> {
        let text = text.trim();
        if text.len() < MIN_SECRET_LEN {
            return Err(NotifyError::Secret {
                what,
                reason: format!("shorter than {MIN_SECRET_LEN} characters"),
            });
        }
        Ok(Self(text.as_bytes().into()))
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        // HMAC takes keys of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// The signature of a notification `body` sent at `timestamp` (Unix seconds): `v1=` and
/// the hex HMAC-SHA256 of `v1:{timestamp}:{body}` with `secret`, the value of
/// [`SIGNATURE_HEADER`].
pub fn sign(secret: &SigningSecret, timestamp: u64, body: &[u8]) -> String {
    let tag = secret.mac(&[format!("v1:{timestamp}:").as_bytes(), body]);
    format!("v1={}", hex(&tag))
}

/// Whether `signature` (Slack's `X-Slack-Signature`) is `v0=` and the hex HMAC-SHA256 of
/// `v0:{timestamp}:{body}` with `secret`; compared in constant time.
pub(crate) fn slack_signature_matches(
    secret: &SigningSecret,
    timestamp: &[u8],
    body: &[u8],
    signature: &[u8],
) -> bool {
    let tag = secret.mac(&[b"v0:", timestamp, b":", body]);
    let expected = format!("v0={}", hex(&tag));
    // Slices of different lengths compare unequal, still without an early exit on content.
    bool::from(expected.as_bytes().ct_eq(signature))
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_a_known_vector() {
        // RFC 4231, test case 2 ("Jefe" is shorter than accepted secrets, so the MAC is
        // built directly).
        let secret = SigningSecret(b"Jefe".to_vec().into());
        let tag = secret.mac(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex(&tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn slack_signature_is_checked_on_every_byte() {
        let secret = SigningSecret::new("8f742231b10e8888abcd99yyyzzz85a5").unwrap();
        let body = b"payload=%7B%7D";
        let tag = secret.mac(&[b"v0:1531420618:", body]);
        let good = format!("v0={}", hex(&tag));
        assert!(slack_signature_matches(
            &secret,
            b"1531420618",
            body,
            good.as_bytes()
        ));
        assert!(!slack_signature_matches(
            &secret,
            b"1531420619",
            body,
            good.as_bytes()
        ));
        assert!(!slack_signature_matches(
            &secret,
            b"1531420618",
            b"payload=x",
            good.as_bytes()
        ));
        assert!(!slack_signature_matches(
            &secret,
            b"1531420618",
            body,
            &good.as_bytes()[..10]
        ));
        assert!(!slack_signature_matches(&secret, b"1531420618", body, b""));
    }
}
