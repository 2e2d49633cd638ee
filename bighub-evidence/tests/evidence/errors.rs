//! What is not a report fails with a typed error, never a panic.

use bighub_evidence::{EvidenceError, Report, ReportFormat};

use crate::fixture;

#[test]
fn truncated_reports_are_json_errors() {
    for name in [
        "trivy/alpine-39.json",
        "grype/ghsa-test.json",
        "cyclonedx/trivy-npm-1.6.json",
        "spdx/syft-image.spdx.json",
        "syft/TestImageEncoder.json",
        "openvex/go-vex-v0.2.0.json",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for cut in [1, bytes.len() / 3, bytes.len() - 2] {
            let error = Report::parse(&bytes[..cut]).unwrap_err();
            assert!(
                matches!(error, EvidenceError::Json { .. }),
                "{name} cut at {cut}: {error}"
            );
        }
    }
}

#[test]
fn garbage_is_a_json_error() {
    for garbage in [
        &b""[..],
        b"\xff\xfe\x00garbage",
        b"<html></html>",
        b"{\"a\":}",
    ] {
        let error = Report::parse(garbage).unwrap_err();
        assert!(matches!(error, EvidenceError::Json { .. }), "{error}");
    }
    // Nesting deeper than any report: refused by the parser's depth limit, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        Report::parse(deep.as_bytes()),
        Err(EvidenceError::Json { .. })
    ));
}

#[test]
fn json_of_no_known_format_says_so() {
    for json in [
        &b"[]"[..],
        b"{}",
        b"{\"spdxVersion\":\"SPDX-3.0\"}",
        b"\"text\"",
    ] {
        let error = Report::parse(json).unwrap_err();
        assert!(
            matches!(error, EvidenceError::UnknownFormat { .. }),
            "{error}"
        );
    }
}

#[test]
fn a_field_of_the_wrong_shape_names_the_format_and_field() {
    let bytes = std::fs::read(fixture("trivy/alpine-39.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    value["Results"][0]["Vulnerabilities"][2]["VulnerabilityID"] = serde_json::json!(42);
    let error = Report::parse(value.to_string().as_bytes()).unwrap_err();
    match &error {
        EvidenceError::Format { format, field, .. } => {
            assert_eq!(*format, ReportFormat::Trivy);
            assert_eq!(field, "Results[0].Vulnerabilities[2].VulnerabilityID");
        }
        other => panic!("{other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("trivy") && message.contains("VulnerabilityID"),
        "{message}"
    );

    let bytes = std::fs::read(fixture("openvex/go-vex-v0.2.0.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    value["statements"][1]["status"] = serde_json::json!(["not_affected"]);
    match Report::parse(value.to_string().as_bytes()).unwrap_err() {
        EvidenceError::Format { format, field, .. } => {
            assert_eq!(format, ReportFormat::Openvex);
            assert_eq!(field, "statements[1].status");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_files_are_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(Report::MAX_BYTES + 1).unwrap();
    match Report::read(&path).unwrap_err() {
        EvidenceError::File { source, .. } => match *source {
            EvidenceError::TooLarge { size, limit } => {
                assert_eq!((size, limit), (Report::MAX_BYTES + 1, Report::MAX_BYTES));
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let bytes = vec![b' '; usize::try_from(Report::MAX_BYTES).unwrap() + 1];
    assert!(matches!(
        Report::parse(&bytes),
        Err(EvidenceError::TooLarge { .. })
    ));
}

#[test]
fn absurd_counts_are_refused() {
    // A Syft-shaped document listing more packages than any image holds.
    let artifacts = vec!["{}"; Report::MAX_FINDINGS + 1].join(",");
    let json = format!(r#"{{"artifacts":[{artifacts}],"source":{{}}}}"#);
    match Report::parse(json.as_bytes()).unwrap_err() {
        EvidenceError::TooMany { what, count, limit } => {
            assert_eq!(
                (what, count, limit),
                ("packages", Report::MAX_FINDINGS + 1, Report::MAX_FINDINGS)
            );
        }
        other => panic!("{other:?}"),
    }
}
