//! Fail mode: parsing, display, and the synthetic decisions used when the service is down.

use bighub_core::{Decision, Error, FailMode, Mode, Verdict};
use serde_json::json;

#[test]
fn parses_trimmed_and_case_insensitive() {
    for (text, mode) in [
        ("closed", FailMode::Closed),
        ("open", FailMode::Open),
        (" CLOSED ", FailMode::Closed),
        ("Open\n", FailMode::Open),
    ] {
        assert_eq!(text.parse::<FailMode>().unwrap(), mode, "{text:?}");
    }
}

#[test]
fn bad_values_are_typed_errors_naming_the_value() {
    for bad in ["", "  ", "opened", "fail-closed", "true"] {
        match bad.parse::<FailMode>() {
            Err(Error::InvalidConfig(msg)) => {
                assert!(msg.contains(&format!("{bad:?}")), "{msg}");
                assert!(msg.contains("\"closed\" or \"open\""), "{msg}");
            }
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
}

#[test]
fn default_display_and_serde() {
    assert_eq!(FailMode::default(), FailMode::Closed);
    assert_eq!(FailMode::Closed.to_string(), "closed");
    assert_eq!(FailMode::Open.to_string(), "open");
    for m in [FailMode::Closed, FailMode::Open] {
        assert_eq!(m.to_string().parse::<FailMode>().unwrap(), m);
        assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
    }
}

#[test]
fn failing_closed_blocks_and_says_why() {
    let d = Decision::fail_closed(&"connection refused");
    assert_eq!(d, FailMode::Closed.decision(&"connection refused"));
    assert_eq!(d.mode, Some(Mode::Blocked));
    assert!(d.should_not_run && !d.can_run);
    assert_eq!(d.recommendation.as_deref(), Some("do_not_proceed"));
    assert_eq!(
        d.reason.as_deref(),
        Some("decision service unavailable (connection refused); failing closed")
    );
    assert_eq!(d.verdict(), Verdict::Block);
    assert_eq!(d.raw["fail_mode"], "closed");
    assert_eq!(d.raw["error"], "connection refused");
    assert_eq!(d.fail_mode(), Some(FailMode::Closed));
}

#[test]
fn failing_open_executes_and_says_why() {
    let cause = Error::Timeout(std::time::Duration::from_secs(5));
    let d = Decision::fail_open(&cause);
    assert_eq!(d, FailMode::Open.decision(&cause));
    assert_eq!(d.mode, Some(Mode::Autonomous));
    assert!(d.can_run && !d.should_not_run);
    assert_eq!(d.recommendation.as_deref(), Some("proceed"));
    assert_eq!(
        d.reason.as_deref(),
        Some("decision service unavailable (BIGHUB did not answer within 5s); failing open")
    );
    assert_eq!(d.verdict(), Verdict::Execute);
    assert_eq!(d.raw["fail_mode"], "open");
    assert_eq!(d.raw["error"], "BIGHUB did not answer within 5s");
    assert_eq!(d.fail_mode(), Some(FailMode::Open));
}

#[test]
fn synthetic_decisions_round_trip() {
    for d in [Decision::fail_closed(&"dns"), Decision::fail_open(&"reset")] {
        // Normalising the recorded raw answer gives the same decision back.
        assert_eq!(Decision::from_backend_response(&d.raw), d);
        let back: Decision = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }
}

#[test]
fn real_answers_are_not_fail_mode_decisions() {
    assert_eq!(
        Decision::from_backend_response(&json!({"mode": "blocked"})).fail_mode(),
        None
    );
    assert_eq!(
        Decision::from_backend_response(&json!({"fail_mode": "closed"})).fail_mode(),
        None,
        "needs the recorded error too"
    );
    assert_eq!(
        Decision::from_backend_response(&json!({"fail_mode": "sideways", "error": "x"}))
            .fail_mode(),
        None
    );
}
