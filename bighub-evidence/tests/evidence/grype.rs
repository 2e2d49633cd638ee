//! Grype JSON reports from Grype's own presenter tests.

use bighub_evidence::{ReportFormat, Severity};

use crate::{at, digest, report};

#[test]
fn digests_come_from_repo_digests_manifest_and_image_id() {
    let r = report("grype/ghsa-test.json");
    assert_eq!(r.format, ReportFormat::Grype);
    assert_eq!(r.scanner.name, "grype");
    assert_eq!(r.scanner.version.as_deref(), Some("0.65.1"));
    // jq -c '.source.target | [.repoDigests[], .manifestDigest, .imageID]' grype/ghsa-test.json
    for d in [
        "anchore/test_images@sha256:10008791acbc5866de04108746a02a0c4029ce3a4400a9b3dad45d7f2245f9da",
        "sha256:1212e7636ec0b1a7b90eb354e761e67163c2256de127036f086876e190631b43",
    ] {
        assert!(r.is_about(&digest(d)), "{d}");
    }
    assert_eq!(r.generated_at, Some(at("2023-08-31T19:13:32.377177Z")));
}

#[test]
fn counts_fixable_and_aliases() {
    let r = report("grype/chainguard-ruby-test.json");
    let image = digest(
        "cgr.dev/chainguard/ruby@sha256:3c9afb4f188827ea1062ec3b8acea32893236a0d7df31e0498df93486cff0978",
    );
    assert!(r.is_about(&image));
    let s = r.summary(&image, &[], at("2023-05-18T02:00:56.783213Z"));
    // jq -c '[.matches[] | [.vulnerability.severity, .vulnerability.fix.state]]'
    //   -> High fixed, High unknown, High fixed
    assert_eq!((s.counts.high, s.counts.total()), (3, 3));
    assert_eq!((s.fixable.high, s.fixable.total()), (2, 2));
    assert_eq!(s.age_seconds, Some(3600));
    // The GHSA names the CVE as related; a VEX statement about the CVE would cover it.
    let ghsa = r
        .findings
        .iter()
        .find(|f| f.id == "GHSA-hv5j-3h9f-99c2")
        .unwrap();
    assert!(ghsa.is_about("cve-2023-28755"));
    assert_eq!(ghsa.purl.as_deref(), Some("pkg:gem/uri@0.10.1"));
}

#[test]
fn one_vulnerability_in_six_packages_counts_six_times() {
    let r = report("grype/keycloak-test.json");
    let image = r.digests[0].clone();
    let s = r.summary(&image, &[], at("2024-01-01T00:00:00Z"));
    // jq -c '[.matches[] | [.vulnerability.id, .artifact.name, .artifact.version]] | unique | length' -> 6
    assert_eq!(
        (s.counts.low, s.counts.total(), s.fixable.total()),
        (6, 6, 0)
    );
    assert!(
        s.top_findings
            .iter()
            .all(|f| f.id == "CVE-2020-12413" && !f.fixable)
    );
}

#[test]
fn an_empty_timestamp_is_unknown_not_an_error() {
    let r = report("grype/TestJsonImgsPresenter.json");
    assert_eq!(r.generated_at, None);
    assert_eq!(r.scanner.version.as_deref(), Some("[not provided]"));
    let image = digest("sha256:ca738abb87a8d58f112d3400ebb079b61ceae7dc290beb34bda735be4b1941d5");
    assert!(r.is_about(&image));
    let s = r.summary(&image, &[], at("2024-01-01T00:00:00Z"));
    assert_eq!((s.generated_at, s.age_seconds), (None, None));
    // jq -c '[.matches[] | [.vulnerability.severity, .vulnerability.fix.state]]'
    //   -> Low fixed, Critical ""
    assert_eq!((s.counts.critical, s.counts.low), (1, 1));
    assert_eq!((s.fixable.critical, s.fixable.low), (0, 1));
    assert_eq!(s.top_findings[0].severity, Severity::Critical);
    assert_eq!(
        s.top_findings[1].fixed.as_deref(),
        Some(&["1.2.1".to_owned(), "2.1.3".to_owned(), "3.4.0".to_owned()][..])
    );
}

#[test]
fn the_summary_serializes_to_the_documented_policy_input() {
    let r = report("grype/ghsa-test.json");
    let s = r.summary(&r.digests[0], &[], at("2023-09-01T19:13:32.377177Z"));
    let medium =
        |n| serde_json::json!({"critical": 0, "high": 0, "medium": n, "low": 0, "unknown": 0});
    assert_eq!(
        serde_json::to_value(&s).unwrap(),
        serde_json::json!({
            "scanner": {"name": "grype", "version": "0.65.1"},
            "digest": "sha256:10008791acbc5866de04108746a02a0c4029ce3a4400a9b3dad45d7f2245f9da",
            "generated_at": "2023-08-31T19:13:32.377177Z",
            "age_seconds": 86400,
            "counts": medium(2),
            "fixable": medium(1),
            "after_vex": medium(2),
            "fixable_after_vex": medium(1),
            "suppressed_by_vex": 0,
            "vex_documents": {},
            "top_findings": [
                {"id": "GHSA-cfh5-3ghh-wfjx", "severity": "medium", "package": "httpclient",
                 "installed": "4.1.1", "fixed": ["4.3.5"], "fixable": true},
                {"id": "CVE-2014-3577", "severity": "medium", "package": "httpclient",
                 "installed": "4.1.1", "fixed": null, "fixable": false}
            ],
            "format": "grype"
        })
    );
}
