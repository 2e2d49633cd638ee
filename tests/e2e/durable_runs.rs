//! End to end: durable runs. A run paused on a review is saved in the embedded engine's
//! store; a person answers it there while no agent waits (as `bighub approvals approve`
//! does); a fresh agent on the same store resumes it, exactly once, and completes it. On
//! PostgreSQL, several agent processes poll one store and each answered run runs its tool
//! once in total. Secret argument values never reach the store.
//!
//! The PostgreSQL test spawns this test binary as its worker processes (the worker test
//! does nothing unless the parent sets `BIGHUB_DURABLE_WORKER`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bighub::local::LocalEngine;
use bighub::{BighubOpenAI, BighubOpenAIBuilder, ExecutionStatus, State, ToolError};
use bighub_core::ApprovalResolution;
use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
use serde_json::{Value, json};

use crate::support::tool_output;

const MODEL: &str = "gpt-test";

/// Where each execution of a tool is written, one line per execution, so that executions
/// in several processes can be counted.
#[derive(Debug)]
struct Ledger(PathBuf);

impl Ledger {
    fn append(&self, line: &str) -> Result<(), ToolError> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.0)
            .map_err(|e| ToolError::new(e.to_string()))?;
        writeln!(file, "{line}").map_err(|e| ToolError::new(e.to_string()))
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.0)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// Grant a user temporary membership in an Okta group.
#[bighub::action(
    system = "okta",
    risk = "high",
    environment = "production",
    target = "group"
)]
async fn grant_access(
    /// Okta user login
    user_id: String,
    /// The Okta group
    group: String,
    /// How long the membership lasts, e.g. "2h"
    duration: String,
    ledger: State<Ledger>,
) -> Result<Value, ToolError> {
    ledger.append(&format!("grant {user_id}"))?;
    Ok(json!({"ok": true, "user_id": user_id, "group": group, "duration": duration}))
}

/// The tokens `rotate_credential` received, in this process.
#[derive(Debug, Default)]
struct Received(Mutex<Vec<String>>);

/// Rotate a Vault credential with an operator token.
#[bighub::action(
    system = "vault",
    risk = "high",
    environment = "production",
    secret = "token"
)]
fn rotate_credential(
    path: String,
    token: String,
    ledger: State<Ledger>,
    received: State<Received>,
) -> Result<Value, ToolError> {
    ledger.append(&format!("rotate {path}"))?;
    let received: &Received = &received;
    received.0.lock().unwrap().push(token);
    Ok(json!({"rotated": path}))
}

/// Vault rotations go to review, on top of the default policy.
const REVIEW_ROTATIONS: &str = r#"
package bighub.ext
import rego.v1
findings contains {"rule": "review_rotations", "mode": "review", "reason": "Credential rotations are reviewed."} if {
    input.action.system == "vault"
}
"#;

const SECRET: &str = "s.vault-operator-token-7f3a9c";

fn grant(user: &str) -> Value {
    json!({"user_id": user, "group": "okta-admins", "duration": "48h"})
}

fn sqlite_engine(db: &Path) -> Arc<LocalEngine> {
    Arc::new(
        LocalEngine::builder()
            .db_path(db)
            .policy("review_rotations.rego", REVIEW_ROTATIONS)
            .build()
            .unwrap(),
    )
}

/// A durable agent on `engine` (its decisions and its runs), talking to `openai`: a fresh
/// agent, as a new process would build it.
fn agent(openai: &FakeOpenAi, engine: &Arc<LocalEngine>, ledger: &Path) -> BighubOpenAIBuilder {
    BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .provider_backoff(Duration::from_millis(1), Duration::from_millis(5))
        .shared_engine(Arc::clone(engine) as Arc<dyn bighub::engine::DecisionEngine>)
        .durable(Arc::clone(engine))
        .action(GrantAccess)
        .action(RotateCredential)
        .state(Ledger(ledger.to_owned()))
        .state(Received::default())
}

fn model_requests(openai: &FakeOpenAi) -> Vec<Value> {
    openai
        .requests()
        .into_iter()
        .filter_map(|r| r.body)
        .collect()
}

