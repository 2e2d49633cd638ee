//! What the providers gave for one decision, and how the decision reads it.
//!
//! This module owns [`ContextSnapshot`]: per provider, its document or why there is
//! none, and the three forms made of it at the decision's time: `input.context` and
//! `input.context_failed` (the documents read into their declared shapes), the
//! providers whose `fail_closed` failure blocks the call, and `decision_packet.context`
//! (what a reviewer sees: when each answer was fetched, its age, its digest, its error),
//! with the evidence found for the deployed image beside them (`input.evidence`,
//! `decision_packet.evidence`). It fetches nothing (`providers.rs` and `evidence.rs` do).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::cache::Fetched;
use super::evidence::Evidence;
use super::fetch_error::FetchError;
use super::provider::OnFailure;
use super::shape::{Shape, normalize};
use crate::clock::format_rfc3339;
use crate::input::DecisionExtras;

/// One provider's part of a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) shape: Option<Shape>,
    pub(crate) on_failure: OnFailure,
    pub(crate) fetched: Arc<Fetched>,
}

/// What the context providers gave for one decision: per provider, in the order they
/// were registered, its document (as fetched) or why there is none; and, when an
/// evidence lookup is configured and the call deploys an image, the scan found for it.
///
/// Made by [`ContextProviders::gather`](super::ContextProviders::gather) and handed to
/// [`LocalEngine::decide_in_context`](crate::LocalEngine::decide_in_context).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextSnapshot {
    pub(crate) entries: Vec<Entry>,
    pub(crate) evidence: Option<Evidence>,
}

/// A snapshot read at a decision's time.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Prepared {
    /// `input.context` and `input.context_failed`.
    pub(crate) extras: DecisionExtras,
    /// The `fail_closed` providers that failed, with their errors: the call is blocked.
    pub(crate) blocked_by: Vec<(String, String)>,
    /// What `decision_packet` records besides the input: `context` when there are
    /// providers, `evidence` when evidence was looked up.
    pub(crate) packet: Map<String, Value>,
}

/// A shape owned again from a reference, whatever traits the shape type derives.
fn owned(shape: &Shape) -> Option<Shape> {
    serde_json::to_value(shape)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
}

impl ContextSnapshot {
    /// Whether no provider and no evidence is in it.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.evidence.is_none()
    }

    /// The providers' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }

    /// Reads the snapshot as a decision at `now_ms` does.
    pub(crate) fn prepare(&self, now_ms: i64) -> Prepared {
        let mut prepared = Prepared::default();
        if let Some(evidence) = &self.evidence {
            prepared.extras.evidence = Some(evidence.input(now_ms));
            prepared.packet.insert("evidence".into(), evidence.packet());
        }
        if self.entries.is_empty() {
            return prepared;
        }
        let mut packet = Map::new();
        for entry in &self.entries {
            let fetched = &entry.fetched;
            let shape_name = entry
                .shape
                .as_ref()
                .and_then(|s| serde_json::to_value(s).ok())
                .unwrap_or(Value::Null);
            let data = match (&fetched.result, &entry.shape) {
                (Err(e), _) => Err(e.one_line()),
                (Ok(raw), None) => Ok((**raw).clone()),
                (Ok(raw), Some(shape)) => owned(shape)
                    .ok_or_else(|| "the shape cannot be read".to_owned())
                    .and_then(|s| normalize(s, raw, now_ms))
                    .map_err(|message| {
                        FetchError::Shape {
                            shape: shape_name.as_str().unwrap_or("?").to_owned(),
                            message,
                        }
                        .one_line()
                    }),
            };
            let got = fetched.result.is_ok();
            let fetched_at = got.then(|| format_rfc3339(fetched.fetched_at_ms));
            let age = got.then(|| (now_ms - fetched.fetched_at_ms).max(0) as f64 / 1000.0);
            let sha256 = fetched.sha256.clone().filter(|_| got);
            let (data, error) = match data {
                Ok(d) => (d, None),
                Err(e) => {
                    match entry.on_failure {
                        OnFailure::Absent => {
                            prepared.extras.context_failed.push(entry.name.clone())
                        }
                        OnFailure::FailClosed => {
                            prepared.blocked_by.push((entry.name.clone(), e.clone()))
                        }
                    }
                    (Value::Null, Some(e))
                }
            };
            prepared.extras.context.insert(
                entry.name.clone(),
                json!({
                    "kind": entry.kind, "shape": shape_name, "data": data, "error": error,
                    "fetched_at": fetched_at, "age_seconds": age, "sha256": sha256,
                }),
            );
            packet.insert(
                entry.name.clone(),
                json!({"fetched_at": fetched_at, "age_seconds": age, "sha256": sha256, "error": error}),
            );
        }
        prepared
            .packet
            .insert("context".into(), Value::Object(packet));
        prepared
    }

    /// What the policy sees at `now_ms`: `{"context": {...}, "context_failed": [...],
    /// "blocked_by": [{"provider", "error"}]}` (a call would be blocked, without the policy
    /// being asked, when `blocked_by` is not empty), and `"evidence"` when evidence was
    /// looked up. For `bighub context check`.
    pub fn policy_view(&self, now_ms: i64) -> Value {
        let prepared = self.prepare(now_ms);
        let blocked: Vec<Value> = prepared
            .blocked_by
            .iter()
            .map(|(provider, error)| json!({"provider": provider, "error": error}))
            .collect();
        let mut view = json!({
            "context": prepared.extras.context,
            "context_failed": prepared.extras.context_failed,
            "blocked_by": blocked,
        });
        if let Some(evidence) = prepared.extras.evidence {
            view["evidence"] = evidence;
        }
        view
    }
}
