//! The summary of one scan that a policy reads as `input.evidence.scan`.
//!
//! Owns [`ScanSummary`], [`SeverityCounts`] and [`TopFinding`]: counting findings by severity,
//! before and after VEX, the report's age, and the ordered top findings. It does not read
//! reports (each format's module does) nor decide which statement covers a finding
//! ([`crate::VexStatement`] does).

use std::collections::{BTreeMap, HashSet};

use jiff::Timestamp;
use serde::Serialize;

use crate::{Digest, Finding, Report, ReportFormat, Scanner, Severity, VexStatement, vex};

/// What one scan says about one image, as the policy sees it.
///
/// Serialized (with `serde_json`) as:
///
/// ```json
/// {
///   "scanner": {"name": "grype", "version": "0.65.1"},
///   "digest": "sha256:10008791acbc5866de04108746a02a0c4029ce3a4400a9b3dad45d7f2245f9da",
///   "generated_at": "2023-08-31T19:13:32.377177Z",
///   "age_seconds": 86400,
///   "counts": {"critical": 0, "high": 0, "medium": 2, "low": 0, "unknown": 0},
///   "fixable": {"critical": 0, "high": 0, "medium": 1, "low": 0, "unknown": 0},
///   "after_vex": {"critical": 0, "high": 0, "medium": 2, "low": 0, "unknown": 0},
///   "fixable_after_vex": {"critical": 0, "high": 0, "medium": 1, "low": 0, "unknown": 0},
///   "suppressed_by_vex": 0,
///   "vex_documents": {},
///   "top_findings": [
///     {"id": "GHSA-cfh5-3ghh-wfjx", "severity": "medium", "package": "httpclient",
///      "installed": "4.1.1", "fixed": ["4.3.5"], "fixable": true},
///     {"id": "CVE-2014-3577", "severity": "medium", "package": "httpclient",
///      "installed": "4.1.1", "fixed": null, "fixable": false}
///   ],
///   "format": "grype"
/// }
/// ```
///
/// Every string in it (ids, package names, versions, scanner, document names) came from a
/// report: it is data, and a caller that displays it escapes it.
///
/// ```
/// use bighub_evidence::{Digest, Report};
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/grype/ghsa-test.json");
/// let report = Report::read(path)?;
/// let digest = report.digests[0].clone();
/// let now = "2023-09-01T19:13:32.377177Z".parse().unwrap();
/// let summary = report.summary(&digest, &[], now);
/// assert_eq!(summary.age_seconds, Some(86_400));
/// assert_eq!(summary.counts.medium, 2);
/// let json = serde_json::to_value(&summary).unwrap();
/// assert_eq!(json["top_findings"][0]["fixed"][0], "4.3.5");
/// # Ok::<(), bighub_evidence::EvidenceError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ScanSummary {
    /// `scanner`: the tool that wrote the report, `{name, version}` (`version` may be null).
    pub scanner: Scanner,
    /// `digest`: the image digest the summary is about, `algorithm:hex`.
    pub digest: Digest,
    /// `generated_at`: when the report was generated, RFC 3339 in UTC, or null when the report
    /// does not say.
    pub generated_at: Option<String>,
    /// `age_seconds`: whole seconds from `generated_at` to the `now` the caller passed; null
    /// when `generated_at` is; negative when the report claims to be from the future.
    pub age_seconds: Option<i64>,
    /// `counts`: findings by severity, as the report lists them (a finding listed twice for
    /// the same vulnerability, package and version counts once).
    pub counts: SeverityCounts,
    /// `fixable`: the findings of `counts` that have a fix available.
    pub fixable: SeverityCounts,
    /// `after_vex`: `counts` without the findings a VEX statement suppresses.
    pub after_vex: SeverityCounts,
    /// `fixable_after_vex`: `fixable` without the findings a VEX statement suppresses.
    pub fixable_after_vex: SeverityCounts,
    /// `suppressed_by_vex`: how many findings VEX statements suppressed.
    pub suppressed_by_vex: usize,
    /// `vex_documents`: for each VEX document that suppressed a finding, how many it
    /// suppressed (its `@id` or `serialNumber`, else the file it was read from).
    pub vex_documents: BTreeMap<String, usize>,
    /// `top_findings`: at most [`ScanSummary::TOP`] findings that VEX did not suppress, the
    /// most severe first, then fixable before not fixable, then by id and package.
    pub top_findings: Vec<TopFinding>,
    /// `format`: the report's format (`trivy`, `grype`, `cyclonedx`, `spdx`, `syft`).
    pub format: ReportFormat,
}

