//! Replaying recorded decisions under the current policy set: the same policy decides
//! them the same way, a changed one reports what changes, and nothing is written.

use std::path::Path;
use std::time::Duration;

use bighub_core::{OutcomeReport, OutcomeStatus, ProposedAction, RiskLevel};
use bighub_local::LocalEngine;
use bighub_local::replay::ReplayOptions;
use serde_json::json;

/// Calls across the default policy's rules: a long admin grant (review), a read, a
/// destructive change in production (blocked), a restart after three failures (review),
/// a call with a secret argument and a declared request, a high-risk call with no
/// environment (needs context).
fn record(db: &Path) -> usize {
    let engine = LocalEngine::builder().db_path(db).build().unwrap();
    let restart = ProposedAction::new("restart_service")
        .risk(RiskLevel::Low)
        .environment("staging")
        .target("payments-api");
    for _ in 0..3 {
        let d = engine.decide(&restart).unwrap();
        let mut failure = OutcomeReport::new(OutcomeStatus::Failure);
        failure.request_id = d.raw["request_id"].as_str().map(str::to_owned);
        engine.record_outcome(&failure).unwrap();
    }
    let mut secret = ProposedAction::new("rotate_credentials")
        .arguments(json!({"service": "payments", "api_key": "sk-live-1234"}))
        .system("vault")
        .risk(RiskLevel::Medium)
        .environment("production")
        .target("payments");
    secret
        .context
        .metadata
        .insert("declared_request".into(), json!("rotate the payments key"));
    let calls = [
        ProposedAction::new("grant_access")
            .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
            .system("okta")
            .risk(RiskLevel::High)
            .environment("production")
            .target("okta-admins"),
        ProposedAction::new("list_users")
            .system("okta")
            .risk(RiskLevel::Low),
        ProposedAction::new("delete_bucket")
            .system("aws")
            .risk(RiskLevel::Critical)
            .environment("production")
            .target("logs"),
        restart,
        secret,
        ProposedAction::new("deploy").risk(RiskLevel::High),
    ];
    let modes: Vec<String> = calls
        .iter()
        .map(|c| {
            engine.decide(c).unwrap().raw["mode"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        modes,
        [
            "review",
            "autonomous",
            "blocked",
            "review",
            "constrained",
            "needs_context"
        ]
    );
    3 + calls.len()
}

#[test]
fn the_same_policy_decides_every_recorded_call_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let recorded = record(&db);
    let engine = LocalEngine::builder().db_path(&db).build().unwrap();
    let report = engine.replay(&ReplayOptions::default()).unwrap();
    assert_eq!(report.decided, recorded);
    assert_eq!(report.changed, 0, "{report:#?}");
    assert!(
        report.errors.is_empty() && report.newly_fired.is_empty(),
        "{report:#?}"
    );
}

#[test]
fn an_added_rule_reports_what_changes_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let recorded = record(&db);
    let policy = dir.path().join("okta.rego");
    std::fs::write(
        &policy,
        r#"package bighub.ext
import rego.v1

findings contains {"rule": "okta_changes_blocked", "mode": "blocked", "reason": "Okta is frozen."} if {
    input.action.system == "okta"
    not data.bighub.policy.is_read_only
}

findings contains {"rule": "vault_noted", "mode": "autonomous", "reason": "noted"} if {
    input.action.system == "vault"
}
"#,
    )
    .unwrap();
    let engine = LocalEngine::builder()
        .db_path(&db)
        .policy_file(&policy)
        .build()
        .unwrap();
    let before = engine.recent_decisions(100).unwrap();
    let pending = engine.pending_approvals().unwrap();

    let report = engine.replay(&ReplayOptions::default()).unwrap();
    assert_eq!(report.decided, recorded);
    assert_eq!(report.changed, 1, "{report:#?}");
    let change = &report.changes[0];
    assert_eq!(change.tool, "grant_access");
    assert_eq!(
        (change.mode_before.as_str(), change.mode_after.as_str()),
        ("review", "blocked")
    );
    assert_eq!(change.deciding_rules, ["okta_changes_blocked"]);
    assert_eq!(change.newly_fired, ["okta_changes_blocked"]);
    assert_eq!(change.reason, "Okta is frozen.");
    let transitions: Vec<(&str, &str, usize)> = report
        .transitions
        .iter()
        .map(|t| (t.before.as_str(), t.after.as_str(), t.count))
        .collect();
    assert_eq!(transitions, [("review", "blocked", 1)]);
    // A rule counts where it newly fires, whether the mode changed or not.
    let newly: Vec<(&str, usize)> = report
        .newly_fired
        .iter()
        .map(|r| (r.rule.as_str(), r.count))
        .collect();
    assert_eq!(newly, [("okta_changes_blocked", 1), ("vault_noted", 1)]);

    // Nothing was written: the same decisions, outcomes and approvals.
    assert_eq!(engine.recent_decisions(100).unwrap(), before);
    assert_eq!(engine.pending_approvals().unwrap(), pending);
}

#[test]
fn since_and_limit_choose_the_newest_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    record(&db);
    let engine = LocalEngine::builder()
        .db_path(&db)
        .config(json!({"kill_switch": true}))
        .build()
        .unwrap();
    let report = engine
        .replay(&ReplayOptions {
            since: None,
            limit: Some(2),
        })
        .unwrap();
    assert_eq!(report.decided, 2);
    // The newest first: the deploy, then the rotation.
    let tools: Vec<&str> = report.changes.iter().map(|c| c.tool.as_str()).collect();
    assert_eq!(tools, ["deploy", "rotate_credentials"]);
    assert!(
        report
            .changes
            .iter()
            .all(|c| c.deciding_rules == ["kill_switch"])
    );

    let recent = engine
        .replay(&ReplayOptions {
            since: Some(Duration::from_secs(3600)),
            limit: None,
        })
        .unwrap();
    assert_eq!(recent.decided, 9);
    // All but the one already blocked.
    assert_eq!(recent.changed, 8);
    let none = engine
        .replay(&ReplayOptions {
            since: Some(Duration::ZERO),
            limit: None,
        })
        .unwrap();
    assert_eq!(none.decided, 0);
}

#[test]
fn a_policy_that_fails_on_a_recorded_call_is_reported_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let recorded = record(&db);
    let engine = LocalEngine::builder()
        .db_path(&db)
        .policy(
            "numbers.rego",
            r#"package bighub.ext
import rego.v1
findings contains {"rule": "bucket_number", "mode": "review", "reason": "r"} if {
    input.action.target == "logs"
    to_number(input.action.target) > 1
}
"#,
        )
        .build()
        .unwrap();
    let report = engine.replay(&ReplayOptions::default()).unwrap();
    assert_eq!(report.decided, recorded);
    assert_eq!(report.changed, 0);
    assert_eq!(report.errors.len(), 1, "{report:#?}");
    assert_eq!(report.errors[0].tool, "delete_bucket");
    assert_eq!(report.errors[0].mode_before, "blocked");
    assert!(
        report.errors[0].message.contains("numbers.rego"),
        "{report:#?}"
    );
}
