//! Where a durable agent keeps its paused runs, and the secret values it keeps out of them.
//!
//! This module owns [`DurableRuns`]: the agent's [`RunStore`], the lease its claims take,
//! and, per run this process paused, the exact argument text and digest of each call of a
//! tool with secret arguments. A state goes to the store only in its stored form: every
//! secret argument redacted (as a result's JSON redacts it) and each such call's digest
//! removed (a digest of a short secret would give it away to whoever can guess candidates,
//! and a digest of the redacted arguments would let a stored state resumed by hand run the
//! call with `[REDACTED]`). A claimed state gets its real values back only in the process
//! that holds them; elsewhere, an approved call whose secret values are missing is not run:
//! the model is told to propose it again ([`answer_without_secrets`]), so that no tool ever
//! runs with `[REDACTED]` for an argument.
//!
//! What a process holds for a run is dropped when the run ends here; a run another process
//! finished leaves its entry until this process ends.
//!
//! It resumes nothing itself (`durable.rs` does) and decides nothing.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bighub_core::durable::{ClaimedRun, PausedRun, RunStore};
use serde_json::Value;

use super::approval::ApprovalAnswer;
use super::result::RunResult;
use super::state::RunState;
use crate::{Error, ExecutionStatus};

/// One call's real argument text and digest, kept in memory only.
#[derive(Clone)]
struct HeldCall {
    arguments: String,
    digest: String,
}

/// The held calls of one run, by call id.
type HeldCalls = HashMap<String, HeldCall>;

/// A durable agent's run store and the secret values of the runs it paused.
pub(crate) struct DurableRuns {
    store: Arc<dyn RunStore>,
    lease: Duration,
    held: Mutex<HashMap<String, HeldCalls>>,
}

impl fmt::Debug for DurableRuns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Held values are secrets: how many runs have any, never what they are.
        f.debug_struct("DurableRuns")
            .field("store", &self.store)
            .field("lease", &self.lease)
            .field("runs_with_held_secrets", &self.lock().len())
            .finish()
    }
}

/// What a stored state is made of: its JSON, the approvals it waits for, and the secret
/// values left out of it.
pub(crate) struct StoredForm {
    pub(crate) state: String,
    pub(crate) request_ids: Vec<String>,
    held: HeldCalls,
}

impl DurableRuns {
    pub(crate) fn new(store: Arc<dyn RunStore>, lease: Duration) -> Self {
        Self {
            store,
            lease,
            held: Mutex::default(),
        }
    }

    pub(crate) fn store(&self) -> &dyn RunStore {
        self.store.as_ref()
    }

    pub(crate) fn lease(&self) -> Duration {
        self.lease
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HeldCalls>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Saves the paused state of `result` as a new durable run and tells the result its
    /// run id; a finished result is left alone.
    pub(crate) async fn save_paused(&self, result: &mut RunResult) -> Result<(), Error> {
        let Some(state) = result.paused.as_mut() else {
            return Ok(());
        };
        let run_id = state
            .run_id
            .get_or_insert_with(|| format!("run_{}", uuid::Uuid::now_v7().simple()))
            .clone();
        let form = stored_form(state)?;
        let run = PausedRun {
            run_id: run_id.clone(),
            state: form.state,
            request_ids: form.request_ids,
        };
        self.store
            .save_run(&run)
            .await
            .map_err(|source| Error::RunStore {
                run_id: run_id.clone(),
                source: Box::new(source),
            })?;
        self.hold(&run_id, form.held);
        tracing::info!(run_id = ?run_id, approvals = run.request_ids.len(), "paused run saved");
        Ok(())
    }

    /// Keeps the secret values of `run_id` (the previous ones replaced).
    pub(crate) fn hold_form(&self, run_id: &str, form: StoredForm) {
        self.hold(run_id, form.held);
    }

    fn hold(&self, run_id: &str, held: HeldCalls) {
        let mut runs = self.lock();
        if held.is_empty() {
            runs.remove(run_id);
        } else {
            runs.insert(run_id.to_owned(), held);
        }
    }

    /// Drops what this process holds for `run_id` (it ended).
    pub(crate) fn forget(&self, run_id: &str) {
        self.lock().remove(run_id);
    }

    /// The state of a claimed run, with the secret values this process holds for it put
    /// back, and the calls whose secret values it does not hold (call id, tool).
    pub(crate) fn thaw_claimed(
        &self,
        claimed: &ClaimedRun,
    ) -> Result<(RunState, Vec<String>), Error> {
        let mut state = RunState::from_json(&claimed.state)?;
        state.run_id = Some(claimed.run_id.clone());
        let held = self
            .lock()
            .get(&claimed.run_id)
            .cloned()
            .unwrap_or_default();
        for (call_id, call) in &held {
            state
                .conversation
                .set_call_arguments(call_id, &call.arguments);
            if let Some(recorded) = state.calls.iter_mut().find(|c| c.call.call_id == *call_id) {
                recorded.call.arguments = call.arguments.clone();
                recorded.digest = call.digest.clone();
            }
        }
        let missing = state
            .calls
            .iter()
            .filter(|c| c.pending && !held.contains_key(&c.call.call_id))
            .filter(|c| has_secret_values(&state, &c.call.name, &c.call.call_id))
            .map(|c| c.call.call_id.clone())
            .collect();
        Ok((state, missing))
    }
}

/// Whether the model's call `call_id` of `tool` carries any argument the tool marks secret
/// (so that its stored form lacks a value).
fn has_secret_values(state: &RunState, tool: &str, call_id: &str) -> bool {
    state
        .conversation
        .call(call_id)
        // No call to bind: resuming refuses it anyway.
        .is_some_and(|call| carries_secret(state, tool, &call.arguments))
}

/// Whether argument text of `tool` holds a secret value: a secret argument is present, or
/// the text is not a JSON object (it is stored replaced whole).
fn carries_secret(state: &RunState, tool: &str, arguments: &str) -> bool {
    let Some(names) = state.secret_args.get(tool) else {
        return false;
    };
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(arguments)) => names.iter().any(|n| arguments.contains_key(n)),
        _ => true,
    }
}

