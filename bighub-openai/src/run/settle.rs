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
//! This module does not run anything and does not resume runs (`resume.rs` does).

use bighub_core::ApprovalClaim;
use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use serde_json::Value;

use super::approval::{ApprovalRecord, now_rfc3339};
use super::ledger::Asked;
use super::prepared::PreparedCall;
use super::runner::Runner;
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
    /// Records `answer` with the engine and, for an approval, claims it for one execution
    /// of exactly `call`. Returns the run's record of the approval (not used yet).
    pub(crate) async fn settle_approval(
        &self,
        request_id: &str,
        call: &PreparedCall,
        answer: &ApprovalAnswer,
    ) -> Result<ApprovalRecord, Error> {
        let Some(decided) = call.decided() else {
            return Err(Error::InvalidRunState(format!(
                "the call {} was never decided, so no approval covers it",
                call.call.call_id
            )));
        };
        let tool = call.call.name.as_str();
        let asked = self.ledger.act_on(request_id, tool, &call.digest)?;
        let settled = async {
            let resolved_at = match self
                .engine
                .resolve_approval(request_id, &answer.to_resolution())
                .await
            {
                // The engine's own time of the resolution, when its record says one.
                Ok(engine_record) => resolved_at(&engine_record),
                // Resolved earlier (by a person at a console or the CLI, or by an earlier
                // attempt) the same way: the claim below decides whether the call may run.
                Err(bighub_core::Error::Approval(ApprovalRefused {
                    refusal: ApprovalRefusal::AlreadyResolved { resolution },
                    ..
                })) if resolution == answer.resolution.as_str() => None,
                Err(error) => return Err(refusal(request_id, error)),
            };
            let record = ApprovalRecord::answered(
                request_id,
                tool,
                &call.call.call_id,
                answer,
                resolved_at.unwrap_or_else(now_rfc3339),
            );
            if answer.is_approved() {
                let claim = self
                    .engine
                    .claim_approval(request_id, &decided.action)
                    .await
                    .map_err(|error| refusal(request_id, error))?;
                if claim == ApprovalClaim::NotTracked && asked == Asked::Elsewhere {
                    let refusal = ApprovalRefusal::Untracked;
                    return Err(ApprovalRefused::new(request_id, refusal).into());
                }
            }
            Ok(record)
        }
        .await;
        if settled.is_err() {
            // Nothing ran: a later attempt may try again.
            self.ledger.release(request_id);
        }
        settled
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
