//! Syft's JSON SBOM from Syft's own encoder tests.

use bighub_evidence::ReportFormat;

use crate::{digest, report};

#[test]
fn an_image_sbom_names_its_digests_and_packages() {
    let r = report("syft/TestImageEncoder.json");
    assert_eq!(r.format, ReportFormat::Syft);
    assert!(!r.is_scan);
    assert_eq!(r.scanner.name, "syft");
    assert_eq!(r.scanner.version.as_deref(), Some("v0.42.0-bogus"));
    // jq -c '.source.metadata | [.manifestDigest, .imageID]' syft/TestImageEncoder.json
    assert_eq!(
        r.digests,
        [
            digest("sha256:2731251dc34951c0e50fcc643b4c5f74922dad1a5d98f302b504cf46cd5d9368"),
            digest("sha256:35a6658e24fab92eae9ec6fc252dec58986c4c007891758d4d37c7e43fbbe0c5"),
        ]
    );
    // jq '.artifacts | length' -> 2
    assert_eq!(r.packages, 2);
    assert!(r.findings.is_empty());
    assert_eq!(r.generated_at, None);
}
