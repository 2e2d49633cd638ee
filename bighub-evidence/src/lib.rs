//! # bighub-evidence
//!
//! Security evidence for decisions about deployments: vulnerability reports, SBOMs and VEX
//! documents read in the formats scanners really write, and found by the digest of the image a
//! call deploys.
//!
//! - [`Report`] reads one file, telling its format apart: **Trivy JSON**, **Grype JSON**,
//!   **CycloneDX JSON** (1.4 to 1.7, with `vulnerabilities` and their VEX `analysis`),
//!   **SPDX 2.3 JSON**, **Syft JSON** and **OpenVEX**. It is bounded ([`Report::MAX_BYTES`],
//!   [`Report::MAX_FINDINGS`]) and fails with a typed [`EvidenceError`] that names the format
//!   and the field, never with a panic.
//! - [`Digest`] is what evidence is found by: `sha256:...`, or the digest a reference such as
//!   `registry/app@sha256:...` pins.
//! - [`EvidenceDir`] reads every `.json` file under a directory; [`EvidenceDir::find`] gives the
//!   [`ScanSummary`] of the newest scan of a digest, with the directory's OpenVEX statements
//!   applied ([`VexStatement`] says which findings a statement covers).
//! - [`ScanSummary`] is what a policy reads as `input.evidence.scan`; its documentation shows
//!   the JSON field by field.
//!
//! ```
//! use bighub_evidence::{Digest, EvidenceDir};
//!
//! let dir = EvidenceDir::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/grype"))?;
//! let deployed = Digest::from_reference(
//!     "cgr.dev/chainguard/ruby@sha256:3c9afb4f188827ea1062ec3b8acea32893236a0d7df31e0498df93486cff0978",
//! )?;
//! let now = "2023-05-18T02:00:56.783213Z".parse().expect("a timestamp");
//! let scan = dir.find(&deployed, now).expect("a scan of the deployed image");
//! assert_eq!(scan.counts.high, 3);
//! assert_eq!(scan.age_seconds, Some(3600));
//! let input = serde_json::json!({ "evidence": { "scan": scan } });
//! assert_eq!(input["evidence"]["scan"]["format"], "grype");
//! # Ok::<(), bighub_evidence::EvidenceError>(())
//! ```
//!
//! **Everything read from a report is data.** Ids, package names, versions, tool names and
//! document names come from whoever wrote the file; this crate never interprets them as markup
//! or commands, and a caller that displays them (console, CLI, logs) escapes them.
//!
//! This crate reads files only: no network, no async runtime. It does not verify signatures
//! on evidence, and it does not decide anything: the policy does, from the summary.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cyclonedx;
mod digest;
mod dir;
mod error;
mod finding;
mod grype;
mod openvex;
mod purl;
mod report;
mod spdx;
mod summary;
mod syft;
mod trivy;
mod vex;

pub use digest::Digest;
pub use dir::EvidenceDir;
pub use error::EvidenceError;
pub use finding::{Finding, Severity};
pub use report::{Report, ReportFormat, Scanner};
pub use summary::{ScanSummary, SeverityCounts, TopFinding};
pub use vex::VexStatement;
