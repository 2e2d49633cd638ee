//! The default policy, rule by rule.

use bighub_core::{Decision, Mode, ProposedAction, RiskLevel};
use bighub_local::LocalEngine;
use bighub_local::clock::parse_timestamp;
use bighub_local::{LocalEngineBuilder, PreviewHistory};
use serde_json::{Value, json};

fn engine() -> LocalEngine {
    LocalEngine::builder()
        .in_memory()
        .build()
        .expect("default policy builds")
}

fn engine_with(config: Value) -> LocalEngine {
    LocalEngineBuilder::default()
        .in_memory()
        .config(config)
        .build()
        .expect("configured policy builds")
}

fn decide(engine: &LocalEngine, action: &ProposedAction) -> Decision {
    engine.decide(action).expect("decides")
}

fn factors(d: &Decision) -> Vec<String> {
    d.salient_factors
        .iter()
        .map(|f| f.factor.clone().expect("a factor's name"))
        .collect()
}

fn better(d: &Decision) -> &str {
    d.better_action.as_deref().expect("a better action")
}

fn family(d: &Decision) -> &str {
    d.action_interpretation_layer
        .as_ref()
        .and_then(|l| l.action_family.as_deref())
        .expect("an action family")
}

fn brain(d: &Decision, key: &str) -> Value {
    d.decision_brain().expect("a decision brain")[key].clone()
}

fn seed_grant() -> ProposedAction {
    ProposedAction::new("grant_access")
        .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
        .actor("ops-agent")
        .system("okta")
        .risk(RiskLevel::High)
        .environment("production")
        .target("okta-admins")
}

#[test]
fn seed_example_48h_okta_admin_in_production_goes_to_review_with_a_2h_better_action() {
    let d = decide(&engine(), &seed_grant());
    assert_eq!(d.mode, Some(Mode::Review));
    let better = better(&d);
    assert!(better.contains("2h instead of 48h"), "{better}");
    assert!(better.contains("okta-admins"), "{better}");
    assert!(factors(&d).contains(&"excessive_duration".to_owned()));
    assert_eq!(family(&d), "privilege_escalation");
    assert_eq!(
        d.responsible_action_space.constrained[0]["arguments_patch"]["duration"],
        "2h"
    );
    // Compatibility fields agree with the mode.
    assert_eq!(d.recommendation.as_deref(), Some("review_recommended"));
    assert_eq!(d.requires_approval, Some(true));
    assert_eq!(d.allowed, Some(false));
    assert_eq!(d.enforcement_mode.as_deref(), Some("enforced"));
    assert!(d.request_id.as_deref().unwrap().starts_with("loc_"));
    // Risk: high tier, raised by production and the excess duration, within 0..=1.
    let risk = d.risk.unwrap();
    assert!(risk > 0.55 && risk <= 1.0, "{risk}");
    assert_eq!(d.risk_score, d.risk);
}

#[test]
fn every_duration_form_is_read_and_short_grants_pass_the_duration_rule() {
    let e = engine();
    for text in ["2 days", "PT48H", "P2D", "1 week"] {
        let a = seed_grant()
            .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": text}));
        let d = decide(&e, &a);
        assert!(
            factors(&d).contains(&"excessive_duration".to_owned()),
            "{text}"
        );
        assert!(better(&d).contains(&format!("instead of {text}")));
    }
    // 90 minutes is under the 2h maximum: no duration finding, only the tier.
    let a = seed_grant()
        .environment("staging")
        .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "90m"}));
    let d = decide(&e, &a);
    assert!(!factors(&d).contains(&"excessive_duration".to_owned()));
    assert_eq!(d.mode, Some(Mode::Constrained));
}

#[test]
fn the_maximum_privilege_duration_is_configurable_as_data() {
    let e = engine_with(json!({"max_privilege_duration": "72h"}));
    let d = decide(&e, &seed_grant().environment("staging"));
    assert!(!factors(&d).contains(&"excessive_duration".to_owned()));
    assert_eq!(d.mode, Some(Mode::Constrained));

    let e = engine_with(json!({"max_privilege_duration": "PT1H"}));
    let a = seed_grant()
        .environment("staging")
        .arguments(json!({"user_id": "bob", "group": "okta-admins", "duration": "90m"}));
    let d = decide(&e, &a);
    assert_eq!(d.mode, Some(Mode::Review));
    assert!(better(&d).contains("1h instead of 90m"));
}

