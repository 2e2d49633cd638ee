//! Settling an approval: recording a human's answer with the engine and claiming the
//! approval for one execution of exactly the call it was asked for.
//!
//! An approval binds three things: the decision's request id, the tool name and the digest
//! of the call's arguments. Answering and claiming are two steps on every engine: whoever
//! answered (this agent, the CLI, a console), the agent about to run the call claims it.
//! Settling checks the binding before the tool may run:
//! - the agent's [ledger](super::ledger) knows every review it asked for and refuses another
//!   tool, other arguments (secret values included), or a second use;
//! - an engine that keeps approvals (the embedded engine, `bighub serve`) verifies the
//!   tool and the digest of the redacted arguments in its store and consumes the approval
//!   atomically, so it runs its call at most once across processes;
//! - an approval that neither this agent asked for nor the engine can bind is refused
//!   ([`Error::Approval`], untracked): nothing says which call it was granted for.
//!
//! - before an approved call runs, the engine decides it again on what is true now (a
//!   freeze may have begun while the approval waited): when it now blocks or asks for
//!   context the call does not run and the approval is not used;
//! - an approval that expired before anyone answered it is its own outcome, never a
//!   rejection;
//! - an approver who approved changed arguments (the better action, or an edit) binds the
//!   changed call: it runs with those arguments, each secret value put back from the
//!   model's call (an approver never sees or sets one).
//!
//! This module does not run anything and does not resume runs (`resume.rs` does).

use bighub_core::action::TOOL_HINTS_KEY;
use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::redact::restore_redacted;
use bighub_core::{ApprovalClaim, Decision, Verdict};
use serde_json::{Value, json};

use super::approval::{ApprovalRecord, now_rfc3339};
use super::ledger::Asked;
use super::prepared::{ApprovalState, PreparedCall};
use super::runner::{RunIds, Runner};
use crate::{ApprovalAnswer, Error};

/// What the runtime says when the engine does not settle `request_id`: its approval
/// refusal as it is, any other failure with the request id.
fn refusal(request_id: &str, error: bighub_core::Error) -> Error {
    match error {
        bighub_core::Error::Approval(refused) => refused.into(),
        source => Error::ApprovalEngine {
            request_id: request_id.to_owned(),
            source: Box::new(source),
        },
    }
}

impl Runner {
    /// Records `answer` with the engine and, for an approval, decides the call again and
    /// claims the approval for one execution of exactly that call (the changed call, when
    /// the approver changed its arguments: `call` is rebound to it). Answers where the call
    /// now stands: answered (to run, or not, as the answer says), expired, or decided again
    /// and not allowed now.
    pub(crate) async fn settle_approval(
        &self,
        request_id: &str,
        call: &mut PreparedCall,
        answer: &ApprovalAnswer,
    ) -> Result<ApprovalState, Error> {
        if call.decided().is_none() {
            return Err(Error::InvalidRunState(format!(
                "the call {} was never decided, so no approval covers it",
                call.call.call_id
            )));
        }
        let tool = call.call.name.clone();
        let asked = self.ledger.act_on(request_id, &tool, &call.digest)?;
        let settled = self.settle(request_id, call, answer, asked).await;
        if !matches!(settled, Ok(ApprovalState::Answered { .. })) {
            // Nothing ran: a later attempt may try again.
            self.ledger.release(request_id);
        }
        settled
    }

