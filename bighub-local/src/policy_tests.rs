//! Rego tests of a policy set, as `opa test` runs them.
//!
//! This module owns finding test files (`*_test.rego`), loading them beside the policy set
//! and its data, listing their `test_*` rules, and evaluating each one: a test passes when
//! its rule is `true`. It also gives tests `bighub.input(action)`, the input document the
//! engine would decide a proposed action on, and shows what the policy set's entry point
//! answers for those inputs when a test fails. It records nothing and opens no store.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use bighub_core::ProposedAction;

use super::LocalError;
use super::clock::now_millis;
use super::input::{DecisionExtras, History, build_input};
use super::policy_source::Source;

/// The result of one test rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PolicyTestResult {
    /// The rule's path, e.g. `data.bighub.ext_test.test_argocd_syncs_wait`.
    pub rule: String,
    /// The file it is written in.
    pub file: String,
    /// The line its (first) definition starts on.
    pub line: u32,
    /// Whether it passed.
    pub outcome: PolicyTestOutcome,
    /// How long it took to evaluate.
    pub duration: Duration,
    /// When the test failed: what the policy set's entry point (e.g.
    /// `data.bighub.policy.decision`) answers for each input the test built with
    /// `bighub.input(action)`, in order (a test that wrote its input by hand has none). It is
    /// evaluated on the policy set's own data: a test's `with data... as` does not apply.
    pub decisions: Vec<TestDecision>,
}

/// What the policy set's entry point answered for one input a failing test built.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TestDecision {
    /// The proposed action given to `bighub.input`, as the test wrote it.
    pub action: Value,
    /// The entry point's answer for its input (for the default policy: `mode`, `reason`,
    /// `deciding_rules`, `findings`, ...); `null` when it is undefined, or the evaluation's
    /// error message as a string.
    pub decision: Value,
}

impl PolicyTestResult {
    /// Whether the rule evaluated to `true`.
    pub fn passed(&self) -> bool {
        self.outcome == PolicyTestOutcome::Pass
    }
}

/// How a test rule ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "message")]
#[non_exhaustive]
pub enum PolicyTestOutcome {
    /// It evaluated to `true`.
    Pass,
    /// It evaluated to anything else, or was undefined.
    Fail,
    /// Its evaluation failed (a conflict, a built-in that rejected its arguments, ...):
    /// the message, starting with `file:line:col` when regorus names the place.
    Error(String),
}

