//! Trivy's JSON report (`trivy image --format json`, `SchemaVersion` 2).
//!
//! Owns the fields read from it, as lenient serde structs (unknown fields ignored, every field
//! optional or defaulted, `null` lists read as empty): Trivy publishes no Rust types and its
//! report grows a field most releases.
//!
//! - scanner: `trivy` and `Trivy.Version`; generated: `CreatedAt`.
//! - digests: `Metadata.RepoDigests` (`repo@sha256:...`) and `Metadata.ImageID`.
//! - findings: `Results[].Vulnerabilities[]`: `VulnerabilityID`, `Severity`, `PkgName`,
//!   `PkgIdentifier.PURL`, `InstalledVersion`, `FixedVersion` (Trivy joins several with
//!   `", "`); fixable when `FixedVersion` is non-empty.
//! - packages: `Results[].Packages[]`, present with `--list-all-pkgs`.

use serde::Deserialize;
use serde_json::Value;

use crate::report::{timestamp, typed};
use crate::{Digest, EvidenceError, Finding, Report, ReportFormat, Scanner, Severity};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrivyReport {
    #[serde(default)]
    trivy: Option<Tool>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    results: Option<Vec<TrivyResult>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tool {
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "ImageID", default)]
    image_id: Option<String>,
    #[serde(rename = "RepoDigests", default)]
    repo_digests: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TrivyResult {
    #[serde(default)]
    vulnerabilities: Option<Vec<Vulnerability>>,
    #[serde(default)]
    packages: Option<Vec<serde::de::IgnoredAny>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Vulnerability {
    #[serde(rename = "VulnerabilityID")]
    vulnerability_id: String,
    #[serde(default)]
    pkg_name: Option<String>,
    #[serde(default)]
    pkg_identifier: Option<PkgIdentifier>,
    #[serde(default)]
    installed_version: Option<String>,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(rename = "VendorIDs", default)]
    vendor_ids: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct PkgIdentifier {
    #[serde(rename = "PURL", default)]
    purl: Option<String>,
}

pub(crate) fn read(value: &Value) -> Result<Report, EvidenceError> {
    let doc: TrivyReport = typed(ReportFormat::Trivy, value)?;
    let version = doc.trivy.and_then(|t| t.version);
    let mut report = Report::empty(
        ReportFormat::Trivy,
        Scanner::new(Some("trivy"), version.as_deref()),
        true,
    );
    report.generated_at = timestamp(doc.created_at.as_deref());
    if let Some(metadata) = doc.metadata {
        for reference in metadata.repo_digests.unwrap_or_default() {
            report.add_digest(Digest::lenient(&reference));
        }
        report.add_digest(metadata.image_id.as_deref().and_then(Digest::lenient));
    }
    for result in doc.results.unwrap_or_default() {
        report.packages += result.packages.map_or(0, |p| p.len());
        for v in result.vulnerabilities.unwrap_or_default() {
            crate::report::bounded("findings", report.findings.len())?;
            let fixed: Vec<String> = v
                .fixed_version
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            report.findings.push(Finding {
                id: v.vulnerability_id,
                aliases: v.vendor_ids.unwrap_or_default(),
                severity: Severity::parse(v.severity.as_deref().unwrap_or_default()),
                package: v.pkg_name.unwrap_or_default(),
                purl: v.pkg_identifier.and_then(|p| p.purl),
                installed: v.installed_version.filter(|s| !s.is_empty()),
                fixable: !fixed.is_empty(),
                fixed,
            });
        }
    }
    Ok(report)
}
