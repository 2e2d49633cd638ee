//! The `bighub` command-line tool, run as a user would.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn bighub(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bighub"))
        .args(args)
        .env("BIGHUB_DB", db)
        .env_remove("BIGHUB_POLICY")
        .output()
        .expect("the bighub binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn check_exits_with_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let cases: [(&[&str], i32); 4] = [
        (
            &[
                "check",
                "--tool",
                "list_users",
                "--system",
                "okta",
                "--risk",
                "low",
            ],
            0,
        ),
        (
            &[
                "check",
                "--tool",
                "grant_access",
                "--args",
                r#"{"user_id":"alice","group":"okta-admins","duration":"48h"}"#,
                "--system",
                "okta",
                "--risk",
                "high",
                "--environment",
                "production",
                "--target",
                "okta-admins",
            ],
            2,
        ),
        (
            &[
                "check",
                "--tool",
                "rotate_credentials",
                "--risk",
                "critical",
            ],
            3,
        ),
        (
            &[
                "check",
                "--tool",
                "delete_bucket",
                "--risk",
                "high",
                "--environment",
                "production",
            ],
            4,
        ),
    ];
    for (args, code) in cases {
        let out = bighub(&db, args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\n{}{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The human output names the better action; --json prints the whole decision.
    let out = bighub(
        &db,
        &[
            "check",
            "--tool",
            "grant_access",
            "--args",
            r#"{"user_id":"alice","group":"okta-admins","duration":"48h"}"#,
            "--system",
            "okta",
            "--risk",
            "high",
            "--environment",
            "production",
            "--json",
        ],
    );
    let raw: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(raw["mode"], "review");
    assert!(
        raw["better_action"]
            .as_str()
            .unwrap()
            .contains("2h instead of 48h")
    );

    // Everything was stored: decisions lists them, approvals shows the two reviews.
    let out = bighub(&db, &["decisions", "--json", "--limit", "10"]);
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["action"], "grant_access");
    let table = stdout(&bighub(&db, &["decisions"]));
    assert!(
        table.contains("delete_bucket") && table.contains("blocked"),
        "{table}"
    );

    let out = bighub(&db, &["approvals", "list", "--json"]);
    let pending: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(pending.len(), 2);
    let id = pending[0]["request_id"].as_str().unwrap();
    let out = bighub(&db, &["approvals", "approve", id, "--comment", "ok for 2h"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("approved"));
    // A second resolution is refused.
    let out = bighub(&db, &["approvals", "reject", id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already resolved"));
    let pending: Vec<Value> =
        serde_json::from_slice(&bighub(&db, &["approvals", "list", "--json"]).stdout).unwrap();
    assert_eq!(pending.len(), 1);
}

#[test]
fn check_rejects_bad_input_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let out = bighub(&db, &["check", "--tool", "x", "--args", "not json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--args"));
    let out = bighub(&db, &["check", "--tool", "x", "--risk", "extreme"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("extreme"));
}

const CASES: &str = r#"{"cases": [
  {"name": "seed grant", "expect": "review",
   "action": {"tool": "grant_access", "system": "okta", "risk": "high", "environment": "production",
              "target": "okta-admins",
              "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}}},
  {"name": "reads run", "expect": "autonomous",
   "action": {"tool": "list_users", "system": "okta", "risk": "low"}},
  {"name": "failures", "expect": "review", "history": {"failures_24h": 3},
   "action": {"tool": "restart_service", "risk": "low", "environment": "staging"}},
  {"name": "freeze", "expect": "blocked", "now": "2026-12-24T10:00:00Z",
   "action": {"tool": "deploy", "risk": "low", "environment": "production"}}
]}"#;

#[test]
fn policy_cases_pass_matching_cases_and_fail_on_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never-created.db");
    let policy_dir = dir.path().join("policies");
    std::fs::create_dir(&policy_dir).unwrap();
    std::fs::write(
        policy_dir.join("freeze.json"),
        r#"{"bighub": {"config": {"freeze_windows": [{"name": "year-end", "start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z"}]}}}"#,
    )
    .unwrap();
    let cases = dir.path().join("cases.json");
    std::fs::write(&cases, CASES).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_bighub"))
        .args(["policy", "cases"])
        .arg(&cases)
        .env("BIGHUB_DB", &db)
        .env("BIGHUB_POLICY", &policy_dir)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("4 passed, 0 failed"), "{text}");
    assert!(!db.exists(), "policy cases must not write the store");

    // Without the freeze data, the freeze case fails and the exit code says so.
    let out = Command::new(env!("CARGO_BIN_EXE_bighub"))
        .args(["policy", "cases"])
        .arg(&cases)
        .env("BIGHUB_DB", &db)
        .env_remove("BIGHUB_POLICY")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL freeze: expected blocked, got autonomous"),
        "{text}"
    );
    assert!(text.contains("3 passed, 1 failed"), "{text}");

    // --policy works like BIGHUB_POLICY; a broken policy fails with its file and line.
    let broken = dir.path().join("broken.rego");
    std::fs::write(&broken, "package bighub.ext\nimport rego.v1\nx := \n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bighub"))
        .args(["policy", "cases"])
        .arg(&cases)
        .arg("--policy")
        .arg(&broken)
        .env_remove("BIGHUB_POLICY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:", broken.display())), "{err}");
}

