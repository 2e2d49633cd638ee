//! OpenVEX documents from go-vex's, Grype's and Trivy's own test data, applied to real scans.

use bighub_evidence::ReportFormat;

use crate::{at, digest, report};

const ALPINE: &str = "sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126";

#[test]
fn a_document_gives_its_statements() {
    let r = report("openvex/go-vex-v0.2.0.json");
    assert_eq!(r.format, ReportFormat::Openvex);
    assert!(!r.is_scan);
    assert_eq!(r.scanner.name, "The OpenVEX Project <openvex@openssf.org>");
    // jq -c '[.statements[] | [.vulnerability.name, .status]]'
    let statuses: Vec<(&str, &str, bool)> = r
        .vex
        .iter()
        .map(|s| (s.vulnerability(), s.status(), s.suppresses()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("CVE-2023-1255", "fixed", true),
            ("CVE-2023-2650", "fixed", true),
            ("CVE-2023-2975", "fixed", true),
            ("CVE-2023-3446", "not_affected", true),
            ("CVE-2023-3817", "not_affected", true),
        ]
    );
    assert!(r.vex.iter().all(|s| s.document()
        == "https://openvex.dev/docs/public/vex-d4e9020b6d0d26f131d535e055902dd6ccf3e2088bce3079a8cd3588a4b14c78"));
    assert_eq!(
        r.vex[0].timestamp(),
        Some(at("2023-07-18T00:28:47.696004345Z"))
    );
}

#[test]
fn under_investigation_suppresses_nothing() {
    let r = report("openvex/go-vex-v020-1.json");
    assert_eq!(r.vex.len(), 1);
    assert_eq!(r.vex[0].status(), "under_investigation");
    assert!(!r.vex[0].suppresses());
}

#[test]
fn a_statement_on_a_subcomponent_suppresses_that_finding() {
    // Trivy's own pair: the gomod scan and the OpenVEX document its VEX test applies to it.
    let scan = report("trivy/gomod.json");
    let vex = report("openvex/trivy-gomod-openvex.json");
    let image = digest(ALPINE);
    let before = scan.summary(&image, &[], at("2024-01-01T00:00:00Z"));
    let after = scan.summary(&image, &vex.vex, at("2024-01-01T00:00:00Z"));
    // CVE-2022-23628 (medium, opa v0.35.0) is not_affected per the statement's subcomponent.
    assert_eq!((before.counts.medium, before.after_vex.medium), (1, 1));
    assert_eq!(after.counts, before.counts);
    assert_eq!((after.after_vex.medium, after.after_vex.total()), (0, 2));
    assert_eq!(
        (after.fixable.medium, after.fixable_after_vex.medium),
        (1, 0)
    );
    assert_eq!(after.suppressed_by_vex, 1);
    assert_eq!(
        after.vex_documents.get(
            "aquasecurity/trivy:613fd55abbc2857b5ca28b07a26f3cd4c8b0ddc4c8a97c57497a2d4c4880d7fc"
        ),
        Some(&1)
    );
    assert!(after.top_findings.iter().all(|f| f.id != "CVE-2022-23628"));
    assert_eq!(after.top_findings.len(), 2);
}

#[test]
fn a_statement_bound_to_another_image_does_not_apply() {
    let scan = report("trivy/gomod.json");
    // Grype's demo statement is about CVE-2023-1255 in the alpine image ALPINE only; go-vex's
    // v0.2.0 document likewise. Neither names the gomod findings, and neither may leak to
    // another image.
    let mut vex = report("openvex/grype-openvex-demo1.json").vex;
    vex.extend(report("openvex/go-vex-v0.2.0.json").vex);
    vex.extend(report("openvex/trivy-gomod-openvex.json").vex);
    let other = digest("sha256:2222222222222222222222222222222222222222222222222222222222222222");
    let s = scan.summary(&other, &vex, at("2024-01-01T00:00:00Z"));
    // Only the subcomponent statement applies (its product is a package URL, not an image).
    assert_eq!(s.suppressed_by_vex, 1);
}