/// The test files under `paths`: `*_test.rego` files in directories (recursively, sorted
/// by name, hidden entries and links to directories skipped), and `.rego` files named
/// outright, whatever their names.
pub(crate) fn discover<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<PathBuf>, LocalError> {
    let mut out = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let meta = std::fs::metadata(path).map_err(|source| LocalError::PolicyPath {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.is_dir() {
            walk(path, &mut out)?;
        } else if path.extension().and_then(|e| e.to_str()) == Some("rego") {
            out.push(path.to_path_buf());
        } else {
            return Err(LocalError::PolicyPath {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "not a Rego file: tests are test_* rules in *_test.rego files",
                ),
            });
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LocalError> {
    let io_err = |source| LocalError::PolicyPath {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        // Not followed through links, so that a link to a parent cannot loop.
        let kind = entry.file_type().map_err(io_err)?;
        entries.push((entry.path(), kind.is_dir()));
    }
    entries.sort();
    for (path, is_dir) in entries {
        if is_dir {
            walk(&path, out)?;
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with("_test.rego"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// Most inputs of one failing test whose decision is shown.
const MAX_DECISIONS_SHOWN: usize = 4;

/// Loads `sources`, `data` and the test `files`, and evaluates every `test_*` rule of the
/// test files, in file order and then line order; a failing test gets the answer of
/// `entrypoint` for each input it built.
pub(crate) fn run(
    sources: &[Source],
    data: &Value,
    files: &[PathBuf],
    entrypoint: &str,
) -> Result<Vec<PolicyTestResult>, LocalError> {
    let mut engine = regorus::Engine::new();
    // As when deciding: a built-in called with the wrong arguments is an error.
    engine.set_strict_builtin_errors(true);
    let compile_err = |file: &str, e: &dyn std::fmt::Display| LocalError::Policy {
        file: file.to_owned(),
        message: e.to_string().trim().to_owned(),
    };
    // Where each loaded file is, to load a test file that is also a policy file (a test
    // file in a policy directory) only once; and its package.
    let mut loaded: Vec<(PathBuf, String, String, String)> = Vec::new();
    for s in sources {
        let package = engine
            .add_policy(s.name.clone(), s.text.clone())
            .map_err(|e| compile_err(&s.name, &e))?;
        if let Ok(path) = std::fs::canonicalize(&s.name) {
            loaded.push((path, s.name.clone(), package, s.text.clone()));
        }
    }
    // (file name, package, text) of each test file.
    let mut tests: Vec<(String, String, String)> = Vec::new();
    for file in files {
        let canonical = std::fs::canonicalize(file).ok();
        if let Some(seen) = canonical
            .as_ref()
            .and_then(|c| loaded.iter().find(|(path, ..)| path == c))
        {
            let test = (seen.1.clone(), seen.2.clone(), seen.3.clone());
            if !tests.contains(&test) {
                tests.push(test);
            }
            continue;
        }
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|source| LocalError::PolicyPath {
            path: file.clone(),
            source,
        })?;
        let package = engine
            .add_policy(name.clone(), text.clone())
            .map_err(|e| compile_err(&name, &e))?;
        if let Some(path) = canonical {
            loaded.push((path, name.clone(), package.clone(), text.clone()));
        }
        tests.push((name, package, text));
    }
    engine
        .add_data(regorus::Value::from(data.clone()))
        .map_err(|e| LocalError::Config(e.to_string()))?;
    // The actions and inputs `bighub.input` built during the test being evaluated.
    let built: Arc<Mutex<Vec<(Value, regorus::Value)>>> = Arc::default();
    let record = Arc::clone(&built);
    engine
        .add_extension(
            "bighub.input".to_owned(),
            1,
            Box::new(move |args: Vec<regorus::Value>| {
                let input = input_of(&args[0])?;
                let mut built = record.lock().unwrap_or_else(PoisonError::into_inner);
                if built.len() < MAX_DECISIONS_SHOWN {
                    let action = serde_json::to_value(&args[0]).unwrap_or(Value::Null);
                    if !built.iter().any(|(a, _)| *a == action) {
                        built.push((action, input.clone()));
                    }
                }
                Ok(input)
            }),
        )
        .map_err(|e| LocalError::Config(e.to_string()))?;
    // Compiling needs an entry point: the first test rule the texts show. The compiled
    // set then lists every rule with where it is written.
    let entries: Vec<String> = tests
        .iter()
        .flat_map(|(_, package, text)| {
            test_names(text).map(move |name| format!("{package}.{name}"))
        })
        .collect();
    let mut compiled = None;
    for entry in entries {
        match engine.compile_with_entrypoint(&entry.into()) {
            Ok(c) => {
                compiled = Some(c);
                break;
            }
            // A name that only looked like a rule's.
            Err(e) if e.to_string().contains("not a valid rule path") => {}
            Err(e) => {
                let message = e.to_string();
                let file = tests
                    .iter()
                    .map(|(name, ..)| name)
                    .chain(sources.iter().map(|s| &s.name))
                    .find(|name| message.contains(&format!("{name}:")))
                    .map_or("policy set", String::as_str);
                return Err(compile_err(file, &message));
            }
        }
    }
    let Some(compiled) = compiled else {
        return Ok(Vec::new());
    };
    // Each test file's test rules: `data.<package>.test_<name>`, at the line it starts.
    let mut rules: Vec<(usize, u32, String, String)> = Vec::new();
    for (path, rule_defs) in compiled.get_rules() {
        for (order, (file, package, _)) in tests.iter().enumerate() {
            let Some(name) = path
                .strip_prefix(package.as_str())
                .and_then(|r| r.strip_prefix('.'))
            else {
                continue;
            };
            if !name.starts_with("test_") || !name.chars().all(|c| c.is_alphanumeric() || c == '_')
            {
                continue;
            }
            let line = rule_defs
                .iter()
                .map(|r| r.span())
                .filter(|s| s.source.file() == file.as_str())
                .map(|s| s.line)
                .min();
            if let Some(line) = line {
                rules.push((order, line, path.clone(), file.clone()));
            }
        }
    }
    rules.sort();
    // A rule defined in two test files of one package runs once, with the first.
    let mut seen = std::collections::HashSet::new();
    rules.retain(|r| seen.insert(r.2.clone()));

    let mut results = Vec::with_capacity(rules.len());
    for (_, line, rule, file) in rules {
        built.lock().unwrap_or_else(PoisonError::into_inner).clear();
        let started = Instant::now();
        let value = engine.eval_rule(rule.clone());
        let duration = started.elapsed();
        let outcome = match value {
            Ok(regorus::Value::Bool(true)) => PolicyTestOutcome::Pass,
            Ok(_) => PolicyTestOutcome::Fail,
            Err(e) => PolicyTestOutcome::Error(condense(&e.to_string())),
        };
        let decisions = if outcome == PolicyTestOutcome::Fail {
            let inputs = std::mem::take(&mut *built.lock().unwrap_or_else(PoisonError::into_inner));
            inputs
                .into_iter()
                .map(|(action, input)| TestDecision {
                    action,
                    decision: decide(&engine, entrypoint, input),
                })
                .collect()
        } else {
            Vec::new()
        };
        results.push(PolicyTestResult {
            rule,
            file,
            line,
            outcome,
            duration,
            decisions,
        });
    }
    Ok(results)
}

/// The answer of `entrypoint` for `input`, on a copy of the test engine so that no test
/// sees this input as its own.
fn decide(engine: &regorus::Engine, entrypoint: &str, input: regorus::Value) -> Value {
    let mut probe = engine.clone();
    probe.set_input(input);
    match probe.eval_rule(entrypoint.to_owned()) {
        Ok(regorus::Value::Undefined) => Value::Null,
        Ok(answer) => serde_json::to_value(&answer).unwrap_or(Value::Null),
        Err(e) => Value::String(condense(&e.to_string())),
    }
}

/// The names of the rules a Rego text seems to define at the start of a line with a
/// `test_` name; the compiled set says which really are rules.
fn test_names(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|line| {
        let line = line.trim_start();
        let end = line
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(line.len());
        let name = &line[..end];
        name.starts_with("test_").then_some(name)
    })
}

/// `bighub.input(action)`: the input document for a proposed action, now, with no history.
fn input_of(action: &regorus::Value) -> anyhow::Result<regorus::Value> {
    let mut json = serde_json::to_value(action)?;
    let Some(fields) = json.as_object_mut() else {
        anyhow::bail!(
            "bighub.input expects a proposed action object, such as {{\"tool\": \"deploy\"}}"
        );
    };
    default_action_fields(fields);
    let action: ProposedAction = serde_json::from_value(json)
        .map_err(|e| anyhow::anyhow!("bighub.input: not a proposed action: {e}"))?;
    let input = build_input(
        &action,
        History::default(),
        now_millis(),
        &DecisionExtras::default(),
    );
    Ok(regorus::Value::from(input))
}

/// A proposed action written by hand may leave out `action` (the tool's name is used) and
/// `arguments` (none).
pub(crate) fn default_action_fields(a: &mut Map<String, Value>) {
    if !a.contains_key("action")
        && let Some(tool) = a.get("tool").cloned()
    {
        a.insert("action".into(), tool);
    }
    a.entry("arguments")
        .or_insert_with(|| Value::Object(Map::new()));
}

/// A regorus error in one line: `file:line:col: what` when it points somewhere.
fn condense(text: &str) -> String {
    let text = text.trim();
    let at = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("--> "))
        .map(str::trim);
    let what = text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "));
    match at {
        Some(at) => format!("{at}: {what}"),
        None => what,
    }
}
