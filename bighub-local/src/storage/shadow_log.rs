//! The calls where the shadow policy set disagreed with the enforced one.
//!
//! This module owns the record a disagreement is listed as ([`ShadowDisagreement`]) and
//! reading one from a decision row. Each back end keeps, beside every decision, the shadow
//! set's mode and whether it agreed, with an index over the disagreements only, so that
//! listing them reads those rows and no others (`sqlite/shadow_log.rs`,
//! `postgres/shadow_log.rs`). It writes nothing.

use serde::Serialize;
use serde_json::Value;

use crate::clock::format_rfc3339;

/// One recorded call the shadow set decided otherwise than the enforced set (or failed
/// on): see [`LocalEngine::shadow_disagreements`](crate::LocalEngine::shadow_disagreements).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ShadowDisagreement {
    /// The decision's request id.
    pub request_id: String,
    /// When it was decided (RFC 3339, UTC).
    pub created_at: String,
    /// The tool called.
    pub tool: String,
    /// The action name.
    pub action: String,
    /// The target (empty when none).
    pub target: String,
    /// The mode the enforced set decided, which is what happened.
    pub mode: String,
    /// The mode the shadow set decided; `None` when it failed on the call.
    pub shadow_mode: Option<String>,
    /// The shadow set's deciding rules.
    pub shadow_deciding_rules: Vec<String>,
    /// The shadow set's reason.
    pub shadow_reason: Option<String>,
    /// The shadow set's revision.
    pub shadow_revision: Option<String>,
    /// Why the shadow set failed on the call, when it did.
    pub shadow_error: Option<String>,
}

/// A disagreement from a row's columns and its decision's JSON text.
#[allow(clippy::too_many_arguments)]
pub(crate) fn from_row(
    request_id: String,
    created_at_ms: i64,
    tool: String,
    action: String,
    target: String,
    mode: String,
    shadow_mode: Option<String>,
    decision: &str,
) -> ShadowDisagreement {
    let decision: Value = serde_json::from_str(decision).unwrap_or(Value::Null);
    let shadow = &decision["decision_brain"]["shadow"];
    let text = |key: &str| shadow[key].as_str().map(str::to_owned);
    ShadowDisagreement {
        request_id,
        created_at: format_rfc3339(created_at_ms),
        tool,
        action,
        target,
        mode,
        shadow_mode,
        shadow_deciding_rules: shadow["deciding_rules"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect(),
        shadow_reason: text("reason"),
        shadow_revision: text("policy_revision"),
        shadow_error: text("error"),
    }
}
