//! Policy revisions and live reload: what a policy set is loaded from, the set in force,
//! and replacing it while decisions go on.
//!
//! This module owns the recipe of a policy set ([`PolicyRecipe`]: the default policy or
//! not, files and directories, inline sources, data and configuration, the entry point),
//! the set in force with its revision and the time it was loaded (`PolicySlot`), and a
//! reload: read the files again, compile, check the configuration, run the `*_test.rego`
//! tests of the policy directories, and only when all of that passes swap the set in. A
//! decision takes the set in force once (an `Arc`) and keeps it to its end, so a swap
//! never changes a decision in flight. A reload that fails keeps the set in force, logs
//! why and is remembered as the last reload error ([`ReloadFailure`]). It does not poll
//! the files (`policy_watch.rs`) or decide anything (`engine.rs`, `shadow.rs`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::Serialize;
use serde_json::{Value, json};

use bighub_core::digest::sha256_hex;

use crate::clock::{format_rfc3339, now_millis};
use crate::config::{PolicyConfig, resolve};
use crate::error::LocalError;
use crate::policy::PolicySet;
use crate::policy_source::{DEFAULT_POLICY, Source, read_path};
use crate::policy_tests;

/// Everything a policy set is loaded from, kept so that it can be loaded again.
#[derive(Debug, Clone)]
pub(crate) struct PolicyRecipe {
    pub include_default: bool,
    pub entrypoint: String,
    pub paths: Vec<PathBuf>,
    pub inline: Vec<(String, String)>,
    pub data: Vec<Value>,
    pub config: Vec<Value>,
    /// The paths whose directories' `*_test.rego` tests a reload runs: every policy path
    /// for the enforced set; the shadow paths only for a shadow set, whose change of
    /// behaviour the enforced set's tests may well pin down otherwise.
    pub test_paths: Vec<PathBuf>,
}

impl PolicyRecipe {
    /// The policy sources and the Rego data this recipe names, the configuration read
    /// from every source and checked.
    pub(crate) fn load(&self) -> Result<(Vec<Source>, Value, PolicyConfig), LocalError> {
        let mut sources = Vec::new();
        if self.include_default {
            sources.push(Source {
                name: "bighub/default_policy.rego".to_owned(),
                text: DEFAULT_POLICY.to_owned(),
                shipped: true,
            });
        }
        let mut file_data = Vec::new();
        for path in &self.paths {
            read_path(path, &mut sources, &mut file_data)?;
        }
        for (name, text) in &self.inline {
            sources.push(Source {
                name: name.clone(),
                text: text.clone(),
                shipped: false,
            });
        }
        let layers = file_data
            .into_iter()
            .map(|(path, d)| (path.display().to_string(), d))
            .chain(
                self.data
                    .iter()
                    .map(|d| ("builder data".to_owned(), d.clone())),
            )
            .chain(self.config.iter().map(|c| {
                (
                    "builder config".to_owned(),
                    json!({"bighub": {"config": c}}),
                )
            }));
        let (data, config) = resolve(layers)?;
        Ok((sources, data, config))
    }

    /// Loads and compiles the set, checks it on `samples`, and, when `run_tests`, runs the
    /// `*_test.rego` tests of its directories: a failing test rejects the set.
    pub(crate) fn compile(
        &self,
        samples: &[Value],
        run_tests: bool,
    ) -> Result<LoadedPolicy, LocalError> {
        // Read first, so that a file changed while the set is compiled is seen as changed
        // at the next poll and loaded again.
        let files_digest = self.files_digest();
        let (sources, data, config) = self.load()?;
        let set = PolicySet::compile(&sources, &data, &self.entrypoint, samples)?;
        if run_tests {
            self.run_tests(&sources, &data)?;
        }
        Ok(LoadedPolicy {
            set,
            config,
            loaded_at_ms: now_millis(),
            files_digest,
        })
    }

