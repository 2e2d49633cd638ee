//! SPDX 2.3 JSON (2.2 reads the same fields): an SBOM naming the image and its packages.
//!
//! Owns the fields read from it, as lenient serde structs (unknown fields ignored, optional
//! fields optional). The field-made `spdx-rs` crate (0.5.5) was considered and not used: its
//! document and package types deny unknown fields, so a report with one field it does not
//! model is refused whole, and it brings `chrono` and `nom` for a tag-value parser JSON does
//! not need.
//!
//! - scanner: the first `creationInfo.creators` entry `Tool: NAME-VERSION` (split at the first
//!   `-`, as the SPDX specification spells tools); generated: `creationInfo.created`.
//! - digests: every package's `externalRefs` purl of type `pkg:oci` with a digest; and, for the
//!   packages the document describes (`documentDescribes`, `SPDXRef-DOCUMENT DESCRIBES`
//!   relationships) or whose `primaryPackagePurpose` is `CONTAINER`, their SHA-256/384/512
//!   `checksums` and a `versionInfo` that is a digest.
//! - packages: `packages[]` other than the described image itself. No vulnerabilities: an SBOM
//!   is not a scan.

use serde::Deserialize;
use serde_json::Value;

use crate::report::{timestamp, typed};
use crate::{Digest, EvidenceError, Report, ReportFormat, Scanner};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    #[serde(default)]
    creation_info: Option<CreationInfo>,
    #[serde(default)]
    packages: Option<Vec<Package>>,
    #[serde(default)]
    document_describes: Option<Vec<String>>,
    #[serde(default)]
    relationships: Option<Vec<Relationship>>,
}

#[derive(Deserialize)]
struct CreationInfo {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    creators: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID", default)]
    spdx_id: Option<String>,
    #[serde(default)]
    version_info: Option<String>,
    #[serde(default)]
    primary_package_purpose: Option<String>,
    #[serde(default)]
    external_refs: Option<Vec<ExternalRef>>,
    #[serde(default)]
    checksums: Option<Vec<Checksum>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    #[serde(default)]
    reference_type: Option<String>,
    #[serde(default)]
    reference_locator: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: String,
    checksum_value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    #[serde(default)]
    spdx_element_id: Option<String>,
    #[serde(default)]
    relationship_type: Option<String>,
    #[serde(default)]
    related_spdx_element: Option<String>,
}

pub(crate) fn read(value: &Value) -> Result<Report, EvidenceError> {
    let doc: Document = typed(ReportFormat::Spdx, value)?;
    let creation = doc.creation_info.unwrap_or(CreationInfo {
        created: None,
        creators: None,
    });
    let tool = creation
        .creators
        .iter()
        .flatten()
        .find_map(|c| c.strip_prefix("Tool:").map(str::trim));
    let scanner = match tool.map(|t| t.split_once('-').unwrap_or((t, ""))) {
        Some((name, version)) => Scanner::new(Some(name), Some(version)),
        None => Scanner::new(None, None),
    };
    let mut report = Report::empty(ReportFormat::Spdx, scanner, false);
    report.generated_at = timestamp(creation.created.as_deref());

    let mut described: Vec<&str> = doc
        .document_describes
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    described.extend(
        doc.relationships
            .iter()
            .flatten()
            .filter(|r| {
                r.spdx_element_id.as_deref() == Some("SPDXRef-DOCUMENT")
                    && r.relationship_type.as_deref() == Some("DESCRIBES")
            })
            .filter_map(|r| r.related_spdx_element.as_deref()),
    );

    let packages = doc.packages.unwrap_or_default();
    let mut subjects = 0;
    for package in &packages {
        let mut image = false;
        for reference in package.external_refs.iter().flatten() {
            if reference.reference_type.as_deref() == Some("purl")
                && let Some(locator) = reference.reference_locator.as_deref()
                && locator.starts_with("pkg:oci/")
            {
                let digest = Digest::lenient(locator);
                image |= digest.is_some();
                report.add_digest(digest);
            }
        }
        let is_subject = package
            .spdx_id
            .as_deref()
            .is_some_and(|id| described.contains(&id))
            || package
                .primary_package_purpose
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("CONTAINER"));
        if is_subject {
            for checksum in package.checksums.iter().flatten() {
                report.add_digest(Digest::from_parts(
                    &checksum.algorithm,
                    &checksum.checksum_value,
                ));
            }
            report.add_digest(package.version_info.as_deref().and_then(Digest::lenient));
        }
        subjects += usize::from(is_subject || image);
    }
    report.packages = packages.len() - subjects;
    Ok(report)
}
