//! Shadow policies: decided beside the enforced set on the same input, recorded beside
//! it, listed when they disagree, never enforced; in the SQLite and PostgreSQL stores.

use bighub_core::{DecisionEngine, ProposedAction, RiskLevel};
use bighub_local::{LocalEngine, LocalEngineBuilder};
use serde_json::json;

const BLOCK_RESTARTS: &str = r#"package bighub.ext
import rego.v1

findings contains {"rule": "restarts_frozen", "mode": "blocked",
                   "reason": "Restarts are frozen."} if input.action.name == "restart_service"
"#;

/// Fails on a call whose target is not a number: a shadow evaluation error.
const FAILS_ON_TARGET: &str = r#"package bighub.ext
import rego.v1

findings contains {"rule": "numbered_targets", "mode": "review",
                   "reason": "Numbered."} if {
    input.action.name == "scale_service"
    to_number(input.action.target) > 3
}
"#;

fn restart() -> ProposedAction {
    ProposedAction::new("restart_service")
        .target("payments-api")
        .system("kubernetes")
        .risk(RiskLevel::Low)
}

fn shadow_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shadow.rego"), text).unwrap();
    dir
}

/// What every store must show for an engine whose shadow blocks restarts.
fn blocks_what_enforced_allows(engine: &LocalEngine) {
    let d = engine.decide(&restart()).unwrap();
    // What runs is the enforced decision.
    assert_eq!(d.raw["mode"], "autonomous");
    assert_eq!(d.raw["can_run"], true);
    let brain = &d.raw["decision_brain"];
    let shadow = &brain["shadow"];
    assert_eq!(shadow["mode"], "blocked", "{shadow}");
    assert_eq!(shadow["deciding_rules"], json!(["restarts_frozen"]));
    assert_eq!(shadow["agrees"], false);
    assert_eq!(shadow["reason"], "Restarts are frozen.");
    let status = engine.policy_status();
    let shadow_status = status.shadow.expect("a shadow set");
    assert_eq!(shadow["policy_revision"], shadow_status.revision.as_str());
    assert_ne!(shadow_status.revision, status.enforced.revision);
    assert_eq!(brain["policy_revision"], status.enforced.revision.as_str());

    // An agreeing call is recorded as agreeing, and not listed.
    let read = engine
        .decide(&ProposedAction::new("list_pods").system("kubernetes"))
        .unwrap();
    assert_eq!(read.raw["decision_brain"]["shadow"]["agrees"], true);

    // Both are recorded: the stored decision has the shadow beside it.
    let id = d.request_id.clone().unwrap();
    let detail = engine.decision_detail(&id).unwrap().unwrap();
    assert_eq!(detail.record.mode, "autonomous");
    assert_eq!(detail.decision["decision_brain"]["shadow"], *shadow);

    let listed = engine.shadow_disagreements(10).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let row = &listed[0];
    assert_eq!(row.request_id, id);
    assert_eq!(row.tool, "restart_service");
    assert_eq!(row.mode, "autonomous");
    assert_eq!(row.shadow_mode.as_deref(), Some("blocked"));
    assert_eq!(row.shadow_deciding_rules, ["restarts_frozen"]);
    assert_eq!(
        row.shadow_revision.as_deref(),
        Some(shadow_status.revision.as_str())
    );
    assert!(row.shadow_error.is_none());

    // Newest first.
    let again = engine.decide(&restart()).unwrap();
    let listed = engine.shadow_disagreements(10).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(Some(&listed[0].request_id), again.request_id.as_ref());
    assert_eq!(engine.shadow_disagreements(1).unwrap().len(), 1);
}

#[test]
fn a_shadow_that_blocks_what_enforced_allows_changes_nothing_but_is_recorded_sqlite() {
    let dir = shadow_dir(BLOCK_RESTARTS);
    let db = tempfile::tempdir().unwrap();
    let engine = LocalEngine::builder()
        .db_path(db.path().join("decisions.db"))
        .shadow_policy(dir.path())
        .build()
        .unwrap();
    blocks_what_enforced_allows(&engine);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_path_records_the_shadow_too() {
    let dir = shadow_dir(BLOCK_RESTARTS);
    let engine = LocalEngine::builder()
        .in_memory()
        .shadow_policy(dir.path().join("shadow.rego"))
        .build()
        .unwrap();
    let d = engine.evaluate(&restart()).await.unwrap();
    assert_eq!(d.raw["mode"], "autonomous");
    assert_eq!(d.raw["decision_brain"]["shadow"]["mode"], "blocked");
    assert_eq!(engine.shadow_disagreements(5).unwrap().len(), 1);
}

#[test]
fn without_a_shadow_nothing_is_recorded_or_listed() {
    let engine = LocalEngine::builder().in_memory().build().unwrap();
    let d = engine.decide(&restart()).unwrap();
    assert!(d.raw["decision_brain"].get("shadow").is_none());
    assert!(engine.policy_status().shadow.is_none());
    assert!(engine.shadow_disagreements(10).unwrap().is_empty());
    assert_eq!(engine.reload_shadow_policies().unwrap(), None);
}

#[test]
fn a_shadow_evaluation_error_is_a_disagreement_and_never_fails_the_call() {
    let dir = shadow_dir(FAILS_ON_TARGET);
    let engine = LocalEngine::builder()
        .in_memory()
        .shadow_policy(dir.path())
        .build()
        .unwrap();
    let d = engine
        .decide(&ProposedAction::new("scale_service").target("payments-api"))
        .unwrap();
    assert_eq!(d.raw["mode"], "autonomous");
    let shadow = &d.raw["decision_brain"]["shadow"];
    assert_eq!(shadow["agrees"], false);
    assert!(shadow["mode"].is_null());
    assert!(
        shadow["error"].as_str().unwrap().contains("shadow.rego"),
        "{shadow}"
    );
    let listed = engine.shadow_disagreements(10).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].shadow_mode.is_none());
    assert!(listed[0].shadow_error.is_some());
}