#[test]
fn admin_grants_without_an_end_and_with_an_unreadable_duration() {
    let e = engine();
    let a = ProposedAction::new("add_user_to_group")
        .arguments(json!({"user": "carol", "group": "aws-admins"}))
        .system("iam")
        .risk(RiskLevel::Medium)
        .environment("staging");
    let d = decide(&e, &a);
    assert_eq!(d.mode, Some(Mode::Review));
    assert!(factors(&d).contains(&"unbounded_privilege".to_owned()));
    assert!(better(&d).contains("for 2h"));

    let a = seed_grant()
        .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "until friday"}));
    let d = decide(&e, &a);
    assert_eq!(d.mode, Some(Mode::NeedsContext));
    assert_eq!(
        d.responsible_action_space.information_gathering[0]["action"],
        "confirm_duration"
    );
}

#[test]
fn read_only_actions_run_autonomously_even_when_declared_risky() {
    let e = engine();
    for name in [
        "get_user",
        "list_pods",
        "describe_stack",
        "read_secret_metadata",
        "showConfig",
        "check-health",
    ] {
        let a = ProposedAction::new(name)
            .system("kubernetes")
            .risk(RiskLevel::Critical)
            .environment("production");
        let d = decide(&e, &a);
        assert_eq!(
            d.mode,
            Some(Mode::Autonomous),
            "{name}: {}",
            d.reason.as_deref().unwrap_or_default()
        );
        assert_eq!(family(&d), "read_only");
        assert_eq!(d.recommendation.as_deref(), Some("proceed"));
        assert_eq!(d.allowed, Some(true));
        assert_eq!(d.responsible_action_space.available[0]["action"], name);
    }
}

#[test]
fn risk_by_environment_matrix() {
    let e = engine();
    let cases = [
        (RiskLevel::Low, "production", Mode::Autonomous),
        (RiskLevel::Low, "staging", Mode::Autonomous),
        (RiskLevel::Medium, "staging", Mode::Autonomous),
        (RiskLevel::Medium, "production", Mode::Constrained),
        (RiskLevel::High, "staging", Mode::Constrained),
        (RiskLevel::High, "production", Mode::Review),
        (RiskLevel::Critical, "staging", Mode::Review),
        (RiskLevel::Critical, "production", Mode::Review),
        (RiskLevel::Medium, "prod", Mode::Constrained),
    ];
    for (risk, env, want) in cases {
        let a = ProposedAction::new("deploy_service")
            .system("argocd")
            .risk(risk)
            .environment(env)
            .target("payments");
        let d = decide(&e, &a);
        assert_eq!(
            d.mode,
            Some(want),
            "{risk} in {env}: {}",
            d.reason.as_deref().unwrap_or_default()
        );
        assert_eq!(brain(&d, "deciding_rules"), json!(["risk_tier"]));
    }
    // Scores rise with the tier and with production.
    let score = |risk, env: &str| {
        let a = ProposedAction::new("deploy_service")
            .risk(risk)
            .environment(env)
            .target("x");
        decide(&e, &a).risk.unwrap()
    };
    assert!(score(RiskLevel::Low, "staging") < score(RiskLevel::Medium, "staging"));
    assert!(score(RiskLevel::High, "staging") < score(RiskLevel::High, "production"));
    assert!(score(RiskLevel::Critical, "production") <= 1.0);
}

