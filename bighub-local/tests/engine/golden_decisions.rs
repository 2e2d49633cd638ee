//! Golden decisions: the default policy's answer for each case in `tests/golden/`.
//!
//! Each file is one case: a proposed action (`action`, as `ProposedAction` serializes), and
//! optionally the configuration merged into `data.bighub.config` (`config`), an extension in
//! package `bighub.ext` (`policy`), the store's history of the action (`history`, as
//! `PreviewHistory` reads it), the time (`now`, RFC 3339; a fixed default otherwise), and
//! what the decision is made on besides: the context providers' documents (`context`, the
//! `input.context` map given directly, each entry's `data` in its normalized shape), the
//! providers that failed (`context_failed`) and the security evidence (`evidence`, as
//! `input.evidence`).
//! `expected` is the decision, read from the typed `Decision`: mode, reason, better action,
//! risk, the salient factors' names, the responsible action space, the rules that fired,
//! decided and were exempted, whether an override decided, and the action's family.
//!
//! A case whose decision differs fails with both shown. To record the current decisions
//! (after a deliberate change of the policy, or for a new case written without
//! `expected`), run with `GOLDEN=overwrite` and review the diff:
//!
//! ```text
//! GOLDEN=overwrite cargo test -p bighub-local --test engine golden_decisions::
//! ```

use std::path::{Path, PathBuf};

use bighub_core::decision::ResponsibleActionSpace;
use bighub_core::{Decision, Mode, ProposedAction};
use bighub_local::clock::parse_timestamp;
use bighub_local::{DecisionExtras, LocalEngine, PreviewHistory};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// When a case gives no `now`: outside every freeze window the cases configure.
const DEFAULT_NOW: &str = "2026-06-01T12:00:00Z";

/// One case's inputs.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the case shows, for a reader of the file.
    #[allow(dead_code)]
    about: String,
    action: ProposedAction,
    #[serde(default)]
    config: Option<Value>,
    #[serde(default)]
    policy: Option<String>,
    #[serde(default)]
    history: PreviewHistory,
    #[serde(default)]
    now: Option<String>,
    #[serde(default)]
    context: Map<String, Value>,
    #[serde(default)]
    context_failed: Vec<String>,
    #[serde(default)]
    evidence: Option<Value>,
    /// Read on its own, so that a run recording the decisions also rewrites one recorded in
    /// an older shape.
    #[serde(default)]
    expected: Option<Value>,
}

/// What a case pins, from the typed decision.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    mode: Mode,
    reason: String,
    better_action: Option<String>,
    risk: f64,
    salient_factors: Vec<String>,
    responsible_action_space: ResponsibleActionSpace,
    rules_fired: Vec<String>,
    deciding_rules: Vec<String>,
    exempted_rules: Vec<String>,
    overridden: bool,
    action_family: String,
}

impl Expected {
    fn of(decision: &Decision) -> Self {
        let brain = decision
            .decision_brain()
            .expect("a local decision has a brain");
        let names = |key: &str| -> Vec<String> {
            serde_json::from_value(brain[key].clone())
                .unwrap_or_else(|e| panic!("decision_brain.{key} is a list of names: {e}"))
        };
        Self {
            mode: decision.mode.expect("a mode"),
            reason: decision.reason.clone().expect("a reason"),
            better_action: decision.better_action.clone(),
            risk: decision.risk.expect("a risk"),
            salient_factors: decision
                .salient_factors
                .iter()
                .map(|f| f.factor.clone().expect("a factor's name"))
                .collect(),
            responsible_action_space: decision.responsible_action_space.clone(),
            rules_fired: names("rules_fired"),
            deciding_rules: names("deciding_rules"),
            exempted_rules: names("exempted_rules"),
            overridden: brain["overridden"] == true,
            action_family: decision
                .action_interpretation_layer
                .as_ref()
                .and_then(|l| l.action_family.clone())
                .expect("an action family"),
        }
    }
}

fn decide(case: &Case) -> Decision {
    let mut builder = LocalEngine::builder().in_memory();
    if let Some(config) = &case.config {
        builder = builder.config(config.clone());
    }
    if let Some(policy) = &case.policy {
        builder = builder.policy("ext.rego", policy.clone());
    }
    let engine = builder.build().expect("the case's policy builds");
    let now = case.now.as_deref().unwrap_or(DEFAULT_NOW);
    let now_ms = parse_timestamp(now).expect("`now` is RFC 3339") * 1000;
    let extras = DecisionExtras {
        context: case.context.clone(),
        context_failed: case.context_failed.clone(),
        evidence: case.evidence.clone(),
    };
    engine
        .preview_with(&case.action, &case.history, &extras, Some(now_ms))
        .expect("decides")
}

