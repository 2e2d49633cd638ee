//! One report, read from any supported format into one shape.
//!
//! Owns [`Report`], [`ReportFormat`] and [`Scanner`]: the size limit, the JSON parse, telling the
//! formats apart, and the bounds every format shares. It does not own the fields of any format
//! (one module each: `trivy.rs`, `grype.rs`, `cyclonedx.rs`, `spdx.rs`, `syft.rs`, `openvex.rs`)
//! nor the summary the policy reads ([`crate::ScanSummary`]).
//!
//! Every string in a report is data from whoever wrote the file; nothing here interprets it
//! beyond the fields named in each format's module, and a caller that displays it escapes it.

use std::fmt;
use std::io::Read;
use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::{Digest, EvidenceError, Finding, ScanSummary, VexStatement};

/// The formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ReportFormat {
    /// Trivy's JSON report (`trivy image --format json`, schema version 2).
    Trivy,
    /// Grype's JSON report (`grype -o json`).
    Grype,
    /// CycloneDX JSON (1.4 to 1.7 read alike), a BOM with or without `vulnerabilities`.
    Cyclonedx,
    /// SPDX 2.3 JSON (2.2 reads the same fields); an SBOM.
    Spdx,
    /// Syft's own JSON (`syft -o json`); an SBOM.
    Syft,
    /// An OpenVEX document (v0.0.1 and v0.2.0).
    Openvex,
}

impl ReportFormat {
    /// The lower-case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trivy => "trivy",
            Self::Grype => "grype",
            Self::Cyclonedx => "cyclonedx",
            Self::Spdx => "spdx",
            Self::Syft => "syft",
            Self::Openvex => "openvex",
        }
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tool that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scanner {
    /// Its name (`trivy`, `grype`, `syft`, ...); `unknown` when the report does not say.
    pub name: String,
    /// Its version, when the report says.
    pub version: Option<String>,
}

impl Scanner {
    pub(crate) fn new(name: Option<&str>, version: Option<&str>) -> Self {
        fn nonempty(s: Option<&str>) -> Option<&str> {
            s.map(str::trim).filter(|s| !s.is_empty())
        }
        Self {
            name: nonempty(name).unwrap_or("unknown").to_owned(),
            version: nonempty(version).map(str::to_owned),
        }
    }
}

/// A security report or VEX document, read from one of the [`ReportFormat`]s.
///
/// ```
/// use bighub_evidence::{Digest, Report, ReportFormat};
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/grype/ghsa-test.json");
/// let report = Report::read(path)?;
/// assert_eq!(report.format, ReportFormat::Grype);
/// let digest = Digest::from_reference(
///     "anchore/test_images@sha256:10008791acbc5866de04108746a02a0c4029ce3a4400a9b3dad45d7f2245f9da",
/// )?;
/// assert!(report.is_about(&digest));
/// # Ok::<(), bighub_evidence::EvidenceError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The format it was read as.
    pub format: ReportFormat,
    /// The tool that wrote it (for OpenVEX, the author).
    pub scanner: Scanner,
    /// When it was generated, when it says so in RFC 3339 (a missing, empty or redacted
    /// timestamp is `None`, never an error).
    pub generated_at: Option<Timestamp>,
    /// The image digests it is about (see each format's module for where they are read).
    pub digests: Vec<Digest>,
    /// Vulnerabilities found, as listed (empty for SBOMs and VEX documents).
    pub findings: Vec<Finding>,
    /// How many packages it lists (SBOMs and scans that list them; 0 otherwise).
    pub packages: usize,
    /// VEX statements it carries: CycloneDX `analysis` of its own vulnerabilities (applied to
    /// its own findings), or the statements of an OpenVEX document.
    pub vex: Vec<VexStatement>,
    /// Whether it is a vulnerability scan (Trivy, Grype, CycloneDX with `vulnerabilities`), as
    /// opposed to an SBOM or a VEX document, which say nothing about vulnerabilities found.
    pub is_scan: bool,
}

impl Report {
    /// Largest report read, in bytes (32 MiB); larger ones are refused unread.
    pub const MAX_BYTES: u64 = 32 * 1024 * 1024;
    /// Most findings, packages or VEX statements one report may list.
    pub const MAX_FINDINGS: usize = 200_000;

    /// Reads and parses the report at `path`, refusing it unread when it is over
    /// [`Report::MAX_BYTES`]. Errors name the file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, EvidenceError> {
        let path = path.as_ref();
        let in_file = |source: EvidenceError| EvidenceError::File {
            path: path.to_owned(),
            source: Box::new(source),
        };
        let io = |source| EvidenceError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size > Self::MAX_BYTES {
            return Err(in_file(EvidenceError::TooLarge {
                size,
                limit: Self::MAX_BYTES,
            }));
        }
        // The file may grow between the check and the read; read one byte past the limit at most.
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.take(Self::MAX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        let mut report = Self::parse(&bytes).map_err(in_file)?;
        let label = path.display().to_string();
        for statement in &mut report.vex {
            if statement.document.is_empty() {
                statement.document.clone_from(&label);
            }
        }
        Ok(report)
    }

    /// Parses a report from its bytes, telling the format from its fields.
    ///
    /// Errors: [`EvidenceError::TooLarge`] over [`Report::MAX_BYTES`],
    /// [`EvidenceError::Json`] for what is not JSON (truncated, garbage),
    /// [`EvidenceError::UnknownFormat`] for JSON of no known format,
    /// [`EvidenceError::Format`] naming the format and field that did not fit, and
    /// [`EvidenceError::TooMany`] over [`Report::MAX_FINDINGS`].
    pub fn parse(bytes: &[u8]) -> Result<Self, EvidenceError> {
        let value = parse_json(bytes)?;
        let format = detect(&value)?;
        Self::from_value(format, &value)
    }