/// Pauses a run on a review of `grant(user)` and returns its run id and request id.
async fn pause_grant(agent: &BighubOpenAI, openai: &FakeOpenAi, user: &str) -> (String, String) {
    openai.push(Turn::new().call_with_id(
        "grant_access",
        grant(user).to_string(),
        format!("call_{user}"),
    ));
    let result = agent
        .run(format!("Grant {user} okta-admins for 48h"), MODEL)
        .await
        .unwrap();
    let pending = result.pending_approvals();
    assert_eq!(pending.len(), 1, "{result:?}");
    let run_id = result
        .durable_run_id()
        .expect("a durable run id")
        .to_owned();
    (run_id, pending[0].request_id.clone())
}

fn resolve(engine: &LocalEngine, request_id: &str, resolution: ApprovalResolution) {
    engine
        .resolve_as(request_id, &resolution, "operator:bob")
        .unwrap();
}

#[tokio::test]
async fn an_answered_run_is_resumed_by_a_fresh_agent_once_and_finished() {
    let dir = tempfile::tempdir().unwrap();
    let (db, ledger) = (dir.path().join("bighub.db"), dir.path().join("ledger"));
    let openai = FakeOpenAi::start().await.unwrap();

    let (run_id, request_id) = {
        let engine = sqlite_engine(&db);
        let first = agent(&openai, &engine, &ledger).build().unwrap();
        let paused = pause_grant(&first, &openai, "alice").await;
        // Nothing to resume while the approval waits.
        assert!(first.resume_answered().await.unwrap().is_empty());
        paused
    };
    // The agent process is gone; an operator approves in the store.
    let operator = sqlite_engine(&db);
    resolve(
        &operator,
        &request_id,
        ApprovalResolution::approved(Some("ok for 48h".into())),
    );

    let engine = sqlite_engine(&db);
    let second = agent(&openai, &engine, &ledger).build().unwrap();
    openai.push(Turn::text("Alice has her access."));
    let resumed = second.resume_answered().await.unwrap();
    assert_eq!(resumed.len(), 1);
    let (id, outcome) = &resumed[0];
    assert_eq!(id, &run_id);
    let result = outcome.as_ref().unwrap();
    assert!(!result.is_paused());
    assert_eq!(result.output_text(), "Alice has her access.");
    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::Executed);
    assert_eq!(
        event.approval.as_ref().unwrap().comment.as_deref(),
        Some("ok for 48h")
    );
    assert_eq!(Ledger(ledger.clone()).lines(), ["grant alice"]);
    let output = tool_output(model_requests(&openai).last().unwrap(), "call_alice");
    assert_eq!(output["status"], "executed");
    assert!(engine.approval(&request_id).unwrap().unwrap().used);

    // Finished: a second pass, here or in another agent, finds nothing.
    assert!(second.resume_answered().await.unwrap().is_empty());
    let third = agent(&openai, &sqlite_engine(&db), &ledger)
        .build()
        .unwrap();
    assert!(third.resume_answered().await.unwrap().is_empty());
    assert_eq!(Ledger(ledger).lines().len(), 1);
}

#[tokio::test]
async fn a_streamed_run_is_saved_before_its_final_response() {
    use bighub::StreamEvent;
    use futures::StreamExt;

    let dir = tempfile::tempdir().unwrap();
    let (db, ledger) = (dir.path().join("bighub.db"), dir.path().join("ledger"));
    let openai = FakeOpenAi::start().await.unwrap();
    let engine = sqlite_engine(&db);
    let streaming = agent(&openai, &engine, &ledger).build().unwrap();
    openai.push(Turn::new().call_with_id("grant_access", grant("fay").to_string(), "call_fay"));
    let mut events = streaming.run_stream("Grant fay okta-admins for 48h", MODEL);
    let mut last = None;
    while let Some(event) = events.next().await {
        if let StreamEvent::FinalResponse { response } = event.unwrap() {
            last = Some(response);
        }
    }
    let paused = last.expect("a final response");
    let run_id = paused.durable_run_id().expect("saved").to_owned();
    let request_id = paused.pending_approvals()[0].request_id.clone();
    resolve(&engine, &request_id, ApprovalResolution::approved(None));

    openai.push(Turn::text("Fay has her access."));
    let resumed = agent(&openai, &sqlite_engine(&db), &ledger)
        .build()
        .unwrap()
        .resume_answered()
        .await
        .unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].0, run_id);
    assert_eq!(
        resumed[0].1.as_ref().unwrap().output_text(),
        "Fay has her access."
    );
    assert_eq!(Ledger(ledger).lines(), ["grant fay"]);
}