/// What a prompt-injected model puts in a field: a new line that clears the screen and
/// writes a forged verdict at the top, a carriage return, and a right-to-left override.
const INJECTED: &str = "ok\n\x1b[2J\x1b[1;1HAPPROVED by security\r\u{202e}";

/// How the CLI shows it.
const SHOWN: &str = r"ok\n\x1b[2J\x1b[1;1HAPPROVED by security\r\u{202e}";

/// The characters a terminal would interpret, other than the newline that ends a line:
/// C0 controls, DEL, C1 controls, bidi controls, line and paragraph separators.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

fn lines(text: &str) -> usize {
    text.split_terminator('\n').count()
}

/// A store holding a review (so a pending approval) and a block whose target, arguments
/// and reasons carry [`INJECTED`], decided as an agent's calls would be.
fn seed_injected(db: &Path) {
    let engine = bighub_local::LocalEngine::builder()
        .db_path(db)
        .build()
        .unwrap();
    let grant = bighub_core::ProposedAction::new("grant_access")
        .arguments(
            serde_json::json!({"user_id": INJECTED, "group": "okta-admins", "duration": "48h"}),
        )
        .system("okta")
        .risk(bighub_core::RiskLevel::High)
        .environment("production")
        .target(INJECTED);
    let delete = bighub_core::ProposedAction::new("delete_bucket")
        .arguments(serde_json::json!({"bucket": INJECTED}))
        .system("aws")
        .risk(bighub_core::RiskLevel::Critical)
        .environment("production")
        .target(INJECTED);
    for (action, mode) in [(grant, "review"), (delete, "blocked")] {
        let raw = engine.decide(&action).unwrap().raw;
        assert_eq!(raw["mode"], mode);
        assert!(raw["reason"].as_str().unwrap().contains(INJECTED), "{raw}");
    }
}

#[test]
fn approvals_list_escapes_what_the_model_controls_one_approval_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    seed_injected(&db);
    let out = bighub(&db, &["approvals", "list"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text:?}");
    // One pending approval, one line: the target and the reason both show the escapes.
    assert_eq!(lines(&text), 1, "{text}");
    assert!(
        text.contains(&format!("grant_access on {SHOWN}  ")),
        "{text}"
    );
    assert_eq!(text.matches(SHOWN).count(), 2, "{text}");
    // When it expires unless answered (24 hours after it was asked for).
    assert!(text.contains("  expires 20"), "{text}");
}

