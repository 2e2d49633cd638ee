//! Classifications of an action that the default policy needs, computed in Rust.
//!
//! This module owns the cheap, configuration-driven facts about one action: whether its
//! first word is a read verb, whether it is destructive, whether it has a privilege verb,
//! targets an identity system or an admin group, and runs in production. They are read
//! from the configuration (`data.bighub.config`, already normalized) once when the engine
//! is built, and added to every input as `input.derived.facts`, so that the policy
//! combines booleans instead of scanning verb lists on every call. The policy stays the
//! place where decisions are made; these are the same tests it used to run, with the same
//! results (checked against the previous policy text in the tests).
//!
//! It does not decide anything, and does not read the store.

use serde_json::{Value, json};

/// The configuration lists the facts are computed from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Classifier {
    read_only_verbs: Vec<String>,
    /// Lower-cased, `-` replaced by `_` (as the policy compares them).
    destructive_verbs: Vec<String>,
    privilege_verbs: Vec<String>,
    identity_systems: Vec<String>,
    admin_group_patterns: Vec<String>,
    production_environments: Vec<String>,
    unknown_environments: Vec<String>,
}

/// The strings of `cfg[key]` (a list; anything else gives none).
fn strings(cfg: &Value, key: &str) -> Vec<String> {
    cfg.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn has(list: &[String], s: &str) -> bool {
    list.iter().any(|v| v == s)
}

impl Classifier {
    /// Reads the lists from the normalized data (`{"bighub": {"config": {...}}}`).
    pub(crate) fn from_data(data: &Value) -> Self {
        let cfg = &data["bighub"]["config"];
        Self {
            read_only_verbs: strings(cfg, "read_only_verbs"),
            destructive_verbs: strings(cfg, "destructive_verbs")
                .iter()
                .map(|v| v.to_lowercase().replace('-', "_"))
                .collect(),
            privilege_verbs: strings(cfg, "privilege_verbs"),
            identity_systems: strings(cfg, "identity_systems"),
            admin_group_patterns: strings(cfg, "admin_group_patterns"),
            production_environments: strings(cfg, "production_environments"),
            unknown_environments: strings(cfg, "unknown_environments"),
        }
    }

    /// Whether `environment` (lower-cased) names an environment rather than one of the
    /// names configured to mean "unknown".
    pub(crate) fn environment_known(&self, environment: &str) -> bool {
        !environment.is_empty() && !has(&self.unknown_environments, environment)
    }

    /// The facts about one action.
    ///
    /// `tokens` are the action name's words, `system` and `environment` the lower-cased
    /// values of the input (absent: `None`), `groups` the derived groups, `target` the
    /// action's target.
    pub(crate) fn facts(
        &self,
        tokens: &[String],
        system: Option<&str>,
        environment: Option<&str>,
        groups: &[Value],
        target: Option<&str>,
    ) -> Value {
        // A multi-word verb (force_push) matches inside the normalized name.
        let normalized = format!("_{}_", tokens.join("_"));
        let destructive = tokens.iter().any(|t| has(&self.destructive_verbs, t))
            || self
                .destructive_verbs
                .iter()
                .any(|v| v.contains('_') && normalized.contains(&format!("_{v}_")));
        let environment = environment
            .filter(|e| self.environment_known(e))
            .unwrap_or("");
        let target = target.map(str::to_lowercase);
        let admin_group = groups
            .iter()
            .filter_map(Value::as_str)
            .chain(target.as_deref())
            .any(|g| {
                self.admin_group_patterns
                    .iter()
                    .any(|p| g.contains(p.as_str()))
            });
        json!({
            "read_only_verb": tokens.first().is_some_and(|t| has(&self.read_only_verbs, t)),
            "destructive": destructive,
            "privilege_verb": tokens.iter().any(|t| has(&self.privilege_verbs, t)),
            "identity_system": has(&self.identity_systems, system.unwrap_or("")),
            "admin_group": admin_group,
            "production": has(&self.production_environments, environment),
        })
    }
}
