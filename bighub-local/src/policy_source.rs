//! The Rego sources of a policy set, and the shipped default policy among them.
//!
//! This module owns what a source is (a name and its text, shipped or the user's), the
//! shipped default policy with its entry point and the extension package it consults, and
//! reading a path: a `.rego` file, a `.json` data file, or a directory of both. It does not
//! compile or check sources (`policy.rs`, `policy_check.rs`) or merge data (`config.rs`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::LocalError;

/// The shipped default policy for IT actions (package `bighub.policy`).
pub const DEFAULT_POLICY: &str = include_str!("default_policy.rego");

/// The rule the default policy answers with.
pub const DEFAULT_ENTRYPOINT: &str = "data.bighub.policy.decision";

/// The package whose `findings`, `exempt` and `override` the default policy consults.
pub(crate) const EXTENSION_PACKAGE: &str = "bighub.ext";

/// One Rego source: a name (a path, or the name given inline) and its text.
#[derive(Clone)]
pub(crate) struct Source {
    pub name: String,
    pub text: String,
    /// The crate's own policy, which the checks for a user's mistakes skip.
    pub shipped: bool,
}

/// Reads `path`: a `.rego` file, a `.json` data file, or a directory of both (not recursive
/// into hidden entries; files sorted by name so the set is the same on every machine).
/// A directory's `*_test.rego` files are tests of the policies beside them, run by
/// `run_policy_tests`, and are not part of the policy set.
pub(crate) fn read_path(
    path: &Path,
    rego: &mut Vec<Source>,
    data: &mut Vec<(PathBuf, Value)>,
) -> Result<(), LocalError> {
    let io_err = |source| LocalError::PolicyPath {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io_err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                !p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
            })
            .collect();
        entries.sort();
        for p in entries {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            let is_test = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("_test.rego"));
            if p.is_dir() || (ext == "rego" && !is_test) || ext == "json" {
                read_path(&p, rego, data)?;
            }
        }
        return Ok(());
    }
    let text = std::fs::read_to_string(path).map_err(io_err)?;
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        let value: Value = serde_json::from_str(&text).map_err(|e| LocalError::Policy {
            file: path.display().to_string(),
            message: format!("{}:{}: invalid JSON data: {e}", e.line(), e.column()),
        })?;
        data.push((path.to_path_buf(), value));
    } else {
        rego.push(Source {
            name: path.display().to_string(),
            text,
            shipped: false,
        });
    }
    Ok(())
}