/// The stored form of a paused state: secrets redacted, no digest for a call that carries
/// secret values, and what was left out.
pub(crate) fn stored_form(state: &RunState) -> Result<StoredForm, Error> {
    let request_ids = state
        .pending_approvals()
        .into_iter()
        .map(|p| p.request_id)
        .collect();
    let mut redacted = state.redacted();
    let mut held = HeldCalls::new();
    for (recorded, real) in redacted.calls.iter_mut().zip(&state.calls) {
        if !carries_secret(state, &real.call.name, &real.call.arguments) {
            continue;
        }
        // No digest at all: one of redacted values would let a stored state, resumed by
        // hand, run the call with `[REDACTED]`; without one it is refused.
        recorded.digest = String::new();
        held.insert(
            real.call.call_id.clone(),
            HeldCall {
                arguments: real.call.arguments.clone(),
                digest: real.digest.clone(),
            },
        );
    }
    // Calls of earlier rounds: their text in the conversation only.
    for (call_id, arguments) in secret_call_texts(state) {
        held.entry(call_id).or_insert_with(|| HeldCall {
            digest: String::new(),
            arguments,
        });
    }
    Ok(StoredForm {
        state: redacted.to_json()?,
        request_ids,
        held,
    })
}

/// The argument text of every function call of the conversation whose tool has secret
/// arguments, by call id.
fn secret_call_texts(state: &RunState) -> Vec<(String, String)> {
    let mut texts = Vec::new();
    state
        .conversation
        .each_function_call(|call_id, tool, arguments| {
            if state.secret_args.contains_key(tool) {
                texts.push((call_id.to_owned(), arguments.to_owned()));
            }
        });
    texts
}