#[tokio::test]
async fn a_rejected_run_finishes_with_the_model_told_the_reviewers_comment() {
    let dir = tempfile::tempdir().unwrap();
    let (db, ledger) = (dir.path().join("bighub.db"), dir.path().join("ledger"));
    let openai = FakeOpenAi::start().await.unwrap();
    let engine = sqlite_engine(&db);
    let first = agent(&openai, &engine, &ledger).build().unwrap();
    let (_, request_id) = pause_grant(&first, &openai, "bob").await;
    drop(first);
    resolve(
        &engine,
        &request_id,
        ApprovalResolution::rejected(Some("2h is enough; ask again for 2h".into())),
    );

    let second = agent(&openai, &sqlite_engine(&db), &ledger)
        .build()
        .unwrap();
    openai.push(Turn::text("The grant was rejected; I will ask for 2h."));
    let resumed = second.resume_answered().await.unwrap();
    let result = resumed[0].1.as_ref().unwrap();
    assert!(!result.is_paused());
    assert_eq!(result.last().unwrap().status, ExecutionStatus::Rejected);
    let output = tool_output(model_requests(&openai).last().unwrap(), "call_bob");
    assert_eq!(output["status"], "rejected");
    assert_eq!(output["comment"], "2h is enough; ask again for 2h");
    assert!(Ledger(ledger).lines().is_empty(), "a rejected call ran");
    assert!(second.resume_answered().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_approval_answered_while_no_agent_runs_resumes_when_one_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (db, ledger) = (dir.path().join("bighub.db"), dir.path().join("ledger"));
    let openai = FakeOpenAi::start().await.unwrap();
    let (run_id, request_id) = {
        let engine = sqlite_engine(&db);
        let first = agent(&openai, &engine, &ledger).build().unwrap();
        pause_grant(&first, &openai, "carol").await
    };
    resolve(
        &sqlite_engine(&db),
        &request_id,
        ApprovalResolution::approved(None),
    );

    // An agent starts and serves resumptions in the background.
    openai.push(Turn::text("Carol has her access."));
    let engine = sqlite_engine(&db);
    let started = agent(&openai, &engine, &ledger).build().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let resumptions = started.serve_resumptions(Duration::from_millis(20), move |id, outcome| {
        let _ = tx.send((id, outcome.map(|r| r.output_text().to_owned())));
    });
    let (id, text) = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("the run resumed")
        .unwrap();
    assert_eq!(id, run_id);
    assert_eq!(text.unwrap(), "Carol has her access.");
    // Later passes find nothing more to do.
    tokio::time::sleep(Duration::from_millis(100)).await;
    resumptions.stop().await;
    assert!(rx.try_recv().is_err());
    assert_eq!(Ledger(ledger).lines(), ["grant carol"]);
}

#[tokio::test]
async fn a_run_whose_resumer_died_after_its_call_ran_is_claimed_again_and_never_runs_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (db, ledger) = (dir.path().join("bighub.db"), dir.path().join("ledger"));
    let openai = FakeOpenAi::start().await.unwrap();
    let engine = sqlite_engine(&db);
    let first = agent(&openai, &engine, &ledger).build().unwrap();
    let (run_id, request_id) = pause_grant(&first, &openai, "erin").await;
    drop(first);
    resolve(&engine, &request_id, ApprovalResolution::approved(None));

    // A process claims the run with a short lease, runs the call (its approval is used)
    // and dies before it records the run's end.
    let crashed = engine
        .claim_answered_runs_as(
            bighub::local::storage::IN_PROCESS,
            Duration::from_millis(1),
            10,
        )
        .unwrap();
    assert_eq!(crashed.len(), 1);
    Ledger(ledger.clone()).append("grant erin").unwrap();
    engine.consume_approval(&request_id).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    // The lease ran out: another agent claims the run; the used approval is refused, so
    // the call does not run again, and the run ends as failed.
    let second = agent(&openai, &sqlite_engine(&db), &ledger)
        .build()
        .unwrap();
    let resumed = second.resume_answered().await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].0, run_id);
    let error = resumed[0].1.as_ref().unwrap_err();
    assert!(
        matches!(
            error.cause(),
            bighub::Error::Approval(bighub::engine::ApprovalRefused {
                refusal: bighub::engine::ApprovalRefusal::AlreadyUsed,
                ..
            })
        ),
        "{error}"
    );
    assert_eq!(Ledger(ledger).lines(), ["grant erin"], "the call ran twice");
    assert!(second.resume_answered().await.unwrap().is_empty());
}

