//! Rego tests of a policy set (`test_*` rules in `*_test.rego` files), run as `opa test`
//! runs them.

use bighub_local::policy_tests::PolicyTestOutcome;
use bighub_local::{LocalEngine, LocalError};

const EXT: &str = r#"package bighub.ext
import rego.v1

findings contains {"rule": "argocd_syncs_wait", "mode": "review", "reason": "Argo CD syncs wait."} if {
    input.action.system == "argocd"
}
"#;

const EXT_TEST: &str = r#"package bighub.ext_test
import rego.v1

sync := bighub.input({"tool": "sync_app", "system": "argocd", "risk": "low", "environment": "staging"})

test_argocd_syncs_are_reviewed if {
    data.bighub.policy.decision.mode == "review" with input as sync
}

test_a_finding_names_the_rule if {
    some f in data.bighub.ext.findings with input as sync
    f.rule == "argocd_syncs_wait"
}

# Fails: the sync is reviewed, not autonomous.
test_argocd_syncs_run if {
    data.bighub.policy.decision.mode == "autonomous" with input as sync
}

# Fails: undefined without an input.
test_without_input if {
    input.action.system == "argocd"
}

# Errors: to_number rejects the text.
test_a_builtin_error if {
    to_number("ten") == 10
}

not_a_test := true
"#;

