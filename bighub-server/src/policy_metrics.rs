//! What `/metrics` and `/healthz` say about the policy sets: the revision in force, its
//! reloads, the last reload error, and the shadow set's decisions.
//!
//! This module owns the shadow-decision counters (by agreement and by the shadow set's
//! deciding rule, their number of distinct rules bounded) and the Prometheus text and the
//! health JSON of a [`PolicyStatus`]. The status itself is the engine's
//! ([`bighub_local::LocalEngine::policy_status`]); `routes.rs` asks for it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, PoisonError};

use bighub_local::live_policies::{PolicySetStatus, PolicyStatus};
use serde_json::{Value, json};

/// The most distinct rule labels counted; later ones count as `other`, so that a policy
/// that names rules from its input cannot grow the exposition without limit.
const MAX_RULES: usize = 200;

/// Shadow decisions counted by agreement and by the shadow set's (first) deciding rule.
#[derive(Debug, Default)]
pub(crate) struct ShadowCounts {
    counts: Mutex<BTreeMap<(&'static str, String), u64>>,
}

impl ShadowCounts {
    /// Counts the shadow decision recorded in a decision's `decision_brain.shadow`.
    pub(crate) fn count(&self, shadow: &Value) {
        let agreement = if shadow["agrees"].as_bool() == Some(true) {
            "agree"
        } else {
            "disagree"
        };
        let rule = if shadow.get("error").is_some_and(|e| !e.is_null()) {
            "error".to_owned()
        } else {
            shadow["deciding_rules"]
                .as_array()
                .and_then(|r| r.first())
                .and_then(Value::as_str)
                .unwrap_or("none")
                .to_owned()
        };
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let key = if counts.len() >= MAX_RULES && !counts.contains_key(&(agreement, rule.clone())) {
            (agreement, "other".to_owned())
        } else {
            (agreement, rule)
        };
        *counts.entry(key).or_default() += 1;
    }

    /// `bighub_shadow_decisions_total`, in the Prometheus text format.
    pub(crate) fn render(&self, out: &mut String) {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        out.push_str("# HELP bighub_shadow_decisions_total Decisions the shadow policy set also decided, by agreement with the enforced set and by the shadow set's deciding rule.\n");
        out.push_str("# TYPE bighub_shadow_decisions_total counter\n");
        for ((agreement, rule), n) in counts.iter() {
            let _ = writeln!(
                out,
                "bighub_shadow_decisions_total{{agreement=\"{agreement}\",rule=\"{}\"}} {n}",
                label(rule)
            );
        }
    }
}

/// A Prometheus label value: backslash, double quote and line feed escaped.
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The policy sets' revision, reloads and last reload error in the Prometheus text format.
pub(crate) fn render_status(status: &PolicyStatus, out: &mut String) {
    set_lines(out, "bighub_policy", "enforced", &status.enforced);
    if let Some(shadow) = &status.shadow {
        set_lines(out, "bighub_shadow_policy", "shadow", shadow);
    }
}

fn set_lines(out: &mut String, prefix: &str, which: &str, set: &PolicySetStatus) {
    let _ = writeln!(
        out,
        "# HELP {prefix}_info The {which} policy set's revision in force (SHA-256 of its sources and data)."
    );
    let _ = writeln!(out, "# TYPE {prefix}_info gauge");
    let _ = writeln!(
        out,
        "{prefix}_info{{revision=\"{}\"}} 1",
        label(&set.revision)
    );
    let _ = writeln!(
        out,
        "# HELP {prefix}_reloads_total Reloads of the {which} policy set: ok put a new set in force, failed kept the one in force."
    );
    let _ = writeln!(out, "# TYPE {prefix}_reloads_total counter");
    let _ = writeln!(
        out,
        "{prefix}_reloads_total{{result=\"ok\"}} {}",
        set.reloads_ok
    );
    let _ = writeln!(
        out,
        "{prefix}_reloads_total{{result=\"failed\"}} {}",
        set.reloads_failed
    );
    let _ = writeln!(
        out,
        "# HELP {prefix}_last_reload_failed 1 while the last reload of the {which} policy set was refused, else 0."
    );
    let _ = writeln!(out, "# TYPE {prefix}_last_reload_failed gauge");
    let _ = writeln!(
        out,
        "{prefix}_last_reload_failed {}",
        u8::from(set.last_reload_error.is_some())
    );
}

/// The policy sets as `/healthz` shows them.
pub(crate) fn health_json(status: &PolicyStatus) -> Value {
    let set = |s: &PolicySetStatus| {
        json!({
            "revision": s.revision,
            "loaded_at": s.loaded_at,
            "last_reload_error": s.last_reload_error,
        })
    };
    let mut out = set(&status.enforced);
    if let Some(shadow) = &status.shadow {
        out["shadow"] = set(shadow);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_decisions_are_counted_by_agreement_and_rule_escaped() {
        let counts = ShadowCounts::default();
        counts.count(&json!({"agrees": false, "deciding_rules": ["restarts_frozen"]}));
        counts.count(&json!({"agrees": false, "deciding_rules": ["restarts_frozen"]}));
        counts.count(&json!({"agrees": true, "deciding_rules": []}));
        counts.count(&json!({"agrees": false, "error": "boom", "deciding_rules": []}));
        counts.count(&json!({"agrees": false, "deciding_rules": ["a\"b\nc"]}));
        let mut text = String::new();
        counts.render(&mut text);
        assert!(text.contains(
            "bighub_shadow_decisions_total{agreement=\"disagree\",rule=\"restarts_frozen\"} 2"
        ));
        assert!(
            text.contains("bighub_shadow_decisions_total{agreement=\"agree\",rule=\"none\"} 1")
        );
        assert!(
            text.contains("bighub_shadow_decisions_total{agreement=\"disagree\",rule=\"error\"} 1")
        );
        assert!(text.contains("rule=\"a\\\"b\\nc\"} 1"), "{text}");
    }

    #[test]
    fn rule_labels_are_bounded() {
        let counts = ShadowCounts::default();
        for i in 0..(MAX_RULES + 10) {
            counts.count(&json!({"agrees": false, "deciding_rules": [format!("r{i}")]}));
        }
        let mut text = String::new();
        counts.render(&mut text);
        assert!(text.contains("rule=\"other\"} 10"), "{text}");
    }
}
