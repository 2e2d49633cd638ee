//! User policies: errors at build with file and line, extending and overriding the default.

use std::io::Write;

use bighub_core::{Mode, ProposedAction, RiskLevel};
use bighub_local::LocalEngine;
use bighub_local::LocalError;
use serde_json::json;

fn deploy() -> ProposedAction {
    ProposedAction::new("deploy_service")
        .system("argocd")
        .risk(RiskLevel::Low)
        .environment("staging")
        .actor("ops-agent")
        .target("payments")
}

#[test]
fn a_syntax_error_is_rejected_at_build_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.rego");
    let mut f = std::fs::File::create(&path).unwrap();
    // Line 5 is the broken one.
    write!(
        f,
        "package bighub.ext\nimport rego.v1\n\nfindings contains f if {{\n    f := {{\"rule\": \n}}\n"
    )
    .unwrap();
    let err = LocalEngine::builder()
        .in_memory()
        .policy_file(&path)
        .build()
        .unwrap_err();
    let LocalError::Policy { file, message } = &err else {
        panic!("expected a policy error, got {err}");
    };
    assert_eq!(file, &path.display().to_string());
    let text = err.to_string();
    assert!(text.contains(&format!("{}:", path.display())), "{text}");
    assert!(
        message.contains(":5:") || message.contains(":6:"),
        "no line in: {message}"
    );
}

#[test]
fn an_inline_policy_error_names_the_given_name() {
    let err = LocalEngine::builder()
        .in_memory()
        .policy(
            "team/rules.rego",
            "package bighub.ext\nimport rego.v1\nx := \n",
        )
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("team/rules.rego:"), "{err}");
}

#[test]
fn a_policy_that_fails_at_evaluation_is_rejected_at_build() {
    // Two complete definitions with different values conflict on every input.
    let err = LocalEngine::builder()
        .in_memory()
        .policy(
            "conflict.rego",
            "package bighub.ext\nimport rego.v1\noverride := {\"mode\": \"review\"} if true\noverride := {\"mode\": \"blocked\"} if true\n",
        )
        .build()
        .unwrap_err();
    let LocalError::Policy { file, message } = &err else {
        panic!("expected a policy error, got {err}");
    };
    assert_eq!(file, "conflict.rego");
    assert!(message.contains("data.bighub.ext.override"), "{message}");
}

/// Two complete definitions of `override` that conflict only for the payments service:
/// the engine builds (no sample input is about payments), and only those calls fail.
/// Either definition would block; dropping the rule would let the deploy run.
const PAYMENTS_CONFLICT: &str = r#"package bighub.ext
import rego.v1

override := {"mode": "blocked", "reason": "Payments is frozen."} if input.action.target == "payments"

override := {"mode": "blocked", "reason": "Payments is in maintenance."} if input.action.target == "payments"
"#;

/// `PAYMENTS_CONFLICT` in a file of its own, and an engine that loads it.
fn payments_conflict(dir: &std::path::Path) -> (std::path::PathBuf, LocalEngine) {
    let path = dir.join("payments.rego");
    std::fs::write(&path, PAYMENTS_CONFLICT).unwrap();
    let engine = LocalEngine::builder()
        .in_memory()
        .policy_file(&path)
        .build()
        .unwrap();
    (path, engine)
}

#[test]
fn a_user_rule_that_errors_fails_closed_naming_file_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let (path, engine) = payments_conflict(dir.path());
    let err = engine.decide(&deploy()).unwrap_err();
    let text = err.to_string();
    let LocalError::PolicyEvaluation {
        file,
        rule,
        message,
    } = &err
    else {
        panic!("expected an evaluation error, got {err}");
    };
    assert_eq!(file, &path.display().to_string());
    assert_eq!(rule, "data.bighub.ext.override");
    // The second definition, on line 6, is the one that conflicts.
    assert!(
        message.starts_with(&format!("{}:6:", path.display())),
        "{message}"
    );
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("data.bighub.ext.override"), "{text}");
    assert!(text.contains("blocked"), "{text}");

    // What the runtime gets from the engine: an engine error with the same text, which
    // its fail mode turns into a block.
    let core = bighub_core::Error::from(err);
    assert!(
        matches!(&core, bighub_core::Error::Engine(t) if *t == text),
        "{core:?}"
    );
    let via_trait = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(bighub_core::DecisionEngine::evaluate(&engine, &deploy()))
        .unwrap_err();
    assert!(
        matches!(&via_trait, bighub_core::Error::Engine(t) if t.contains("data.bighub.ext.override")),
        "{via_trait:?}"
    );

    // A what-if evaluation (policy tests) fails the same way.
    let err = engine
        .preview(&deploy(), &Default::default(), None)
        .unwrap_err();
    assert!(
        matches!(err, LocalError::PolicyEvaluation { ref rule, .. } if rule == "data.bighub.ext.override"),
        "{err}"
    );
}

