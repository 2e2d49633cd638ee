//! Live reload of the policy set: a changed file decides the next call, a broken file or a
//! failing policy test is refused while the revision in force keeps deciding, and mending
//! it recovers; the watcher does the same on its own.

use std::path::Path;
use std::time::{Duration, Instant};

use bighub_core::ProposedAction;
use bighub_local::live_policies::ReloadOutcome;
use bighub_local::{LocalEngine, LocalError};

const REVIEW_RESTARTS: &str = r#"package bighub.ext
import rego.v1

findings contains {"rule": "restarts_wait", "mode": "review",
                   "reason": "Restarts wait for a person."} if input.action.name == "restart_service"
"#;

const BLOCK_RESTARTS: &str = r#"package bighub.ext
import rego.v1

findings contains {"rule": "restarts_frozen", "mode": "blocked",
                   "reason": "Restarts are frozen."} if input.action.name == "restart_service"
"#;

/// A test that holds for REVIEW_RESTARTS and fails for BLOCK_RESTARTS.
const RESTARTS_TEST: &str = r#"package restarts_test
import rego.v1

test_restarts_are_reviewed if {
    d := data.bighub.policy.decision with input as bighub.input({"tool": "restart_service"})
    d.mode == "review"
}
"#;

fn restart() -> ProposedAction {
    ProposedAction::new("restart_service").target("payments-api")
}

fn mode(engine: &LocalEngine) -> String {
    let d = engine.decide(&restart()).unwrap();
    d.raw["mode"].as_str().unwrap().to_owned()
}

fn revision_of(engine: &LocalEngine) -> (String, String) {
    let d = engine.decide(&restart()).unwrap();
    (
        d.raw["decision_brain"]["policy_revision"]
            .as_str()
            .unwrap()
            .to_owned(),
        d.raw["mode"].as_str().unwrap().to_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn a_changed_file_decides_the_next_call_and_changes_the_revision() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "restarts.rego", REVIEW_RESTARTS);
    let engine = LocalEngine::builder()
        .in_memory()
        .policy_file(dir.path())
        .build()
        .unwrap();
    let first = engine.policy_revision();
    assert_eq!(first.len(), 64);
    assert_eq!(first, engine.policy_sha256());
    assert_eq!(revision_of(&engine), (first.clone(), "review".to_owned()));

    assert_eq!(
        engine.reload_policies().unwrap(),
        ReloadOutcome::Unchanged {
            revision: first.clone()
        }
    );

    write(dir.path(), "restarts.rego", BLOCK_RESTARTS);
    let outcome = engine.reload_policies().unwrap();
    assert!(outcome.changed(), "{outcome:?}");
    let second = engine.policy_revision();
    assert_ne!(second, first);
    assert_eq!(outcome.revision(), second);
    assert_eq!(revision_of(&engine), (second, "blocked".to_owned()));
    let status = engine.policy_status();
    assert_eq!(status.enforced.reloads_ok, 1);
    assert_eq!(status.enforced.reloads_failed, 0);
    assert!(status.enforced.last_reload_error.is_none());
}

