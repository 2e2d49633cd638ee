//! Reading real reports, one module per format, and the evidence directory built from them.
//!
//! Every fixture under `tests/fixtures/` is a scanner's or specification's own published test
//! data, copied unchanged (`tests/fixtures/README.md` says where each comes from). Expected
//! counts were computed independently with `jq`; each test gives the command it used.

mod cyclonedx;
mod dir;
mod errors;
mod grype;
mod openvex;
mod spdx;
mod syft;
mod trivy;

use std::path::PathBuf;

use bighub_evidence::{Digest, Report};
use jiff::Timestamp;

/// The path of a fixture, relative to `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Reads a fixture, which must parse.
pub fn report(name: &str) -> Report {
    Report::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A digest literal.
pub fn digest(s: &str) -> Digest {
    Digest::from_reference(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// A timestamp literal.
pub fn at(s: &str) -> Timestamp {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}
