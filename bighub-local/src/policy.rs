//! Loading, compiling and evaluating the Rego policy set.
//!
//! This module owns the policy set: its sources (the shipped default policy, files and
//! directories, inline text), its data, compilation with regorus, and the check at
//! start-up that evaluates it once so that every error (with its file and line) surfaces
//! when the engine is built rather than at the first tool call. It does not build inputs
//! (`input.rs`) or add engine fields to the answer (`engine.rs`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;

use serde_json::{Value, json};

use super::LocalError;
use super::convert::{from_regorus, object_from_regorus, to_regorus};
use bighub_core::digest::{canonical_json, sha256_hex};

/// The shipped default policy for IT actions (package `bighub.policy`).
pub const DEFAULT_POLICY: &str = include_str!("default_policy.rego");

/// The rule the default policy answers with.
pub const DEFAULT_ENTRYPOINT: &str = "data.bighub.policy.decision";

/// The modes a policy may answer.
pub(crate) const MODES: [&str; 5] = [
    "autonomous",
    "constrained",
    "review",
    "needs_context",
    "blocked",
];

/// About how many fields the engine adds to a policy's answer (`engine.rs`, `answer.rs`):
/// the explanations, the flags, the compatibility fields, the request id, the packet and
/// the brain.
const ENGINE_FIELDS: usize = 24;

/// One Rego source: a name (a path, or the name given inline) and its text.
#[derive(Clone)]
pub(crate) struct Source {
    pub name: String,
    pub text: String,
    /// The crate's own policy, written so that no input makes a rule fail, so it may run
    /// as bytecode ([`Bytecode`]); every other source runs on the interpreter, which
    /// reports errors.
    pub shipped: bool,
}

/// Reads `path`: a `.rego` file, a `.json` data file, or a directory of both (not recursive
/// into hidden entries; files sorted by name so the set is the same on every machine).
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
            if p.is_dir() || ext == "rego" || ext == "json" {
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

/// A compiled policy set, ready to evaluate many inputs.
///
/// Compilation happens once. The shipped default policy (with any data) runs as bytecode
/// on a virtual machine ([`Bytecode`]), about five times faster than walking the syntax
/// tree. A set with any other Rego runs on the tree-walking interpreter, because the
/// machine reads a rule that fails (two values for a complete rule, a built-in called
/// with the wrong arguments) as undefined and decides on without it, where the
/// interpreter reports the error, and a broken rule must not loosen a decision. The
/// interpreter is also the reference: it checks the bytecode's answers on the sample
/// inputs at build time, and takes over for any input the machine fails on.
pub(crate) struct PolicySet {
    compiled: regorus::CompiledPolicy,
    bytecode: Option<Bytecode>,
    entrypoint: String,
    sha256: String,
    names: Vec<String>,
}

/// The policy set compiled to regorus' virtual-machine bytecode, and idle machines ready to
/// run it.
///
/// A machine is not shareable while it runs, so each call borrows one from the pool (the
/// lock is held only to pop and push) and returns it; the pool grows to the number of
/// concurrent callers. A reused machine keeps its registers and program loaded.
struct Bytecode {
    program: Arc<Program>,
    data: regorus::Value,
    idle: Mutex<Vec<RegoVM>>,
}

/// The virtual machine's default budget (25 000 instructions) is sized for small
/// policies; the tree-walking interpreter has none. A generous budget keeps large data sets
/// on the fast path; a set that exceeds it falls back to the interpreter for that call.
const MAX_INSTRUCTIONS: usize = 50_000_000;

impl Bytecode {
    /// Compiles the set, or `None` when it uses something the bytecode compiler lacks.
    fn compile(compiled: &regorus::CompiledPolicy, entrypoint: &str, data: &Value) -> Option<Self> {
        let mut program = Compiler::compile_from_policy(compiled, &[entrypoint]).ok()?;
        slim(Arc::make_mut(&mut program));
        let bytecode = Self {
            program,
            data: regorus::Value::from(data.clone()),
            idle: Mutex::new(Vec::new()),
        };
        // Loading checks that no rule collides with the data.
        let vm = bytecode.machine().ok()?;
        bytecode.release(vm);
        Some(bytecode)
    }

    fn machine(&self) -> Result<RegoVM, ()> {
        if let Some(vm) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok(vm);
        }
        let mut vm = RegoVM::new();
        vm.load_program(self.program.clone());
        vm.set_max_instructions(MAX_INSTRUCTIONS);
        vm.set_data(self.data.clone()).map_err(|_| ())?;
        Ok(vm)
    }

    fn release(&self, vm: RegoVM) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(vm);
        }
    }

    /// Runs the program on `input`; `None` when the machine fails (the caller falls back).
    fn eval(&self, input: regorus::Value) -> Option<regorus::Value> {
        let mut vm = self.machine().ok()?;
        vm.set_input(input);
        // A machine that failed is dropped rather than reused.
        let out = vm.execute().ok()?;
        // Drop this call's input now rather than when the machine is next used.
        vm.set_input(regorus::Value::Null);
        self.release(vm);
        Some(out)
    }
}