#[test]
fn destructive_verbs_in_production_are_blocked_with_safer_options() {
    let e = engine();
    for name in [
        "delete_bucket",
        "terraform_destroy",
        "dropTable",
        "terminate_instances",
        "purge_queue",
        "wipe_disk",
        "git_force_push",
    ] {
        let a = ProposedAction::new(name)
            .system("aws")
            .risk(RiskLevel::Medium)
            .environment("production")
            .target("prod-data");
        let d = decide(&e, &a);
        assert_eq!(d.mode, Some(Mode::Blocked), "{name}");
        assert!(factors(&d).contains(&"destructive_in_production".to_owned()));
        let gather: Vec<&str> = d
            .responsible_action_space
            .information_gathering
            .iter()
            .map(|i| i["action"].as_str().unwrap())
            .collect();
        assert_eq!(gather, ["plan", "dry_run", "inspect"], "{name}");
        assert_eq!(d.responsible_action_space.forbidden[0]["action"], name);
        assert_eq!(d.recommendation.as_deref(), Some("do_not_proceed"));
        assert_eq!(d.allowed, Some(false));
    }
    // Outside production the same verb follows the risk tier.
    let a = ProposedAction::new("delete_bucket")
        .risk(RiskLevel::Medium)
        .environment("staging");
    assert_eq!(decide(&e, &a).mode, Some(Mode::Autonomous));
    // Critical and destructive in production: blocked, not merely reviewed.
    let a = ProposedAction::new("destroy_cluster")
        .risk(RiskLevel::Critical)
        .environment("production");
    assert_eq!(decide(&e, &a).mode, Some(Mode::Blocked));
}

#[test]
fn high_risk_without_an_environment_needs_context() {
    let e = engine();
    for risk in [RiskLevel::High, RiskLevel::Critical] {
        let a = ProposedAction::new("rotate_credentials")
            .system("vault")
            .risk(risk);
        let d = decide(&e, &a);
        assert_eq!(d.mode, Some(Mode::NeedsContext), "{risk}");
        let items = &d.responsible_action_space.information_gathering;
        assert_eq!(items[0]["action"], "confirm_environment");
        assert_eq!(items[1]["action"], "confirm_target");
        assert!(factors(&d).contains(&"unknown_environment".to_owned()));
        // needs_context has no enforced legacy verdict, so no legacy reader blocks it.
        assert_eq!(d.enforcement_mode.as_deref(), Some("advisory"));
        assert_eq!(d.allowed, None);
        assert_eq!(d.recommendation, None);
        assert!(d.needs_more_context);
        assert!(!d.can_run);
    }
    // "unknown" counts as no environment; medium risk does not need context.
    let a = ProposedAction::new("rotate_credentials")
        .risk(RiskLevel::High)
        .environment("unknown");
    assert_eq!(decide(&e, &a).mode, Some(Mode::NeedsContext));
    let a = ProposedAction::new("rotate_credentials").risk(RiskLevel::Medium);
    assert_eq!(decide(&e, &a).mode, Some(Mode::Autonomous));
}

#[test]
fn freeze_windows_block_changes_but_not_reads() {
    let e = engine_with(json!({"freeze_windows": [{
        "name": "year-end", "start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z",
        "environments": ["production"]
    }]}));
    let inside = Some(parse_timestamp("2026-12-24T10:00:00Z").unwrap() * 1000);
    let after = Some(parse_timestamp("2027-01-05T10:00:00Z").unwrap() * 1000);
    let change = ProposedAction::new("deploy_service")
        .risk(RiskLevel::Low)
        .environment("production");
    let none = PreviewHistory::default();

    let d = e.preview(&change, &none, inside).unwrap();
    assert_eq!(d.mode, Some(Mode::Blocked));
    assert!(factors(&d).contains(&"change_freeze".to_owned()));
    assert!(better(&d).contains("after 2027-01-04T00:00:00Z"));

    assert_eq!(
        e.preview(&change, &none, after).unwrap().mode,
        Some(Mode::Autonomous)
    );
    let staging = change.clone().environment("staging");
    assert_eq!(
        e.preview(&staging, &none, inside).unwrap().mode,
        Some(Mode::Autonomous)
    );
    let read = ProposedAction::new("get_deployment")
        .risk(RiskLevel::Low)
        .environment("production");
    assert_eq!(
        e.preview(&read, &none, inside).unwrap().mode,
        Some(Mode::Autonomous)
    );
}

#[test]
fn a_freeze_window_around_now_blocks_a_real_decision() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let fmt = |secs: i64| {
        // Reuse the store's formatting through a decision: simpler to write plain UTC here.
        let days = secs.div_euclid(86_400);
        let (y, m, d) = civil(days);
        let sod = secs.rem_euclid(86_400);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        )
    };
    let e = engine_with(
        json!({"freeze_windows": [{"start": fmt(now - 86_400), "end": fmt(now + 86_400)}]}),
    );
    let a = ProposedAction::new("apply_plan")
        .system("terraform")
        .risk(RiskLevel::Low)
        .environment("dev");
    assert_eq!(decide(&e, &a).mode, Some(Mode::Blocked));
}

