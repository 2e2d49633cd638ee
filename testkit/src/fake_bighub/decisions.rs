//! Realistic `/actions/evaluate` answers, one per decision mode, for scripting the fake.
//!
//! This file owns the canned decision bodies; when they are sent is decided in
//! `fake_bighub.rs`.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh request id (`req_fake_000001`, `req_fake_000002`, ...), unique in the process.
pub fn fresh_request_id() -> String {
    format!("req_fake_{:06}", NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// A realistic decision body for `action` in `mode`, with a fresh `request_id`.
///
/// Known modes: `autonomous`, `constrained`, `review`, `blocked`, `needs_context`; each
/// comes with its structured flags (`can_run`, `needs_review`, ...), a risk, a reason, the
/// responsible action space, and the legacy compatibility fields (`recommendation`,
/// `risk_score`, `enforcement_mode`, `allowed`, `result`, `requires_approval`). Any other
/// mode string is sent as given, with every flag false, to exercise unknown modes.
///
/// ```
/// use bighub_testkit::fake_bighub::decision;
///
/// let review = decision("review", "grant_access");
/// assert_eq!(review["mode"], "review");
/// assert_eq!(review["needs_review"], true);
/// assert!(review["request_id"].as_str().unwrap().starts_with("req_fake_"));
/// ```
pub fn decision(mode: &str, action: &str) -> Value {
    let (risk, recommendation, allowed, result, reason) = match mode {
        "autonomous" => (
            0.12,
            "proceed",
            true,
            "allowed",
            format!("`{action}` is low risk in this context and can run as proposed."),
        ),
        "constrained" => (
            0.41,
            "proceed_with_caution",
            true,
            "allowed",
            format!("`{action}` can run within the constraints listed."),
        ),
        "review" => (
            0.78,
            "review_recommended",
            false,
            "requires_approval",
            format!("`{action}` touches production access; a human should review it first."),
        ),
        "blocked" => (
            0.93,
            "do_not_proceed",
            false,
            "blocked",
            format!("`{action}` is outside the responsible action space."),
        ),
        "needs_context" => (
            0.55,
            "review_recommended",
            false,
            "needs_context",
            format!("Not enough context to decide `{action}`; gather the information listed."),
        ),
        _ => (
            0.5,
            "review_recommended",
            false,
            "unknown",
            format!("Mode `{mode}` for `{action}`."),
        ),
    };
    let can_run = matches!(mode, "autonomous" | "constrained");
    let step = json!({"action": action});
    let mut space = json!({
        "available": [], "constrained": [], "forbidden": [], "information_gathering": []
    });
    match mode {
        "autonomous" => space["available"] = json!([step]),
        "constrained" => {
            space["constrained"] =
                json!([{"action": action, "constraints": ["duration<=2h", "scope=read_write"]}]);
        }
        "review" | "blocked" => space["forbidden"] = json!([step]),
        "needs_context" => {
            space["information_gathering"] =
                json!([{"action": "lookup_change_ticket", "reason": "no approved change found"}]);
        }
        _ => {}
    }
    let better_action = match mode {
        "constrained" | "review" => json!(format!("Run `{action}` with a 2h limit instead")),
        _ => Value::Null,
    };
    json!({
        "request_id": fresh_request_id(),
        "mode": mode,
        "can_run": can_run,
        "needs_review": mode == "review",
        "needs_more_context": mode == "needs_context",
        "should_not_run": mode == "blocked",
        "risk": risk,
        "reason": reason,
        "better_action": better_action,
        "responsible_action_space": space,
        "salient_factors": [
            {"factor": "environment", "severity": if risk > 0.7 { "critical" } else { "info" },
             "reason": "derived from the action context"}
        ],
        "operational_intent": {
            "declared": action, "inferred": action, "confidence": 0.9, "mismatch": false
        },
        "decision_packet": {"signal": {"risk_band": if risk > 0.7 { "high" } else { "low" }}},
        "recommendation": recommendation,
        "risk_score": risk,
        "enforcement_mode": "advisory",
        "allowed": allowed,
        "result": result,
        "requires_approval": mode == "review"
    })
}
