//! Which decisions are not logged: by mode, or by the tool's name.
//!
//! This module owns [`DropRules`] and the glob they match tool names with (`*` matches any
//! run of characters). The rules are checked on the deciding thread before anything is
//! copied or queued; what is dropped by a rule is counted apart from what a full queue
//! drops (`stats.rs`).

use crate::error::LocalError;

/// The modes a decision can have.
const MODES: [&str; 7] = [
    "autonomous",
    "constrained",
    "review",
    "needs_context",
    "blocked",
    "shadow",
    "dry_run",
];

/// Decisions kept out of the log.
#[derive(Debug, Clone, Default)]
pub(crate) struct DropRules {
    modes: Vec<String>,
    tools: Vec<String>,
}

impl DropRules {
    /// Drops decisions of `mode`.
    pub(crate) fn add_mode(&mut self, mode: &str) -> Result<(), LocalError> {
        let mode = mode.trim().to_ascii_lowercase();
        if !MODES.contains(&mode.as_str()) {
            return Err(LocalError::DecisionLogs(format!(
                "`{}` is not a decision mode; use one of {}",
                mode.escape_debug(),
                MODES.join(", ")
            )));
        }
        if !self.modes.contains(&mode) {
            self.modes.push(mode);
        }
        Ok(())
    }

    /// Drops decisions about tools matching `glob`.
    pub(crate) fn add_tool(&mut self, glob: &str) -> Result<(), LocalError> {
        let glob = glob.trim();
        if glob.is_empty() {
            return Err(LocalError::DecisionLogs(
                "a tool pattern to drop is empty".to_owned(),
            ));
        }
        self.tools.push(glob.to_owned());
        Ok(())
    }

    /// Whether a decision of `mode` about `tool` is dropped.
    pub(crate) fn drops(&self, mode: &str, tool: &str) -> bool {
        self.modes.iter().any(|m| m == mode) || self.tools.iter().any(|g| glob_match(g, tool))
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters (none too).
fn glob_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: the whole name.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_any_run_of_characters() {
        assert!(glob_match("list_*", "list_pods"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*_pods", "list_pods"));
        assert!(glob_match("a*b*c", "a-b-b-c"));
        assert!(glob_match("deploy", "deploy"));
        assert!(!glob_match("deploy", "deploy_x"));
        assert!(!glob_match("list_*", "get_list_pods"));
        assert!(!glob_match("ab*ba", "aba"));
    }

    #[test]
    fn modes_are_checked_and_rules_drop() {
        let mut rules = DropRules::default();
        assert!(rules.add_mode("autonomus").is_err());
        rules.add_mode("Autonomous").unwrap();
        rules.add_tool("list_*").unwrap();
        assert!(rules.drops("autonomous", "deploy"));
        assert!(rules.drops("review", "list_pods"));
        assert!(!rules.drops("review", "deploy"));
    }
}