fn case_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/golden exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Writes `expected` into the case file, keeping its inputs as written.
fn overwrite(path: &Path, text: &str, expected: &Expected) {
    let mut doc: Value = serde_json::from_str(text).expect("the case is JSON");
    doc["expected"] = serde_json::to_value(expected).expect("serializes");
    let mut out = serde_json::to_string_pretty(&doc).expect("serializes");
    out.push('\n');
    std::fs::write(path, out).expect("writes the case");
}

/// Whether this run records the decisions (`GOLDEN=overwrite`) rather than checking them.
fn recording() -> bool {
    std::env::var("GOLDEN").is_ok_and(|v| v == "overwrite")
}

#[test]
fn every_golden_case_decides_as_recorded() {
    let record = recording();
    let files = case_files();
    assert!(!files.is_empty(), "no cases in tests/golden");
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).expect("reads the case");
        let case: Case = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not a case: {e}", path.display()));
        let got = Expected::of(&decide(&case));
        let expected = case.expected.map(serde_json::from_value::<Expected>);
        if record {
            if !matches!(&expected, Some(Ok(e)) if *e == got) {
                overwrite(path, &text, &got);
            }
            continue;
        }
        match expected {
            Some(Ok(expected)) if expected == got => {}
            Some(Ok(expected)) => failures.push(format!(
                "{name}: the decision changed\nexpected: {expected:#?}\n     got: {got:#?}"
            )),
            Some(Err(e)) => failures.push(format!(
                "{name}: `expected` is not a decision as this test records it ({e}); run with \
                 GOLDEN=overwrite to record it again"
            )),
            None => failures.push(format!(
                "{name}: no `expected` decision; run with GOLDEN=overwrite to record it"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every rule of the default policy decides at least one case, and every mode is reached.
#[test]
fn the_golden_cases_cover_every_rule_and_mode() {
    if recording() {
        // The files are being rewritten by the other test.
        return;
    }
    let mut rules = std::collections::BTreeSet::new();
    let mut modes = std::collections::BTreeSet::new();
    for path in case_files() {
        let case: Case = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if let Some(Ok(expected)) = case.expected.map(serde_json::from_value::<Expected>) {
            rules.extend(expected.rules_fired);
            modes.insert(expected.mode.as_str());
        }
    }
    for rule in [
        "read_only",
        "risk_tier",
        "destructive_in_production",
        "privilege_duration",
        "unbounded_privilege",
        "unreadable_duration",
        "missing_environment",
        "change_freeze",
        "kill_switch",
        "recent_failures",
        "active_incident",
        "freeze_window",
        "argocd_deny_window",
        "statuspage_degraded",
        "context_missing",
        "critical_fixable",
        "high_findings",
        "scan_missing",
        "scan_stale",
        "scan_digest_mismatch",
        "scan_clean",
        "rate_limit",
        "requires_prior",
    ] {
        assert!(rules.contains(rule), "no golden case fires {rule}");
    }
    assert_eq!(
        modes.into_iter().collect::<Vec<_>>(),
        [
            "autonomous",
            "blocked",
            "constrained",
            "needs_context",
            "review"
        ]
    );
}

/// A `constrained` decision of the default policy says what constrains the call: each one
/// lists, under `responsible_action_space.constrained`, the call's action with the
/// constraints it runs within.
#[test]
fn every_constrained_golden_decision_lists_its_constraints() {
    if recording() {
        return;
    }
    let mut seen = 0;
    for path in case_files() {
        let case: Case = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // A case with its own policy decides with rules of its own, not the default ones.
        if case.policy.is_some() {
            continue;
        }
        let decision = decide(&case);
        if decision.mode != Some(Mode::Constrained) {
            continue;
        }
        seen += 1;
        let entries = &decision.responsible_action_space.constrained;
        let own = entries
            .iter()
            .find(|entry| entry.get("action") == Some(&Value::from(case.action.action.clone())))
            .unwrap_or_else(|| panic!("{}: no constrained entry for the call", path.display()));
        let constraints = own["constraints"]
            .as_array()
            .expect("a list of constraints");
        assert!(
            !constraints.is_empty() && constraints.iter().all(Value::is_string),
            "{}: {constraints:?}",
            path.display()
        );
        assert!(
            constraints.iter().any(|c| c
                .as_str()
                .is_some_and(|c| c.starts_with("environment = ") || c == "no production")),
            "{}: the environment is not constrained: {constraints:?}",
            path.display()
        );
    }
    assert!(seen >= 3, "only {seen} constrained golden cases");
}