#[test]
fn a_call_whose_policy_errors_leaves_no_decision_or_approval_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let (_, engine) = payments_conflict(dir.path());
    // A review-worthy call, so that a decision made anyway would also leave an approval.
    let risky = deploy().risk(RiskLevel::High).environment("production");
    assert!(engine.decide(&risky).is_err());
    assert!(engine.decide(&deploy()).is_err());
    assert_eq!(engine.recent_decisions(10).unwrap(), vec![]);
    assert_eq!(engine.pending_approvals().unwrap(), vec![]);
}

#[test]
fn an_input_that_does_not_trigger_the_error_still_decides_normally() {
    let dir = tempfile::tempdir().unwrap();
    let (_, engine) = payments_conflict(dir.path());
    assert!(engine.decide(&deploy()).is_err());
    let search = deploy().target("search");
    let d = engine.decide(&search).unwrap();
    assert_eq!(d.mode, Some(Mode::Autonomous));
    let stored = engine.recent_decisions(10).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].target, "search");
    assert_eq!(stored[0].request_id, d.request_id.as_deref().unwrap());
}

#[test]
fn a_user_finding_whose_builtin_call_fails_blocks_the_call_instead_of_being_skipped() {
    // The target comes from the model; a target that is not a number makes `to_number`
    // fail, and the finding that would have blocked must not silently disappear.
    let engine = LocalEngine::builder()
        .in_memory()
        .policy(
            "team/quota.rego",
            r#"package bighub.ext
import rego.v1

findings contains {"rule": "quota", "mode": "blocked", "reason": "Over quota."} if {
    input.action.system == "argocd"
    to_number(input.action.target) > 100
}
"#,
        )
        .build()
        .unwrap();
    assert_eq!(
        engine.decide(&deploy().target("500")).unwrap().mode,
        Some(Mode::Blocked)
    );
    let err = engine.decide(&deploy()).unwrap_err();
    assert!(
        matches!(
            &err,
            LocalError::PolicyEvaluation { file, rule, message }
                if file == "team/quota.rego"
                    && rule == "data.bighub.ext.findings"
                    && message.starts_with("team/quota.rego:6:")
        ),
        "{err}"
    );
    assert_eq!(engine.recent_decisions(10).unwrap().len(), 1);
}

#[test]
fn a_replacement_policy_rule_that_errors_fails_closed() {
    // The entry point reads a helper that conflicts for one actor.
    let engine = acme(
        r#"package acme
import rego.v1

default tier := "low"
tier := "low" if input.action.actor == "ops-agent"
tier := "high" if input.action.actor == "ops-agent"

default decide := {"mode": "blocked", "reason": "unknown tier"}
decide := {"mode": "autonomous", "reason": "low tier"} if tier == "low"
"#,
    )
    .unwrap();
    assert_eq!(
        engine.decide(&deploy().actor("other")).unwrap().mode,
        Some(Mode::Autonomous)
    );
    let err = engine.decide(&deploy()).unwrap_err();
    assert!(
        matches!(&err, LocalError::PolicyEvaluation { file, rule, .. }
            if file == "acme.rego" && rule == "data.acme.tier"),
        "{err}"
    );
}

/// The modes a policy may answer, as the build errors list them.
const VALID_MODES: &str = "autonomous, constrained, review, needs_context, blocked";

