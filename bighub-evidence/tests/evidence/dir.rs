//! The evidence directory: every fixture read together, and scans chosen by digest.

use std::path::Path;

use bighub_evidence::{EvidenceDir, EvidenceError, ReportFormat};

use crate::{at, digest, fixture};

/// A directory holding copies (unchanged) of the named fixtures.
fn dir_of(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        let target = dir.path().join(name.replace('/', "__"));
        std::fs::copy(fixture(name), target).unwrap();
    }
    dir
}

#[test]
fn every_fixture_parses() {
    let dir = EvidenceDir::open(fixture("")).unwrap();
    assert!(dir.problems().is_empty(), "{:?}", dir.problems());
    // 4 Grype, 4 Trivy, 5 CycloneDX, 2 SPDX, 1 Syft reports; 4 OpenVEX documents with
    // 5 + 1 + 1 + 1 statements.
    assert_eq!(dir.reports().count(), 16);
    assert_eq!(dir.vex().len(), 8);
}

#[test]
fn find_picks_the_newest_scan_of_the_digest() {
    let dir = dir_of(&[
        "grype/TestJsonImgsPresenter.json",
        "cyclonedx/grype-image-1.7.json",
        "grype/ghsa-test.json",
        "syft/TestImageEncoder.json",
        "spdx/syft-image.spdx.json",
    ]);
    let dir = EvidenceDir::open(dir.path()).unwrap();
    let now = at("2026-03-20T15:34:26Z");

    // Both Grype reports are about this image; the CycloneDX one says when it was made
    // (2026-03-19T11:34:26-04:00), the JSON one does not ("timestamp": "").
    let image = digest("sha256:ca738abb87a8d58f112d3400ebb079b61ceae7dc290beb34bda735be4b1941d5");
    assert_eq!(dir.reports_for(&image).count(), 2);
    let s = dir.find(&image, now).unwrap();
    assert_eq!(s.format, ReportFormat::Cyclonedx);
    assert_eq!(s.generated_at.as_deref(), Some("2026-03-19T15:34:26Z"));
    assert_eq!(s.age_seconds, Some(86_400));
    assert_eq!(s.digest, image);

    // A scan of another image is not mixed in.
    let other = digest(
        "anchore/test_images@sha256:10008791acbc5866de04108746a02a0c4029ce3a4400a9b3dad45d7f2245f9da",
    );
    let s = dir.find(&other, now).unwrap();
    assert_eq!(
        (s.format, s.counts.medium, s.counts.total()),
        (ReportFormat::Grype, 2, 2)
    );

    // SBOMs alone are no scan: their zero counts would read as clean.
    let sbom = digest("sha256:2731251dc34951c0e50fcc643b4c5f74922dad1a5d98f302b504cf46cd5d9368");
    assert_eq!(dir.reports_for(&sbom).count(), 2);
    assert!(dir.find(&sbom, now).is_none());

    let unknown = digest("sha256:3333333333333333333333333333333333333333333333333333333333333333");
    assert!(dir.find(&unknown, now).is_none());
}

#[test]
fn openvex_documents_in_the_directory_apply_to_scans() {
    let dir = dir_of(&[
        "trivy/gomod.json",
        "openvex/trivy-gomod-openvex.json",
        "openvex/go-vex-v0.2.0.json",
        "openvex/go-vex-v020-1.json",
    ]);
    let dir = EvidenceDir::open(dir.path()).unwrap();
    assert_eq!(dir.vex().len(), 7);
    // The gomod scan names no digest (a repository, not an image); its caller passes one.
    let (_, scan) = dir.reports().next().unwrap();
    let image = digest("sha256:4444444444444444444444444444444444444444444444444444444444444444");
    let s = scan.summary(&image, dir.vex(), at("2024-01-01T00:00:00Z"));
    assert_eq!(
        (s.counts.total(), s.after_vex.total(), s.suppressed_by_vex),
        (3, 2, 1)
    );
    assert_eq!(s.vex_documents.len(), 1);
}

#[test]
fn a_bad_file_is_a_problem_not_a_failure() {
    let dir = dir_of(&["grype/ghsa-test.json"]);
    let original = std::fs::read(fixture("grype/ghsa-test.json")).unwrap();
    std::fs::write(
        dir.path().join("truncated.json"),
        &original[..original.len() / 2],
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not evidence").unwrap();
    let nested = dir.path().join("a/b");
    std::fs::create_dir_all(&nested).unwrap();
    std::fs::copy(
        fixture("openvex/go-vex-v020-1.json"),
        nested.join("vex.json"),
    )
    .unwrap();

    let evidence = EvidenceDir::open(dir.path()).unwrap();
    assert_eq!(evidence.reports().count(), 1);
    assert_eq!(evidence.vex().len(), 1);
    assert_eq!(evidence.problems().len(), 1);
    match &evidence.problems()[0] {
        EvidenceError::File { path, source } => {
            assert!(path.ends_with("truncated.json"));
            assert!(matches!(**source, EvidenceError::Json { .. }), "{source}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_directory_is_an_error() {
    let error = EvidenceDir::open(Path::new("/nonexistent/evidence")).unwrap_err();
    assert!(matches!(error, EvidenceError::Io { .. }), "{error}");
}
