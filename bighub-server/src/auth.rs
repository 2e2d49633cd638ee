//! API keys: which ones the server accepts, their names, and the check of `X-API-Key`.
//!
//! This module owns parsing keys (`BIGHUB_SERVER_API_KEYS`, a key file) and checking a
//! presented key. Keys are kept only as SHA-256 digests and compared in constant time; a
//! key's value is never printed (`Debug` shows names only), so logs and the decision log
//! name the key, never its value.

use std::fmt;
use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// The shortest key accepted: shorter ones are guessable, and a `name=key` entry whose key
/// part is short is more likely a mistyped key than a name.
pub const MIN_KEY_LEN: usize = 16;

/// Who may call the server.
#[derive(Clone)]
pub enum Auth {
    /// Requests need one of these keys in `X-API-Key`.
    Keys(ApiKeys),
    /// Every request is accepted, as the caller `anonymous`. The server refuses this
    /// unless it listens on a loopback address.
    InsecureNoAuth,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Keys(keys) => f.debug_tuple("Keys").field(keys).finish(),
            Self::InsecureNoAuth => f.write_str("InsecureNoAuth"),
        }
    }
}

impl Auth {
    /// The name of the key `presented` (the `X-API-Key` header's bytes), or `None` when it
    /// is missing or matches no key.
    pub fn check(&self, presented: Option<&[u8]>) -> Option<&str> {
        match self {
            Self::InsecureNoAuth => Some("anonymous"),
            Self::Keys(keys) => keys.check(presented?),
        }
    }
}

/// The API keys a server accepts, each with a name.
///
/// ```
/// use bighub_server::ApiKeys;
///
/// let keys = ApiKeys::parse("ci=bh_ci_0123456789abcdef, bh_ops_0123456789abcdef").unwrap();
/// assert_eq!(keys.names(), ["ci", "key-2"]);
/// assert_eq!(keys.check(b"bh_ci_0123456789abcdef"), Some("ci"));
/// assert_eq!(keys.check(b"bh_ci_0123456789abcdeX"), None);
/// // Debug output names the keys, never their values.
/// assert!(!format!("{keys:?}").contains("0123456789"));
/// ```
#[derive(Clone, Default)]
pub struct ApiKeys {
    keys: Vec<(String, [u8; 32])>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeys")
            .field("names", &self.names())
            .finish()
    }
}

impl ApiKeys {
    /// Keys from a comma-separated list (the form of `BIGHUB_SERVER_API_KEYS`); each entry
    /// is `name=key` or a bare key, which is named `key-N` after its position (from 1).
    /// Blank entries are skipped.
    ///
    /// # Errors
    ///
    /// A key shorter than [`MIN_KEY_LEN`], a name with characters other than letters,
    /// digits, `-`, `_`, `.`, or two keys with the same name or value. The message never
    /// contains a key.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut keys = Self::default();
        for entry in list.split(',') {
            keys.add_entry(entry)?;
        }
        Ok(keys)
    }

    /// Keys from a file: one entry (`name=key` or a bare key) per line; blank lines and
    /// lines starting with `#` are skipped.
    ///
    /// # Errors
    ///
    /// The file cannot be read, or an entry is refused as by [`parse`](Self::parse).
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the API key file {}: {e}", path.display()))?;
        let mut keys = Self::default();
        for line in text.lines() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            keys.add_entry(line)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(keys)
    }

    /// Adds `key` under `name`.
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse).
    pub fn add(&mut self, name: &str, key: &str) -> Result<(), String> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(format!(
                "API key name `{}` is not allowed: use letters, digits, -, _ and .",
                name.escape_debug()
            ));
        }
        if key.len() < MIN_KEY_LEN {
            return Err(format!(
                "the API key named `{name}` is shorter than {MIN_KEY_LEN} characters"
            ));
        }
        let digest = sha256(key.as_bytes());
        if self.keys.iter().any(|(n, _)| n == name) {
            return Err(format!("two API keys are named `{name}`"));
        }
        if self.keys.iter().any(|(_, d)| *d == digest) {
            return Err(format!("the API key named `{name}` is listed twice"));
        }
        self.keys.push((name.to_owned(), digest));
        Ok(())
    }

    /// Adds every key of `other`, under its name.
    ///
    /// # Errors
    ///
    /// A name or a key both lists hold.
    pub fn extend(&mut self, other: &ApiKeys) -> Result<(), String> {
        for (name, digest) in &other.keys {
            if self.keys.iter().any(|(n, _)| n == name) {
                return Err(format!("two API keys are named `{name}`"));
            }
            if self.keys.iter().any(|(_, d)| d == digest) {
                return Err(format!("the API key named `{name}` is listed twice"));
            }
            self.keys.push((name.clone(), *digest));
        }
        Ok(())
    }

    fn add_entry(&mut self, entry: &str) -> Result<(), String> {
        let entry = entry.trim();
        if entry.is_empty() {
            return Ok(());
        }
        match entry.split_once('=') {
            Some((name, key)) => self.add(name.trim(), key.trim()),
            None => {
                let name = format!("key-{}", self.keys.len() + 1);
                self.add(&name, entry)
            }
        }
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.keys.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The name of the key `presented`, if it is one of these keys.
    ///
    /// Every key is compared, each in constant time, on the SHA-256 of the presented value,
    /// so neither the time taken nor the digests' lengths tell which key (or how much of
    /// one) matched.
    pub fn check(&self, presented: &[u8]) -> Option<&str> {
        let digest = sha256(presented);
        let mut found: Option<&str> = None;
        for (name, known) in &self.keys {
            let hit: Choice = known.ct_eq(&digest);
            if bool::from(hit) {
                found = Some(name);
            }
        }
        found
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_errors() {
        let keys = ApiKeys::parse(" a=0123456789abcdef0 ,, 0123456789abcdef1 ").unwrap();
        assert_eq!(keys.names(), ["a", "key-2"]);
        assert_eq!(keys.check(b"0123456789abcdef1"), Some("key-2"));
        assert_eq!(keys.check(b""), None);
        let short = ApiKeys::parse("abc==").unwrap_err();
        assert!(short.contains("shorter"), "{short}");
        assert!(!short.contains("=="));
        let twice = ApiKeys::parse("a=0123456789abcdef0,b=0123456789abcdef0").unwrap_err();
        assert!(
            twice.contains("listed twice") && !twice.contains("0123"),
            "{twice}"
        );
        assert!(ApiKeys::parse("a b=0123456789abcdef0").is_err());
        assert!(ApiKeys::parse("").unwrap().is_empty());
    }

    #[test]
    fn key_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(
            &path,
            "# agents\nops=0123456789abcdef0\n\n0123456789abcdef1\n",
        )
        .unwrap();
        let keys = ApiKeys::from_file(&path).unwrap();
        assert_eq!(keys.names(), ["ops", "key-2"]);
    }
}