#[test]
fn test_rules_pass_fail_and_error_in_file_and_line_order() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(policies.join("ext.rego"), EXT).unwrap();
    // A test file beside the policy: loaded once, though the directory is a policy path.
    std::fs::write(policies.join("ext_test.rego"), EXT_TEST).unwrap();
    std::fs::create_dir(dir.path().join("more")).unwrap();
    std::fs::write(
        dir.path().join("more").join("defaults_test.rego"),
        r#"package defaults_test
import rego.v1

test_a_long_admin_grant_is_reviewed if {
    call := bighub.input({"tool": "grant_access", "system": "okta", "risk": "high",
        "environment": "production", "target": "okta-admins",
        "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}})
    decision := data.bighub.policy.decision with input as call
    decision.mode == "review"
    "privilege_duration" in decision.deciding_rules
}
"#,
    )
    .unwrap();
    // Not a test file, so not run, though it holds a test_ rule.
    std::fs::write(
        dir.path().join("more").join("helpers.rego"),
        "package helpers\nimport rego.v1\ntest_ignored := false\n",
    )
    .unwrap();

    let results = LocalEngine::builder()
        .policy_file(&policies)
        .run_policy_tests(&[dir.path()])
        .unwrap();
    let got: Vec<(&str, &PolicyTestOutcome)> = results
        .iter()
        .map(|r| (r.rule.as_str(), &r.outcome))
        .collect();
    assert_eq!(got.len(), 6, "{got:#?}");
    assert_eq!(
        got[..5]
            .iter()
            .map(|(rule, outcome)| (*rule, *outcome))
            .collect::<Vec<_>>(),
        [
            (
                "data.defaults_test.test_a_long_admin_grant_is_reviewed",
                &PolicyTestOutcome::Pass
            ),
            (
                "data.bighub.ext_test.test_argocd_syncs_are_reviewed",
                &PolicyTestOutcome::Pass
            ),
            (
                "data.bighub.ext_test.test_a_finding_names_the_rule",
                &PolicyTestOutcome::Pass
            ),
            (
                "data.bighub.ext_test.test_argocd_syncs_run",
                &PolicyTestOutcome::Fail
            ),
            (
                "data.bighub.ext_test.test_without_input",
                &PolicyTestOutcome::Fail
            ),
        ]
    );
    assert_eq!(got[5].0, "data.bighub.ext_test.test_a_builtin_error");
    let PolicyTestOutcome::Error(message) = got[5].1 else {
        panic!("{:?}", got[5]);
    };
    let file = policies.join("ext_test.rego").display().to_string();
    assert!(message.starts_with(&format!("{file}:")), "{message}");
    assert_eq!(results[1].file, file);
    assert_eq!(results[1].line, 6);
}

#[test]
fn without_the_extension_the_tests_see_the_default_policy_alone() {
    let dir = tempfile::tempdir().unwrap();
    let test = dir.path().join("ext_test.rego");
    std::fs::write(&test, EXT_TEST).unwrap();
    let results = LocalEngine::builder().run_policy_tests(&[&test]).unwrap();
    let passed: Vec<&str> = results
        .iter()
        .filter(|r| r.passed())
        .map(|r| r.rule.as_str())
        .collect();
    // The sync is low risk in staging: autonomous, and no extension finding.
    assert_eq!(passed, ["data.bighub.ext_test.test_argocd_syncs_run"]);
}

#[test]
fn a_test_file_that_does_not_compile_names_its_file_and_other_paths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken_test.rego");
    std::fs::write(
        &broken,
        "package broken_test\nimport rego.v1\ntest_x if {\n",
    )
    .unwrap();
    let err = LocalEngine::builder()
        .run_policy_tests(&[dir.path()])
        .unwrap_err();
    let LocalError::Policy { file, message } = &err else {
        panic!("{err}");
    };
    assert_eq!(file, &broken.display().to_string());
    assert!(
        message.contains(&format!("{}:", broken.display())),
        "{message}"
    );

    let cases = dir.path().join("cases.json");
    std::fs::write(&cases, "[]").unwrap();
    let err = LocalEngine::builder()
        .run_policy_tests(&[&cases])
        .unwrap_err();
    assert!(matches!(err, LocalError::PolicyPath { .. }), "{err}");
    assert!(err.to_string().contains("not a Rego file"), "{err}");

    // No test files: no results.
    let empty = tempfile::tempdir().unwrap();
    assert!(
        LocalEngine::builder()
            .run_policy_tests(&[empty.path()])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_unsafe_test_is_a_policy_error_and_an_unknown_function_an_erring_test() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad_test.rego");
    let name = file.display().to_string();
    std::fs::write(
        &file,
        "package bad_test\nimport rego.v1\ntest_u if { x == 1 }\n",
    )
    .unwrap();
    let err = LocalEngine::builder()
        .run_policy_tests(&[&file])
        .unwrap_err();
    let LocalError::Policy { file: at, message } = &err else {
        panic!("{err}");
    };
    assert_eq!(at, &name);
    assert!(
        message.contains("use of undefined variable `x` is unsafe"),
        "{message}"
    );

    std::fs::write(
        &file,
        "package bad_test\nimport rego.v1\ntest_f if { no_such_function(1) }\n",
    )
    .unwrap();
    let results = LocalEngine::builder().run_policy_tests(&[&file]).unwrap();
    assert_eq!(
        results[0].outcome,
        PolicyTestOutcome::Error(format!(
            "{name}:3:29: could not find function no_such_function"
        ))
    );
}

#[test]
fn a_tested_directory_brings_its_policies_and_a_failing_test_shows_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ext.rego"), EXT).unwrap();
    std::fs::write(dir.path().join("ext_test.rego"), EXT_TEST).unwrap();
    let results = LocalEngine::builder()
        .run_policy_tests(&[dir.path()])
        .unwrap();
    let by_name = |name: &str| {
        results
            .iter()
            .find(|r| r.rule.ends_with(name))
            .unwrap_or_else(|| panic!("{name} in {results:?}"))
    };
    // The directory's ext.rego is loaded beside the default policy, as `opa test DIR` does.
    assert!(by_name(".test_argocd_syncs_are_reviewed").passed());
    assert!(
        by_name(".test_argocd_syncs_are_reviewed")
            .decisions
            .is_empty()
    );

    let failed = by_name(".test_argocd_syncs_run");
    assert_eq!(failed.outcome, PolicyTestOutcome::Fail);
    assert_eq!(failed.decisions.len(), 1, "{failed:?}");
    assert_eq!(failed.decisions[0].action["tool"], "sync_app");
    assert_eq!(failed.decisions[0].decision["mode"], "review");
    assert_eq!(
        failed.decisions[0].decision["deciding_rules"],
        serde_json::json!(["argocd_syncs_wait"])
    );
    // A test that built no input has no decision to show.
    assert!(by_name(".test_without_input").decisions.is_empty());
}