/// The message of the policy error `err` is, for `file`.
fn policy_message(err: &LocalError, file: &str) -> String {
    match err {
        LocalError::Policy { file: f, message } if f == file => message.clone(),
        other => panic!("expected a policy error in {file}, got {other}"),
    }
}

#[test]
fn a_finding_with_an_unknown_literal_mode_is_rejected_at_build_even_if_it_never_fires() {
    // No input ever reaches this finding, so only reading the policy finds the mistake.
    let err = LocalEngine::builder()
        .in_memory()
        .policy(
            "bad_mode.rego",
            "package bighub.ext\nimport rego.v1\n\nfindings contains {\"rule\": \"x\", \"mode\": \"block\", \"reason\": \"r\"} if false\n",
        )
        .build()
        .unwrap_err();
    assert_eq!(
        policy_message(&err, "bad_mode.rego"),
        format!(
            "bad_mode.rego:4:42: \"block\" is not a mode: a finding, an override or an answer \
             has one of the modes {VALID_MODES}"
        )
    );
    assert_eq!(
        err.to_string(),
        format!(
            "policy error in bad_mode.rego: bad_mode.rego:4:42: \"block\" is not a mode: a \
             finding, an override or an answer has one of the modes {VALID_MODES}"
        )
    );
}

#[test]
fn a_literal_mode_is_checked_wherever_the_object_is_written() {
    // In a rule body, in an override, and in a replacement policy's answer.
    let body = r#"package bighub.ext
import rego.v1

findings contains f if {
    input.action.system == "okta"
    f := {"rule": "okta", "reason": "Okta waits.", "mode": "Review"}
}
"#;
    let err = LocalEngine::builder()
        .in_memory()
        .policy("body.rego", body)
        .build()
        .unwrap_err();
    assert!(
        policy_message(&err, "body.rego").starts_with("body.rego:6:61: \"Review\" is not a mode"),
        "{err}"
    );

    let err = LocalEngine::builder()
        .in_memory()
        .policy(
            "override.rego",
            "package bighub.ext\nimport rego.v1\noverride := {\"mode\": \"deny\", \"reason\": \"no\"} if input.action.target == \"x\"\n",
        )
        .build()
        .unwrap_err();
    assert!(
        policy_message(&err, "override.rego").contains("\"deny\" is not a mode"),
        "{err}"
    );

    let err = acme(
        "package acme\nimport rego.v1\ndefault decide := {\"mode\": \"review\"}\ndecide := {\"mode\": \"allow\"} if input.action.actor == \"root\"\n",
    )
    .unwrap_err();
    assert!(
        policy_message(&err, "acme.rego").starts_with("acme.rego:4:21: \"allow\" is not a mode"),
        "{err}"
    );
}