fn civil(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[test]
fn kill_switch_global_and_per_system() {
    let read = ProposedAction::new("list_apps")
        .system("argocd")
        .risk(RiskLevel::Low)
        .environment("staging");
    let other = ProposedAction::new("list_users")
        .system("okta")
        .risk(RiskLevel::Low)
        .environment("staging");

    let e = engine_with(json!({"kill_switch": {"systems": ["ArgoCD"]}}));
    let d = decide(&e, &read);
    assert_eq!(d.mode, Some(Mode::Blocked));
    assert!(factors(&d).contains(&"kill_switch".to_owned()));
    assert_eq!(decide(&e, &other).mode, Some(Mode::Autonomous));

    let e = engine_with(json!({"kill_switch": {"global": true}}));
    assert_eq!(decide(&e, &read).mode, Some(Mode::Blocked));
    assert_eq!(decide(&e, &other).mode, Some(Mode::Blocked));

    let e = engine_with(json!({"kill_switch": true}));
    assert_eq!(decide(&e, &other).mode, Some(Mode::Blocked));
}

#[test]
fn three_failures_in_a_day_turn_the_call_to_review() {
    let e = engine();
    let a = ProposedAction::new("restart_service")
        .risk(RiskLevel::Low)
        .environment("staging")
        .target("api");
    let two = PreviewHistory {
        failures_24h: 2,
        ..Default::default()
    };
    let three = PreviewHistory {
        failures_24h: 3,
        ..Default::default()
    };
    assert_eq!(
        e.preview(&a, &two, None).unwrap().mode,
        Some(Mode::Autonomous)
    );
    let d = e.preview(&a, &three, None).unwrap();
    assert_eq!(d.mode, Some(Mode::Review));
    assert!(factors(&d).contains(&"recent_failures".to_owned()));
    let calm = e.preview(&a, &two, None).unwrap().risk.unwrap();
    assert!(d.risk.unwrap() > calm);

    let e = engine_with(json!({"failure_threshold": 5}));
    assert_eq!(
        e.preview(&a, &three, None).unwrap().mode,
        Some(Mode::Autonomous)
    );
}

#[test]
fn most_restrictive_rule_wins_and_every_rule_is_explained() {
    let e = engine_with(json!({"kill_switch": {"systems": ["okta"]}}));
    let d = decide(&e, &seed_grant());
    assert_eq!(d.mode, Some(Mode::Blocked));
    assert_eq!(brain(&d, "deciding_rules"), json!(["kill_switch"]));
    assert_eq!(
        brain(&d, "rules_fired"),
        json!(["kill_switch", "privilege_duration", "risk_tier"])
    );
    // The shorter grant is still offered although the winner is the kill switch.
    assert!(better(&d).contains("2h instead of 48h"));
}

#[test]
fn declared_request_feeds_the_operational_intent() {
    let e = engine();
    let mut a = seed_grant();
    a.context.metadata.insert(
        "declared_request".into(),
        json!("Give Alice Okta admin for a day"),
    );
    let d = decide(&e, &a);
    assert_eq!(
        d.operational_intent.as_ref().unwrap().declared.as_deref(),
        Some("Give Alice Okta admin for a day")
    );
    assert_eq!(d.operational_intent.as_ref().unwrap().mismatch, Some(false));

    let mut a = seed_grant();
    a.context.metadata.insert(
        "declared_request".into(),
        json!("Summarise yesterday's incidents"),
    );
    assert_eq!(
        decide(&e, &a).operational_intent.unwrap().mismatch,
        Some(true)
    );
}

#[test]
fn the_decision_packet_holds_the_input_and_its_hash() {
    let d = decide(&engine(), &seed_grant());
    let packet = d.decision_packet().unwrap();
    assert_eq!(packet["input"]["action"]["name"], "grant_access");
    assert_eq!(
        packet["input_sha256"],
        bighub_core::digest::canonical_sha256(&packet["input"])
    );
    let brain = d.decision_brain().unwrap();
    assert_eq!(brain["policy_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(brain["precedents"], 0);
}
