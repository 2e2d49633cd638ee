//! Image digests, and how a reference names one.
//!
//! Owns [`Digest`]: a validated `algorithm:hex` content digest (`sha256`, `sha384` or `sha512`,
//! lower-case hex of the right length), and the lenient extraction of a digest from the ways
//! reports and deployments spell it: a bare digest, `registry/app@sha256:...`,
//! `repo:tag@sha256:...`, or a package URL such as `pkg:oci/app@sha256%3A...`. It does not
//! decide which digests a report is about; each format's module does.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::EvidenceError;

/// A content digest such as `sha256:4bf0...`, as a deployed image is pinned by.
///
/// Two digests are equal when algorithm and hex are equal; hex is kept lower-case, so the
/// spelling in a report does not matter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: &'static str,
    hex: String,
}

impl Digest {
    /// Reads a bare digest, `algorithm:hex`.
    ///
    /// ```
    /// use bighub_evidence::Digest;
    /// let d = Digest::parse("sha256:0bd0e9e03a022c3b0226667621da84fc9bf562a9056130424b5bfbd8bcb0397f")?;
    /// assert_eq!(d.algorithm(), "sha256");
    /// assert!(Digest::parse("sha256:nothex").is_err());
    /// # Ok::<(), bighub_evidence::EvidenceError>(())
    /// ```
    pub fn parse(input: &str) -> Result<Self, EvidenceError> {
        Self::parse_bare(input).ok_or_else(|| EvidenceError::InvalidDigest {
            input: truncate(input),
        })
    }

    /// Reads the digest an image reference pins: a bare digest, `name@digest`
    /// (`registry/app@sha256:...`, `repo:tag@sha256:...`), or a `pkg:oci` package URL whose
    /// version is the digest (`pkg:oci/app@sha256%3A...?repository_url=...`).
    ///
    /// A reference by tag alone pins nothing and is an error: the deployed content is what the
    /// evidence must be about.
    ///
    /// ```
    /// use bighub_evidence::Digest;
    /// let d = Digest::from_reference(
    ///     "ghcr.io/acme/app:1.4@sha256:0bd0e9e03a022c3b0226667621da84fc9bf562a9056130424b5bfbd8bcb0397f",
    /// )?;
    /// assert_eq!(d.to_string(), "sha256:0bd0e9e03a022c3b0226667621da84fc9bf562a9056130424b5bfbd8bcb0397f");
    /// assert!(Digest::from_reference("ghcr.io/acme/app:1.4").is_err());
    /// # Ok::<(), bighub_evidence::EvidenceError>(())
    /// ```
    pub fn from_reference(input: &str) -> Result<Self, EvidenceError> {
        Self::lenient(input).ok_or_else(|| EvidenceError::InvalidDigest {
            input: truncate(input),
        })
    }

    /// The algorithm: `sha256`, `sha384` or `sha512`.
    pub fn algorithm(&self) -> &'static str {
        self.algorithm
    }

    /// The lower-case hex of the digest.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// A digest from an algorithm name as reports spell it (`SHA256`, `SHA-256`, `sha256`)
    /// and its hex value; `None` when either does not fit.
    pub(crate) fn from_parts(algorithm: &str, hex: &str) -> Option<Self> {
        let algorithm: String = algorithm
            .chars()
            .filter(|c| *c != '-')
            .flat_map(char::to_lowercase)
            .collect();
        Self::parse_bare(&format!("{algorithm}:{hex}"))
    }

    /// [`Digest::from_reference`] without the error, for values read out of reports.
    pub(crate) fn lenient(input: &str) -> Option<Self> {
        let input = input.trim();
        if let Some(purl) = input.strip_prefix("pkg:") {
            return Self::from_oci_purl(purl);
        }
        if let Some(bare) = Self::parse_bare(input) {
            return Some(bare);
        }
        let (_, digest) = input.rsplit_once('@')?;
        Self::parse_bare(digest)
    }

    fn from_oci_purl(purl: &str) -> Option<Self> {
        let rest = purl.strip_prefix("oci/")?;
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (_, version) = rest.rsplit_once('@')?;
        let version = version.replace("%3A", ":").replace("%3a", ":");
        Self::parse_bare(&version)
    }

    fn parse_bare(input: &str) -> Option<Self> {
        let (algorithm, hex) = input.split_once(':')?;
        let (algorithm, len) = match algorithm {
            "sha256" => ("sha256", 64),
            "sha384" => ("sha384", 96),
            "sha512" => ("sha512", 128),
            _ => return None,
        };
        if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Self {
            algorithm,
            hex: hex.to_ascii_lowercase(),
        })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl std::str::FromStr for Digest {
    type Err = EvidenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_reference(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Errors quote their input; an absurdly long one is cut so the error stays readable.
fn truncate(input: &str) -> String {
    const KEEP: usize = 200;
    match input.char_indices().nth(KEEP) {
        Some((at, _)) => format!("{}...", &input[..at]),
        None => input.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0bd0e9e03a022c3b0226667621da84fc9bf562a9056130424b5bfbd8bcb0397f";

    #[test]
    fn every_spelling_of_one_digest_is_equal() {
        let bare = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        for spelling in [
            format!("sha256:{}", HEX.to_uppercase()),
            format!("registry.example.com:5000/team/app@sha256:{HEX}"),
            format!("app:1.2@sha256:{HEX}"),
            format!("pkg:oci/app@sha256%3A{HEX}?repository_url=ghcr.io/team/app&arch=amd64"),
            format!("pkg:oci/app@sha256:{HEX}?arch=arm64"),
        ] {
            assert_eq!(
                Digest::from_reference(&spelling).unwrap(),
                bare,
                "{spelling}"
            );
        }
        assert_eq!(
            Digest::from_parts("SHA-256", &HEX.to_uppercase()),
            Some(bare)
        );
    }

    #[test]
    fn what_is_not_a_digest_is_refused() {
        for input in [
            "",
            "app:latest",
            "sha256:",
            "sha256:abc",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            "pkg:oci/app@1.0",
            "pkg:deb/debian/bash@5.1",
            &format!("sha256:{HEX}0"),
            &format!("sha256:{}", "g".repeat(64)),
        ] {
            assert!(Digest::from_reference(input).is_err(), "{input}");
        }
        let long = "x".repeat(10_000);
        match Digest::parse(&long) {
            Err(EvidenceError::InvalidDigest { input }) => assert!(input.len() < 300),
            other => panic!("{other:?}"),
        }
    }
}
