//! Loading, compiling and evaluating the Rego policy set.
//!
//! This module owns the compiled policy set: compilation of its sources and data with
//! regorus, the check at start-up that evaluates it on sample inputs so that every error
//! (with its file and line) surfaces when the engine is built rather than at the first
//! tool call, and evaluating it. It does not read sources (`policy_source.rs`), build
//! inputs (`input.rs`) or add engine fields to the answer (`engine.rs`, `answer.rs`).

use std::fmt;

use serde_json::{Value, json};

use crate::answer::MODES;
use crate::convert::{from_regorus, object_from_regorus, to_regorus};
use crate::error::LocalError;
use crate::policy_check;
use crate::policy_source::Source;
use bighub_core::digest::{canonical_json, sha256_hex};

/// About how many fields the engine adds to a policy's answer (`engine.rs`, `answer.rs`):
/// the explanations, the flags, the compatibility fields, the request id, the packet and
/// the brain.
const ENGINE_FIELDS: usize = 24;

/// A compiled policy set, ready to evaluate many inputs.
///
/// Compilation happens once; each decision evaluates the entry point with regorus'
/// interpreter on the compiled policy ([`regorus::CompiledPolicy::eval_with_input`]),
/// which shares the compiled rules and data and keeps only that call's state, so calls
/// need no lock and may run at once. The interpreter reports a rule that fails (two values
/// for a complete rule, a built-in called with the wrong arguments) as an error, which the
/// engine turns into a blocked call naming the file and rule.
pub(crate) struct PolicySet {
    compiled: regorus::CompiledPolicy,
    entrypoint: String,
    sha256: String,
    names: Vec<String>,
}

impl fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySet")
            .field("entrypoint", &self.entrypoint)
            .field("sources", &self.names)
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// Turns a regorus error into a policy error naming the file it points at.
fn policy_error(sources: &[Source], err: &dyn fmt::Display) -> LocalError {
    let message = err.to_string().trim().to_owned();
    // regorus writes `--> file:line:col`; name the file it points at when we can.
    let file = sources
        .iter()
        .find(|s| message.contains(&format!("{}:", s.name)))
        .map(|s| s.name.clone())
        .unwrap_or_else(|| "policy set".to_owned());
    LocalError::Policy { file, message }
}

impl PolicySet {
    /// Compiles `sources` with `data`, checks the user's sources (`policy_check.rs`), and
    /// checks the set by evaluating `samples`.
    pub(crate) fn compile(
        sources: &[Source],
        data: &Value,
        entrypoint: &str,
        samples: &[Value],
    ) -> Result<Self, LocalError> {
        let mut engine = regorus::Engine::new();
        // A built-in called with the wrong arguments is an error, never undefined.
        engine.set_strict_builtin_errors(true);
        for s in sources {
            engine
                .add_policy(s.name.clone(), s.text.clone())
                .map_err(|e| policy_error(sources, &e))?;
        }
        engine
            .add_data(regorus::Value::from(data.clone()))
            .map_err(|e| LocalError::Config(e.to_string()))?;
        let compiled = engine
            .compile_with_entrypoint(&entrypoint.into())
            .map_err(|e| policy_error(sources, &e))?;
        policy_check::check(&compiled, sources, entrypoint, data)?;

        let mut hasher_input = String::new();
        for s in sources {
            hasher_input.push_str(&s.name);
            hasher_input.push('\0');
            hasher_input.push_str(&s.text);
            hasher_input.push('\0');
        }
        hasher_input.push_str(&canonical_json(data));
        let set = Self {
            compiled,
            entrypoint: entrypoint.to_owned(),
            sha256: sha256_hex(hasher_input.as_bytes()),
            names: sources.iter().map(|s| s.name.clone()).collect(),
        };
        for sample in samples {
            set.evaluate(sample).map_err(|e| match e {
                LocalError::PolicyEvaluation {
                    file,
                    rule,
                    message,
                } => LocalError::Policy {
                    file,
                    message: format!(
                        "evaluating {entrypoint} on a sample input failed in rule {rule}: {message}"
                    ),
                },
                other => other,
            })?;
        }
        Ok(set)
    }