    fn from_value(format: ReportFormat, value: &Value) -> Result<Self, EvidenceError> {
        let report = match format {
            ReportFormat::Trivy => crate::trivy::read(value),
            ReportFormat::Grype => crate::grype::read(value),
            ReportFormat::Cyclonedx => crate::cyclonedx::read(value),
            ReportFormat::Spdx => crate::spdx::read(value),
            ReportFormat::Syft => crate::syft::read(value),
            ReportFormat::Openvex => crate::openvex::read(value),
        }?;
        for (what, count) in [
            ("findings", report.findings.len()),
            ("packages", report.packages),
            ("VEX statements", report.vex.len()),
            ("digests", report.digests.len()),
        ] {
            bounded(what, count)?;
        }
        Ok(report)
    }

    /// Whether the report names `digest` among the images it is about.
    pub fn is_about(&self, digest: &Digest) -> bool {
        self.digests.contains(digest)
    }

    /// The summary the policy reads, for a scan of the image `digest`, with this report's own
    /// VEX statements and `vex` (e.g. [`crate::EvidenceDir::vex`]) applied, and the report's age
    /// computed against `now`.
    ///
    /// `digest` is normally one of [`Report::digests`]; a caller that knows better (a report
    /// that names no digest) passes its own.
    pub fn summary(&self, digest: &Digest, vex: &[VexStatement], now: Timestamp) -> ScanSummary {
        ScanSummary::new(self, digest, vex, now)
    }

    /// A report with nothing in it yet, for a format module to fill.
    pub(crate) fn empty(format: ReportFormat, scanner: Scanner, is_scan: bool) -> Self {
        Self {
            format,
            scanner,
            generated_at: None,
            digests: Vec::new(),
            findings: Vec::new(),
            packages: 0,
            vex: Vec::new(),
            is_scan,
        }
    }

    /// Adds `digest` once.
    pub(crate) fn add_digest(&mut self, digest: Option<Digest>) {
        if let Some(digest) = digest
            && !self.digests.contains(&digest)
        {
            self.digests.push(digest);
        }
    }
}

/// Reads an RFC 3339 timestamp leniently: tools write `""` or `redacted` in test output and
/// old versions omit it; all of those are "unknown", not an error.
pub(crate) fn timestamp(value: Option<&str>) -> Option<Timestamp> {
    value.and_then(|s| s.trim().parse::<Timestamp>().ok())
}

/// Deserializes a format's typed view of `value`, naming the field that did not fit.
pub(crate) fn typed<'a, T: serde::Deserialize<'a>>(
    format: ReportFormat,
    value: &'a Value,
) -> Result<T, EvidenceError> {
    serde_path_to_error::deserialize(value).map_err(|e| EvidenceError::Format {
        format,
        field: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// Fails when a report lists more of `what` than [`Report::MAX_FINDINGS`].
pub(crate) fn bounded(what: &'static str, count: usize) -> Result<(), EvidenceError> {
    if count > Report::MAX_FINDINGS {
        return Err(EvidenceError::TooMany {
            what,
            count,
            limit: Report::MAX_FINDINGS,
        });
    }
    Ok(())
}

fn parse_json(bytes: &[u8]) -> Result<Value, EvidenceError> {
    let size = bytes.len() as u64;
    if size > Report::MAX_BYTES {
        return Err(EvidenceError::TooLarge {
            size,
            limit: Report::MAX_BYTES,
        });
    }
    // A UTF-8 byte order mark is legal in files some tools write; JSON itself does not allow it.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|e| EvidenceError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

/// Tells the format from the top-level fields each one always writes.
fn detect(value: &Value) -> Result<ReportFormat, EvidenceError> {
    let Some(object) = value.as_object() else {
        return Err(EvidenceError::UnknownFormat {
            reason: "the document is not a JSON object".to_owned(),
        });
    };
    let has = |key: &str| object.contains_key(key);
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    let context_is_openvex = match object.get("@context") {
        Some(Value::String(s)) => s.contains("openvex"),
        Some(Value::Array(items)) => items
            .iter()
            .any(|i| i.as_str().is_some_and(|s| s.contains("openvex"))),
        _ => false,
    };
    let format = if text("bomFormat").is_some_and(|f| f.eq_ignore_ascii_case("CycloneDX")) {
        ReportFormat::Cyclonedx
    } else if text("spdxVersion").is_some_and(|v| v.starts_with("SPDX-2")) {
        ReportFormat::Spdx
    } else if context_is_openvex {
        ReportFormat::Openvex
    } else if has("SchemaVersion") && (has("Results") || has("ArtifactName")) {
        ReportFormat::Trivy
    } else if has("matches") && (has("descriptor") || has("source")) {
        ReportFormat::Grype
    } else if has("artifacts") && (has("descriptor") || has("source")) {
        ReportFormat::Syft
    } else {
        let reason = if let Some(version) = text("spdxVersion") {
            format!("spdxVersion {version:?} is not SPDX 2.x")
        } else {
            "no bomFormat, spdxVersion, OpenVEX @context, Trivy SchemaVersion/Results, \
             Grype matches or Syft artifacts"
                .to_owned()
        };
        return Err(EvidenceError::UnknownFormat { reason });
    };
    Ok(format)
}
