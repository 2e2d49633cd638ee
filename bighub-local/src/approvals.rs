//! The engine's approvals: listing them, answering them under their lifecycle's terms,
//! approving a changed call, expiring the overdue ones, and claiming one for its call.
//!
//! This module owns the engine's approval methods and what an answer is made of
//! ([`AnswerOrigin`], [`ChangePreview`]). The rules themselves (expiry, who may approve,
//! how many must, once only) are the store's (`storage/approval_rules.rs`); how a changed
//! call is made from an answer is `approval_change.rs`'s.

use serde_json::Value;

use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::digest::canonical_sha256;
use bighub_core::{ApprovalResolution, Decision, ProposedAction};

use crate::LocalEngine;
use crate::approval_change::{Change, change_for};
use crate::context::ContextSnapshot;
use crate::error::LocalError;
use crate::storage::{Answer, ApprovalRecord, ArgumentChange, IN_PROCESS, storable};

/// Who answers an approval, and the rules of the place the answer comes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerOrigin<'a> {
    /// Who answers, as authenticated: the decision server's name for an API key,
    /// `console:<operator>`, `slack:<operator>`, `operator:<user>` for the CLI, or
    /// [`IN_PROCESS`].
    pub resolver: &'a str,
    /// Whether every approval answered this way must come from someone other than whoever
    /// asked for it (the decision server's `--separate-approver`), whatever the decision
    /// says.
    pub separate_approver: bool,
}

/// What approving a changed call would run: its arguments (secrets redacted) and the
/// policy's decision on it now.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChangePreview {
    /// The changed arguments, as the store would keep them.
    pub arguments: Value,
    /// Why the call changes (the better action's text, or the approver's comment).
    pub reason: String,
    /// The policy's decision on the changed call (not recorded).
    pub decision: Decision,
}

impl LocalEngine {
    /// The approval created by the review decision `request_id`, if any.
    pub fn approval(&self, request_id: &str) -> Result<Option<ApprovalRecord>, LocalError> {
        storable::identifier("request_id", request_id)?;
        self.store()?.approval(request_id)
    }

    /// Approvals waiting for a human and not expired, oldest first.
    pub fn pending_approvals(&self) -> Result<Vec<ApprovalRecord>, LocalError> {
        self.store()?.pending_approvals(self.now(), usize::MAX)
    }

    /// The `limit` oldest approvals waiting for a human, oldest first. The limit is part
    /// of the store's query, so the approvals past it are not read: listing the first
    /// page of a long queue costs that page.
    ///
    /// ```
    /// use bighub_core::{ProposedAction, RiskLevel};
    /// use bighub_local::LocalEngine;
    ///
    /// let engine = LocalEngine::builder().in_memory().build().unwrap();
    /// let review = ProposedAction::new("grant_access")
    ///     .arguments(serde_json::json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
    ///     .system("okta")
    ///     .risk(RiskLevel::High)
    ///     .environment("production")
    ///     .target("okta-admins");
    /// let first = engine.decide(&review).unwrap();
    /// engine.decide(&review).unwrap();
    /// let page = engine.oldest_pending_approvals(1).unwrap();
    /// assert_eq!(page.len(), 1);
    /// assert_eq!(Some(&page[0].request_id), first.request_id.as_ref());
    /// ```
    pub fn oldest_pending_approvals(
        &self,
        limit: usize,
    ) -> Result<Vec<ApprovalRecord>, LocalError> {
        self.store()?.pending_approvals(self.now(), limit)
    }

    /// How many approvals wait for a human (counted in the store, rows not read).
    pub fn pending_approval_count(&self) -> Result<u64, LocalError> {
        self.store()?.pending_count(self.now())
    }