    /// SHA-256 of the sources (names and texts, in order) and the data.
    pub(crate) fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The names of the sources, in order.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// Evaluates the entry point on `input` and checks that it answered a decision.
    ///
    /// A rule that fails is an error naming its file and rule: nothing is decided from
    /// the rest of the set.
    pub(crate) fn evaluate(&self, input: &Value) -> Result<Value, LocalError> {
        let out = self
            .compiled
            .eval_with_input(to_regorus(input))
            .map_err(|e| self.evaluation_error(&e.to_string()))?;
        if out == regorus::Value::Undefined {
            return Err(LocalError::InvalidDecision(format!(
                "{} is undefined for this input; give it a default",
                self.entrypoint
            )));
        }
        let out = match out {
            // Made with room for the fields the engine adds, rather than grown (every entry
            // copied) twice on the way.
            regorus::Value::Object(fields) => {
                Value::Object(object_from_regorus(&fields, ENGINE_FIELDS)?)
            }
            other => from_regorus(&other)?,
        };
        check_answer(&out)?;
        Ok(out)
    }

    /// The error for a failed evaluation, naming the file and the rule regorus points at
    /// (`--> file:line:col`), or the entry point when it points nowhere.
    fn evaluation_error(&self, text: &str) -> LocalError {
        let text = text.trim();
        let at = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("--> "))
            .and_then(parse_location);
        let what = text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .map(str::to_owned)
            .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "));
        let Some((file, line, col)) = at else {
            return LocalError::PolicyEvaluation {
                file: "policy set".to_owned(),
                rule: self.entrypoint.clone(),
                message: what,
            };
        };
        // Rules do not overlap, so the last one starting at or before the error holds it;
        // of the paths a nested head (`a.b.c := ...`) defines, the longest names it.
        let rule = self
            .compiled
            .get_rules()
            .iter()
            .flat_map(|(path, rules)| rules.iter().map(move |r| (path, r.span())))
            .filter(|(_, span)| span.source.file() == file && (span.line, span.col) <= (line, col))
            .max_by_key(|(path, span)| (span.line, span.col, path.len()))
            .map_or_else(|| self.entrypoint.clone(), |(path, _)| path.clone());
        LocalError::PolicyEvaluation {
            message: format!("{file}:{line}:{col}: {what}"),
            file: file.to_owned(),
            rule,
        }
    }
}

/// `file:line:col` (a file name may itself hold colons).
fn parse_location(text: &str) -> Option<(&str, u32, u32)> {
    let mut parts = text.trim().rsplitn(3, ':');
    let col = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    let file = parts.next()?;
    Some((file, line, col))
}

/// Checks the policy's answer: an object whose `mode` is known and whose findings are valid.
fn check_answer(out: &Value) -> Result<(), LocalError> {
    let Some(obj) = out.as_object() else {
        return Err(LocalError::InvalidDecision(format!(
            "expected an object with a `mode`, found {out}"
        )));
    };
    match obj.get("mode").and_then(Value::as_str) {
        Some(m) if MODES.contains(&m) => {}
        other => {
            return Err(LocalError::InvalidDecision(format!(
                "`mode` must be one of {}, found {}",
                MODES.join(", "),
                other.map_or_else(|| json!(obj.get("mode")).to_string(), str::to_owned)
            )));
        }
    }
    if let Some(Value::Array(bad)) = obj.get("invalid_findings")
        && let Some(first) = bad.first()
    {
        return Err(LocalError::InvalidDecision(format!(
            "a finding needs a string `rule`, a known `mode` and a string `reason`: {first}"
        )));
    }
    Ok(())
}
