//! Resuming a run store's answered runs, each once (see
//! [`BighubOpenAI::resume_answered`](crate::BighubOpenAI::resume_answered)).
//!
//! A claimed run is resumed through the one resume path (`resume.rs`), with the answers its
//! store's approval records give; then it is completed in the store: finished, failed with
//! the error's message, or paused again with its new state. What is never completed is a
//! run that cannot be resumed *yet*: an approval in a status that is no answer, or an engine
//! that could not be reached before anything ran. Its lease then runs out and a later pass
//! (here or in another process) claims it again.
//!
//! Saving a paused run and the secret values kept out of the store are `run_store.rs`'s.

use std::collections::HashMap;
use std::sync::Arc;

use bighub_core::Resolution;
use bighub_core::durable::{ClaimedRun, RunCompletion};
use futures::future::join_all;
use tracing::Instrument;

use super::approval::ApprovalAnswer;
use super::result::RunResult;
use super::run_store::{DurableRuns, answer_without_secrets, stored_form};
use super::runner::Runner;
use crate::Error;

/// The most runs one claim takes (they are resumed concurrently); a pass claims again
/// until the store has no more. Small, so that other processes polling the store share
/// the work.
const CLAIM_BATCH: usize = 8;

/// One resumed run: its id and how it went.
pub(crate) type Resumed = (String, Result<RunResult, Error>);

impl Runner {
    /// Claims every answered run of the agent's run store and resumes each.
    pub(crate) async fn resume_answered(self: &Arc<Self>) -> Result<Vec<Resumed>, Error> {
        let Some(durable) = &self.durable else {
            return Err(Error::Config(
                "this agent keeps no paused runs: build it with .durable(store)".to_owned(),
            ));
        };
        let mut resumed = Vec::new();
        loop {
            let claimed = durable
                .store()
                .claim_answered_runs(durable.lease(), CLAIM_BATCH)
                .await
                .map_err(|source| Error::RunStore {
                    run_id: String::new(),
                    source: Box::new(source),
                })?;
            let full = claimed.len() >= CLAIM_BATCH;
            let passes = claimed.into_iter().map(|run| {
                let span = tracing::info_span!("bighub.resume_answered", run_id = ?run.run_id, attempt = run.attempt);
                self.resume_claimed(durable, run).instrument(span)
            });
            resumed.extend(join_all(passes).await.into_iter().flatten());
            if !full {
                return Ok(resumed);
            }
        }
    }

    /// Resumes one claimed run and completes it in the store; `None` when it cannot be
    /// resumed yet (its lease is left to run out).
    async fn resume_claimed(
        self: &Arc<Self>,
        durable: &DurableRuns,
        run: ClaimedRun,
    ) -> Option<Resumed> {
        let run_id = run.run_id.clone();
        let mut answers = HashMap::new();
        for approval in &run.approvals {
            let answer = match approval.resolution() {
                Some(Resolution::Approved) => {
                    ApprovalAnswer::approved(approval.comment.clone().unwrap_or_default())
                }
                Some(Resolution::Rejected) => {
                    ApprovalAnswer::rejected(approval.comment.clone().unwrap_or_default())
                }
                // Nobody answered in time: the engine refuses the approval as expired, and
                // the model is told so (never that it was rejected).
                _ if approval.status == "expired" => ApprovalAnswer::approved(""),
                _ => {
                    tracing::warn!(request_id = ?approval.request_id, status = ?approval.status,
                        "an approval of the run is not answered; the run waits");
                    return None;
                }
            };
            answers.insert(approval.request_id.clone(), answer);
        }
        let outcome = match durable.thaw_claimed(&run) {
            Ok((mut state, missing)) => {
                for call_id in missing {
                    let request_id = state
                        .calls
                        .iter()
                        .find(|c| c.call.call_id == call_id)
                        .and_then(|c| c.event.request_id.clone());
                    let Some(answer) = request_id.and_then(|id| answers.remove(&id)) else {
                        continue;
                    };
                    tracing::warn!(call_id = ?call_id, approved = answer.is_approved(),
                        "a call's secret values are held by another process; it is answered without running");
                    answer_without_secrets(&mut state, &call_id, &answer);
                }
                self.resume(state, answers).await
            }
            Err(error) => Err(error),
        };
        if let Err(error) = &outcome
            && not_yet(error)
        {
            tracing::warn!(error = ?error.to_string(), "the run could not be resumed yet; it is claimed again later");
            return Some((run_id, outcome));
        }
        let completion = match &outcome {
            Ok(result) => match &result.paused {
                Some(state) => {
                    let mut state = state.clone();
                    state.run_id = Some(run_id.clone());
                    match stored_form(&state) {
                        Ok(form) => {
                            let completion = RunCompletion::Paused {
                                state: form.state.clone(),
                                request_ids: form.request_ids.clone(),
                            };
                            durable.hold_form(&run_id, form);
                            completion
                        }
                        Err(error) => RunCompletion::Failed {
                            message: error.to_string(),
                        },
                    }
                }
                None => RunCompletion::Finished,
            },
            Err(error) => RunCompletion::Failed {
                message: error.to_string(),
            },
        };
        if !matches!(completion, RunCompletion::Paused { .. }) {
            durable.forget(&run_id);
        }
        if let Err(error) = durable
            .store()
            .complete_run(&run_id, &run.lease_id, &completion)
            .await
        {
            // What ran is in the result; the store's record of it is what failed.
            tracing::warn!(error = ?error.to_string(), status = completion.status(), "the run's end could not be recorded in the run store");
        } else {
            tracing::info!(status = completion.status(), "durable run resumed");
        }
        let outcome = outcome.map(|mut result| {
            if let Some(state) = result.paused.as_mut() {
                state.run_id = Some(run_id.clone());
            }
            result
        });
        Some((run_id, outcome))
    }
}

/// Whether `error` stopped a resume before anything ran for a reason that may pass: the
/// engine could not be reached, or the store could not be read.
fn not_yet(error: &Error) -> bool {
    match error.cause() {
        Error::ApprovalEngine { source, .. } => source.is_unavailable(),
        _ => false,
    }
}
