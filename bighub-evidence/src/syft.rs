//! Syft's own JSON SBOM (`syft -o json`).
//!
//! Owns the fields read from it, as lenient serde structs (unknown fields ignored): Anchore
//! publishes Syft's JSON schema but no Rust types, and an SBOM needs only a few of its fields.
//!
//! - scanner: `descriptor.name` / `descriptor.version`; generated: `descriptor.timestamp` when
//!   present (Syft's JSON usually has none, so the report's age is unknown).
//! - digests: `source.metadata` (older schemas: `source.target`) `repoDigests`,
//!   `manifestDigest`, `imageID`, and `source.version` when it is a digest.
//! - packages: `artifacts[]`. No vulnerabilities: an SBOM is not a scan.

use serde::Deserialize;
use serde_json::Value;

use crate::grype::{Descriptor, image_digests};
use crate::report::{timestamp, typed};
use crate::{Digest, EvidenceError, Report, ReportFormat, Scanner};

#[derive(Deserialize)]
struct SyftReport {
    #[serde(default)]
    artifacts: Option<Vec<serde::de::IgnoredAny>>,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    descriptor: Option<Descriptor>,
}

#[derive(Deserialize)]
struct Source {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    target: Option<Value>,
}

pub(crate) fn read(value: &Value) -> Result<Report, EvidenceError> {
    let doc: SyftReport = typed(ReportFormat::Syft, value)?;
    let (name, version, generated) = match doc.descriptor {
        Some(d) => (d.name, d.version, d.timestamp),
        None => (None, None, None),
    };
    let mut report = Report::empty(
        ReportFormat::Syft,
        Scanner::new(name.as_deref().or(Some("syft")), version.as_deref()),
        false,
    );
    report.generated_at = timestamp(generated.as_deref());
    if let Some(source) = doc.source {
        for image in [&source.metadata, &source.target].into_iter().flatten() {
            image_digests(image, &mut report);
        }
        report.add_digest(source.version.as_deref().and_then(Digest::lenient));
    }
    report.packages = doc.artifacts.map_or(0, |a| a.len());
    Ok(report)
}
