//! CycloneDX JSON (1.4 to 1.7 read alike): components, `vulnerabilities` and their VEX
//! `analysis`.
//!
//! Owns the fields read from it, as lenient serde structs (unknown fields ignored, optional
//! fields optional). The field-made `cyclonedx-bom` crate (0.8.1) was considered and not used:
//! it reads spec versions 1.3 to 1.5 only, so the 1.6 and 1.7 documents that Trivy and Grype
//! write today are refused, and it brings an XML parser, `regex`, `time`, `uuid` and an SPDX
//! expression parser that reading a handful of fields does not need.
//!
//! - scanner: the first of `metadata.tools` (1.5+ `{components: [...]}` or the older list);
//!   generated: `metadata.timestamp`.
//! - digests: `metadata.component`: its `bom-ref`, `purl` (`pkg:oci/...@sha256%3A...`) and
//!   `version` when they name a digest, its `SHA-256`/`SHA-384`/`SHA-512` `hashes`, and
//!   `properties` whose name says repo digest, image id or manifest digest
//!   (`aquasecurity:trivy:RepoDigest`, `aquasecurity:trivy:ImageID`, ...); layer digests
//!   (`DiffID`) are not the image and are not read.
//! - findings: one per `vulnerabilities[]` entry and `affects[].ref`, the package resolved
//!   through the components' `bom-ref` (nested components included; a BOM-link
//!   `urn:cdx:...#ref` is resolved by its part after `#`). Severity: the highest of `ratings[]`
//!   (sources disagree; the policy sees the worst). Fixed versions: `affects[].versions[]`
//!   with status `unaffected`; fixable also when the entry has a `recommendation` (Trivy writes
//!   "Upgrade X to version Y" there).
//! - VEX: an entry's `analysis.state` becomes a statement about that vulnerability in this
//!   document (`not_affected`, `false_positive`, `resolved`, `resolved_with_pedigree`
//!   suppress).
//! - packages: `components[]`, nested ones included.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::report::{bounded, timestamp, typed};
use crate::{
    Digest, EvidenceError, Finding, Report, ReportFormat, Scanner, Severity, VexStatement,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    #[serde(default)]
    serial_number: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    components: Option<Vec<Component>>,
    #[serde(default)]
    vulnerabilities: Option<Vec<Vulnerability>>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    tools: Option<Tools>,
    #[serde(default)]
    component: Option<Component>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Tools {
    /// 1.5 and later.
    Object {
        #[serde(default)]
        components: Option<Vec<Tool>>,
        #[serde(default)]
        services: Option<Vec<Tool>>,
    },
    /// 1.4 and earlier (deprecated, still written).
    List(Vec<Tool>),
}

#[derive(Deserialize)]
struct Tool {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(rename = "bom-ref", default)]
    bom_ref: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    hashes: Option<Vec<Hash>>,
    #[serde(default)]
    properties: Option<Vec<Property>>,
    #[serde(default)]
    components: Option<Vec<Component>>,
}

#[derive(Deserialize)]
struct Hash {
    alg: String,
    content: String,
}

