//! Approvals outside the server: signed webhooks announcing each approval (a body Slack's
//! incoming webhooks accept as a message with Approve and Reject buttons), and Slack's
//! clicks on those buttons answering it.
//!
//! This module owns the notifications' configuration ([`NotifyConfig`]), their body, their
//! signature ([`sign`]; how a receiver verifies it is in [`signature`]'s documentation),
//! their delivery (a bounded queue, retries with backoff, counters in `/metrics`:
//! `bighub_notifications_sent_total`, `bighub_notifications_failed_total`,
//! `bighub_notifications_dropped_total`) and the Slack interactivity endpoint's
//! configuration and handling ([`SlackActions`]). It does not own the approvals (the
//! store) or what happens to them ([`approval_events`](crate::approval_events)).
//!
//! Notifications start with [`Server::with_notifications`](crate::Server::with_notifications)
//! and stop when the server stops; Slack's buttons are answered once
//! [`ServerConfig::slack`](crate::ServerConfig::slack) is set.
//!
//! The body of a notification, for `approval.requested`:
//!
//! ```json
//! {
//!   "type": "approval.requested",
//!   "id": "5f0c…",
//!   "request_id": "…", "tool": "grant_access", "action": "grant_access",
//!   "target": "okta-admins", "status": "pending", "reason": "…",
//!   "arguments": {"user_id": "alice", "break_glass_code": "[REDACTED]"},
//!   "arguments_sha256": "…",
//!   "link": "https://bighub.example.com/console/approvals/…",
//!   "created_at": "2026-01-01T00:00:00Z",
//!   "text": "Approval requested: `grant_access` on `okta-admins`",
//!   "blocks": [ … ]
//! }
//! ```
//!
//! `approval.answered` adds `resolver`, `comment` and `resolved_at`; `approval.expired`
//! has the fields of the request. `id` names the delivery: retries of one delivery carry
//! the same `id`. `text` and `blocks` escape every value a model or a client wrote, so an
//! argument cannot post a link or a mention.

mod config;
mod delivery;
mod error;
mod notifier;
mod payload;
pub mod signature;
mod slack_actions;
mod slack_text;

pub use config::{NotifyConfig, RetryPolicy, WebhookTarget};
pub use error::NotifyError;
pub(crate) use notifier::Notifier;
pub use signature::{SIGNATURE_HEADER, SigningSecret, TIMESTAMP_HEADER, sign};
pub use slack_actions::{
    MAX_CLOCK_SKEW, SLACK_SIGNATURE_HEADER, SLACK_TIMESTAMP_HEADER, SlackActions,
};
pub(crate) use slack_actions::{SlackAnswer, answer as answer_slack};
