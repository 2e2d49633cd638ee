//! Grype's JSON report (`grype -o json`).
//!
//! Owns the fields read from it, as lenient serde structs (unknown fields ignored, optional
//! fields optional): Anchore publishes Grype's JSON schema but no Rust types.
//!
//! - scanner: `descriptor.name` / `descriptor.version`; generated: `descriptor.timestamp`
//!   (test output writes `""`, read as unknown).
//! - digests: `source.target.repoDigests`, `manifestDigest`, `imageID` (an image source; for
//!   a directory `target` is a string and names none).
//! - findings: `matches[]`: `vulnerability.id`, `vulnerability.severity` (Grype's `Negligible`
//!   is low), `artifact.name` / `version` / `purl`, `vulnerability.fix.versions`;
//!   `relatedVulnerabilities[].id` are aliases; fixable when `fix.state` is `fixed` or it names
//!   versions.

use serde::Deserialize;
use serde_json::Value;

use crate::report::{timestamp, typed};
use crate::{Digest, EvidenceError, Finding, Report, ReportFormat, Scanner, Severity};

#[derive(Deserialize)]
struct GrypeReport {
    #[serde(default)]
    matches: Option<Vec<Match>>,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    descriptor: Option<Descriptor>,
}

#[derive(Deserialize)]
pub(crate) struct Source {
    #[serde(default)]
    pub(crate) target: Option<Value>,
}

#[derive(Deserialize)]
pub(crate) struct Descriptor {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) version: Option<String>,
    #[serde(default)]
    pub(crate) timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Match {
    vulnerability: Vulnerability,
    #[serde(default)]
    related_vulnerabilities: Option<Vec<Related>>,
    #[serde(default)]
    artifact: Option<Artifact>,
}

#[derive(Deserialize)]
struct Vulnerability {
    id: String,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    fix: Option<Fix>,
}

#[derive(Deserialize)]
struct Fix {
    #[serde(default)]
    versions: Option<Vec<String>>,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Deserialize)]
struct Related {
    id: String,
}

#[derive(Deserialize)]
struct Artifact {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    purl: Option<String>,
}

/// The digests an image source names: `repoDigests`, `manifestDigest`, `imageID` (Grype's
/// `source.target` and Syft's `source.metadata` share this shape).
pub(crate) fn image_digests(target: &Value, report: &mut Report) {
    let Some(target) = target.as_object() else {
        return;
    };
    if let Some(Value::Array(references)) = target.get("repoDigests") {
        for reference in references.iter().filter_map(Value::as_str) {
            report.add_digest(Digest::lenient(reference));
        }
    }
    for key in ["manifestDigest", "imageID"] {
        report.add_digest(
            target
                .get(key)
                .and_then(Value::as_str)
                .and_then(Digest::lenient),
        );
    }
}

pub(crate) fn read(value: &Value) -> Result<Report, EvidenceError> {
    let doc: GrypeReport = typed(ReportFormat::Grype, value)?;
    let descriptor = doc.descriptor.unwrap_or(Descriptor {
        name: None,
        version: None,
        timestamp: None,
    });
    let mut report = Report::empty(
        ReportFormat::Grype,
        Scanner::new(
            descriptor.name.as_deref().or(Some("grype")),
            descriptor.version.as_deref(),
        ),
        true,
    );
    report.generated_at = timestamp(descriptor.timestamp.as_deref());
    if let Some(target) = doc.source.and_then(|s| s.target) {
        image_digests(&target, &mut report);
    }
    for m in doc.matches.unwrap_or_default() {
        crate::report::bounded("findings", report.findings.len())?;
        let fix = m.vulnerability.fix;
        let state_fixed = fix
            .as_ref()
            .and_then(|f| f.state.as_deref())
            .is_some_and(|s| s.eq_ignore_ascii_case("fixed"));
        let fixed: Vec<String> = fix
            .and_then(|f| f.versions)
            .unwrap_or_default()
            .into_iter()
            .filter(|v| !v.trim().is_empty())
            .collect();
        let artifact = m.artifact.unwrap_or(Artifact {
            name: None,
            version: None,
            purl: None,
        });
        report.findings.push(Finding {
            aliases: m
                .related_vulnerabilities
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.id)
                .filter(|id| *id != m.vulnerability.id)
                .collect(),
            id: m.vulnerability.id,
            severity: Severity::parse(m.vulnerability.severity.as_deref().unwrap_or_default()),
            package: artifact.name.unwrap_or_default(),
            purl: artifact.purl.filter(|p| !p.is_empty()),
            installed: artifact.version.filter(|v| !v.is_empty()),
            fixable: state_fixed || !fixed.is_empty(),
            fixed,
        });
    }
    Ok(report)
}
