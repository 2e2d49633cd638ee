//! Durable runs in the engine's store: a paused run is claimed only once all its approvals
//! are answered, by exactly one of several engines (processes) at once, again after its
//! lease expires, and completed only under the lease that claimed it; each caller sees its
//! own runs. The same checks run on SQLite and, with `BIGHUB_TEST_DATABASE_URL`, PostgreSQL.

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use bighub_core::durable::{PausedRun, RunCompletion, RunStore};
use bighub_core::{ApprovalResolution, ProposedAction, RiskLevel};
use bighub_local::{LocalEngine, LocalError};
use serde_json::json;

const LEASE: Duration = Duration::from_secs(60);

fn grant(user: &str) -> ProposedAction {
    ProposedAction::new("grant_access")
        .arguments(json!({"user_id": user, "group": "okta-admins", "duration": "48h"}))
        .system("okta")
        .risk(RiskLevel::High)
        .environment("production")
        .target("okta-admins")
}

/// A review decision's request id (its approval is pending).
fn review(engine: &LocalEngine, user: &str) -> String {
    let decision = engine.decide(&grant(user)).unwrap();
    assert!(decision.needs_review, "{decision:?}");
    decision.request_id.unwrap()
}

fn paused(run_id: &str, request_ids: &[&str]) -> PausedRun {
    PausedRun {
        run_id: run_id.to_owned(),
        state: json!({"run": run_id}).to_string(),
        request_ids: request_ids.iter().map(|s| (*s).to_owned()).collect(),
    }
}

fn approve(engine: &LocalEngine, id: &str) {
    engine
        .resolve_as(id, &ApprovalResolution::approved(None), "operator:bob")
        .unwrap();
}

fn sqlite(dir: &tempfile::TempDir) -> LocalEngine {
    LocalEngine::builder()
        .db_path(dir.path().join("runs.db"))
        .build()
        .unwrap()
}

/// A run is claimed once every approval is answered, once, and completed under its lease.
fn answered_runs_are_claimed_once(engine: &LocalEngine) {
    let first = review(engine, "alice");
    let second = review(engine, "bob");
    engine
        .save_run_as("agents", &paused("run_a", &[&first, &second]))
        .unwrap();
    assert!(
        engine
            .claim_answered_runs_as("agents", LEASE, 10)
            .unwrap()
            .is_empty()
    );

    approve(engine, &first);
    // One of two answered: still waiting.
    assert!(
        engine
            .claim_answered_runs_as("agents", LEASE, 10)
            .unwrap()
            .is_empty()
    );
    engine
        .resolve_as(
            &second,
            &ApprovalResolution::rejected(Some("2h is enough".into())),
            "operator:bob",
        )
        .unwrap();

    let claimed = engine.claim_answered_runs_as("agents", LEASE, 10).unwrap();
    assert_eq!(claimed.len(), 1);
    let run = &claimed[0];
    assert_eq!(run.run_id, "run_a");
    assert_eq!(run.state, json!({"run": "run_a"}).to_string());
    assert_eq!(run.attempt, 1);
    let answers: Vec<_> = run
        .approvals
        .iter()
        .map(|a| {
            (
                a.request_id.as_str(),
                a.status.as_str(),
                a.comment.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        answers,
        [
            (first.as_str(), "approved", None),
            (second.as_str(), "rejected", Some("2h is enough"))
        ]
    );
    // Held by the lease: nobody else gets it.
    assert!(
        engine
            .claim_answered_runs_as("agents", LEASE, 10)
            .unwrap()
            .is_empty()
    );
    // Another caller neither sees nor takes over the run.
    assert!(
        engine
            .claim_answered_runs_as("others", Duration::ZERO, 10)
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        engine.save_run_as("others", &paused("run_a", &[])),
        Err(LocalError::RunUnavailable { .. })
    ));
    assert!(matches!(
        engine.complete_run_as("others", "run_a", &run.lease_id, &RunCompletion::Finished),
        Err(LocalError::LeaseLost { .. })
    ));

    engine
        .complete_run_as("agents", "run_a", &run.lease_id, &RunCompletion::Finished)
        .unwrap();
    // Done: never claimed again, and its lease completes nothing more.
    assert!(
        engine
            .claim_answered_runs_as("agents", Duration::ZERO, 10)
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        engine.complete_run_as("agents", "run_a", &run.lease_id, &RunCompletion::Finished),
        Err(LocalError::LeaseLost { .. })
    ));
}

/// A lease that ran out lets another claimer take the run; the old lease is then void.
fn an_expired_lease_is_claimed_again(engine: &LocalEngine) {
    let id = review(engine, "carol");
    approve(engine, &id);
    engine
        .save_run_as("agents", &paused("run_b", &[&id]))
        .unwrap();

    let crashed = engine
        .claim_answered_runs_as("agents", Duration::from_millis(1), 10)
        .unwrap();
    assert_eq!(crashed.len(), 1);
    std::thread::sleep(Duration::from_millis(20));
    let again = engine.claim_answered_runs_as("agents", LEASE, 10).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempt, 2);
    assert_ne!(again[0].lease_id, crashed[0].lease_id);
    let failed = RunCompletion::Failed {
        message: "the owner came back".into(),
    };
    assert!(matches!(
        engine.complete_run_as("agents", "run_b", &crashed[0].lease_id, &failed),
        Err(LocalError::LeaseLost { .. })
    ));

    // Paused again on a new approval: claimable once that one is answered.
    let next = review(engine, "dave");
    let repaused = RunCompletion::Paused {
        state: "{\"run\":\"again\"}".into(),
        request_ids: vec![next.clone()],
    };
    engine
        .complete_run_as("agents", "run_b", &again[0].lease_id, &repaused)
        .unwrap();
    assert!(
        engine
            .claim_answered_runs_as("agents", LEASE, 10)
            .unwrap()
            .is_empty()
    );
    approve(engine, &next);
    let resumed = engine.claim_answered_runs_as("agents", LEASE, 10).unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].state, "{\"run\":\"again\"}");
    assert_eq!(resumed[0].approvals.len(), 1);
    engine
        .complete_run_as("agents", "run_b", &resumed[0].lease_id, &failed)
        .unwrap();
}