#[test]
fn decisions_escape_what_the_model_controls_one_decision_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    seed_injected(&db);
    let out = bighub(&db, &["decisions"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text:?}");
    // The header and the two decisions.
    assert_eq!(lines(&text), 3, "{text}");
    assert_eq!(text.matches(SHOWN).count(), 2, "{text}");
}

#[test]
fn json_listings_stay_valid_json_with_the_exact_strings_and_nothing_raw() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    seed_injected(&db);
    for args in [
        &["approvals", "list", "--json"][..],
        &["decisions", "--json"],
    ] {
        let text = stdout(&bighub(&db, args));
        assert_eq!(
            raw_controls(&text),
            Vec::<char>::new(),
            "{args:?}: {text:?}"
        );
        let rows: Vec<Value> = serde_json::from_str(&text).unwrap();
        assert!(!rows.is_empty());
        for row in &rows {
            assert_eq!(row["target"], INJECTED, "{args:?}");
            assert!(
                row["reason"].as_str().unwrap().contains(INJECTED),
                "{args:?}"
            );
        }
    }
    let rows: Vec<Value> =
        serde_json::from_slice(&bighub(&db, &["decisions", "--json"]).stdout).unwrap();
    assert_eq!(rows[0]["arguments"]["bucket"], INJECTED);
    assert_eq!(rows[1]["arguments"]["user_id"], INJECTED);
}

#[test]
fn check_escapes_the_reason_and_better_action_it_prints() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let args = serde_json::json!({"user_id": INJECTED, "group": "okta-admins", "duration": "48h"})
        .to_string();
    let call = |extra: &[&str]| {
        let mut all = vec![
            "check",
            "--tool",
            "grant_access",
            "--args",
            &args,
            "--system",
            "okta",
            "--risk",
            "high",
            "--environment",
            "production",
            "--target",
            INJECTED,
        ];
        all.extend_from_slice(extra);
        bighub(&db, &all)
    };
    let raw: Value = serde_json::from_slice(&call(&["--json"]).stdout).unwrap();
    assert!(raw["better_action"].as_str().unwrap().contains(INJECTED));
    // verdict, mode, risk, reason, better, request, then a line per factor and per question.
    let expected = 6
        + raw["salient_factors"].as_array().unwrap().len()
        + raw["responsible_action_space"]["information_gathering"]
            .as_array()
            .map_or(0, Vec::len);
    let out = call(&[]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text:?}");
    assert_eq!(lines(&text), expected, "{text}");
    assert!(
        text.contains(&format!("reason:    {}", "grant_access grants")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("better:") && l.contains(SHOWN)),
        "{text}"
    );
}

