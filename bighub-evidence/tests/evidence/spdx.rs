//! SPDX 2.3 JSON from Syft's and Trivy's own tests.

use bighub_evidence::ReportFormat;

use crate::{digest, report};

#[test]
fn the_described_image_gives_the_digest() {
    let r = report("spdx/syft-image.spdx.json");
    assert_eq!(r.format, ReportFormat::Spdx);
    assert!(!r.is_scan);
    // creationInfo.creators: "Tool: syft-v0.42.0-bogus"
    assert_eq!(r.scanner.name, "syft");
    assert_eq!(r.scanner.version.as_deref(), Some("v0.42.0-bogus"));
    // jq -c '[.packages[] | select(.primaryPackagePurpose=="CONTAINER") | .externalRefs[].referenceLocator, .checksums[].checksumValue]'
    assert_eq!(
        r.digests,
        [digest(
            "sha256:2731251dc34951c0e50fcc643b4c5f74922dad1a5d98f302b504cf46cd5d9368"
        )]
    );
    // "created": "redacted" in the golden file: unknown, not an error.
    assert_eq!(r.generated_at, None);
    // jq '.packages | length' -> 3, one of which is the image itself.
    assert_eq!(r.packages, 2);
}

#[test]
fn a_filesystem_sbom_names_no_digest() {
    let r = report("spdx/trivy-conda.spdx.json");
    assert!(r.digests.is_empty());
    assert_eq!(r.scanner.name, "trivy");
    assert_eq!(r.scanner.version.as_deref(), Some("dev"));
    assert_eq!(r.generated_at, Some(crate::at("2021-08-25T12:20:30Z")));
    assert_eq!(r.packages, 2);
}