#[test]
fn a_computed_mode_that_is_not_a_mode_fails_the_call_that_computes_it() {
    // Not a literal, and no sample input reaches it: the build cannot see it, so the call
    // that makes the finding fails, showing the finding, and nothing is recorded.
    let engine = LocalEngine::builder()
        .in_memory()
        .policy(
            "computed.rego",
            r#"package bighub.ext
import rego.v1

findings contains {"rule": "computed", "mode": concat("", ["blo", "ck"]), "reason": "r"} if {
    input.action.target == "payments"
}
"#,
        )
        .build()
        .unwrap();
    let err = engine.decide(&deploy()).unwrap_err();
    assert!(
        matches!(&err, LocalError::InvalidDecision(m) if m.contains(r#""mode":"block""#) && m.contains(r#""rule":"computed""#)),
        "{err}"
    );
    assert_eq!(engine.recent_decisions(10).unwrap(), vec![]);
    assert_eq!(
        engine.decide(&deploy().target("search")).unwrap().mode,
        Some(Mode::Autonomous)
    );
}

#[test]
fn a_file_in_a_package_the_policy_never_reads_is_rejected_at_build() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("team.rego");
    std::fs::write(
        &path,
        "package bighub.extension\nimport rego.v1\n\nfindings contains {\"rule\": \"t\", \"mode\": \"review\", \"reason\": \"r\"} if true\n",
    )
    .unwrap();
    let err = LocalEngine::builder()
        .in_memory()
        .policy_file(&path)
        .build()
        .unwrap_err();
    let file = path.display().to_string();
    assert_eq!(
        policy_message(&err, &file),
        format!(
            "{file}:1:1: package bighub.extension is never read: from its entry point \
             data.bighub.policy.decision the policy set reads only the packages bighub.ext, \
             bighub.policy"
        )
    );
}

#[test]
fn the_packages_read_are_listed_and_a_subpackage_is_not_read_unless_referred_to() {
    let ext = "package bighub.ext\nimport rego.v1\nexempt contains \"risk_tier\" if input.action.actor == \"root\"\n";
    let helpers = "package bighub.ext.helpers\nimport rego.v1\nis_payments if input.action.target == \"payments\"\n";
    let err = LocalEngine::builder()
        .in_memory()
        .policy("ext.rego", ext)
        .policy("helpers.rego", helpers)
        .build()
        .unwrap_err();
    assert_eq!(
        policy_message(&err, "helpers.rego"),
        "helpers.rego:1:1: package bighub.ext.helpers is never read: from its entry point \
         data.bighub.policy.decision the policy set reads only the packages bighub.ext, \
         bighub.policy"
    );
}

#[test]
fn helper_packages_that_a_read_package_imports_or_refers_to_are_read() {
    let imported = r#"package bighub.ext
import rego.v1
import data.team.lib

findings contains {"rule": "payments", "mode": "review", "reason": "Payments wait."} if {
    lib.is_payments
}
"#;
    let referred = r#"package bighub.ext
import rego.v1

exempt contains "risk_tier" if data.team.people.is_oncall(input.action.actor)
"#;
    let engine = LocalEngine::builder()
        .in_memory()
        .policy("ext.rego", imported)
        .policy("ext_exempt.rego", referred)
        .policy(
            "lib.rego",
            "package team.lib\nimport rego.v1\nis_payments if input.action.target == \"payments\"\n",
        )
        .policy(
            "people.rego",
            "package team.people\nimport rego.v1\nis_oncall(actor) if actor == \"ops-agent\"\n",
        )
        .build()
        .unwrap();
    let decision = engine.decide(&deploy()).unwrap();
    assert_eq!(decision.mode, Some(Mode::Review));
    assert_eq!(
        decision.decision_brain().unwrap()["exempted_rules"],
        json!(["risk_tier"])
    );
}

#[test]
fn a_replacement_policy_reads_its_own_package_and_what_it_refers_to() {
    let engine = LocalEngine::builder()
        .in_memory()
        .without_default_policy()
        .entrypoint("data.acme.decide")
        .policy(
            "acme.rego",
            "package acme\nimport rego.v1\ndefault decide := {\"mode\": \"review\", \"reason\": \"r\"}\ndecide := data.acme.tiers.low if input.action.risk == \"low\"\n",
        )
        .policy(
            "tiers.rego",
            "package acme.tiers\nimport rego.v1\nlow := {\"mode\": \"autonomous\", \"reason\": \"low\"}\n",
        )
        .build()
        .unwrap();
    assert_eq!(
        engine.decide(&deploy()).unwrap().mode,
        Some(Mode::Autonomous)
    );

    let err = LocalEngine::builder()
        .in_memory()
        .without_default_policy()
        .entrypoint("data.acme.decide")
        .policy(
            "acme.rego",
            "package acme\nimport rego.v1\ndefault decide := {\"mode\": \"review\", \"reason\": \"r\"}\n",
        )
        .policy("stray.rego", "package bighub.ext\nimport rego.v1\nexempt contains \"x\"\n")
        .build()
        .unwrap_err();
    assert_eq!(
        policy_message(&err, "stray.rego"),
        "stray.rego:1:1: package bighub.ext is never read: from its entry point \
         data.acme.decide the policy set reads only the package acme"
    );
}

#[test]
fn a_missing_policy_path_is_reported() {
    let err = LocalEngine::builder()
        .in_memory()
        .policy_file("/nonexistent/bighub/policies")
        .build()
        .unwrap_err();
    assert!(matches!(err, LocalError::PolicyPath { .. }), "{err}");
}

#[test]
fn bad_configuration_is_reported_at_build_naming_the_key() {
    let err = LocalEngine::builder()
        .in_memory()
        .config(json!({"max_privilege_duration": "a while"}))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("max_privilege_duration"), "{err}");
}

