//! The engine's policy sets while it runs: their revision and status, reloading them, watching
//! their files, and the calls where the shadow set disagreed.
//!
//! This module owns the engine's public methods for live policies and names what they
//! answer ([`PolicyStatus`], [`ReloadOutcome`], [`PolicyWatcher`], ...). Loading and
//! swapping a set is `policy_reload.rs`'s, polling `policy_watch.rs`'s, a shadow decision
//! `shadow.rs`'s, and listing disagreements the store's.

use std::sync::Arc;
use std::time::Duration;

use crate::engine::LocalEngine;
use crate::error::LocalError;
pub use crate::policy_reload::{PolicySetStatus, PolicyStatus, ReloadFailure, ReloadOutcome};
pub use crate::policy_watch::PolicyWatcher;
use crate::storage::ShadowDisagreement;

impl LocalEngine {
    /// The policy revision in force: the SHA-256 (hex, 64 characters) of the enforced
    /// set's sources (names and texts, in order) and data. Every decision records the
    /// revision it was decided under as `decision_brain.policy_revision` (and, as before,
    /// `policy_sha256`, the same value).
    ///
    /// ```
    /// use bighub_core::ProposedAction;
    /// use bighub_local::LocalEngine;
    ///
    /// let engine = LocalEngine::builder().in_memory().build().unwrap();
    /// let decision = engine.decide(&ProposedAction::new("list_pods")).unwrap();
    /// assert_eq!(engine.policy_revision().len(), 64);
    /// assert_eq!(decision.raw["decision_brain"]["policy_revision"], engine.policy_revision());
    /// ```
    pub fn policy_revision(&self) -> String {
        self.policies.current().revision().to_owned()
    }

    /// Loads the enforced policy set again from what the builder named (its files and
    /// directories read again; inline policies, data and configuration as given), when
    /// its files changed since the set in force was read.
    ///
    /// The new set is compiled, its configuration checked, evaluated on the sample inputs
    /// as [`build`](crate::LocalEngineBuilder::build) does, and the `*_test.rego` tests
    /// found in the policy directories are run (as
    /// [`run_policy_tests`](crate::LocalEngineBuilder::run_policy_tests) runs them); only
    /// when all of that passes does it replace the set in force, at once for every later
    /// decision (decisions under way finish on the set they started with). Otherwise the
    /// set in force stays, the error is logged and kept as the last reload error
    /// ([`policy_status`](Self::policy_status)), and returned. Unchanged files:
    /// [`ReloadOutcome::Unchanged`], nothing compiled.
    ///
    /// The shadow set is reloaded by [`reload_shadow_policies`](Self::reload_shadow_policies);
    /// [`watch_policies`](Self::watch_policies) reloads both.
    ///
    /// ```
    /// use bighub_core::ProposedAction;
    /// use bighub_local::LocalEngine;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let engine = LocalEngine::builder().in_memory().policy_file(dir.path()).build().unwrap();
    /// let restart = ProposedAction::new("restart_service");
    /// assert_eq!(engine.decide(&restart).unwrap().raw["mode"], "autonomous");
    ///
    /// std::fs::write(dir.path().join("restarts.rego"), r#"
    ///     package bighub.ext
    ///     import rego.v1
    ///     findings contains {"rule": "restarts_wait", "mode": "review",
    ///                        "reason": "Restarts wait for a person."} if input.action.name == "restart_service"
    /// "#).unwrap();
    /// let outcome = engine.reload_policies().unwrap();
    /// assert!(outcome.changed());
    /// assert_eq!(engine.decide(&restart).unwrap().raw["mode"], "review");
    ///
    /// // A broken file is refused; the revision in force stays.
    /// std::fs::write(dir.path().join("restarts.rego"), "package bighub.ext\nfindings contains {").unwrap();
    /// assert!(engine.reload_policies().is_err());
    /// assert_eq!(engine.policy_revision(), outcome.revision());
    /// assert!(engine.policy_status().enforced.last_reload_error.is_some());
    /// assert_eq!(engine.decide(&restart).unwrap().raw["mode"], "review");
    /// ```
    pub fn reload_policies(&self) -> Result<ReloadOutcome, LocalError> {
        self.policies.reload()
    }

    /// Reloads the shadow set as [`reload_policies`](Self::reload_policies) reloads the
    /// enforced one. Its files are the enforced set's and the shadow paths; the tests run
    /// are those of the shadow directories only, since a shadow policy is there to change
    /// what the enforced set's tests pin down (they must agree with it once it is
    /// promoted). `Ok(None)` when no shadow policy is configured.
    pub fn reload_shadow_policies(&self) -> Result<Option<ReloadOutcome>, LocalError> {
        self.shadow.as_ref().map(|s| s.reload()).transpose()
    }

    /// Where the policy sets stand: the revision in force, when it was loaded, its
    /// sources, how many reloads succeeded and failed, and the last reload error (with
    /// when) while no later reload succeeded; the same for the shadow set.
    ///
    /// ```
    /// use bighub_local::LocalEngine;
    ///
    /// let engine = LocalEngine::builder().in_memory().build().unwrap();
    /// let status = engine.policy_status();
    /// assert_eq!(status.enforced.revision, engine.policy_revision());
    /// assert!(status.enforced.last_reload_error.is_none());
    /// assert!(status.shadow.is_none());
    /// ```
    pub fn policy_status(&self) -> PolicyStatus {
        PolicyStatus {
            enforced: self.policies.status(),
            shadow: self.shadow.as_ref().map(|s| s.status()),
        }
    }

    /// Polls the policy files (the enforced set's and the shadow set's) every `interval`
    /// on a background thread, and reloads a set when its files change, as
    /// [`reload_policies`](Self::reload_policies) does: a change that fails its checks or
    /// tests is logged and reported in [`policy_status`](Self::policy_status), and the
    /// set in force stays. Polling stops when the returned [`PolicyWatcher`] is dropped.
    /// `bighub serve` watches every 2 seconds by default (`--policy-poll-interval`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use bighub_local::LocalEngine;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let engine = LocalEngine::builder().in_memory().policy_file(dir.path()).build().unwrap();
    /// let watcher = engine.watch_policies(Duration::from_millis(50)).unwrap();
    /// std::fs::write(dir.path().join("limits.json"),
    ///     r#"{"bighub": {"config": {"max_privilege_duration": "4h"}}}"#).unwrap();
    /// let before = engine.policy_revision();
    /// let deadline = std::time::Instant::now() + Duration::from_secs(10);
    /// while engine.policy_revision() == before && std::time::Instant::now() < deadline {
    ///     std::thread::sleep(Duration::from_millis(20));
    /// }
    /// assert_ne!(engine.policy_revision(), before);
    /// drop(watcher);
    /// ```
    pub fn watch_policies(&self, interval: Duration) -> Result<PolicyWatcher, LocalError> {
        if interval.is_zero() {
            return Err(LocalError::Config(
                "the policy poll interval must be more than zero".to_owned(),
            ));
        }
        let mut slots = vec![Arc::clone(&self.policies)];
        slots.extend(self.shadow.iter().cloned());
        PolicyWatcher::start(slots, interval)
    }

    /// The recorded calls where the shadow set decided another mode than the enforced
    /// one (or failed on them), newest first, at most `limit`: read through an index of
    /// disagreements only, whatever the size of the log.
    pub fn shadow_disagreements(
        &self,
        limit: usize,
    ) -> Result<Vec<ShadowDisagreement>, LocalError> {
        self.store()?
            .shadow_disagreements(limit.clamp(1, crate::storage::MAX_PAGE))
    }
}