#[test]
fn a_broken_shadow_fails_the_build_and_a_broken_shadow_reload_keeps_it() {
    let dir = shadow_dir("package bighub.ext\nbroken {");
    let err = LocalEngine::builder()
        .in_memory()
        .shadow_policy(dir.path())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("shadow.rego"), "{err}");

    let dir = shadow_dir(BLOCK_RESTARTS);
    let engine = LocalEngine::builder()
        .in_memory()
        .shadow_policy(dir.path())
        .build()
        .unwrap();
    let before = engine.policy_status().shadow.unwrap().revision;
    std::fs::write(
        dir.path().join("shadow.rego"),
        "package bighub.ext\nbroken {",
    )
    .unwrap();
    assert!(engine.reload_shadow_policies().is_err());
    // The enforced set is not touched by the shadow's files.
    assert!(!engine.reload_policies().unwrap().changed());
    let status = engine.policy_status().shadow.unwrap();
    assert_eq!(status.revision, before);
    assert!(status.last_reload_error.is_some());
    assert_eq!(
        engine.decide(&restart()).unwrap().raw["decision_brain"]["shadow"]["mode"],
        "blocked"
    );
}

/// Promoting: the shadow file moved into the enforced directory, picked up by a reload;
/// the shadow set then agrees.
#[test]
fn promoting_a_shadow_file_is_moving_it_into_the_enforced_directory() {
    let enforced = tempfile::tempdir().unwrap();
    let shadow = shadow_dir(BLOCK_RESTARTS);
    let engine = LocalEngine::builder()
        .in_memory()
        .policy_file(enforced.path())
        .shadow_policy(shadow.path())
        .build()
        .unwrap();
    assert_eq!(engine.decide(&restart()).unwrap().raw["mode"], "autonomous");
    std::fs::rename(
        shadow.path().join("shadow.rego"),
        enforced.path().join("restarts.rego"),
    )
    .unwrap();
    assert!(engine.reload_policies().unwrap().changed());
    engine.reload_shadow_policies().unwrap();
    let d = engine.decide(&restart()).unwrap();
    assert_eq!(d.raw["mode"], "blocked");
    assert_eq!(d.raw["decision_brain"]["shadow"]["agrees"], true);
    let status = engine.policy_status();
    // Nothing is left in the shadow directory: both sets are the same set.
    assert_eq!(status.enforced.revision, status.shadow.unwrap().revision);
}

#[cfg(feature = "postgres")]
fn postgres(builder: LocalEngineBuilder) -> Option<LocalEngine> {
    let url = crate::postgres_store::database_url()?;
    Some(
        builder
            .database_url(url)
            .database_schema(crate::postgres_store::fresh_schema())
            .build()
            .unwrap(),
    )
}

#[cfg(feature = "postgres")]
#[test]
fn a_shadow_that_blocks_what_enforced_allows_changes_nothing_but_is_recorded_postgres() {
    let dir = shadow_dir(BLOCK_RESTARTS);
    let Some(engine) = postgres(LocalEngine::builder().shadow_policy(dir.path())) else {
        return;
    };
    blocks_what_enforced_allows(&engine);
}

/// A shadow reload runs the shadow directories' tests, not the enforced set's, which the
/// shadow is there to contradict.
#[test]
fn a_shadow_reload_runs_the_shadow_tests_only() {
    let enforced = tempfile::tempdir().unwrap();
    std::fs::write(
        enforced.path().join("restarts_test.rego"),
        r#"package restarts_test
import rego.v1

test_restarts_run if {
    d := data.bighub.policy.decision with input as bighub.input({"tool": "restart_service"})
    d.mode == "autonomous"
}
"#,
    )
    .unwrap();
    let shadow = tempfile::tempdir().unwrap();
    let engine = LocalEngine::builder()
        .in_memory()
        .policy_file(enforced.path())
        .shadow_policy(shadow.path())
        .build()
        .unwrap();
    std::fs::write(shadow.path().join("shadow.rego"), BLOCK_RESTARTS).unwrap();
    // The enforced test would fail on the shadow set; the shadow reload does not run it.
    assert!(engine.reload_shadow_policies().unwrap().unwrap().changed());
    assert_eq!(
        engine.decide(&restart()).unwrap().raw["decision_brain"]["shadow"]["mode"],
        "blocked"
    );
    // A test of its own that fails rejects the shadow change.
    std::fs::write(
        shadow.path().join("shadow_test.rego"),
        r#"package shadow_test
import rego.v1

test_restarts_are_reviewed if {
    d := data.bighub.policy.decision with input as bighub.input({"tool": "restart_service"})
    d.mode == "review"
}
"#,
    )
    .unwrap();
    let err = engine.reload_shadow_policies().unwrap_err();
    assert!(
        err.to_string().contains("test_restarts_are_reviewed"),
        "{err}"
    );
    assert!(
        engine
            .policy_status()
            .shadow
            .unwrap()
            .last_reload_error
            .is_some()
    );
    assert!(engine.policy_status().enforced.last_reload_error.is_none());
}