#[derive(Deserialize)]
struct Property {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Deserialize)]
struct Vulnerability {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    references: Option<Vec<Reference>>,
    #[serde(default)]
    ratings: Option<Vec<Rating>>,
    #[serde(default)]
    recommendation: Option<String>,
    #[serde(default)]
    analysis: Option<Analysis>,
    #[serde(default)]
    affects: Option<Vec<Affects>>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
struct Rating {
    #[serde(default)]
    severity: Option<String>,
}

#[derive(Deserialize)]
struct Analysis {
    #[serde(default)]
    state: Option<String>,
}

#[derive(Deserialize)]
struct Affects {
    #[serde(rename = "ref")]
    target: String,
    #[serde(default)]
    versions: Option<Vec<AffectedVersion>>,
}

#[derive(Deserialize)]
struct AffectedVersion {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

pub(crate) fn read(value: &Value) -> Result<Report, EvidenceError> {
    let bom: Bom = typed(ReportFormat::Cyclonedx, value)?;
    let metadata = bom.metadata.unwrap_or(Metadata {
        timestamp: None,
        tools: None,
        component: None,
    });
    let tool = match metadata.tools {
        Some(Tools::Object {
            components,
            services,
        }) => components
            .into_iter()
            .flatten()
            .chain(services.into_iter().flatten())
            .next(),
        Some(Tools::List(list)) => list.into_iter().next(),
        None => None,
    };
    let scanner = match &tool {
        Some(t) => Scanner::new(t.name.as_deref(), t.version.as_deref()),
        None => Scanner::new(None, None),
    };
    let mut report = Report::empty(
        ReportFormat::Cyclonedx,
        scanner,
        bom.vulnerabilities.is_some(),
    );
    report.generated_at = timestamp(metadata.timestamp.as_deref());
    if let Some(subject) = &metadata.component {
        subject_digests(subject, &mut report);
    }

    let mut by_ref: HashMap<&str, &Component> = HashMap::new();
    let mut stack: Vec<&Component> = bom.components.iter().flatten().collect();
    stack.extend(&metadata.component);
    while let Some(component) = stack.pop() {
        report.packages += 1;
        bounded("components", report.packages)?;
        if let Some(r) = component.bom_ref.as_deref() {
            by_ref.insert(r, component);
        }
        stack.extend(component.components.iter().flatten());
    }
    // The subject itself is not one of its packages.
    report.packages -= usize::from(metadata.component.is_some());

    let document = bom.serial_number.clone().unwrap_or_default();
    for v in bom.vulnerabilities.iter().flatten() {
        let Some(id) = v.id.clone().filter(|id| !id.is_empty()) else {
            continue;
        };
        let aliases: Vec<String> = v
            .references
            .iter()
            .flatten()
            .filter_map(|r| r.id.clone())
            .filter(|r| *r != id)
            .collect();
        let severity = v
            .ratings
            .iter()
            .flatten()
            .filter_map(|r| r.severity.as_deref())
            .map(Severity::parse)
            .min()
            .unwrap_or(Severity::Unknown);
        let recommended = v
            .recommendation
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty());
        let affects: Vec<&Affects> = v.affects.iter().flatten().collect();
        let mut push = |package: String,
                        purl: Option<String>,
                        installed: Option<String>,
                        fixed: Vec<String>| {
            report.findings.push(Finding {
                id: id.clone(),
                aliases: aliases.clone(),
                severity,
                package,
                purl,
                installed,
                fixable: recommended || !fixed.is_empty(),
                fixed,
            });
            bounded("findings", report.findings.len())
        };
        if affects.is_empty() {
            push(String::new(), None, None, Vec::new())?;
        }
        for affected in affects {
            let key = affected
                .target
                .rsplit_once('#')
                .map_or(affected.target.as_str(), |(_, r)| r);
            let component = by_ref.get(key);
            let purl = component
                .and_then(|c| c.purl.clone())
                .or_else(|| key.starts_with("pkg:").then(|| key.to_owned()));
            let package = component
                .and_then(|c| c.name.clone())
                .or_else(|| purl.as_deref().map(purl_name))
                .unwrap_or_default();
            let installed = component.and_then(|c| c.version.clone()).or_else(|| {
                affected
                    .versions
                    .iter()
                    .flatten()
                    .find(|v| v.status.as_deref() == Some("affected"))
                    .and_then(|v| v.version.clone())
            });
            let fixed = affected
                .versions
                .iter()
                .flatten()
                .filter(|v| v.status.as_deref() == Some("unaffected"))
                .filter_map(|v| v.version.clone())
                .collect();
            push(package, purl, installed, fixed)?;
        }
        if let Some(state) = v.analysis.as_ref().and_then(|a| a.state.clone()) {
            report.vex.push(VexStatement {
                vulnerability: id.clone(),
                aliases,
                products: Vec::new(),
                status: state,
                timestamp: report.generated_at,
                document: document.clone(),
            });
        }
    }
    Ok(report)
}

/// Digests of the BOM's subject (`metadata.component`).
fn subject_digests(subject: &Component, report: &mut Report) {
    for id in [&subject.bom_ref, &subject.purl, &subject.version]
        .into_iter()
        .flatten()
    {
        report.add_digest(Digest::lenient(id));
    }
    for hash in subject.hashes.iter().flatten() {
        report.add_digest(Digest::from_parts(&hash.alg, &hash.content));
    }
    for property in subject.properties.iter().flatten() {
        let name = property
            .name
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if ["repodigest", "imageid", "manifestdigest"]
            .iter()
            .any(|k| name.contains(k))
        {
            report.add_digest(property.value.as_deref().and_then(Digest::lenient));
        }
    }
}

/// The name part of a package URL, for a finding whose component is not in the BOM.
fn purl_name(purl: &str) -> String {
    let path = purl.split(['?', '#']).next().unwrap_or_default();
    let path = match path.rfind('@') {
        Some(at) if !path[at..].contains('/') => &path[..at],
        _ => path,
    };
    path.rsplit('/').next().unwrap_or_default().to_owned()
}
