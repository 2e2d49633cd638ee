//! One vulnerability found in one package, whatever scanner found it.
//!
//! Owns [`Finding`] and [`Severity`] (with the normalisation of each scanner's severity words).
//! It does not own counting or ordering findings; [`crate::ScanSummary`] does.

use serde::Serialize;

/// A severity, normalised to the five levels the policy sees.
///
/// Serialized lower-case: `critical`, `high`, `medium`, `low`, `unknown`. Ordered from the most
/// to the least severe, so sorting puts `Critical` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `CRITICAL` (Trivy), `Critical` (Grype), `critical` (CycloneDX).
    Critical,
    /// `HIGH`, `High`, `high`.
    High,
    /// `MEDIUM`, `Medium`, `medium`; also `moderate` (GitHub advisories' word).
    Medium,
    /// `LOW`, `Low`, `low`; also Grype's `Negligible` and CycloneDX's `info` and `none`, which
    /// all mean "known, and not worth more than low".
    Low,
    /// Anything else, including a missing severity and the scanners' own `UNKNOWN`.
    Unknown,
}

impl Severity {
    /// Every severity, from the most to the least severe.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ];

    /// Normalises a scanner's severity word (case-insensitive); never fails, an unknown word
    /// is [`Severity::Unknown`].
    pub fn parse(word: &str) -> Self {
        match word.trim().to_ascii_lowercase().as_str() {
            "critical" => Self::Critical,
            "high" | "important" => Self::High,
            "medium" | "moderate" => Self::Medium,
            "low" | "negligible" | "info" | "informational" | "none" => Self::Low,
            _ => Self::Unknown,
        }
    }

    /// The lower-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
            Self::Unknown => "unknown",
        }
    }
}

/// One vulnerability in one package, as a report states it.
///
/// Every string here came from a report: it is data, never markup or a command, and a caller
/// that displays it escapes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// The vulnerability id the report uses (`CVE-...`, `GHSA-...`, a vendor id).
    pub id: String,
    /// Other ids of the same vulnerability the report gives (Grype's related vulnerabilities,
    /// CycloneDX `references`); VEX statements naming any of them apply.
    pub aliases: Vec<String>,
    /// Normalised severity.
    pub severity: Severity,
    /// Package name; empty when the report names none.
    pub package: String,
    /// Package URL, when the report gives one.
    pub purl: Option<String>,
    /// Installed version, when known.
    pub installed: Option<String>,
    /// Versions that fix it, when the report names them.
    pub fixed: Vec<String>,
    /// Whether a fix is available (a fixed version, or the report's own "fixed" state or
    /// recommendation even where it names no version).
    pub fixable: bool,
}

impl Finding {
    /// Whether this finding is about vulnerability `id` (its id or one of its aliases,
    /// compared case-insensitively).
    pub fn is_about(&self, id: &str) -> bool {
        std::iter::once(&self.id)
            .chain(&self.aliases)
            .any(|own| own.eq_ignore_ascii_case(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_words_of_every_scanner_normalise() {
        for (word, severity) in [
            ("CRITICAL", Severity::Critical),
            ("Critical", Severity::Critical),
            ("HIGH", Severity::High),
            ("medium", Severity::Medium),
            ("Moderate", Severity::Medium),
            ("Negligible", Severity::Low),
            ("info", Severity::Low),
            ("none", Severity::Low),
            ("LOW", Severity::Low),
            ("UNKNOWN", Severity::Unknown),
            ("", Severity::Unknown),
            ("catastrophic", Severity::Unknown),
        ] {
            assert_eq!(Severity::parse(word), severity, "{word}");
        }
        let mut sorted = vec![Severity::Low, Severity::Unknown, Severity::Critical];
        sorted.sort();
        assert_eq!(
            sorted,
            [Severity::Critical, Severity::Low, Severity::Unknown]
        );
    }
}
