//! An evidence directory: the reports and VEX documents a deployment pipeline leaves for the
//! policy, found by the digest of the image being deployed.
//!
//! Owns [`EvidenceDir`]: walking a directory for `.json` files (bounded in count and depth,
//! not following symbolic links to directories), reading each with [`Report::read`], keeping
//! the files that fail as problems rather than failing the whole directory, and choosing the
//! newest scan for a digest. It does not own any format, nor the summary.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::{Digest, EvidenceError, Report, ReportFormat, ScanSummary, VexStatement};

/// Every report and VEX document read from one directory.
///
/// ```
/// use bighub_evidence::{Digest, EvidenceDir};
/// let dir = EvidenceDir::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/grype"))?;
/// let digest = Digest::from_reference(
///     "anchore/test_images@sha256:10008791acbc5866de04108746a02a0c4029ce3a4400a9b3dad45d7f2245f9da",
/// )?;
/// let summary = dir.find(&digest, jiff::Timestamp::now()).expect("a scan of that image");
/// assert_eq!(summary.scanner.name, "grype");
/// # Ok::<(), bighub_evidence::EvidenceError>(())
/// ```
#[derive(Debug, Default)]
pub struct EvidenceDir {
    reports: Vec<(PathBuf, Report)>,
    vex: Vec<VexStatement>,
    problems: Vec<EvidenceError>,
}

impl EvidenceDir {
    /// Most `.json` files read from one directory tree.
    pub const MAX_FILES: usize = 10_000;
    /// Deepest subdirectory level walked.
    pub const MAX_DEPTH: usize = 16;

    /// Reads every `.json` file under `path` (subdirectories included).
    ///
    /// Fails only when `path` itself cannot be read or holds more than
    /// [`EvidenceDir::MAX_FILES`] JSON files; a file that cannot be read or parsed is kept in
    /// [`EvidenceDir::problems`] and the others are still used.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, EvidenceError> {
        let root = path.as_ref();
        let mut files = Vec::new();
        walk(root, 0, &mut files)?;
        files.sort();
        let mut dir = Self::default();
        for file in files {
            match Report::read(&file) {
                Ok(report) if report.format == ReportFormat::Openvex => {
                    dir.vex.extend(report.vex);
                }
                Ok(report) => dir.reports.push((file, report)),
                Err(error) => dir.problems.push(error),
            }
        }
        Ok(dir)
    }

    /// The summary of the newest vulnerability scan of the image `digest`, with the VEX
    /// statements of every OpenVEX document in the directory applied and the age computed
    /// against `now`; `None` when no scan is about that digest.
    ///
    /// Only scans count (Trivy, Grype, CycloneDX with `vulnerabilities`): an SBOM lists
    /// packages, not vulnerabilities, and its zero counts would read as a clean scan. Newest is
    /// by the report's own `generated_at`; a report that does not say is older than any that
    /// does, and between equals the file whose path sorts last wins.
    pub fn find(&self, digest: &Digest, now: Timestamp) -> Option<ScanSummary> {
        self.newest_scan(digest)
            .map(|(_, report)| report.summary(digest, &self.vex, now))
    }

    /// The report [`EvidenceDir::find`] summarizes, with the file it was read from: for a
    /// caller that records where its evidence came from.
    pub fn newest_scan<'a>(&'a self, digest: &'a Digest) -> Option<(&'a Path, &'a Report)> {
        self.reports_for(digest)
            .filter(|(_, report)| report.is_scan)
            .max_by_key(|(path, report)| (report.generated_at, *path))
    }

    /// Every report (scans and SBOMs) about `digest`, with the file it was read from.
    pub fn reports_for<'a>(
        &'a self,
        digest: &'a Digest,
    ) -> impl Iterator<Item = (&'a Path, &'a Report)> + 'a {
        self.reports
            .iter()
            .filter(move |(_, report)| report.is_about(digest))
            .map(|(path, report)| (path.as_path(), report))
    }

    /// Every report read (VEX documents excepted), with its file.
    pub fn reports(&self) -> impl Iterator<Item = (&Path, &Report)> {
        self.reports
            .iter()
            .map(|(path, report)| (path.as_path(), report))
    }

    /// The statements of every OpenVEX document read.
    pub fn vex(&self) -> &[VexStatement] {
        &self.vex
    }

    /// The files that could not be read or parsed, each error naming its file.
    pub fn problems(&self) -> &[EvidenceError] {
        &self.problems
    }
}

fn walk(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> Result<(), EvidenceError> {
    let io = |source| EvidenceError::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        // `file_type` does not follow symbolic links: a link to a directory is not walked, so a
        // link cycle cannot make the walk endless.
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            if depth < EvidenceDir::MAX_DEPTH {
                walk(&path, depth + 1, files)?;
            }
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            && (kind.is_file() || path.is_file())
        {
            files.push(path);
            if files.len() > EvidenceDir::MAX_FILES {
                return Err(EvidenceError::TooMany {
                    what: "JSON files in the evidence directory",
                    count: files.len(),
                    limit: EvidenceDir::MAX_FILES,
                });
            }
        }
    }
    Ok(())
}