/// Findings counted by severity; serialized as `{critical, high, medium, low, unknown}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    /// Critical findings.
    pub critical: usize,
    /// High findings.
    pub high: usize,
    /// Medium findings.
    pub medium: usize,
    /// Low findings (including Grype's negligible).
    pub low: usize,
    /// Findings without a known severity.
    pub unknown: usize,
}

impl SeverityCounts {
    /// The count for one severity.
    pub fn get(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Unknown => self.unknown,
        }
    }

    /// All findings counted, whatever their severity.
    pub fn total(&self) -> usize {
        Severity::ALL.iter().map(|s| self.get(*s)).sum()
    }

    fn add(&mut self, severity: Severity) {
        *match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Unknown => &mut self.unknown,
        } += 1;
    }
}

/// One of the findings a summary shows by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopFinding {
    /// `id`: the vulnerability id.
    pub id: String,
    /// `severity`: `critical`, `high`, `medium`, `low` or `unknown`.
    pub severity: Severity,
    /// `package`: the package name (empty when the report names none).
    pub package: String,
    /// `installed`: the installed version, or null.
    pub installed: Option<String>,
    /// `fixed`: the versions that fix it, or null when the report names none.
    pub fixed: Option<Vec<String>>,
    /// `fixable`: whether a fix is available.
    pub fixable: bool,
}

impl ScanSummary {
    /// How many findings `top_findings` shows at most.
    pub const TOP: usize = 10;

    pub(crate) fn new(
        report: &Report,
        digest: &Digest,
        vex: &[VexStatement],
        now: Timestamp,
    ) -> Self {
        let mut counts = SeverityCounts::default();
        let mut fixable = SeverityCounts::default();
        let mut after_vex = SeverityCounts::default();
        let mut fixable_after_vex = SeverityCounts::default();
        let mut vex_documents: BTreeMap<String, usize> = BTreeMap::new();
        let mut suppressed_by_vex = 0;
        let mut remaining: Vec<&Finding> = Vec::new();

        let mut seen = HashSet::new();
        for finding in &report.findings {
            if !seen.insert((&finding.id, &finding.package, &finding.installed)) {
                continue;
            }
            counts.add(finding.severity);
            if finding.fixable {
                fixable.add(finding.severity);
            }
            let statements = report.vex.iter().chain(vex);
            match vex::deciding(statements, finding, digest) {
                Some(statement) if statement.suppresses() => {
                    suppressed_by_vex += 1;
                    *vex_documents.entry(statement.document.clone()).or_default() += 1;
                }
                _ => {
                    after_vex.add(finding.severity);
                    if finding.fixable {
                        fixable_after_vex.add(finding.severity);
                    }
                    remaining.push(finding);
                }
            }
        }

        remaining.sort_by(|a, b| {
            (a.severity, !a.fixable, &a.id, &a.package, &a.installed).cmp(&(
                b.severity,
                !b.fixable,
                &b.id,
                &b.package,
                &b.installed,
            ))
        });
        let top_findings = remaining
            .into_iter()
            .take(Self::TOP)
            .map(|f| TopFinding {
                id: f.id.clone(),
                severity: f.severity,
                package: f.package.clone(),
                installed: f.installed.clone(),
                fixed: (!f.fixed.is_empty()).then(|| f.fixed.clone()),
                fixable: f.fixable,
            })
            .collect();

        let age_seconds = report
            .generated_at
            .map(|at| now.duration_since(at).as_secs());
        Self {
            scanner: report.scanner.clone(),
            digest: digest.clone(),
            generated_at: report.generated_at.map(|t| t.to_string()),
            age_seconds,
            counts,
            fixable,
            after_vex,
            fixable_after_vex,
            suppressed_by_vex,
            vex_documents,
            top_findings,
            format: report.format,
        }
    }
}