/// Every byte the SQLite store wrote (database, write-ahead log, shared memory).
fn store_bytes(dir: &Path) -> String {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("bighub.db")
        {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

async fn pause_rotation(agent: &BighubOpenAI, openai: &FakeOpenAi) -> (String, String) {
    openai.push(Turn::new().call_with_id(
        "rotate_credential",
        json!({"path": "db/prod", "token": SECRET}).to_string(),
        "call_rotate",
    ));
    let result = agent
        .run("Rotate the db/prod credential", MODEL)
        .await
        .unwrap();
    let pending = result.pending_approvals();
    assert_eq!(pending.len(), 1, "{result:?}");
    assert_eq!(pending[0].arguments["token"], "[REDACTED]");
    (
        result.durable_run_id().unwrap().to_owned(),
        pending[0].request_id.clone(),
    )
}

#[tokio::test]
async fn a_secret_argument_never_reaches_the_store_and_runs_only_where_it_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let (db, ledger) = (dir.path().join("bighub.db"), dir.path().join("ledger"));
    let openai = FakeOpenAi::start().await.unwrap();
    let engine = sqlite_engine(&db);
    let received = Arc::new(Received::default());
    let holder = agent(&openai, &engine, &ledger)
        .shared_state(Arc::clone(&received))
        .build()
        .unwrap();

    // The process that paused the run holds the value; the store has none of it.
    let (run_id, request_id) = pause_rotation(&holder, &openai).await;
    let stored = store_bytes(dir.path());
    assert!(stored.contains(&run_id), "the run is stored");
    assert!(!stored.contains(SECRET), "the secret reached the store");
    resolve(&engine, &request_id, ApprovalResolution::approved(None));
    openai.push(Turn::text("Rotated."));
    let resumed = holder.resume_answered().await.unwrap();
    let result = resumed[0].1.as_ref().unwrap();
    assert_eq!(result.last().unwrap().status, ExecutionStatus::Executed);
    assert_eq!(*received.0.lock().unwrap(), [SECRET]);
    assert!(!store_bytes(dir.path()).contains(SECRET));

    // A run resumed by a process that does not hold the value: the call is not run with
    // `[REDACTED]`; the model is told to propose it again.
    let (_, request_id) = pause_rotation(&holder, &openai).await;
    drop(holder);
    resolve(&engine, &request_id, ApprovalResolution::approved(None));
    let elsewhere_received = Arc::new(Received::default());
    let elsewhere = agent(&openai, &sqlite_engine(&db), &ledger)
        .shared_state(Arc::clone(&elsewhere_received))
        .build()
        .unwrap();
    openai.push(Turn::text("I will propose the rotation again."));
    let resumed = elsewhere.resume_answered().await.unwrap();
    let result = resumed[0].1.as_ref().unwrap();
    assert!(!result.is_paused());
    let event = result.last().unwrap();
    assert_eq!(event.status, ExecutionStatus::ToolError);
    assert!(elsewhere_received.0.lock().unwrap().is_empty());
    let output = tool_output(model_requests(&openai).last().unwrap(), "call_rotate");
    assert_eq!(output["status"], "tool_error");
    let error = output["error"].as_str().unwrap();
    assert!(error.contains("call the tool again"), "{error}");
    assert_eq!(Ledger(ledger.clone()).lines(), ["rotate db/prod"]);
    // The approval was never used for a call it did not see.
    assert!(!engine.approval(&request_id).unwrap().unwrap().used);

    // Rejected, the call is answered as usual elsewhere too: the model gets the comment.
    let (_, request_id) = pause_rotation(&elsewhere, &openai).await;
    drop(elsewhere);
    resolve(
        &engine,
        &request_id,
        ApprovalResolution::rejected(Some("rotate it on Monday".into())),
    );
    openai.push(Turn::text("Rotation postponed."));
    let third = agent(&openai, &sqlite_engine(&db), &ledger)
        .build()
        .unwrap();
    let resumed = third.resume_answered().await.unwrap();
    let result = resumed[0].1.as_ref().unwrap();
    assert_eq!(result.last().unwrap().status, ExecutionStatus::Rejected);
    let output = tool_output(model_requests(&openai).last().unwrap(), "call_rotate");
    assert_eq!(output["comment"], "rotate it on Monday");

    // A stored state resumed by hand, outside the run store, is refused: it has no digest
    // to bind the redacted call to, so `[REDACTED]` never reaches the tool.
    let (_, request_id) = pause_rotation(&third, &openai).await;
    resolve(&engine, &request_id, ApprovalResolution::approved(None));
    let stored = engine
        .claim_answered_runs_as(
            bighub::local::storage::IN_PROCESS,
            Duration::from_secs(60),
            10,
        )
        .unwrap();
    let state = bighub::RunState::from_json(&stored[0].state).unwrap();
    let by_hand = agent(&openai, &sqlite_engine(&db), &ledger)
        .build()
        .unwrap();
    let refused = by_hand
        .resume(
            state,
            [(request_id.clone(), bighub::ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            bighub::Error::Approval(bighub::engine::ApprovalRefused {
                refusal: bighub::engine::ApprovalRefusal::ArgumentsChanged,
                ..
            })
        ),
        "{refused}"
    );
    assert!(!engine.approval(&request_id).unwrap().unwrap().used);
    assert_eq!(
        Ledger(ledger).lines(),
        ["rotate db/prod"],
        "one rotation ran"
    );
    assert!(!store_bytes(dir.path()).contains(SECRET));
}

// ---- Several agent processes on one PostgreSQL store --------------------------------------

const WORKER: &str = "BIGHUB_DURABLE_WORKER";

fn database_url() -> Option<String> {
    match std::env::var("BIGHUB_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "BIGHUB_TEST_DATABASE_URL is not set, and under CI=true the PostgreSQL tests must run"
            )
        }
        _ => {
            let _ = std::io::stderr().write_fmt(format_args!(
                "skipped: BIGHUB_TEST_DATABASE_URL is not set; the durable runs' PostgreSQL test did not run\n"
            ));
            None
        }
    }
}