    async fn settle(
        &self,
        request_id: &str,
        call: &mut PreparedCall,
        answer: &ApprovalAnswer,
        asked: Asked,
    ) -> Result<ApprovalState, Error> {
        let engine_record = match self
            .engine
            .resolve_approval(request_id, &answer.to_resolution())
            .await
        {
            Ok(engine_record) => Some(engine_record),
            Err(bighub_core::Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::Expired,
                ..
            })) => return Ok(ApprovalState::Expired),
            Err(bighub_core::Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::AlreadyResolved { resolution },
                ..
            })) => match resolution.as_str() {
                "expired" => return Ok(ApprovalState::Expired),
                // Resolved earlier (at a console, in Slack, by the CLI, or by an earlier
                // attempt) the same way: what follows decides whether the call may run.
                r if r == answer.resolution.as_str() => None,
                "used" if answer.is_approved() => None,
                _ => {
                    let refusal = ApprovalRefusal::AlreadyResolved { resolution };
                    return Err(ApprovalRefused::new(request_id, refusal).into());
                }
            },
            Err(error) => return Err(refusal(request_id, error)),
        };
        let record = ApprovalRecord::answered(
            request_id,
            &call.call.name,
            &call.call.call_id,
            answer,
            engine_record
                .as_ref()
                .and_then(resolved_at)
                .unwrap_or_else(now_rfc3339),
        );
        if !answer.is_approved() {
            return Ok(ApprovalState::Answered {
                answer: answer.clone(),
                record: Box::new(record),
                change: None,
            });
        }
        // The engine's own record says whether more approvers are needed, and whether the
        // approver changed the call.
        let view = match engine_record {
            Some(view) => Some(view),
            None => self
                .engine
                .approval(request_id)
                .await
                .map_err(|error| refusal(request_id, error))?,
        };
        let mut change = None;
        let mut claimed_arguments = None;
        if let Some(view) = &view {
            if view["status"] == "pending" {
                let refusal = ApprovalRefusal::NotApproved {
                    status: "pending (another approver is needed)".to_owned(),
                };
                return Err(ApprovalRefused::new(request_id, refusal).into());
            }
            if view["change"].is_object() && answer.is_approved() {
                match self.rebind_changed(call, view) {
                    Ok((approved, what)) => {
                        claimed_arguments = Some(approved);
                        change = Some(Box::new(what));
                    }
                    Err(why) => return Ok(redecided(answer, record, request_id, why)),
                }
            }
        }
        // Decided again, now: a freeze may have begun while the approval waited.
        let Some(decided) = call.decided() else {
            return Err(Error::Internal(
                "a decided call lost its decision".to_owned(),
            ));
        };
        let now = match self.engine.preview(&decided.action).await {
            Ok(now) => now,
            Err(error) => {
                let why = format!("it could not be decided again before running: {error}");
                return Ok(redecided(answer, record, request_id, why));
            }
        };
        if matches!(now.verdict(), Verdict::Blocked | Verdict::NeedsContext) {
            tracing::info!(request_id = ?request_id, tool = ?call.call.name, mode = ?now.mode, "approved call decided again: it may not run now");
            return Ok(ApprovalState::Redecided {
                answer: answer.clone(),
                record: Box::new(record),
                decision: Box::new(now),
            });
        }
        let mut claim_action = decided.action.clone();
        if let Some(approved) = claimed_arguments {
            // The approval binds the changed arguments as the engine keeps them.
            claim_action.arguments = approved;
        }
        let claim = self
            .engine
            .claim_approval(request_id, &claim_action)
            .await
            .map_err(|error| refusal(request_id, error))?;
        if claim == ApprovalClaim::NotTracked && asked == Asked::Elsewhere {
            let refusal = ApprovalRefusal::Untracked;
            return Err(ApprovalRefused::new(request_id, refusal).into());
        }
        Ok(ApprovalState::Answered {
            answer: answer.clone(),
            record: Box::new(record),
            change,
        })
    }

    /// Rebinds `call` to the arguments the engine's record `view` says the approver
    /// approved, each secret value put back from the model's call: answers the approved
    /// arguments (as the engine keeps them, to claim with) and the event's
    /// `arguments_change`; `Err` says why the changed call cannot run.
    fn rebind_changed(
        &self,
        call: &mut PreparedCall,
        view: &Value,
    ) -> Result<(Value, Value), String> {
        let approved = view["arguments"].clone();
        let real = restore_redacted(&approved, &call.arguments).map_err(|path| {
            format!("the approved arguments name a secret value at {path} that the proposed call does not have")
        })?;
        let Some(decided) = call.decided() else {
            return Err("the call was never decided".to_owned());
        };
        if let Some(misfit) = decided.tool.misfit(&real) {
            return Err(format!(
                "the approved arguments do not fit the tool `{}`: {misfit}",
                call.call.name
            ));
        }
        // A better action is the decision's own alternative: the proposed call with the
        // `arguments_patch` the decision this agent received offered, nothing else.
        if view["change"]["kind"] == "better_action"
            && Some(&real) != better_arguments(&decided.decision, &call.arguments).as_ref()
        {
            return Err(
                "the approved better action is not the alternative the decision offered".to_owned(),
            );
        }
        let before = &decided.action;
        let ids = RunIds::new("");
        let mut action = self.proposed_action(&decided.tool, &real, &ids);
        action.context.session_id = before.context.session_id.clone();
        action.context.trajectory_id = before.context.trajectory_id.clone();
        if let Some(hints) = before.context.metadata.get(TOOL_HINTS_KEY) {
            action
                .context
                .metadata
                .insert(TOOL_HINTS_KEY.to_owned(), hints.clone());
        }
        let what = json!({
            "kind": view["change"]["kind"],
            "reason": view["change"]["reason"],
            "proposed": call.recorded_arguments(),
        });
        call.rebind(real, action);
        Ok((approved, what))
    }
}

/// The proposed `arguments` with the `arguments_patch` of the first constrained
/// alternative `decision` offers, if it offers one.
fn better_arguments(decision: &Decision, arguments: &Value) -> Option<Value> {
    let patch = decision
        .responsible_action_space
        .constrained
        .iter()
        .find_map(|item| item.get("arguments_patch").and_then(Value::as_object))
        .filter(|patch| !patch.is_empty())?;
    let mut patched = arguments.clone();
    let fields = patched.as_object_mut()?;
    for (key, value) in patch {
        fields.insert(key.clone(), value.clone());
    }
    Some(patched)
}

/// An approved call that may not run after all, for `why` (the runtime's own block).
fn redecided(
    answer: &ApprovalAnswer,
    record: ApprovalRecord,
    request_id: &str,
    why: String,
) -> ApprovalState {
    tracing::warn!(request_id = ?request_id, reason = ?why, "approved call not run");
    let decision = Decision::from_backend_response(&json!({
        "request_id": request_id,
        "mode": "blocked",
        "reason": format!("Approved, but not run: {why}."),
    }));
    ApprovalState::Redecided {
        answer: answer.clone(),
        record: Box::new(record),
        decision: Box::new(decision),
    }
}

/// The `resolved_at` an engine's record of a resolution names, when it has one.
fn resolved_at(engine_record: &Value) -> Option<String> {
    engine_record
        .get("resolved_at")
        .and_then(Value::as_str)
        .filter(|at| !at.is_empty())
        .map(str::to_owned)
}