#[test]
fn user_findings_extend_the_default_policy() {
    let engine = LocalEngine::builder()
        .in_memory()
        .policy(
            "payments.rego",
            r#"
package bighub.ext
import rego.v1

findings contains {
    "rule": "payments_need_review",
    "mode": "review",
    "reason": "Payments deploys need a second pair of eyes.",
    "factor": {"factor": "payments", "severity": "warning", "reason": "payments service"},
} if input.action.target == "payments"
"#,
        )
        .build()
        .unwrap();
    let d = engine.decide(&deploy()).unwrap();
    assert_eq!(d.mode, Some(Mode::Review));
    assert_eq!(
        d.decision_brain().unwrap()["deciding_rules"],
        json!(["payments_need_review"])
    );
    assert!(
        d.salient_factors
            .iter()
            .any(|f| f.factor.as_deref() == Some("payments"))
    );
    // The built-in rules still apply elsewhere.
    assert_eq!(
        engine.decide(&deploy().target("search")).unwrap().mode,
        Some(Mode::Autonomous)
    );
}

#[test]
fn exemptions_switch_built_in_rules_off() {
    let engine = LocalEngine::builder()
        .in_memory()
        .policy(
            "break_glass.rego",
            r#"
package bighub.ext
import rego.v1

exempt contains "privilege_duration" if input.action.actor == "break-glass"
"#,
        )
        .build()
        .unwrap();
    let grant = ProposedAction::new("grant_access")
        .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
        .system("okta")
        .risk(RiskLevel::High)
        .environment("staging")
        .target("okta-admins");
    assert_eq!(
        engine
            .decide(&grant.clone().actor("ops-agent"))
            .unwrap()
            .mode,
        Some(Mode::Review)
    );
    let d = engine.decide(&grant.actor("break-glass")).unwrap();
    assert_eq!(d.mode, Some(Mode::Constrained));
    assert_eq!(
        d.decision_brain().unwrap()["exempted_rules"],
        json!(["privilege_duration"])
    );
}

#[test]
fn an_override_replaces_the_decision() {
    let engine = LocalEngine::builder()
        .in_memory()
        .policy(
            "maintenance.rego",
            r#"
package bighub.ext
import rego.v1

override := {"mode": "blocked", "reason": "ArgoCD is in maintenance."} if input.action.system == "argocd"
"#,
        )
        .build()
        .unwrap();
    let d = engine.decide(&deploy()).unwrap();
    assert_eq!(d.mode, Some(Mode::Blocked));
    assert_eq!(d.reason.as_deref(), Some("ArgoCD is in maintenance."));
    assert_eq!(d.decision_brain().unwrap()["overridden"], true);
    let other = deploy().system("terraform");
    assert_eq!(engine.decide(&other).unwrap().mode, Some(Mode::Autonomous));
}

#[test]
fn a_policy_directory_brings_rego_and_json_data() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"bighub": {"config": {"production_environments": ["production", "staging"]}}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("ext.rego"),
        "package bighub.ext\nimport rego.v1\nfindings contains {\"rule\": \"team\", \"mode\": \"constrained\", \"reason\": \"team rule\"} if input.action.system == \"argocd\"\n",
    )
    .unwrap();
    let engine = LocalEngine::builder()
        .in_memory()
        .policy_file(dir.path())
        .build()
        .unwrap();
    assert_eq!(engine.policy_sources().len(), 2);
    // Staging is now production: a medium-risk change there is constrained.
    let d = engine
        .decide(&deploy().risk(RiskLevel::Medium).system("k8s"))
        .unwrap();
    assert_eq!(d.mode, Some(Mode::Constrained));
    assert_eq!(
        engine.decide(&deploy()).unwrap().decision_brain().unwrap()["deciding_rules"],
        json!(["team"])
    );
}

