//! What answering a review takes: how long it may wait, whether the requester may answer
//! it, and how many people must approve it.
//!
//! This module owns [`ApprovalTerms`]: read from the policy's answer (`approval`, which the
//! default policy computes from its findings and `approval_ttl`), with the configured time
//! when a policy says nothing, and written into the decision (`approval`, with the time it
//! expires) so that the agent and the console see them. It does not enforce them; the store's
//! approval rules do (`storage/approval_rules.rs`).

use serde::Serialize;
use serde_json::{Value, json};

use crate::clock::format_rfc3339;

/// The most approvers a policy may require.
pub const MAX_REQUIRED_APPROVALS: u32 = 5;

/// The terms of one pending approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ApprovalTerms {
    /// How long it waits for an answer, in milliseconds.
    pub ttl_ms: i64,
    /// Whether whoever asked for it may not approve it.
    pub separate_approver: bool,
    /// How many distinct people must approve it (1 to [`MAX_REQUIRED_APPROVALS`]).
    pub required_approvals: u32,
}

impl ApprovalTerms {
    /// The terms a policy answered in `approval` (`{ttl_seconds, separate_approver,
    /// required_approvals}`, each optional); what it leaves out or answers out of range
    /// takes the default: `default_ttl_ms`, no separate approver, one approver.
    pub(crate) fn from_policy(approval: &Value, default_ttl_ms: i64) -> Self {
        let ttl_ms = approval["ttl_seconds"]
            .as_f64()
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(default_ttl_ms, |s| (s * 1000.0).min(i64::MAX as f64) as i64);
        let required_approvals = approval["required_approvals"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (1..=MAX_REQUIRED_APPROVALS).contains(n))
            .unwrap_or(1);
        Self {
            ttl_ms: ttl_ms.max(1),
            separate_approver: approval["separate_approver"] == true,
            required_approvals,
        }
    }

    /// When an approval opened at `now_ms` expires.
    pub(crate) fn expires_at(&self, now_ms: i64) -> i64 {
        now_ms.saturating_add(self.ttl_ms)
    }

    /// The decision's `approval` field for an approval opened at `now_ms`.
    pub(crate) fn to_json(self, now_ms: i64) -> Value {
        json!({
            "ttl_seconds": self.ttl_ms / 1000,
            "expires_at": format_rfc3339(self.expires_at(now_ms)),
            "separate_approver": self.separate_approver,
            "required_approvals": self.required_approvals,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_answer_is_read_with_defaults_for_what_it_leaves_out() {
        let day = 86_400_000;
        let terms = ApprovalTerms::from_policy(&Value::Null, day);
        assert_eq!(
            terms,
            ApprovalTerms {
                ttl_ms: day,
                separate_approver: false,
                required_approvals: 1
            }
        );
        let terms = ApprovalTerms::from_policy(
            &json!({"ttl_seconds": 3600, "separate_approver": true, "required_approvals": 2}),
            day,
        );
        assert_eq!(terms.ttl_ms, 3_600_000);
        assert!(terms.separate_approver);
        assert_eq!(terms.required_approvals, 2);
        for wrong in [
            json!({"ttl_seconds": -1, "required_approvals": 0}),
            json!({"ttl_seconds": "1h", "required_approvals": 9}),
            json!({"separate_approver": "yes", "required_approvals": 1.5}),
        ] {
            let terms = ApprovalTerms::from_policy(&wrong, day);
            assert_eq!(
                (terms.ttl_ms, terms.required_approvals),
                (day, 1),
                "{wrong}"
            );
            assert!(!terms.separate_approver);
        }
        let decided = ApprovalTerms::from_policy(&Value::Null, day).to_json(0);
        assert_eq!(decided["expires_at"], "1970-01-02T00:00:00.000Z");
    }
}