#[test]
fn a_broken_file_is_refused_and_mending_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "restarts.rego", REVIEW_RESTARTS);
    let engine = LocalEngine::builder()
        .in_memory()
        .policy_file(dir.path())
        .build()
        .unwrap();
    let good = engine.policy_revision();

    write(
        dir.path(),
        "restarts.rego",
        "package bighub.ext\nfindings contains {\"rule\": ",
    );
    let err = engine.reload_policies().unwrap_err();
    assert!(matches!(err, LocalError::Policy { .. }), "{err}");
    assert!(err.to_string().contains("restarts.rego"), "{err}");
    // The previous revision keeps deciding.
    assert_eq!(revision_of(&engine), (good.clone(), "review".to_owned()));
    let status = engine.policy_status();
    assert_eq!(status.enforced.revision, good);
    let failure = status
        .enforced
        .last_reload_error
        .expect("the error is kept");
    assert_eq!(failure.kept_revision, good);
    assert!(
        failure.message.contains("restarts.rego"),
        "{}",
        failure.message
    );
    assert!(failure.at.ends_with('Z'), "{}", failure.at);
    assert_eq!(status.enforced.reloads_failed, 1);

    // A configuration mistake is refused the same way.
    write(dir.path(), "restarts.rego", REVIEW_RESTARTS);
    write(
        dir.path(),
        "limits.json",
        r#"{"bighub": {"config": {"max_privelege_duration": "4h"}}}"#,
    );
    let err = engine.reload_policies().unwrap_err();
    assert!(matches!(err, LocalError::InvalidConfig { .. }), "{err}");
    assert_eq!(engine.policy_revision(), good);

    // Mended: the next reload takes it, and the error is cleared.
    write(
        dir.path(),
        "limits.json",
        r#"{"bighub": {"config": {"max_privilege_duration": "4h"}}}"#
            .replace("privelege", "privilege")
            .as_str(),
    );
    let outcome = engine.reload_policies().unwrap();
    assert!(outcome.changed());
    assert_ne!(engine.policy_revision(), good);
    assert_eq!(mode(&engine), "review");
    let status = engine.policy_status();
    assert!(status.enforced.last_reload_error.is_none());
    assert_eq!(
        engine.policy_config().max_privilege_duration,
        Duration::from_secs(4 * 3600)
    );
}

#[test]
fn a_failing_policy_test_rejects_the_change() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "restarts.rego", REVIEW_RESTARTS);
    write(dir.path(), "restarts_test.rego", RESTARTS_TEST);
    let engine = LocalEngine::builder()
        .in_memory()
        .policy_file(dir.path())
        .build()
        .unwrap();
    let good = engine.policy_revision();

    // Compiles, but its directory's test says restarts are reviewed.
    write(dir.path(), "restarts.rego", BLOCK_RESTARTS);
    let err = engine.reload_policies().unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("test_restarts_are_reviewed") && text.contains("1 of 1 policy tests failed"),
        "{text}"
    );
    assert_eq!(revision_of(&engine), (good.clone(), "review".to_owned()));
    assert!(
        engine
            .policy_status()
            .enforced
            .last_reload_error
            .unwrap()
            .message
            .contains("test_restarts_are_reviewed")
    );

    // Changing the test with the policy is accepted.
    write(
        dir.path(),
        "restarts_test.rego",
        &RESTARTS_TEST.replace("\"review\"", "\"blocked\""),
    );
    engine.reload_policies().unwrap();
    assert_eq!(mode(&engine), "blocked");
    assert!(engine.policy_status().enforced.last_reload_error.is_none());
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_watcher_reloads_on_change_and_stops_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "restarts.rego", REVIEW_RESTARTS);
    let engine = LocalEngine::builder()
        .in_memory()
        .policy_file(dir.path())
        .build()
        .unwrap();
    assert!(engine.watch_policies(Duration::ZERO).is_err());
    let watcher = engine.watch_policies(Duration::from_millis(25)).unwrap();
    let first = engine.policy_revision();

    write(dir.path(), "restarts.rego", BLOCK_RESTARTS);
    wait_for("the change", || engine.policy_revision() != first);
    assert_eq!(mode(&engine), "blocked");
    let second = engine.policy_revision();

    write(dir.path(), "restarts.rego", "package bighub.ext\nbroken {");
    wait_for("the error", || {
        engine.policy_status().enforced.last_reload_error.is_some()
    });
    assert_eq!(engine.policy_revision(), second);
    assert_eq!(mode(&engine), "blocked");

    write(dir.path(), "restarts.rego", REVIEW_RESTARTS);
    wait_for("the mend", || {
        engine.policy_status().enforced.last_reload_error.is_none()
    });
    assert_eq!(engine.policy_revision(), first);
    assert_eq!(mode(&engine), "review");

    drop(watcher);
    write(dir.path(), "restarts.rego", BLOCK_RESTARTS);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        engine.policy_revision(),
        first,
        "a dropped watcher reloads nothing"
    );
}
