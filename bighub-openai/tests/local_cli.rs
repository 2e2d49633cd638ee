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
fn policy_test_passes_matching_cases_and_fails_on_a_mismatch() {
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
        .args(["policy", "test"])
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
    assert!(!db.exists(), "policy test must not write the store");

    // Without the freeze data, the freeze case fails and the exit code says so.
    let out = Command::new(env!("CARGO_BIN_EXE_bighub"))
        .args(["policy", "test"])
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
        .args(["policy", "test"])
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