#[test]
fn errors_and_policy_cases_are_escaped_too() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    // An error quotes the id it was given.
    let out = bighub(&db, &["approvals", "approve", INJECTED]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(raw_controls(&err), Vec::<char>::new(), "{err:?}");
    // The store it read, then the error, each on its line.
    assert_eq!(lines(&err), 2, "{err}");
    assert!(err.starts_with("store: "), "{err}");
    assert!(err.contains(SHOWN), "{err}");

    // A case named with the injection, expecting the wrong mode: one line per case.
    let cases = dir.path().join("cases.json");
    std::fs::write(
        &cases,
        serde_json::json!([{"name": INJECTED, "expect": "blocked",
            "action": {"tool": "list_users", "system": "okta", "risk": "low",
                       "target": INJECTED}}])
        .to_string(),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bighub"))
        .args(["policy", "cases"])
        .arg(&cases)
        .env("BIGHUB_DB", &db)
        .env_remove("BIGHUB_POLICY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text:?}");
    assert_eq!(lines(&text), 2, "{text}");
    assert!(
        text.starts_with(&format!("FAIL {SHOWN}: expected blocked, got autonomous")),
        "{text}"
    );
}

/// `bighub` with a store and extra arguments, run in `cwd`, with no `BIGHUB_POLICY`.
fn bighub_in(cwd: &Path, db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bighub"))
        .args(args)
        .current_dir(cwd)
        .env("BIGHUB_DB", db)
        .env_remove("BIGHUB_POLICY")
        .output()
        .expect("the bighub binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `PREFIX: RULE (N.Nms)`, the line `opa test` prints per test.
fn is_test_line(line: &str, prefix: &str, rule: &str) -> bool {
    line.strip_prefix(&format!("{prefix}: {rule} ("))
        .and_then(|rest| rest.strip_suffix("ms)"))
        .is_some_and(|ms| ms.parse::<f64>().is_ok())
}

const EXT: &str = r#"package bighub.ext
import rego.v1

findings contains {"rule": "argocd_syncs_wait", "mode": "review", "reason": "Argo CD syncs wait."} if {
    input.action.system == "argocd"
}
"#;

const PASSING_TEST: &str = r#"package bighub.ext_test
import rego.v1

sync := bighub.input({"tool": "sync_app", "system": "argocd", "risk": "low"})

test_argocd_syncs_are_reviewed if {
    data.bighub.policy.decision.mode == "review" with input as sync
}
"#;

const FAILING_TEST: &str = r#"package bighub.more_test
import rego.v1

test_syncs_run if {
    call := bighub.input({"tool": "sync_app", "system": "argocd", "risk": "low"})
    data.bighub.policy.decision.mode == "autonomous" with input as call
}

test_numbers if {
    to_number("ten") == 10
}
"#;

#[test]
fn policy_test_runs_test_rules_and_exits_1_on_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never-created.db");
    let ext = dir.path().join("ext.rego");
    std::fs::write(&ext, EXT).unwrap();
    let tests = dir.path().join("tests");
    std::fs::create_dir(&tests).unwrap();
    std::fs::write(tests.join("ext_test.rego"), PASSING_TEST).unwrap();
    let ext_arg = ext.display().to_string();

    // The default path is the current directory, searched recursively.
    let out = bighub_in(dir.path(), &db, &["policy", "test", "--policy", &ext_arg]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        is_test_line(
            lines[0],
            "PASS",
            "data.bighub.ext_test.test_argocd_syncs_are_reviewed"
        ),
        "{text}"
    );
    assert_eq!(lines[1], "PASS: 1/1");
    assert!(!db.exists(), "policy test must not write the store");

    // Without the policy under test, the test fails, and the exit code says so.
    let out = bighub_in(dir.path(), &db, &["policy", "test", "tests"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        is_test_line(
            text.lines().next().unwrap(),
            "FAIL",
            "data.bighub.ext_test.test_argocd_syncs_are_reviewed"
        ),
        "{text}"
    );
    assert!(text.ends_with("PASS: 0/1\nFAIL: 1/1\n"), "{text}");

    // A failing and an erring test in another file, given as a file.
    let more = dir.path().join("more_test.rego");
    std::fs::write(&more, FAILING_TEST).unwrap();
    let more_arg = more.display().to_string();
    let out = bighub_in(
        dir.path(),
        &db,
        &["policy", "test", "tests", &more_arg, "--policy", &ext_arg],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    assert!(
        is_test_line(
            lines[0],
            "PASS",
            "data.bighub.ext_test.test_argocd_syncs_are_reviewed"
        ),
        "{text}"
    );
    assert!(
        is_test_line(lines[1], "FAIL", "data.bighub.more_test.test_syncs_run"),
        "{text}"
    );
    // The failing test shows what the policy decided for the input it built.
    assert_eq!(
        lines[2],
        r#"  for bighub.input({"risk":"low","system":"argocd","tool":"sync_app"})"#
    );
    assert_eq!(
        lines[3],
        r#"  decided {"mode":"review","reason":"Argo CD syncs wait.","deciding_rules":["argocd_syncs_wait"]}"#
    );
    let error = format!(
        "ms): {}:10:16: could not parse string as number",
        more.display()
    );
    assert!(
        lines[4].starts_with("ERROR: data.bighub.more_test.test_numbers (")
            && lines[4].ends_with(&error),
        "{text}"
    );
    assert_eq!(&lines[5..], ["PASS: 1/3", "FAIL: 1/3", "ERROR: 1/3"]);
}

/// The Rego files the README shows, each under a `<!-- readme-policy: NAME -->` marker:
/// (name, text).
fn readme_policies() -> Vec<(String, String)> {
    let readme = include_str!("../../../README.md");
    readme
        .split("<!-- readme-policy: ")
        .skip(1)
        .map(|part| {
            let (name, rest) = part.split_once(" -->").expect("a marker names its file");
            let body = rest
                .split_once("```rego\n")
                .and_then(|(_, b)| b.split_once("```"))
                .expect("a Rego block follows the marker")
                .0;
            (name.to_owned(), body.to_owned())
        })
        .collect()
}

#[test]
fn the_readme_policy_passes_its_tests_from_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never-created.db");
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    let files = readme_policies();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["ext.rego", "ext_test.rego"]);
    for (name, text) in &files {
        std::fs::write(policies.join(name), text).unwrap();
    }

    // The directory's policy is loaded beside the default one, as `opa test DIR` does.
    let out = bighub_in(dir.path(), &db, &["policy", "test", "policies"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        is_test_line(
            lines[0],
            "PASS",
            "data.bighub.ext_test.test_payments_syncs_wait"
        ),
        "{text}"
    );
    assert!(
        is_test_line(
            lines[1],
            "PASS",
            "data.bighub.ext_test.test_other_syncs_run"
        ),
        "{text}"
    );
    assert_eq!(lines[2], "PASS: 2/2");

    // Named again with --policy, it is loaded once (a second copy would conflict).
    let out = bighub_in(
        dir.path(),
        &db,
        &[
            "policy",
            "test",
            "policies",
            "--policy",
            "policies/ext.rego",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );

    // A test that expects something else shows the decision it got.
    std::fs::write(
        policies.join("blocked_test.rego"),
        r#"package bighub.blocked_test
import rego.v1

test_payments_syncs_are_blocked if {
    d := data.bighub.policy.decision with input as bighub.input({
        "tool": "sync_app", "system": "argocd", "target": "payments-api"})
    d.mode == "blocked"
}
"#,
    )
    .unwrap();
    let out = bighub_in(dir.path(), &db, &["policy", "test", "policies"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        is_test_line(
            lines[0],
            "FAIL",
            "data.bighub.blocked_test.test_payments_syncs_are_blocked"
        ),
        "{text}"
    );
    assert_eq!(
        lines[1],
        r#"  for bighub.input({"system":"argocd","target":"payments-api","tool":"sync_app"})"#
    );
    assert_eq!(
        lines[2],
        r#"  decided {"mode":"review","reason":"Payments syncs need a second pair of eyes.","better_action":"Sync payments-api in staging first","deciding_rules":["payments_syncs_wait"]}"#
    );
    assert!(!db.exists(), "policy test must not write the store");
}

#[test]
fn policy_test_explains_what_it_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    // No test files.
    let out = bighub_in(dir.path(), &db, &["policy", "test"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no test rules (test_*) found"),
        "{}",
        stderr(&out)
    );
    // A JSON case file points to `policy cases`.
    std::fs::write(dir.path().join("cases.json"), CASES).unwrap();
    let out = bighub_in(dir.path(), &db, &["policy", "test", "cases.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("case files run with `bighub policy cases cases.json`"),
        "{}",
        stderr(&out)
    );
    // A test file that does not compile is named with its line.
    std::fs::write(
        dir.path().join("broken_test.rego"),
        "package broken_test\nimport rego.v1\ntest_x if {\n",
    )
    .unwrap();
    let out = bighub_in(dir.path(), &db, &["policy", "test"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("broken_test.rego:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn policy_eval_prints_the_decision_for_an_input_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never-created.db");
    let input = dir.path().join("grant.json");
    std::fs::write(
        &input,
        r#"{"tool": "grant_access", "system": "okta", "risk": "high",
            "environment": "production", "target": "okta-admins",
            "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}}"#,
    )
    .unwrap();
    let input_arg = input.display().to_string();
    let out = bighub_in(dir.path(), &db, &["policy", "eval", "--input", &input_arg]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.starts_with("verdict:   approval_required\nmode:      review\n"),
        "{text}"
    );
    // Nothing is recorded, so no request id is printed, in text or JSON.
    assert!(!text.contains("request:"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("better:") && l.contains("2h instead of 48h")),
        "{text}"
    );

    let out = bighub_in(
        dir.path(),
        &db,
        &["policy", "eval", "--input", &input_arg, "--json"],
    );
    let raw: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(raw["mode"], "review");
    assert!(raw.get("request_id").is_none(), "{raw}");
    assert_eq!(
        raw["decision_brain"]["deciding_rules"],
        serde_json::json!(["privilege_duration", "risk_tier"])
    );
    assert!(!db.exists(), "policy eval must not write the store");

    // The user's policy files count; what the input holds is printed escaped.
    let ext = dir.path().join("ext.rego");
    std::fs::write(&ext, EXT).unwrap();
    let sync = dir.path().join("sync.json");
    std::fs::write(
        &sync,
        serde_json::json!({"tool": "sync_app", "system": "argocd", "risk": "low", "target": INJECTED})
            .to_string(),
    )
    .unwrap();
    let out = bighub_in(
        dir.path(),
        &db,
        &[
            "policy",
            "eval",
            "--input",
            &sync.display().to_string(),
            "--policy",
            &ext.display().to_string(),
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text:?}");
    assert!(text.contains("mode:      review\n"), "{text}");
    assert!(text.contains("reason:    Argo CD syncs wait."), "{text}");

    // Not a proposed action.
    std::fs::write(&input, r#"{"system": "okta"}"#).unwrap();
    let out = bighub_in(dir.path(), &db, &["policy", "eval", "--input", &input_arg]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a proposed action"),
        "{}",
        stderr(&out)
    );
}

/// A store with decisions recorded by `check`: an admin grant in staging (review), a
/// read (autonomous), a sync (autonomous).
fn record_with_check(dir: &Path, db: &Path) {
    for (args, code) in [
        (
            &[
                "check",
                "--tool",
                "grant_access",
                "--args",
                r#"{"user_id":"alice","group":"okta-admins","duration":"48h"}"#,
                "--system",
                "okta",
                "--risk",
                "high",
                "--environment",
                "staging",
                "--target",
                "okta-admins",
            ][..],
            2,
        ),
        (
            &[
                "check",
                "--tool",
                "list_users",
                "--system",
                "okta",
                "--risk",
                "low",
            ],
            0,
        ),
        (
            &[
                "check", "--tool", "sync_app", "--system", "argocd", "--risk", "low",
            ],
            0,
        ),
    ] {
        let out = bighub_in(dir, db, args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn policy_replay_shows_what_an_added_policy_changes_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    record_with_check(dir.path(), &db);
    let decisions = |dir: &Path| stdout(&bighub_in(dir, &db, &["decisions", "--json"]));
    let approvals = |dir: &Path| stdout(&bighub_in(dir, &db, &["approvals", "list", "--json"]));
    let (before, pending) = (decisions(dir.path()), approvals(dir.path()));
    let ids: Vec<String> = serde_json::from_str::<Vec<Value>>(&before)
        .unwrap()
        .iter()
        .map(|r| r["request_id"].as_str().unwrap().to_owned())
        .collect();

    // Under the policy it was recorded with, nothing changes.
    let out = bighub_in(dir.path(), &db, &["policy", "replay"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "decided: 3\nchanged: 0\n");

    // A policy file added since: syncs wait for review.
    let ext = dir.path().join("ext.rego");
    std::fs::write(&ext, EXT).unwrap();
    let ext_arg = ext.display().to_string();
    let out = bighub_in(
        dir.path(),
        &db,
        &["policy", "replay", "--since", "1h", "--policy", &ext_arg],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "{} sync_app: autonomous -> review (argocd_syncs_wait)\n\
             decided: 3\n\
             changed: 1\n  autonomous -> review: 1\n\
             newly fired:\n  argocd_syncs_wait: 1\n",
            ids[0]
        )
    );
    // As JSON, the same report.
    let out = bighub_in(
        dir.path(),
        &db,
        &["policy", "replay", "--json", "--policy", &ext_arg],
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["decided"], 3);
    assert_eq!(report["changed"], 1);
    assert_eq!(report["changes"][0]["request_id"], ids[0].as_str());
    assert_eq!(report["changes"][0]["mode_before"], "autonomous");
    assert_eq!(report["changes"][0]["mode_after"], "review");
    assert_eq!(
        report["transitions"],
        serde_json::json!([{"before": "autonomous", "after": "review", "count": 1}])
    );
    assert_eq!(
        report["newly_fired"],
        serde_json::json!([{"rule": "argocd_syncs_wait", "count": 1}])
    );
    // --limit takes the newest.
    let out = bighub_in(
        dir.path(),
        &db,
        &["policy", "replay", "--limit", "2", "--policy", &ext_arg],
    );
    assert!(
        stdout(&out).contains("decided: 2\nchanged: 1\n"),
        "{}",
        stdout(&out)
    );

    // A config file added since: longer grants are fine, so the grant would run.
    let config = dir.path().join("grants.json");
    std::fs::write(
        &config,
        r#"{"bighub": {"config": {"max_privilege_duration": "72h"}}}"#,
    )
    .unwrap();
    let out = bighub_in(
        dir.path(),
        &db,
        &[
            "policy",
            "replay",
            "--policy",
            &config.display().to_string(),
        ],
    );
    assert!(
        stdout(&out).starts_with(&format!(
            "{} grant_access: review -> constrained (risk_tier)\n",
            ids[2]
        )),
        "{}",
        stdout(&out)
    );

    // Nothing was written.
    assert_eq!(decisions(dir.path()), before);
    assert_eq!(approvals(dir.path()), pending);

    // A bad --since is an error.
    let out = bighub_in(dir.path(), &db, &["policy", "replay", "--since", "lately"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--since"), "{}", stderr(&out));
}

#[test]
fn policy_replay_escapes_what_the_store_and_the_policy_hold() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    seed_injected(&db);
    // A rule whose name carries the injection, firing on both recorded calls.
    let ext = dir.path().join("ext.rego");
    std::fs::write(
        &ext,
        format!(
            "package bighub.ext\nimport rego.v1\nfindings contains {{\"rule\": {}, \"mode\": \"blocked\", \"reason\": \"r\"}} if input.action.target != \"\"\n",
            serde_json::to_string(INJECTED).unwrap()
        ),
    )
    .unwrap();
    let out = bighub_in(
        dir.path(),
        &db,
        &["policy", "replay", "--policy", &ext.display().to_string()],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text:?}");
    // The review became a block; the block stays one. Then the totals.
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].ends_with(&format!("grant_access: review -> blocked ({SHOWN})")),
        "{text}"
    );
    assert_eq!(
        &lines[1..],
        [
            "decided: 2",
            "changed: 1",
            "  review -> blocked: 1",
            "newly fired:",
            &format!("  {SHOWN}: 2"),
        ]
    );
    let out = bighub_in(
        dir.path(),
        &db,
        &[
            "policy",
            "replay",
            "--json",
            "--policy",
            &ext.display().to_string(),
        ],
    );
    let text = stdout(&out);
    assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text:?}");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["newly_fired"][0]["rule"], INJECTED);
}
