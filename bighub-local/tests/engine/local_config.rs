//! The typed configuration of the default policy: unknown keys and wrong values are errors
//! that name the key and where it came from; valid values change decisions.

use std::time::Duration;

use bighub_core::{ProposedAction, RiskLevel};
use bighub_local::{LocalEngine, LocalError, PolicyConfig};
use serde_json::{Value, json};

/// A 48-hour admin grant in staging: high risk outside production is constrained, and
/// 48 hours is over the default maximum of 2 hours, so it goes to review.
fn grant() -> ProposedAction {
    ProposedAction::new("grant_access")
        .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
        .system("okta")
        .risk(RiskLevel::High)
        .environment("staging")
        .target("okta-admins")
}

fn invalid(err: LocalError) -> (String, String, String) {
    match err {
        LocalError::InvalidConfig {
            origin,
            key,
            message,
        } => (origin, key, message),
        other => panic!("expected an invalid configuration, got {other}"),
    }
}

#[test]
fn a_misspelt_key_from_the_builder_is_an_error_suggesting_the_known_key() {
    let err = LocalEngine::builder()
        .in_memory()
        .config(json!({"max_privelege_duration": "24h"}))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid policy configuration in builder config: \
         data.bighub.config.max_privelege_duration: unknown key; \
         did you mean `max_privilege_duration`?"
    );
    let (origin, key, message) = invalid(err);
    assert_eq!(origin, "builder config");
    assert_eq!(key, "data.bighub.config.max_privelege_duration");
    assert_eq!(
        message,
        "unknown key; did you mean `max_privilege_duration`?"
    );

    // Nested objects are typed too, and builder data is checked the same way.
    let err = LocalEngine::builder()
        .in_memory()
        .data(json!({"bighub": {"config": {"kill_switch": {"sytems": ["argocd"]}}}}))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid policy configuration in builder data: \
         data.bighub.config.kill_switch.sytems: unknown key; did you mean `systems`?"
    );
}

#[test]
fn a_misspelt_key_in_a_policy_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("a_good.json");
    std::fs::write(&good, r#"{"bighub": {"config": {"failure_threshold": 5}}}"#).unwrap();
    let typo = dir.path().join("b_typo.json");
    std::fs::write(
        &typo,
        r#"{"bighub": {"config": {"max_privelege_duration": "24h"}}}"#,
    )
    .unwrap();
    // Given as a directory: each file is checked on its own, and the one at fault named.
    let err = LocalEngine::builder()
        .in_memory()
        .policy_file(dir.path())
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid policy configuration in {}: \
             data.bighub.config.max_privelege_duration: unknown key; \
             did you mean `max_privilege_duration`?",
            typo.display()
        )
    );
    let (origin, _, _) = invalid(err);
    assert_eq!(origin, typo.display().to_string());
}

#[test]
fn a_value_of_the_wrong_type_names_the_key_and_the_expected_form() {
    let err = LocalEngine::builder()
        .in_memory()
        .config(json!({"max_privilege_duration": "a while"}))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid policy configuration in builder config: \
         data.bighub.config.max_privilege_duration: cannot read \"a while\": expected a \
         duration such as \"2h\", \"90m\", \"2 days\" or \"PT4H\", or whole seconds"
    );
    let err = LocalEngine::builder()
        .in_memory()
        .config(json!({"max_privilege_duration": true}))
        .build()
        .unwrap_err();
    let (_, key, message) = invalid(err);
    assert_eq!(key, "data.bighub.config.max_privilege_duration");
    assert_eq!(
        message,
        "invalid type: boolean `true`, expected a duration such as \"2h\", \"90m\", \
         \"2 days\" or \"PT4H\", or whole seconds"
    );

    for (config, key, expected) in [
        (
            json!({"failure_threshold": "3"}),
            "data.bighub.config.failure_threshold",
            "invalid type: string \"3\", expected u64",
        ),
        (
            json!({"production_environments": "prod"}),
            "data.bighub.config.production_environments",
            "invalid type: string \"prod\", expected a sequence",
        ),
        (
            json!({"risk_matrix": {"high": {"production": "reviewed"}}}),
            "data.bighub.config.risk_matrix.high.production",
            "unknown variant `reviewed`, expected one of",
        ),
        (
            json!({"freeze_windows": [{"start": "2026-12-24T00:00:00Z", "end": "soon"}]}),
            "data.bighub.config.freeze_windows[0].end",
            "cannot read timestamp `soon`: use RFC 3339",
        ),
    ] {
        let err = LocalEngine::builder()
            .in_memory()
            .config(config.clone())
            .build()
            .unwrap_err();
        let (_, got, message) = invalid(err);
        assert_eq!(got, key, "{config}");
        assert!(message.starts_with(expected), "{config}: {message}");
    }
}

#[test]
fn a_valid_override_still_changes_a_decision() {
    let mode =
        |engine: &LocalEngine| -> Value { engine.decide(&grant()).unwrap().raw["mode"].clone() };
    let default = LocalEngine::builder().in_memory().build().unwrap();
    assert_eq!(mode(&default), "review");

    // From the builder...
    let longer = LocalEngine::builder()
        .in_memory()
        .config(json!({"max_privilege_duration": "72h"}))
        .build()
        .unwrap();
    assert_eq!(mode(&longer), "constrained");
    assert_eq!(
        longer.policy_config().max_privilege_duration,
        Duration::from_secs(72 * 3600)
    );

    // ... and from a file, one cell of a nested object, the rest kept.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("matrix.json");
    std::fs::write(
        &file,
        r#"{"bighub": {"config": {"max_privilege_duration": 259200,
            "risk_matrix": {"high": {"other": "Blocked"}}}}}"#,
    )
    .unwrap();
    let blocked = LocalEngine::builder()
        .in_memory()
        .policy_file(&file)
        .build();
    // Modes are exact names: `Blocked` is not one.
    let (origin, key, _) = invalid(blocked.unwrap_err());
    assert_eq!(origin, file.display().to_string());
    assert_eq!(key, "data.bighub.config.risk_matrix.high.other");
    std::fs::write(
        &file,
        r#"{"bighub": {"config": {"max_privilege_duration": 259200,
            "risk_matrix": {"high": {"other": "blocked"}}}}}"#,
    )
    .unwrap();
    let blocked = LocalEngine::builder()
        .in_memory()
        .policy_file(&file)
        .build()
        .unwrap();
    assert_eq!(mode(&blocked), "blocked");
    let config = blocked.policy_config();
    assert_eq!(
        config.risk_matrix.high.production,
        bighub_core::Mode::Review
    );
    assert_eq!(
        config.risk_matrix.low,
        PolicyConfig::default().risk_matrix.low
    );
}