/// An engine with only `rego` (package `acme`), answering `data.acme.decide`.
fn acme(rego: &str) -> Result<LocalEngine, LocalError> {
    LocalEngine::builder()
        .in_memory()
        .without_default_policy()
        .entrypoint("data.acme.decide")
        .policy("acme.rego", rego)
        .build()
}

#[test]
fn a_replacement_policy_with_its_own_entrypoint() {
    let engine = acme(
        "package acme\nimport rego.v1\ndefault decide := {\"mode\": \"review\", \"reason\": \"acme reviews everything\"}\n",
    )
    .unwrap();
    let d = engine.decide(&deploy()).unwrap();
    assert_eq!(d.mode, Some(Mode::Review));
    assert_eq!(d.reason.as_deref(), Some("acme reviews everything"));
    assert_eq!(d.requires_approval, Some(true));
    // An undefined answer is a build error, not a silent allow.
    let err =
        acme("package acme\nimport rego.v1\ndecide := {\"mode\": \"review\"} if input.nothing\n")
            .unwrap_err();
    assert!(matches!(err, LocalError::InvalidDecision(_)), "{err}");
}

/// A replacement policy that answers its findings and the action's family gets the same
/// explanations the default policy's decisions carry, worded by the engine; what it answers
/// itself is kept.
#[test]
fn a_replacement_policy_may_leave_the_explanations_to_the_engine() {
    let engine = acme(
        r#"package acme
import rego.v1
findings contains {"rule": "acme_deploys", "mode": "constrained", "reason": "Deploys run canaried.",
    "factor": {"factor": "acme_deploys", "severity": "info", "reason": "deploy"},
    "action_space": {"constrained": [{"action": input.action.name, "constraints": ["canary=true"]}]}}
decide := {
    "mode": "constrained",
    "reason": "Deploys run canaried.",
    "findings": [f | some f in findings],
    "action_family": "change",
    "agent_operational_body": {"can_touch": ["acme-cluster"]},
}
"#,
    )
    .unwrap();
    let d = engine.decide(&deploy()).unwrap();
    assert_eq!(d.mode, Some(Mode::Constrained));
    // What the engine used up is not in the answer.
    assert!(d.raw.get("findings").is_none() && d.raw.get("action_family").is_none());
    assert_eq!(d.salient_factors[0].factor.as_deref(), Some("acme_deploys"));
    assert_eq!(
        d.decision_brain().unwrap()["rules_fired"],
        json!(["acme_deploys"])
    );
    let space = &d.responsible_action_space;
    // The call itself may run (constrained), then the finding's options.
    assert_eq!(space.available[0]["action"], "deploy_service");
    assert_eq!(space.constrained[0]["constraints"], json!(["canary=true"]));
    assert_eq!(
        d.operational_intent.as_ref().unwrap().inferred.as_deref(),
        Some("change: deploy_service on payments")
    );
    assert_eq!(
        d.action_interpretation_layer
            .as_ref()
            .unwrap()
            .interpreted_action
            .as_deref(),
        Some("change on payments in staging")
    );
    // Answered by the policy, so kept.
    let body = d.agent_operational_body.as_ref().unwrap();
    assert_eq!(body.can_touch, ["acme-cluster"]);
    assert!(body.can_verify.is_empty() && body.requires_human.is_empty());
    assert_eq!(d.salient_factors.len(), 1);
}