/// Empties what the virtual machine never reads in the program's table of rules.
///
/// regorus 0.14 clones a rule's entry (`RuleInfo`) on every call of the rule, cached or not:
/// its name, its parameter names and its per-definition vectors, each an allocation (about a
/// hundred calls and four hundred allocations per decision with the default policy). While
/// it runs, the machine reads an entry's kind, definitions, registers and default, whether
/// it is a function, and the two per-definition vectors through lookups that default when an
/// entry is missing. So the names go, and a vector that holds only defaults becomes empty,
/// which clones without allocating. Only the program listing and its serialized form, not
/// used here, show the names. The interpreter, which checks the bytecode's answers and
/// reports errors with their file and line, keeps everything.
fn slim(program: &mut Program) {
    for rule in &mut program.rule_infos {
        rule.name = String::new();
        if let Some(function) = &mut rule.function_info {
            function.param_names = Vec::new();
        }
        if rule.else_bodies.iter().flatten().all(|is_else| !is_else) {
            rule.else_bodies = Vec::new();
        }
        if rule.destructuring_blocks.iter().all(Option::is_none) {
            rule.destructuring_blocks = Vec::new();
        }
    }
}

impl fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySet")
            .field("entrypoint", &self.entrypoint)
            .field("sources", &self.names)
            .field("bytecode", &self.bytecode.is_some())
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
    /// Compiles `sources` with `data` and checks the set by evaluating `samples`.
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

        let mut hasher_input = String::new();
        for s in sources {
            hasher_input.push_str(&s.name);
            hasher_input.push('\0');
            hasher_input.push_str(&s.text);
            hasher_input.push('\0');
        }
        hasher_input.push_str(&canonical_json(data));
        let bytecode = if sources.iter().all(|s| s.shipped) {
            Bytecode::compile(&compiled, entrypoint, data)
        } else {
            None
        };
        let mut set = Self {
            compiled,
            bytecode: None,
            entrypoint: entrypoint.to_owned(),
            sha256: sha256_hex(hasher_input.as_bytes()),
            names: sources.iter().map(|s| s.name.clone()).collect(),
        };
        // The interpreter is the reference: the bytecode is kept only when it gives the same
        // answer on every sample.
        let mut agrees = bytecode.is_some();
        for sample in samples {
            let expected = set.evaluate(sample).map_err(|e| match e {
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
            if let Some(b) = &bytecode {
                let got = b
                    .eval(regorus::Value::from(sample.clone()))
                    .and_then(|v| serde_json::to_value(&v).ok());
                agrees &= got.as_ref() == Some(&expected);
            }
        }
        if agrees {
            set.bytecode = bytecode;
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
        let input = to_regorus(input);
        let fast = self.bytecode.as_ref().and_then(|b| b.eval(input.clone()));
        let out = match fast {
            Some(out) => out,
            None => self
                .compiled
                .eval_with_input(input)
                .map_err(|e| self.evaluation_error(&e.to_string()))?,
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{deep_merge, default_data, normalize};
    use crate::facts::Classifier;
    use crate::input::{History, build_input};
    use bighub_core::{ProposedAction, RiskLevel};

    const EXT: &str = r#"
        package bighub.ext
        import rego.v1
        findings contains {"rule": "no_argocd_sync", "mode": "review",
                           "reason": "Argo CD syncs wait.", "better_action": "diff first"} if {
            input.action.system == "argocd"
        }
        exempt contains "recent_failures" if input.action.actor == "break-glass"
        override := {"mode": "blocked", "reason": "maintenance"} if input.action.target == "frozen"
    "#;

    /// The default configuration plus a freeze window and a kill switch, or, with
    /// `variant`, lists changed through data (longer verb lists, other environments).
    fn config(variant: bool) -> Value {
        let mut data = default_data();
        deep_merge(
            &mut data,
            json!({"bighub": {"config": {
                "freeze_windows": [{"name": "year-end", "start": "2026-12-20T00:00:00Z",
                    "end": "2027-01-04T00:00:00Z", "environments": ["production"]}],
                "kill_switch": {"systems": ["jenkins"]}}}}),
        );
        if variant {
            deep_merge(
                &mut data,
                json!({"bighub": {"config": {
                    "max_privilege_duration": "4h",
                    "destructive_verbs": ["delete", "Force-Push", "roll_back", "nuke"],
                    "privilege_verbs": ["grant", "sudo", "Elevate"],
                    "read_only_verbs": ["get", "list", "watch"],
                    "identity_systems": ["okta", "ldap"],
                    "admin_group_patterns": ["ops", "root"],
                    "production_environments": ["live", "prod"],
                    "unknown_environments": ["unknown", "tbd"],
                    "failure_threshold": 2}}}),
            );
        }
        normalize(&mut data).unwrap();
        data
    }

    fn compile(policy: &str, data: &Value) -> PolicySet {
        let sources = [
            // Both as if shipped, so that the machine runs them and can be compared.
            Source {
                name: "default.rego".to_owned(),
                text: policy.to_owned(),
                shipped: true,
            },
            Source {
                name: "ext.rego".to_owned(),
                text: EXT.to_owned(),
                shipped: true,
            },
        ];
        PolicySet::compile(&sources, data, DEFAULT_ENTRYPOINT, &[]).unwrap()
    }

    /// Inputs across the default policy's rules, its configuration and extension points:
    /// names, systems, environments, risks, arguments, targets, actors, failures, times
    /// and declared requests.
    fn generated_inputs(classifier: &Classifier) -> Vec<Value> {
        let names = [
            "grant_access",
            "list_users",
            "delete_bucket",
            "forcePush",
            "force_push_main",
            "deploy_service",
            "assume_role",
            "get_status",
            "getAdminGroup",
            "add_user_to_group",
            "rollBack_release",
            "sudo",
            "watch_and_delete",
            "!!",
        ];
        let systems = [
            None,
            Some("okta"),
            Some("argocd"),
            Some("jenkins"),
            Some("aws"),
            Some("LDAP"),
        ];
        let envs = [
            None,
            Some("production"),
            Some("staging"),
            Some("unknown"),
            Some("Live"),
            Some("tbd"),
        ];
        let risks = [
            None,
            Some(RiskLevel::Low),
            Some(RiskLevel::Medium),
            Some(RiskLevel::High),
            Some(RiskLevel::Critical),
        ];
        let args = [
            json!({}),
            json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}),
            json!({"group": "okta-admins"}),
            json!({"role": "viewer", "ttl": "whenever"}),
            json!({"duration_hours": 1, "user": "bob"}),
            json!({"roles": ["DevOps", "reader"], "expires_in": "3h", "email": "c@x.io"}),
            json!({"permission_set": "Root-Access", "duration": "PT1H"}),
        ];
        let targets = [
            None,
            Some("frozen"),
            Some("okta-admins"),
            Some("Prod-DB"),
            Some("ops-root"),
        ];
        let declared = [
            None,
            Some("please grant alice access"),
            Some("clean up old logs"),
        ];
        let freeze = 1_798_000_000_000; // 2026-12-23, inside the window
        let mut out = Vec::new();
        let mut n: usize = 0;
        for name in names {
            for system in systems {
                for env in envs {
                    for risk in risks {
                        n += 1;
                        let mut a =
                            ProposedAction::new(name).arguments(args[n % args.len()].clone());
                        if let Some(s) = system {
                            a = a.system(s);
                        }
                        if let Some(e) = env {
                            a = a.environment(e);
                        }
                        if let Some(r) = risk {
                            a = a.risk(r);
                        }
                        if let Some(t) = targets[(n / 3) % targets.len()] {
                            a = a.target(t);
                        }
                        if n % 4 == 1 {
                            a = a.actor("break-glass");
                        }
                        if let Some(d) = declared[(n / 7) % declared.len()] {
                            a.context
                                .metadata
                                .insert("declared_request".into(), json!(d));
                        }
                        let history = History {
                            failures_24h: (n % 5) as u64,
                            ..History::default()
                        };
                        let now = if n.is_multiple_of(2) { freeze } else { 0 };
                        out.push(build_input(&a, history, now, classifier));
                    }
                }
            }
        }
        out
    }

    /// The bytecode answers exactly what the interpreter answers, across the default
    /// policy's rules, its configuration and its extension points.
    #[test]
    fn bytecode_and_interpreter_agree() {
        let data = config(false);
        let set = compile(DEFAULT_POLICY, &data);
        assert!(set.bytecode.is_some());
        let mut modes = std::collections::BTreeSet::new();
        let inputs = generated_inputs(&Classifier::from_data(&data));
        for input in &inputs {
            let fast = set.evaluate(input).unwrap();
            let slow = set
                .compiled
                .eval_with_input(regorus::Value::from(input.clone()))
                .unwrap();
            assert_eq!(fast, serde_json::to_value(&slow).unwrap(), "{input}");
            modes.insert(fast["mode"].as_str().unwrap().to_owned());
        }
        assert_eq!(inputs.len(), 14 * 6 * 6 * 5);
        assert_eq!(
            modes.len(),
            MODES.len(),
            "every mode is exercised: {modes:?}"
        );
    }

    /// The bytecode runs a program whose table of rules was slimmed ([`slim`]): `else`
    /// chains, functions with destructured parameters, partial rules, defaults and a package
    /// read whole answer exactly as the interpreter does.
    #[test]
    fn a_slimmed_program_answers_as_the_interpreter() {
        const POLICY: &str = r#"
            package t
            import rego.v1
            default tier := "none"
            tier := "big" if input.n > 10
            else := "mid" if input.n > 5
            else := "small" if input.n >= 0
            sum_pair([a, b]) := a + b
            clamp(x, lo, hi) := lo if x < lo
            else := hi if x > hi
            else := x
            labels contains l if {
                some l in input.labels
                l != ""
            }
            labels contains "many" if count(input.labels) > 2
            decision := {
                "mode": "autonomous",
                "reason": sprintf("%s %v %v", [tier, sum_pair([input.n, 1]), clamp(input.n, 0, 8)]),
                "labels": labels,
                "helpers": data.t.helpers,
            }
        "#;
        // Read whole, as a virtual document, through the program's tree of rules.
        const HELPERS: &str = r#"
            package t.helpers
            import rego.v1
            double := input.n * 2
            default sign := "zero"
            sign := "positive" if input.n > 0
            sign := "negative" if input.n < 0
        "#;
        let sources = [
            // As if shipped, so that the machine runs them.
            Source {
                name: "t.rego".to_owned(),
                text: POLICY.to_owned(),
                shipped: true,
            },
            Source {
                name: "helpers.rego".to_owned(),
                text: HELPERS.to_owned(),
                shipped: true,
            },
        ];
        let set = PolicySet::compile(&sources, &json!({}), "data.t.decision", &[]).unwrap();
        let bytecode = set.bytecode.as_ref().expect("the set runs as bytecode");
        let rules = &bytecode.program.rule_infos;
        assert!(rules.iter().all(|r| r.name.is_empty()));
        // The `else` markers stay where there are `else` bodies, and only there.
        assert!(rules.iter().any(|r| !r.else_bodies.is_empty()));
        assert!(rules.iter().any(|r| r.else_bodies.is_empty()));
        let mut answers = std::collections::BTreeSet::new();
        for n in [-3, 0, 3, 6, 9, 12] {
            for labels in [json!([]), json!(["a", ""]), json!(["a", "b", "c"])] {
                let input = json!({"n": n, "labels": labels});
                let fast = bytecode
                    .eval(to_regorus(&input))
                    .expect("the bytecode answers");
                let slow = set
                    .compiled
                    .eval_with_input(regorus::Value::from(input.clone()))
                    .unwrap();
                assert_eq!(fast, slow, "{input}");
                answers.insert(serde_json::to_string(&fast).unwrap());
            }
        }
        // Every branch of the chains and of the partial rule was taken somewhere.
        assert_eq!(answers.len(), 18, "{answers:#?}");
        assert!(answers.iter().all(|a| a.contains(r#""double":"#)));
        assert!(answers.iter().any(|a| a.contains(r#""sign":"negative""#)));
    }

    /// The policy as it was before the engine computed `input.derived.facts` and worded
    /// the explanations: it scans the configuration's lists itself and answers every field.
    /// The current one, completed by the engine, must give exactly the same documents.
    const PREVIOUS_POLICY: &str = include_str!("previous_policy.rego");

    /// The answer as the engine completes it (`answer.rs`).
    fn completed(set: &PolicySet, input: &Value, classifier: &Classifier) -> Value {
        let mut answer = set.evaluate(input).unwrap();
        let obj = answer.as_object_mut().unwrap();
        let mode = obj["mode"].as_str().unwrap().to_owned();
        crate::answer::complete(obj, &mode, input, classifier);
        answer
    }

    /// The current default policy, completed by the engine, decides exactly as the previous
    /// one (mode, risk, reason, better action, factors, action space and explanations), with
    /// the default and a changed configuration.
    #[test]
    fn the_policy_answers_as_the_previous_one() {
        for variant in [false, true] {
            let data = config(variant);
            let new = compile(DEFAULT_POLICY, &data);
            let old = compile(PREVIOUS_POLICY, &data);
            let classifier = Classifier::from_data(&data);
            let mut rules = std::collections::BTreeSet::new();
            for input in generated_inputs(&classifier) {
                let got = completed(&new, &input, &classifier);
                let expected = completed(&old, &input, &classifier);
                // Same documents, key order aside.
                assert_eq!(canonical_json(&got), canonical_json(&expected), "{input}");
                for r in got["rules_fired"].as_array().unwrap() {
                    rules.insert(r.as_str().unwrap().to_owned());
                }
            }
            // Every built-in rule (and the extension's) fired somewhere.
            assert_eq!(rules.len(), 11, "variant {variant}: rules fired {rules:?}");
        }
    }
}