/// Answers the paused call `call_id` without running it, its secret values being held by
/// another process: an approved call is not run (running it with redacted values would run
/// another call) and the model is told to propose it again; a rejected one is rejected as
/// usual, with the reviewer's comment.
pub(crate) fn answer_without_secrets(state: &mut RunState, call_id: &str, answer: &ApprovalAnswer) {
    let names = state
        .calls
        .iter()
        .find(|c| c.call.call_id == call_id)
        .and_then(|c| state.secret_args.get(&c.call.name))
        .map(|n| n.join(", "))
        .unwrap_or_default();
    let Some(recorded) = state.calls.iter_mut().find(|c| c.call.call_id == call_id) else {
        return;
    };
    let paused_id = recorded.event.event_id.clone();
    let event = &mut recorded.event;
    if answer.is_approved() {
        event.status = ExecutionStatus::ToolError;
        event.error = Some(format!(
            "not run: the values of its secret arguments ({names}) are kept only by the agent process that paused this run, which is not the one resuming it; call the tool again with the same arguments to have the call decided anew"
        ));
    } else {
        event.status = ExecutionStatus::Rejected;
    }
    event.approval = Some(answer.to_resolution());
    recorded.pending = false;
    let event = recorded.event.clone();
    if let Some(slot) = state.events.iter_mut().find(|e| e.event_id == paused_id) {
        *slot = event;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use bighub_core::digest::canonical_sha256;
    use bighub_core::durable::RunCompletion;
    use serde_json::json;

    const SECRET: &str = "hunter2-operator-token";

    /// A store that keeps nothing: these tests call no store.
    #[derive(Debug)]
    struct Nowhere;

    #[async_trait]
    impl RunStore for Nowhere {
        async fn save_run(&self, _: &PausedRun) -> Result<(), bighub_core::Error> {
            Ok(())
        }
        async fn claim_answered_runs(
            &self,
            _: Duration,
            _: usize,
        ) -> Result<Vec<ClaimedRun>, bighub_core::Error> {
            Ok(Vec::new())
        }
        async fn complete_run(
            &self,
            _: &str,
            _: &str,
            _: &RunCompletion,
        ) -> Result<(), bighub_core::Error> {
            Ok(())
        }
    }

    fn real_arguments() -> Value {
        json!({"path": "db", "token": SECRET})
    }

    /// A run paused on a call of `rotate`, whose `token` is secret.
    fn paused() -> RunState {
        let text = real_arguments().to_string();
        let decision = bighub_core::Decision::from_backend_response(
            &json!({"request_id": "req_1", "mode": "review"}),
        );
        let event = json!({
            "tool": "rotate", "call_id": "c1", "status": "approval_required",
            "decision": serde_json::to_value(&decision).unwrap(),
            "arguments": {"path": "db", "token": "[REDACTED]"}, "output": null, "error": null,
            "event_id": "ev_1", "trace_id": "trace_1", "request_id": "req_1", "seq": 0,
            "recommendation": null, "risk_score": null, "enforcement_mode": null
        });
        let state = json!({
            "version": 2, "trace_id": "trace_1", "model": "gpt-test", "round": 1,
            "conversation": {"store": false, "items": [
                {"role": "user", "content": "rotate db"},
                {"type": "function_call", "call_id": "c1", "name": "rotate", "arguments": text}
            ], "fresh": [], "previous_response_id": "resp_1"},
            "response": {"response_id": "resp_1", "output_text": "", "output": []},
            "calls": [{"call_id": "c1", "tool": "rotate", "raw_arguments": text,
                "arguments_sha256": canonical_sha256(&real_arguments()),
                "event": event, "pending": true}],
            "events": [event],
            "secret_args": {"rotate": ["token"]}
        });
        RunState::from_json(&state.to_string()).unwrap()
    }

    fn claimed(state: String) -> ClaimedRun {
        ClaimedRun {
            run_id: "run_1".into(),
            state,
            approvals: Vec::new(),
            lease_id: "lease".into(),
            attempt: 1,
        }
    }

    #[test]
    fn the_stored_form_has_neither_the_secret_nor_its_digest() {
        let state = paused();
        let form = stored_form(&state).unwrap();
        assert!(!form.state.contains(SECRET), "{}", form.state);
        assert!(!form.state.contains(&canonical_sha256(&real_arguments())));
        assert_eq!(form.request_ids, ["req_1"]);
        let stored = RunState::from_json(&form.state).unwrap();
        assert_eq!(stored.calls[0].digest, "");
    }

    #[test]
    fn only_the_process_that_holds_the_values_gets_them_back() {
        let state = paused();
        let form = stored_form(&state).unwrap();
        let stored = form.state.clone();

        let holder = DurableRuns::new(Arc::new(Nowhere), Duration::from_secs(60));
        holder.hold_form("run_1", form);
        assert!(!format!("{holder:?}").contains(SECRET));
        let (restored, missing) = holder.thaw_claimed(&claimed(stored.clone())).unwrap();
        assert!(missing.is_empty());
        assert_eq!(restored.calls, state.calls);
        assert_eq!(restored.conversation, state.conversation);
        assert_eq!(restored.run_id(), Some("run_1"));

        let elsewhere = DurableRuns::new(Arc::new(Nowhere), Duration::from_secs(60));
        let (mut thawed, missing) = elsewhere.thaw_claimed(&claimed(stored)).unwrap();
        assert_eq!(missing, ["c1"]);
        let mut rejected = thawed.clone();
        answer_without_secrets(&mut thawed, "c1", &ApprovalAnswer::approved("ok"));
        let call = &thawed.calls[0];
        assert!(!call.pending);
        assert_eq!(call.event.status, ExecutionStatus::ToolError);
        assert!(call.event.error.as_deref().unwrap().contains("(token)"));
        assert_eq!(thawed.events[0], call.event);
        assert!(thawed.pending_approvals().is_empty());
        answer_without_secrets(&mut rejected, "c1", &ApprovalAnswer::rejected("not today"));
        let event = &rejected.calls[0].event;
        assert_eq!(event.status, ExecutionStatus::Rejected);
        assert_eq!(event.model_output()["comment"], "not today");

        holder.forget("run_1");
        assert!(holder.lock().is_empty());
    }
}