#[test]
fn a_user_rule_gives_the_decision_its_own_reason_better_action_and_action_space() {
    let engine = LocalEngine::builder()
        .in_memory()
        .policy(
            "canary.rego",
            r#"
package bighub.ext
import rego.v1

findings contains {
    "rule": "payments_canary_first",
    "mode": "review",
    "reason": sprintf("Payments rolls out to a canary before %s.", [input.action.environment]),
    "better_action": sprintf("Deploy %s to the canary ring first", [input.action.target]),
    "factor": {"factor": "no_canary", "severity": "warning", "reason": "no canary stage"},
    "action_space": {
        "constrained": [{"action": "deploy_service", "constraints": ["ring=canary"]}],
        "information_gathering": [{"action": "canary_status", "description": "Read the canary's health"}],
    },
} if input.action.target == "payments"
"#,
        )
        .build()
        .unwrap();
    let d = engine.decide(&deploy()).unwrap();
    assert_eq!(d.mode, Some(Mode::Review));
    assert_eq!(
        d.reason.as_deref(),
        Some("Payments rolls out to a canary before staging.")
    );
    assert_eq!(
        d.better_action.as_deref(),
        Some("Deploy payments to the canary ring first")
    );
    let factor = d
        .salient_factors
        .iter()
        .find(|f| f.factor.as_deref() == Some("no_canary"))
        .expect("the rule's factor is listed");
    assert_eq!(factor.reason.as_deref(), Some("no canary stage"));
    let space = &d.responsible_action_space;
    assert_eq!(space.constrained[0]["constraints"], json!(["ring=canary"]));
    assert_eq!(space.information_gathering[0]["action"], "canary_status");
    assert_eq!(
        d.decision_brain().unwrap()["deciding_rules"],
        json!(["payments_canary_first"])
    );
}

#[test]
fn a_user_rule_may_build_on_the_default_policys_classification() {
    // `is_read_only`, `destructive`, `privilege_escalation`, ... are rules of the default
    // policy, so a user's rule reads the same classification the built-in rules use.
    let engine = LocalEngine::builder()
        .in_memory()
        .policy(
            "escalations.rego",
            r#"
package bighub.ext
import rego.v1

findings contains {"rule": "escalations_logged", "mode": "review",
                   "reason": "Every escalation is reviewed here."} if {
    data.bighub.policy.privilege_escalation
}
"#,
        )
        .build()
        .unwrap();
    let grant = ProposedAction::new("grant_access")
        .system("okta")
        .risk(RiskLevel::Low)
        .environment("staging")
        .arguments(json!({"group": "readers", "duration": "1h"}));
    let d = engine.decide(&grant).unwrap();
    assert_eq!(d.mode, Some(Mode::Review));
    assert_eq!(
        d.reason.as_deref(),
        Some("Every escalation is reviewed here.")
    );
    assert_eq!(
        engine.decide(&deploy()).unwrap().mode,
        Some(Mode::Autonomous)
    );
}

#[test]
fn test_files_in_a_policy_directory_are_run_as_tests_not_loaded_as_policy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ext.rego"),
        "package bighub.ext\nimport rego.v1\nfindings contains {\"rule\": \"team\", \"mode\": \"constrained\", \"reason\": \"team rule\"} if input.action.system == \"argocd\"\n",
    )
    .unwrap();
    // A test may reconfigure the default policy with `with data.bighub.config...`: the
    // classification is the policy's, made from the data when it is evaluated.
    std::fs::write(
        dir.path().join("ext_test.rego"),
        r#"package bighub.ext_test
import rego.v1

deploy := bighub.input({"tool": "deploy_service", "system": "argocd", "risk": "medium", "environment": "qa"})

test_team_rule_constrains_argocd if {
    d := data.bighub.policy.decision with input as deploy
    d.mode == "constrained"
}

test_qa_counts_as_production_when_configured if {
    d := data.bighub.policy.decision with input as deploy
        with data.bighub.config.production_environments as ["qa"]
    d.deciding_rules == ["risk_tier", "team"]
    contains(d.reason, "in qa runs constrained")
}

test_medium_outside_production_is_autonomous if {
    d := data.bighub.policy.decision with input as bighub.input({"tool": "deploy_service", "system": "k8s", "risk": "medium", "environment": "qa"})
    d.mode == "autonomous"
}
"#,
    )
    .unwrap();
    let engine = LocalEngine::builder()
        .in_memory()
        .policy_file(dir.path())
        .build()
        .unwrap();
    assert_eq!(
        engine.policy_sources().len(),
        2,
        "{:?}",
        engine.policy_sources()
    );
    assert!(
        engine
            .policy_sources()
            .iter()
            .all(|s| !s.ends_with("_test.rego"))
    );
    let results = LocalEngine::builder()
        .in_memory()
        .policy_file(dir.path())
        .run_policy_tests(&[dir.path()])
        .unwrap();
    let failed: Vec<_> = results.iter().filter(|r| !r.passed()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(results.len(), 3);
}
