//! Every way reading evidence can fail, as one typed error.
//!
//! Owns [`EvidenceError`]. It does not own the limits themselves (they live beside the code
//! that enforces them: [`crate::Report::MAX_BYTES`], [`crate::Report::MAX_FINDINGS`],
//! [`crate::EvidenceDir::MAX_FILES`]). Strings inside an error may come from a report; they
//! are data, and a caller that displays them escapes them.

use std::path::PathBuf;

use crate::ReportFormat;

/// Why a report, a digest or an evidence directory could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The report is larger than the size limit; it is refused before it is parsed.
    #[error("report is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Size of the report in bytes (at least `limit + 1` when the size was not known up front).
        size: u64,
        /// The limit, [`crate::Report::MAX_BYTES`].
        limit: u64,
    },
    /// The report is not JSON (truncated, garbage, or nested too deeply).
    #[error("not valid JSON at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// The report is JSON but none of the known formats.
    #[error("not a known report format (Trivy, Grype, CycloneDX, SPDX, Syft, OpenVEX): {reason}")]
    UnknownFormat {
        /// What was looked for and not found.
        reason: String,
    },
    /// The report looks like `format` but a field does not have the shape that format gives it.
    #[error("not a valid {format} report: field `{field}`: {message}")]
    Format {
        /// The format that was tried.
        format: ReportFormat,
        /// Path of the offending field, e.g. `Results[0].Vulnerabilities[3].Severity`.
        field: String,
        /// What was wrong with it.
        message: String,
    },
    /// The report has more entries of one kind than any real report would.
    #[error("{what}: {count} is over the limit of {limit}")]
    TooMany {
        /// What was counted (findings, VEX statements, files, ...).
        what: &'static str,
        /// How many there were (or at least how many were seen).
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A string that should name an image digest does not.
    #[error("not an image digest or a reference with a digest: {input:?}")]
    InvalidDigest {
        /// The string as given.
        input: String,
    },
    /// A report file failed; `source` says how.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: Box<EvidenceError>,
    },
}