    /// Every approval, pending or resolved, newest first, at most `limit`.
    pub fn all_approvals(&self, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError> {
        self.store()?.all_approvals(limit)
    }

    /// Resolves a pending approval once (approved or rejected), recorded as resolved
    /// [in-process](IN_PROCESS); see [`resolve_as`](Self::resolve_as).
    pub fn resolve(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
    ) -> Result<ApprovalRecord, LocalError> {
        self.resolve_as(request_id, resolution, IN_PROCESS)
    }

    /// Resolves a pending approval once, recording `resolver` — who resolved it as
    /// authenticated (the decision server passes its name for the API key) — beside the
    /// resolution's own `resolved_by`, which is the resolver's note.
    ///
    /// ```
    /// use bighub_core::{ApprovalResolution, ProposedAction};
    /// use bighub_local::LocalEngine;
    /// use serde_json::json;
    ///
    /// let engine = LocalEngine::builder().in_memory().build().unwrap();
    /// let grant = ProposedAction::new("grant_access")
    ///     .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
    ///     .system("okta")
    ///     .environment("production")
    ///     .target("okta-admins");
    /// let id = engine.decide(&grant).unwrap().request_id.unwrap();
    /// let mut answer = ApprovalResolution::approved(None);
    /// answer.resolved_by = Some("alice@security".into());
    /// let record = engine.resolve_as(&id, &answer, "operator:bob").unwrap();
    /// assert_eq!(record.resolved_by.as_deref(), Some("alice@security"));
    /// assert_eq!(record.resolver.as_deref(), Some("operator:bob"));
    /// ```
    pub fn resolve_as(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
        resolver: &str,
    ) -> Result<ApprovalRecord, LocalError> {
        let origin = AnswerOrigin {
            resolver,
            separate_approver: false,
        };
        let change = self.changed_call(request_id, resolution)?;
        let context = match &change {
            Some(change) => self.unfetched_context(&change.action),
            None => ContextSnapshot::default(),
        };
        self.answer_changed(request_id, resolution, origin, change, &context)
    }

    /// Answers the approval `request_id` under its lifecycle's terms, as
    /// [`resolve_as`](Self::resolve_as) does, with the context providers fetched for a
    /// changed call (the better action, or edited arguments), which the policy decides
    /// before the approval binds it.
    ///
    /// The terms: an approval that expired is marked `expired` and refused
    /// ([`ApprovalRefusal::Expired`](bighub_core::approval::ApprovalRefusal::Expired)); where
    /// a separate approver is required (the decision's `approval.separate_approver`, or
    /// `origin.separate_approver`), whoever asked for it (its requester or its actor) may
    /// reject it but not approve it; where several approvals are required, each person
    /// counts once and it stays `pending` until enough approved; one rejection rejects it.
    /// A changed call is refused when the policy blocks it or asks for context
    /// ([`ApprovalRefusal::EditRefused`](bighub_core::approval::ApprovalRefusal::EditRefused));
    /// otherwise the approval binds the changed arguments, and its count of approvals
    /// starts again.
    ///
    /// ```
    /// use bighub_core::{ApprovalResolution, ProposedAction, RiskLevel};
    /// use bighub_local::{AnswerOrigin, LocalEngine};
    /// use bighub_local::storage::ApprovalStatus;
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let engine = LocalEngine::builder().in_memory().build().unwrap();
    /// let grant = ProposedAction::new("grant_access")
    ///     .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
    ///     .system("okta")
    ///     .risk(RiskLevel::High)
    ///     .environment("production")
    ///     .target("okta-admins");
    /// let id = engine.decide(&grant).unwrap().request_id.unwrap();
    ///
    /// // Approve the engine's better action: the same grant for 2h.
    /// let better = ApprovalResolution::approved(None).with_better_action();
    /// let origin = AnswerOrigin { resolver: "console:bob", separate_approver: true };
    /// let record = engine.answer(&id, &better, origin).await.unwrap();
    /// assert_eq!(record.status, ApprovalStatus::Approved);
    /// assert_eq!(record.arguments.unwrap()["duration"], "2h");
    /// assert_eq!(record.change.unwrap()["kind"], "better_action");
    /// # }
    /// ```
    pub async fn answer(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
        origin: AnswerOrigin<'_>,
    ) -> Result<ApprovalRecord, LocalError> {
        let change = self.changed_call(request_id, resolution)?;
        let context = match &change {
            Some(change) => self.gather_context(&change.action).await,
            None => ContextSnapshot::default(),
        };
        self.answer_changed(request_id, resolution, origin, change, &context)
    }

    /// What approving `resolution` would run instead of the call asked for, decided now on
    /// `context` (gathered for [`changed_action`](Self::changed_action)) without recording
    /// anything: the changed arguments (as the store would keep them) and the decision; for a
    /// console to show before an operator confirms. `None` when `resolution` approves the
    /// call as asked.
    pub fn preview_change(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
        context: &ContextSnapshot,
    ) -> Result<Option<ChangePreview>, LocalError> {
        let Some(change) = self.changed_call(request_id, resolution)? else {
            return Ok(None);
        };
        let decision = self.decide_without_recording_in_context(&change.action, context)?;
        Ok(Some(ChangePreview {
            arguments: change.arguments,
            reason: change.reason,
            decision,
        }))
    }

    /// The changed call `resolution` asks to approve for `request_id` (the better action,
    /// or edited arguments), to gather context for; `None` when it approves the call as
    /// asked.
    pub fn changed_action(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
    ) -> Result<Option<ProposedAction>, LocalError> {
        Ok(self
            .changed_call(request_id, resolution)?
            .map(|change| change.action))
    }

    /// Answers `request_id` on `context`, gathered for [`changed_action`](Self::changed_action)
    /// (empty when the call does not change); see [`answer`](Self::answer). For callers
    /// that fetch the context themselves and must not block a runtime on the store (the
    /// decision server).
    pub fn answer_in_context(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
        origin: AnswerOrigin<'_>,
        context: &ContextSnapshot,
    ) -> Result<ApprovalRecord, LocalError> {
        let change = self.changed_call(request_id, resolution)?;
        self.answer_changed(request_id, resolution, origin, change, context)
    }

    /// Marks the pending approvals whose time ran out expired (at most `limit`), and
    /// answers them: for notifying whoever waits. Listing and answering already treat an
    /// overdue approval as expired; this makes it so in the store.
    pub fn expire_due_approvals(&self, limit: usize) -> Result<Vec<ApprovalRecord>, LocalError> {
        self.store()?.expire_due(self.now(), limit)
    }

    fn changed_call(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
    ) -> Result<Option<Change>, LocalError> {
        storable::resolution(request_id, resolution)?;
        if !resolution.changes_call() {
            return Ok(None);
        }
        let store = self.store()?;
        let refused = |refusal| LocalError::from(ApprovalRefused::new(request_id, refusal));
        let approval = store
            .approval(request_id)?
            .ok_or_else(|| refused(ApprovalRefusal::NotFound))?;
        let decision = store
            .stored_decision(request_id)?
            .ok_or_else(|| refused(ApprovalRefusal::NotFound))?;
        // Changed before: the call asked for is still the one the model proposed.
        let (original, original_sha256) = match approval.change {
            Some(change) => (
                change["original_arguments"].clone(),
                change["original_arguments_sha256"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            None => (
                approval.arguments.unwrap_or(Value::Null),
                approval.arguments_sha256,
            ),
        };
        change_for(&decision, &original, &original_sha256, resolution)
    }

    fn answer_changed(
        &self,
        request_id: &str,
        resolution: &ApprovalResolution,
        origin: AnswerOrigin<'_>,
        change: Option<Change>,
        context: &ContextSnapshot,
    ) -> Result<ApprovalRecord, LocalError> {
        storable::resolution(request_id, resolution)?;
        storable::identifier("resolver", origin.resolver)?;
        let bound = match change {
            None => None,
            Some(change) => {
                let decision = self.decide_without_recording_in_context(&change.action, context)?;
                let mode = decision.raw["mode"]
                    .as_str()
                    .unwrap_or("blocked")
                    .to_owned();
                if !matches!(mode.as_str(), "autonomous" | "constrained" | "review") {
                    let reason = decision.raw["reason"].as_str().unwrap_or("").to_owned();
                    let refusal = ApprovalRefusal::EditRefused { mode, reason };
                    return Err(ApprovalRefused::new(request_id, refusal).into());
                }
                Some(ArgumentChange {
                    arguments_sha256: canonical_sha256(&change.arguments),
                    change: change.to_json(&mode),
                    arguments: change.arguments,
                })
            }
        };
        let answer = Answer {
            resolution,
            resolver: origin.resolver,
            now_ms: self.now(),
            separate_approver: origin.separate_approver,
            change: bound.as_ref(),
        };
        self.store()?.resolve(request_id, &answer)
    }

    /// Checks that `request_id` is approved, not yet used, and was approved for exactly this
    /// `tool` and these `arguments` as the engine recorded them (the tool's marked secrets
    /// redacted; compared by the SHA-256 of their canonical JSON); refuses otherwise.
    pub fn verify_approval(
        &self,
        request_id: &str,
        tool: &str,
        arguments: &Value,
    ) -> Result<ApprovalRecord, LocalError> {
        storable::identifier("request_id", request_id)?;
        self.store()?
            .verify(request_id, tool, &canonical_sha256(arguments))
    }

    /// Marks an approved approval used, so its call runs at most once, also across
    /// processes sharing the store. A second consumption is refused.
    pub fn consume_approval(&self, request_id: &str) -> Result<ApprovalRecord, LocalError> {
        storable::identifier("request_id", request_id)?;
        self.store()?.consume(request_id, self.now())
    }

    /// Claims the approval `request_id` for one execution of exactly `action`: checks that
    /// it was approved for `action.tool` and arguments of
    /// [`action.approval_digest()`](ProposedAction::approval_digest) and not used yet, then
    /// marks it used (at most once, across every process sharing the store). Answers the
    /// approval as it now stands.
    pub fn claim(
        &self,
        request_id: &str,
        action: &ProposedAction,
    ) -> Result<ApprovalRecord, LocalError> {
        self.claim_digest(request_id, &action.tool, &action.approval_digest())
    }

    /// [`claim`](Self::claim) for a call known by its tool and arguments digest (what a
    /// decision server receives).
    pub fn claim_digest(
        &self,
        request_id: &str,
        tool: &str,
        arguments_sha256: &str,
    ) -> Result<ApprovalRecord, LocalError> {
        storable::identifier("request_id", request_id)?;
        let store = self.store()?;
        store.verify(request_id, tool, arguments_sha256)?;
        store.consume(request_id, self.now())
    }
}