    /// Runs the tests of the recipe's directories against `sources` and `data`; the first
    /// failing or erring test is the error.
    fn run_tests(&self, sources: &[Source], data: &Value) -> Result<(), LocalError> {
        let dirs: Vec<&Path> = self
            .test_paths
            .iter()
            .map(PathBuf::as_path)
            .filter(|p| p.is_dir())
            .collect();
        if dirs.is_empty() {
            return Ok(());
        }
        let files = policy_tests::discover(&dirs)?;
        if files.is_empty() {
            return Ok(());
        }
        let results = policy_tests::run(sources, data, &files, &self.entrypoint)?;
        let failed: Vec<String> = results
            .iter()
            .filter(|r| !r.passed())
            .map(|r| match &r.outcome {
                policy_tests::PolicyTestOutcome::Error(message) => {
                    format!("{} ({}:{}): {message}", r.rule, r.file, r.line)
                }
                _ => format!("{} ({}:{})", r.rule, r.file, r.line),
            })
            .collect();
        match failed.first() {
            None => Ok(()),
            Some(first) => Err(LocalError::Policy {
                file: results
                    .iter()
                    .find(|r| !r.passed())
                    .map_or_else(String::new, |r| r.file.clone()),
                message: format!(
                    "{} of {} policy tests failed, first {first}",
                    failed.len(),
                    results.len()
                ),
            }),
        }
    }

    /// SHA-256 over the files under the recipe's paths (names and contents, tests
    /// included, hidden entries skipped, in name order): it changes when a file is
    /// written, added, removed or renamed. A path that cannot be read counts by its error.
    pub(crate) fn files_digest(&self) -> String {
        let mut text = Vec::new();
        for path in &self.paths {
            digest_path(path, &mut text);
        }
        sha256_hex(&text)
    }
}

/// Appends `path`'s name and contents (a directory's entries, recursively) to `out`.
fn digest_path(path: &Path, out: &mut Vec<u8>) {
    out.extend_from_slice(path.to_string_lossy().as_bytes());
    out.push(0);
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
                Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
                Err(e) => {
                    out.extend_from_slice(e.to_string().as_bytes());
                    return;
                }
            };
            entries.retain(|p| {
                !p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
            });
            entries.sort();
            for entry in entries {
                let ext = entry.extension().and_then(|e| e.to_str()).unwrap_or("");
                if entry.is_dir() || ext == "rego" || ext == "json" {
                    digest_path(&entry, out);
                }
            }
        }
        Ok(_) => match std::fs::read(path) {
            Ok(bytes) => {
                out.extend_from_slice(sha256_hex(&bytes).as_bytes());
            }
            Err(e) => out.extend_from_slice(e.to_string().as_bytes()),
        },
        Err(e) => out.extend_from_slice(e.to_string().as_bytes()),
    }
    out.push(0);
}

/// A compiled policy set with what it was loaded with.
#[derive(Debug)]
pub(crate) struct LoadedPolicy {
    pub set: PolicySet,
    /// The default policy's configuration in this set's data.
    pub config: PolicyConfig,
    pub loaded_at_ms: i64,
    /// [`PolicyRecipe::files_digest`] when it was read.
    pub files_digest: String,
}

impl LoadedPolicy {
    /// The set's revision: the SHA-256 of its sources and data.
    pub(crate) fn revision(&self) -> &str {
        self.set.sha256()
    }
}

/// What a reload did.
///
/// ```
/// use bighub_local::live_policies::ReloadOutcome;
///
/// let outcome = ReloadOutcome::Unchanged { revision: "ab12".into() };
/// assert_eq!(outcome.revision(), "ab12");
/// assert!(!outcome.changed());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReloadOutcome {
    /// No file changed since the set in force was read: nothing was compiled.
    Unchanged {
        /// The revision in force.
        revision: String,
    },
    /// The files changed, and the new set passed its checks and tests: it is in force.
    /// Its revision may equal the previous one (a file written with the same text).
    Reloaded {
        /// The revision before.
        previous: String,
        /// The revision now in force.
        revision: String,
    },
}

impl ReloadOutcome {
    /// The revision in force after the reload.
    pub fn revision(&self) -> &str {
        match self {
            Self::Unchanged { revision } | Self::Reloaded { revision, .. } => revision,
        }
    }

    /// Whether another revision is now in force.
    pub fn changed(&self) -> bool {
        matches!(self, Self::Reloaded { previous, revision } if previous != revision)
    }
}

/// A reload that was refused: why, and when. The set in force stayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReloadFailure {
    /// The error, as [`LocalError`] words it (it may quote the policy files).
    pub message: String,
    /// When the reload was tried (RFC 3339, UTC).
    pub at: String,
    /// The revision that stayed in force.
    pub kept_revision: String,
}