fn postgres_engine(url: &str, schema: &str) -> Arc<LocalEngine> {
    Arc::new(
        LocalEngine::builder()
            .database_url(url)
            .database_schema(schema)
            .policy("review_rotations.rego", REVIEW_ROTATIONS)
            .build()
            .unwrap(),
    )
}

/// A worker process: polls the store until it has found nothing to resume several times
/// in a row. Does nothing unless spawned by the test below.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_process_resumes_answered_runs_when_spawned() {
    let Ok(schema) = std::env::var(WORKER) else {
        return;
    };
    let url = std::env::var("BIGHUB_TEST_DATABASE_URL").unwrap();
    let ledger = PathBuf::from(std::env::var("BIGHUB_DURABLE_LEDGER").unwrap());
    let openai = FakeOpenAi::start().await.unwrap();
    openai.respond_with(|_| Turn::text("Done."));
    let engine = postgres_engine(&url, &schema);
    let worker = agent(&openai, &engine, &ledger).build().unwrap();
    let mut idle = 0;
    let mut finished = 0;
    while idle < 5 {
        let resumed = worker.resume_answered().await.unwrap();
        if resumed.is_empty() {
            idle += 1;
        } else {
            idle = 0;
        }
        for (run_id, outcome) in resumed {
            let result = outcome.unwrap_or_else(|e| panic!("{run_id}: {e}"));
            assert_eq!(result.output_text(), "Done.");
            finished += 1;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    println!("worker {} finished {finished} run(s)", std::process::id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_processes_on_one_postgres_store_resume_each_answered_run_once() {
    let Some(url) = database_url() else { return };
    let schema = format!(
        "durable_e2e_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000
    );
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let openai = FakeOpenAi::start().await.unwrap();
    let engine = postgres_engine(&url, &schema);
    let pauser = agent(&openai, &engine, &ledger).build().unwrap();
    let users: Vec<String> = (0..12).map(|n| format!("user{n}")).collect();
    let mut runs = Vec::new();
    for user in &users {
        runs.push(pause_grant(&pauser, &openai, user).await);
    }
    drop(pauser);
    // Answered while no agent runs; the last one stays pending until the workers poll.
    for (_, request_id) in &runs[..users.len() - 1] {
        resolve(&engine, request_id, ApprovalResolution::approved(None));
    }

    let spawn = || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "durable_runs::worker_process_resumes_answered_runs_when_spawned",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WORKER, &schema)
            .env("BIGHUB_TEST_DATABASE_URL", &url)
            .env("BIGHUB_DURABLE_LEDGER", &ledger)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let workers = [spawn(), spawn()];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, last) = runs.last().unwrap();
    resolve(&engine, last, ApprovalResolution::approved(None));

    let mut reports = Vec::new();
    for worker in workers {
        let output = tokio::task::spawn_blocking(move || worker.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "a worker failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(stdout.contains("1 passed"), "{stdout}");
        reports.push(stdout);
    }
    let mut executed = Ledger(ledger).lines();
    executed.sort();
    let mut expected: Vec<String> = users.iter().map(|u| format!("grant {u}")).collect();
    expected.sort();
    assert_eq!(
        executed, expected,
        "each run's tool ran exactly once in total:\n{reports:?}"
    );
    for (_, request_id) in &runs {
        assert!(engine.approval(request_id).unwrap().unwrap().used);
    }
    // Nothing is left to resume.
    let late = agent(&openai, &engine, &dir.path().join("late"))
        .build()
        .unwrap();
    assert!(late.resume_answered().await.unwrap().is_empty());
}

// ---- Through `bighub serve` -----------------------------------------------------------------

const AGENT_KEY: &str = "bh_test_agent_0123456789abcdef";
const OPERATOR_KEY: &str = "bh_test_operator_0123456789abcd";

fn remote(base_url: &str, key: &str) -> bighub::engine::RemoteBighub {
    bighub::engine::RemoteBighub::builder()
        .api_key(key)
        .base_url(base_url)
        .max_retries(0)
        .build()
        .unwrap()
}

/// An agent whose decisions and durable runs are the server's.
fn served_agent(openai: &FakeOpenAi, base_url: &str, ledger: &Path) -> BighubOpenAI {
    BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .provider_backoff(Duration::from_millis(1), Duration::from_millis(5))
        .bighub_api_key(AGENT_KEY)
        .bighub_base_url(base_url)
        .durable(remote(base_url, AGENT_KEY))
        .action(GrantAccess)
        .action(RotateCredential)
        .state(Ledger(ledger.to_owned()))
        .state(Received::default())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_bighub_serve_a_run_answered_by_an_operator_is_resumed_once() {
    use bighub::engine::DecisionEngine;
    use bighub_server::{ApiKeys, Auth, LocalBackend, Server, ServerConfig};

    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger");
    let engine = sqlite_engine(&dir.path().join("server.db"));
    let keys = ApiKeys::parse(&format!("agent={AGENT_KEY},operator={OPERATOR_KEY}")).unwrap();
    let server = Server::new(
        Arc::new(LocalBackend::new(Arc::clone(&engine))),
        ServerConfig::new(Auth::Keys(keys)),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server.serve(listener, std::future::pending()));
    let openai = FakeOpenAi::start().await.unwrap();

    let (run_id, request_id) = {
        let first = served_agent(&openai, &base_url, &ledger);
        pause_grant(&first, &openai, "dana").await
    };
    // The operator's key neither sees nor claims the agent's runs; it answers the approval.
    let operator = remote(&base_url, OPERATOR_KEY);
    assert!(
        bighub::engine::durable::RunStore::claim_answered_runs(&operator, Duration::ZERO, 10)
            .await
            .unwrap()
            .is_empty()
    );
    operator
        .resolve_approval(
            &request_id,
            &ApprovalResolution::approved(Some("ok".into())),
        )
        .await
        .unwrap();

    openai.push(Turn::text("Dana has her access."));
    let second = served_agent(&openai, &base_url, &ledger);
    let resumed = second.resume_answered().await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].0, run_id);
    let result = resumed[0].1.as_ref().unwrap();
    assert_eq!(result.output_text(), "Dana has her access.");
    assert_eq!(Ledger(ledger.clone()).lines(), ["grant dana"]);
    assert!(engine.approval(&request_id).unwrap().unwrap().used);
    assert!(second.resume_answered().await.unwrap().is_empty());
}
