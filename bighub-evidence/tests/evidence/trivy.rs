//! Trivy JSON reports from Trivy's own integration test goldens.

use bighub_evidence::{ReportFormat, Severity};

use crate::{at, digest, report};

#[test]
fn alpine_image_report_counts_and_digest() {
    let r = report("trivy/alpine-39.json");
    assert_eq!(r.format, ReportFormat::Trivy);
    assert!(r.is_scan);
    assert_eq!(r.scanner.name, "trivy");
    assert_eq!(r.scanner.version.as_deref(), Some("dev"));
    assert_eq!(r.generated_at, Some(at("2021-08-25T12:20:30.000000005Z")));
    // jq -r .Metadata.ImageID trivy/alpine-39.json
    let image = digest("sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1");
    assert_eq!(r.digests, std::slice::from_ref(&image));

    let s = r.summary(&image, &[], at("2021-08-26T12:20:30Z"));
    // jq -c '[.Results[]?.Vulnerabilities[]? | .Severity] | group_by(.) | map({(.[0]): length}) | add'
    //   -> {"CRITICAL":2,"MEDIUM":4}; every one has a FixedVersion.
    assert_eq!(
        (s.counts.critical, s.counts.medium, s.counts.total()),
        (2, 4, 6)
    );
    assert_eq!(s.fixable, s.counts);
    assert_eq!(s.after_vex, s.counts);
    assert_eq!(s.suppressed_by_vex, 0);
    assert_eq!(s.age_seconds, Some(86_399));
    assert_eq!(s.format, ReportFormat::Trivy);
    assert_eq!(s.top_findings.len(), 6);
    assert!(
        s.top_findings[..2]
            .iter()
            .all(|f| f.severity == Severity::Critical)
    );
    let first = &s.top_findings[0];
    // jq -c '[.Results[].Vulnerabilities[] | select(.Severity=="CRITICAL") | [.VulnerabilityID,.PkgName,.InstalledVersion,.FixedVersion]] | sort'
    assert_eq!(
        (
            first.id.as_str(),
            first.package.as_str(),
            first.installed.as_deref()
        ),
        ("CVE-2019-14697", "musl", Some("1.1.20-r4"))
    );
    assert_eq!(first.fixed.as_deref(), Some(&["1.1.20-r5".to_owned()][..]));
}

#[test]
fn a_finding_without_fix_is_counted_but_not_fixable() {
    let r = report("trivy/centos-7.json");
    let image = r.digests[0].clone();
    let s = r.summary(&image, &[], at("2021-08-25T12:20:30Z"));
    // jq -c '[.Results[].Vulnerabilities[] | [.Severity, (.FixedVersion // "")]]' trivy/centos-7.json
    //   -> LOW with fix, LOW without, MEDIUM with fix
    assert_eq!((s.counts.low, s.counts.medium, s.counts.total()), (2, 1, 3));
    assert_eq!((s.fixable.low, s.fixable.medium), (1, 1));
    // Fixable before not fixable within a severity.
    assert_eq!(s.top_findings[0].severity, Severity::Medium);
    assert!(s.top_findings[1].fixable && !s.top_findings[2].fixable);
    assert_eq!(s.top_findings[2].fixed, None);
}

#[test]
fn a_repository_scan_names_no_digest_and_lists_a_finding_once() {
    let r = report("trivy/gomod.json");
    assert!(r.digests.is_empty());
    // jq '[.Results[].Vulnerabilities[]] | length' -> 5; unique by id, package, version -> 3
    assert_eq!(r.findings.len(), 5);
    let s = r.summary(
        &digest("sha256:0000000000000000000000000000000000000000000000000000000000000000"),
        &[],
        at("2021-08-25T12:20:30Z"),
    );
    assert_eq!(
        (s.counts.medium, s.counts.unknown, s.counts.total()),
        (1, 2, 3)
    );
}

#[test]
fn a_registry_scan_is_found_by_its_repo_digest() {
    let r = report("trivy/alpine-310-registry.json");
    // jq -c '.Metadata | [.RepoDigests, .ImageID]' trivy/alpine-310-registry.json
    let pinned = digest(
        "alpine:3.10@sha256:b1c5a500182b21d0bfa5a584a8526b56d8be316f89e87d951be04abed2446e60",
    );
    assert_eq!(
        r.digests,
        [
            pinned.clone(),
            digest("sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4"),
        ]
    );
    let s = r.summary(&pinned, &[], at("2021-08-25T12:20:30Z"));
    // jq -c '[.Results[].Vulnerabilities[]?.Severity] | group_by(.) | map({(.[0]): length}) | add'
    //   -> {"MEDIUM":4}
    assert_eq!((s.counts.medium, s.counts.total()), (4, 4));
    assert_eq!(s.age_seconds, Some(0));
}