/// Where one policy set (enforced or shadow) stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicySetStatus {
    /// The revision in force: the SHA-256 (hex) of its sources and data, as every decision
    /// records it in `decision_brain.policy_revision`.
    pub revision: String,
    /// When the revision in force was loaded (RFC 3339, UTC).
    pub loaded_at: String,
    /// Its sources, in order.
    pub sources: Vec<String>,
    /// Reloads that put a new set in force.
    pub reloads_ok: u64,
    /// Reloads refused (the set in force stayed).
    pub reloads_failed: u64,
    /// The last reload refused, while no later reload succeeded.
    pub last_reload_error: Option<ReloadFailure>,
}

/// Where the engine's policy sets stand: see [`LocalEngine::policy_status`](crate::LocalEngine::policy_status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyStatus {
    /// The enforced set.
    pub enforced: PolicySetStatus,
    /// The shadow set, when one is configured.
    pub shadow: Option<PolicySetStatus>,
}

/// One policy set in force, swappable: its recipe, the set, and its reload history.
#[derive(Debug)]
pub(crate) struct PolicySlot {
    /// `enforced` or `shadow`, for logs.
    label: &'static str,
    recipe: PolicyRecipe,
    samples: Vec<Value>,
    current: RwLock<Arc<LoadedPolicy>>,
    last_error: Mutex<Option<ReloadFailure>>,
    /// Serialises reloads: two at once would compile twice and race to swap.
    reloading: Mutex<()>,
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
}

impl PolicySlot {
    /// A slot holding the set `recipe` compiles now (the build's check; tests not run).
    pub(crate) fn new(
        label: &'static str,
        recipe: PolicyRecipe,
        samples: Vec<Value>,
    ) -> Result<Self, LocalError> {
        let loaded = recipe.compile(&samples, false)?;
        Ok(Self {
            label,
            recipe,
            samples,
            current: RwLock::new(Arc::new(loaded)),
            last_error: Mutex::new(None),
            reloading: Mutex::new(()),
            reloads_ok: AtomicU64::new(0),
            reloads_failed: AtomicU64::new(0),
        })
    }

    /// The set in force; a decision keeps it to its end.
    pub(crate) fn current(&self) -> Arc<LoadedPolicy> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The digest of the files now, to compare with the set in force's.
    pub(crate) fn files_digest(&self) -> String {
        self.recipe.files_digest()
    }

    /// Reloads the set when its files changed since the set in force was read.
    pub(crate) fn reload(&self) -> Result<ReloadOutcome, LocalError> {
        let _one = self
            .reloading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let before = self.current();
        if self.recipe.files_digest() == before.files_digest {
            return Ok(ReloadOutcome::Unchanged {
                revision: before.revision().to_owned(),
            });
        }
        match self.recipe.compile(&self.samples, true) {
            Ok(loaded) => {
                let outcome = ReloadOutcome::Reloaded {
                    previous: before.revision().to_owned(),
                    revision: loaded.revision().to_owned(),
                };
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(loaded);
                *self
                    .last_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = None;
                self.reloads_ok.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    set = self.label,
                    previous = %outcome_previous(&outcome),
                    revision = %outcome.revision(),
                    "policy set reloaded"
                );
                Ok(outcome)
            }
            Err(error) => {
                let message = error.to_string();
                // The policy files' text may be anyone's: quoted, never raw.
                tracing::warn!(
                    set = self.label,
                    error = ?message,
                    kept_revision = %before.revision(),
                    "policy reload refused; the set in force stays"
                );
                *self
                    .last_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(ReloadFailure {
                    message,
                    at: format_rfc3339(now_millis()),
                    kept_revision: before.revision().to_owned(),
                });
                self.reloads_failed.fetch_add(1, Ordering::Relaxed);
                Err(error)
            }
        }
    }

    /// Where the set stands.
    pub(crate) fn status(&self) -> PolicySetStatus {
        let current = self.current();
        PolicySetStatus {
            revision: current.revision().to_owned(),
            loaded_at: format_rfc3339(current.loaded_at_ms),
            sources: current.set.names().to_vec(),
            reloads_ok: self.reloads_ok.load(Ordering::Relaxed),
            reloads_failed: self.reloads_failed.load(Ordering::Relaxed),
            last_reload_error: self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

fn outcome_previous(outcome: &ReloadOutcome) -> &str {
    match outcome {
        ReloadOutcome::Reloaded { previous, .. } => previous,
        ReloadOutcome::Unchanged { revision } => revision,
    }
}