/// A run waiting on an approval the store does not know is never answered.
fn unknown_approvals_never_answer(engine: &LocalEngine) {
    engine
        .save_run_as("agents", &paused("run_c", &["loc_unknown"]))
        .unwrap();
    assert!(
        engine
            .claim_answered_runs_as("agents", LEASE, 10)
            .unwrap()
            .is_empty()
    );
}

/// Engines of their own (as separate processes have) claim one store's answered runs at
/// once: each run goes to exactly one of them.
fn concurrent_claims_split_the_runs(engines: Vec<Arc<LocalEngine>>, runs: usize) {
    let first = &engines[0];
    for n in 0..runs {
        let id = review(first, &format!("user{n}"));
        approve(first, &id);
        first
            .save_run_as("fleet", &paused(&format!("run_{n}"), &[&id]))
            .unwrap();
    }
    let barrier = Arc::new(Barrier::new(engines.len() * 2));
    let threads: Vec<_> = engines
        .iter()
        .flat_map(|engine| [Arc::clone(engine), Arc::clone(engine)])
        .map(|engine| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let mut mine = Vec::new();
                loop {
                    let claimed = engine.claim_answered_runs_as("fleet", LEASE, 3).unwrap();
                    if claimed.is_empty() {
                        return mine;
                    }
                    for run in claimed {
                        engine
                            .complete_run_as(
                                "fleet",
                                &run.run_id,
                                &run.lease_id,
                                &RunCompletion::Finished,
                            )
                            .unwrap();
                        mine.push(run.run_id);
                    }
                }
            })
        })
        .collect();
    let all: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(all.len(), runs, "a run was claimed twice: {all:?}");
    assert_eq!(distinct.len(), runs);
}

#[test]
fn sqlite_claims_answered_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let engine = sqlite(&dir);
    answered_runs_are_claimed_once(&engine);
    an_expired_lease_is_claimed_again(&engine);
    unknown_approvals_never_answer(&engine);
}

#[test]
fn sqlite_engines_on_one_file_claim_each_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let engines = (0..2).map(|_| Arc::new(sqlite(&dir))).collect();
    concurrent_claims_split_the_runs(engines, 24);
}

#[tokio::test]
async fn the_engine_is_a_run_store_of_its_own_process() {
    let engine = Arc::new(LocalEngine::builder().in_memory().build().unwrap());
    let id = review(&engine, "erin");
    let store: Arc<dyn RunStore> = Arc::new(Arc::clone(&engine));
    store.save_run(&paused("run_d", &[&id])).await.unwrap();
    approve(&engine, &id);
    // Saved in-process: a server caller's name does not see it.
    assert!(
        engine
            .claim_answered_runs_as("agents", LEASE, 10)
            .unwrap()
            .is_empty()
    );
    let claimed = store.claim_answered_runs(LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let lost = store
        .complete_run("run_d", "not-the-lease", &RunCompletion::Finished)
        .await
        .unwrap_err();
    assert!(
        matches!(lost, bighub_core::Error::LeaseLost { .. }),
        "{lost}"
    );
    store
        .complete_run("run_d", &claimed[0].lease_id, &RunCompletion::Finished)
        .await
        .unwrap();
}

#[test]
fn run_ids_and_states_are_checked_before_they_are_stored() {
    let engine = LocalEngine::builder().in_memory().build().unwrap();
    let mut run = paused("run_e", &[]);
    run.state = "nul\0".into();
    assert!(matches!(
        engine.save_run_as("agents", &run),
        Err(LocalError::InvalidInput { field, .. }) if field == "state"
    ));
    let long = "x".repeat(bighub_local::storage::MAX_IDENTIFIER_BYTES + 1);
    assert!(matches!(
        engine.save_run_as("agents", &paused(&long, &[])),
        Err(LocalError::InvalidInput { field, .. }) if field == "run_id"
    ));
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    use crate::postgres_store::{database_url, fresh_schema};

    fn engine(url: &str, schema: &str) -> LocalEngine {
        LocalEngine::builder()
            .database_url(url)
            .database_schema(schema)
            .build()
            .unwrap()
    }

    #[test]
    fn postgres_claims_answered_runs_once() {
        let Some(url) = database_url() else { return };
        let engine = engine(&url, &fresh_schema());
        answered_runs_are_claimed_once(&engine);
        an_expired_lease_is_claimed_again(&engine);
        unknown_approvals_never_answer(&engine);
    }

    #[test]
    fn postgres_engines_on_one_database_claim_each_run_once() {
        let Some(url) = database_url() else { return };
        let schema = fresh_schema();
        let engines = (0..3).map(|_| Arc::new(engine(&url, &schema))).collect();
        concurrent_claims_split_the_runs(engines, 40);
    }
}
