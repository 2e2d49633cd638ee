//! Decision logs out: one JSON record per decision the engine records, to a file or an
//! HTTP endpoint, masked, batched, retried, never in the way of a decision.
//!
//! This module owns the sink: its configuration ([`DecisionLogConfig`]), the running
//! handle an engine offers decisions to ([`DecisionLogs`], given to
//! [`LocalEngineBuilder::decision_logs`](crate::LocalEngineBuilder::decision_logs)), the
//! record's shape (the fields OPA's decision logs use: `decision_id`, `path`, `input`,
//! `result`, `timestamp`, `labels`, `masked`, plus `policy_revision` and `requested_by`),
//! masks, drop rules, and the counts ([`DecisionLogStats`]). It does not decide or store
//! anything: a decision is logged once the store has recorded it, and a decision that is
//! not recorded (a preview, an idempotent retry answered from the store) is not logged.
//!
//! A record's `input` is the decision packet's input, in which the arguments a tool marks
//! secret are already `[REDACTED]`; `result` is the decision without that input. Masks
//! replace further values by JSON pointer with `[MASKED]`.
//!
//! ```json
//! {"decision_id": "0193b3c6-...", "path": "bighub/policy/decision",
//!  "input": {"action": {"tool": "grant_okta_admin", "arguments": {"user": "ana", "password": "[REDACTED]"}, ...}, ...},
//!  "policy_revision": "5f2c...", "timestamp": "2026-12-07T14:03:11.412Z",
//!  "labels": {"app": "bighub", "id": "7d8e...", "version": "0.1.0"},
//!  "requested_by": "agent-a",
//!  "result": {"mode": "review", "reason": "...", "request_id": "0193b3c6-...", "decision_brain": {...}, ...},
//!  "masked": ["/input/action/arguments/user"]}
//! ```

mod config;
mod destination;
mod drop_rules;
mod handle;
mod mask;
mod record;
mod stats;
mod worker;

pub use config::DecisionLogConfig;
pub use handle::DecisionLogs;
pub(crate) use record::entrypoint_path;
pub use stats::DecisionLogStats;
