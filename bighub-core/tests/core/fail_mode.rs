//! Fail mode: parsing, display, the synthetic decisions used when the service is down, and
//! the blocked decisions used for every other engine error.

use std::time::Duration;

use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::{Decision, Error, FailMode, Mode, Verdict};
use serde_json::json;

/// `d` without its request id, which is unique per synthetic decision.
fn without_request_id(mut d: Decision) -> Decision {
    d.request_id = None;
    if let Some(raw) = d.raw.as_object_mut() {
        raw.remove("request_id");
    }
    d
}

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
    assert_eq!(
        without_request_id(d.clone()),
        without_request_id(FailMode::Closed.decision(&"connection refused"))
    );
    assert_eq!(d.mode, Some(Mode::Blocked));
    assert!(d.should_not_run && !d.can_run);
    assert_eq!(d.recommendation.as_deref(), Some("do_not_proceed"));
    assert_eq!(
        d.reason.as_deref(),
        Some("decision service unavailable (connection refused); failing closed")
    );
    assert_eq!(d.verdict(), Verdict::Blocked);
    assert_eq!(d.raw["fail_mode"], "closed");
    assert_eq!(d.raw["error"], "connection refused");
    assert_eq!(d.fail_mode(), Some(FailMode::Closed));
}

#[test]
fn failing_open_executes_and_says_why() {
    let cause = Error::Timeout(Duration::from_secs(5));
    let d = Decision::fail_open(&cause);
    assert_eq!(
        without_request_id(d.clone()),
        without_request_id(FailMode::Open.decision(&cause))
    );
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

// --- request ids -----------------------------------------------------------------------

/// Asserts `id` is `synthetic_` followed by a UUID v4 in simple form.
fn assert_synthetic_id(id: &str) {
    let uuid = id
        .strip_prefix("synthetic_")
        .unwrap_or_else(|| panic!("{id} lacks the synthetic_ prefix"));
    assert_eq!(uuid.len(), 32, "{id} is not a simple-form UUID");
    assert!(
        uuid.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{id}"
    );
    let parsed = uuid::Uuid::parse_str(uuid).unwrap();
    assert_eq!(parsed.get_version_num(), 4, "{id}");
}

#[test]
fn every_synthetic_decision_carries_its_own_request_id() {
    let auth = Error::Auth {
        status: 401,
        message: "Invalid API key".into(),
    };
    let decisions = [
        FailMode::Closed.decision(&"dns"),
        FailMode::Open.decision(&"dns"),
        Decision::fail_closed(&"reset"),
        Decision::fail_open(&"reset"),
        FailMode::Open.decision_for(&Error::Network("reset".into())),
        FailMode::Open.decision_for(&auth),
        FailMode::Closed.decision_for(&auth),
    ];
    let mut seen = std::collections::HashSet::new();
    for d in &decisions {
        let id = d
            .request_id
            .as_deref()
            .expect("a synthetic decision has a request id");
        assert_synthetic_id(id);
        assert_eq!(d.raw["request_id"], id, "raw records the same id");
        // Normalising raw again gives the same request id (and the same decision).
        assert_eq!(
            Decision::from_backend_response(&d.raw)
                .request_id
                .as_deref(),
            Some(id)
        );
        assert_eq!(&Decision::from_backend_response(&d.raw), d);
        assert!(seen.insert(id.to_owned()), "{id} was given twice");
    }
}

// --- availability versus every other error ---------------------------------------------

fn unavailable_errors() -> Vec<Error> {
    vec![
        Error::Timeout(Duration::from_secs(5)),
        Error::Network("connection refused".into()),
        Error::RateLimited { retry_after: None },
        Error::RateLimited {
            retry_after: Some(Duration::from_secs(3)),
        },
        Error::Status {
            status: 408,
            body: "request timeout".into(),
        },
        Error::Status {
            status: 429,
            body: "slow down".into(),
        },
        Error::Status {
            status: 500,
            body: "oops".into(),
        },
        Error::Status {
            status: 503,
            body: "maintenance".into(),
        },
        Error::Status {
            status: 599,
            body: "".into(),
        },
    ]
}

/// The approval `req_1` refused with `refusal`.
fn refused(refusal: ApprovalRefusal) -> Error {
    Error::Approval(ApprovalRefused::new("req_1", refusal))
}

/// Every error that is not unavailability, with the class its decision records.
fn refusals() -> Vec<(Error, &'static str)> {
    let status = |status: u16| Error::Status {
        status,
        body: "no".into(),
    };
    vec![
        (
            Error::Auth {
                status: 401,
                message: "Invalid API key".into(),
            },
            "auth",
        ),
        (
            Error::Auth {
                status: 403,
                message: "missing scope".into(),
            },
            "auth",
        ),
        (
            Error::Validation {
                message: "body.action: field required".into(),
                detail: json!([]),
            },
            "rejected_request",
        ),
        (status(302), "rejected_request"),
        (status(400), "rejected_request"),
        (status(404), "rejected_request"),
        (status(409), "rejected_request"),
        (status(425), "rejected_request"),
        (status(600), "rejected_request"),
        (
            Error::InvalidResponse("body is not JSON: <html>".into()),
            "invalid_response",
        ),
        (Error::InvalidConfig("no key".into()), "invalid_config"),
        (Error::Engine("store is locked".into()), "engine"),
        (refused(ApprovalRefusal::NotFound), "approval"),
        (refused(ApprovalRefusal::AlreadyUsed), "approval"),
        (refused(ApprovalRefusal::ArgumentsChanged), "approval"),
        (
            refused(ApprovalRefusal::AlreadyResolved {
                resolution: "rejected".into(),
            }),
            "approval",
        ),
        (
            refused(ApprovalRefusal::NotApproved {
                status: "pending".into(),
            }),
            "approval",
        ),
        (
            refused(ApprovalRefusal::ToolChanged {
                approved: "a".into(),
                requested: "b".into(),
            }),
            "approval",
        ),
    ]
}

#[test]
fn only_timeouts_network_failures_rate_limits_and_408_429_5xx_are_unavailability() {
    for error in unavailable_errors() {
        assert!(error.is_unavailable(), "{error:?}");
    }
    for (error, _) in refusals() {
        assert!(!error.is_unavailable(), "{error:?}");
    }
}

#[test]
fn an_unavailable_service_gets_the_fail_mode_decision() {
    for error in unavailable_errors() {
        for mode in [FailMode::Closed, FailMode::Open] {
            let d = mode.decision_for(&error);
            assert_eq!(
                without_request_id(d.clone()),
                without_request_id(mode.decision(&error)),
                "{mode} {error:?}"
            );
            assert_eq!(d.fail_mode(), Some(mode));
            let expected = match mode {
                FailMode::Closed => Verdict::Blocked,
                FailMode::Open => Verdict::Execute,
            };
            assert_eq!(d.verdict(), expected, "{mode} {error:?}");
        }
    }
}

#[test]
fn every_other_error_blocks_whatever_the_fail_mode() {
    for (error, class) in refusals() {
        for mode in [FailMode::Closed, FailMode::Open] {
            let d = mode.decision_for(&error);
            assert_eq!(d.verdict(), Verdict::Blocked, "{mode} {error:?}");
            assert_eq!(d.mode, Some(Mode::Blocked));
            assert_eq!(d.recommendation.as_deref(), Some("do_not_proceed"));
            assert_eq!(d.fail_mode(), Some(FailMode::Closed), "{mode} {error:?}");
            assert_eq!(d.raw["error"], error.to_string());
            assert_eq!(d.raw["error_class"], class, "{error:?}");
            assert_eq!(d.raw["configured_fail_mode"], mode.as_str());
            let reason = d.reason.as_deref().unwrap();
            assert!(
                reason.ends_with(&format!(" ({error}); blocking whatever the fail mode")),
                "{reason}"
            );
            assert_eq!(d.raw["reason"], reason);
            assert_eq!(&Decision::from_backend_response(&d.raw), &d);
        }
    }
}

#[test]
fn a_refusal_reason_names_its_cause() {
    let cases = [
        (
            Error::Auth {
                status: 401,
                message: "Invalid API key".into(),
            },
            "the decision service rejected the API key (BIGHUB rejected the API key (HTTP 401): \
             Invalid API key; check BIGHUB_API_KEY); blocking whatever the fail mode",
        ),
        (
            Error::Status {
                status: 404,
                body: "Not Found".into(),
            },
            "the decision service rejected the request (BIGHUB answered HTTP 404: Not Found); \
             blocking whatever the fail mode",
        ),
        (
            Error::InvalidResponse("expected a JSON object, got an array: []".into()),
            "the decision service sent an unreadable answer (BIGHUB sent an unreadable answer: \
             expected a JSON object, got an array: []); blocking whatever the fail mode",
        ),
        (
            Error::InvalidConfig("no key".into()),
            "the decision engine is misconfigured (invalid configuration: no key); blocking \
             whatever the fail mode",
        ),
        (
            Error::Engine("store is locked".into()),
            "the decision engine failed (decision engine error: store is locked); blocking \
             whatever the fail mode",
        ),
        (
            refused(ApprovalRefusal::NotFound),
            "the approval cannot be used (no approval is pending for request req_1); blocking \
             whatever the fail mode",
        ),
    ];
    for (error, reason) in cases {
        assert_eq!(
            FailMode::Open.decision_for(&error).reason.as_deref(),
            Some(reason)
        );
    }
}
