//! CycloneDX JSON from the CycloneDX specification's, Trivy's and Grype's own test data.

use bighub_evidence::{ReportFormat, Severity};

use crate::{at, digest, report};

const ANY: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

#[test]
fn the_specification_example_1_6_with_its_own_vex_analysis() {
    let r = report("cyclonedx/valid-vulnerability-1.6.json");
    assert_eq!(r.format, ReportFormat::Cyclonedx);
    assert!(r.is_scan);
    // jq -c '.vulnerabilities[] | [.id, [.ratings[].severity], .analysis.state, [.affects[].ref]]'
    //   -> one critical in jackson-databind 2.9.4, analysis not_affected
    assert_eq!(r.findings.len(), 1);
    let finding = &r.findings[0];
    assert_eq!(finding.severity, Severity::Critical);
    assert_eq!(finding.package, "jackson-databind");
    assert_eq!(finding.installed.as_deref(), Some("2.9.4"));
    assert!(finding.is_about("CVE-2018-7489"), "references are aliases");
    // It has a recommendation ("Upgrade ... to version 2.6.7.5, 2.8.11.1, 2.9.5 or higher").
    assert!(finding.fixable);
    assert_eq!(r.vex.len(), 1);
    assert_eq!(r.vex[0].status(), "not_affected");
    assert_eq!(
        r.vex[0].document(),
        "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    );

    let s = r.summary(&digest(ANY), &[], at("2024-01-01T00:00:00Z"));
    assert_eq!(s.counts.critical, 1);
    assert_eq!(s.fixable.critical, 1);
    assert_eq!(s.after_vex.total(), 0);
    assert_eq!(s.fixable_after_vex.total(), 0);
    assert_eq!(s.suppressed_by_vex, 1);
    assert_eq!(
        s.vex_documents
            .get("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"),
        Some(&1)
    );
    assert!(s.top_findings.is_empty());
    // jq '.components | length' -> 1
    assert_eq!(r.packages, 1);
}

#[test]
fn the_specification_example_1_5_reads_alike() {
    let r = report("cyclonedx/valid-vulnerability-1.5.json");
    let s = r.summary(&digest(ANY), &[], at("2024-01-01T00:00:00Z"));
    assert_eq!(
        (s.counts.critical, s.after_vex.critical, s.suppressed_by_vex),
        (1, 0, 1)
    );
}

#[test]
fn trivy_1_6_takes_the_worst_rating_and_its_recommendation() {
    let r = report("cyclonedx/trivy-npm-1.6.json");
    assert_eq!(r.scanner.name, "trivy");
    assert_eq!(r.scanner.version.as_deref(), Some("dev"));
    assert_eq!(r.generated_at, Some(at("2021-08-25T12:20:30Z")));
    assert!(r.digests.is_empty(), "a repository scan");
    // jq -c '.vulnerabilities[] | [.id, ([.ratings[].severity] | unique), .recommendation, [.affects[].ref]]'
    //   -> CVE-2019-11358, ["low","medium"], "Upgrade jquery to version 3.4.0", ["pkg:npm/jquery@3.3.9"]
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!(
        (f.id.as_str(), f.severity),
        ("CVE-2019-11358", Severity::Medium)
    );
    assert_eq!(
        (f.package.as_str(), f.installed.as_deref()),
        ("jquery", Some("3.3.9"))
    );
    assert_eq!(f.purl.as_deref(), Some("pkg:npm/jquery@3.3.9"));
    assert!(f.fixable && f.fixed.is_empty());
    // jq '[.components[], .components[].components[]?] | length' -> 13
    assert_eq!(r.packages, 13);
}

#[test]
fn grype_image_bom_names_its_digest_in_the_subject_version() {
    let r = report("cyclonedx/grype-image-1.7.json");
    let image = digest("sha256:ca738abb87a8d58f112d3400ebb079b61ceae7dc290beb34bda735be4b1941d5");
    assert_eq!(r.digests, std::slice::from_ref(&image));
    assert_eq!(r.scanner.name, "grype");
    let s = r.summary(&image, &[], at("2026-03-20T15:34:26Z"));
    // jq -c '.vulnerabilities[] | [.id, [.ratings[].severity]]' -> low; critical
    assert_eq!(
        (s.counts.critical, s.counts.low, s.counts.total()),
        (1, 1, 2)
    );
    assert_eq!(s.age_seconds, Some(86_400));
    let critical = &s.top_findings[0];
    assert_eq!(
        (critical.id.as_str(), critical.package.as_str()),
        ("CVE-1999-0002", "package-2")
    );
    assert_eq!(s.top_findings[1].package, "package-1");
}

#[test]
fn an_sbom_without_vulnerabilities_is_not_a_scan() {
    let r = report("cyclonedx/trivy-elasticsearch-sbom-1.5.json");
    assert!(!r.is_scan);
    // jq -r '.metadata.component.purl' -> pkg:oci/elasticsearch@sha256:d4b6...?repository_url=...
    assert_eq!(
        r.digests,
        [digest(
            "sha256:d4b68b602eb3d92ea3256886761752ae1159dc01fd391f4c4a87ebf6ba9d3895"
        )]
    );
    assert_eq!(r.packages, 2);
}
