//! `bighub context check`, and `check` and `policy replay` with context providers: what the
//! policy would see is printed escaped with no secret in it, a failed `fail_closed`
//! provider blocks a check, and replay decides on the recorded context unless asked to
//! fetch afresh.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn bighub(db: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bighub"));
    c.args(args)
        .env("BIGHUB_DB", db)
        .env_remove("BIGHUB_POLICY")
        .env_remove("BIGHUB_CONTEXT");
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn context_check_prints_what_the_policy_would_see_escaped_and_without_secrets() {
    const SECRET: &str = "pd-cli-secret-77ac01";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("oncall.json"),
        json!({"primary": "alice\u{1b}[2J\u{202e}", "system": "payments"}).to_string(),
    )
    .unwrap();
    let config = dir.path().join("context.json");
    std::fs::write(
        &config,
        json!({"providers": [
            {"name": "oncall", "kind": "file", "path": "oncall.json"},
            {"name": "pager", "kind": "http", "url": "http://127.0.0.1:9/incidents/{system}",
             "headers": {"Authorization": {"env": "CLI_TEST_PAGER_TOKEN", "prefix": "Token token="}},
             "timeout": "1s", "on_failure": "fail_closed"}
        ]})
        .to_string(),
    )
    .unwrap();
    let out = bighub(
        &dir.path().join("d.db"),
        &["context", "check", "--system", "Payments"],
    )
    .arg("--context")
    .arg(&config)
    .env("CLI_TEST_PAGER_TOKEN", SECRET)
    .output()
    .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET));
    assert!(!stdout.contains("Token token"));
    assert!(
        !stdout.chars().any(|c| c == '\u{1b}' || c == '\u{202e}'),
        "raw controls in {stdout}"
    );
    let view: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        view["context"]["oncall"]["data"]["primary"],
        "alice\u{1b}[2J\u{202e}"
    );
    assert_eq!(view["context"]["oncall"]["kind"], "file");
    let error = view["context"]["pager"]["error"].as_str().unwrap();
    assert!(error.starts_with("the request failed"), "{error}");
    assert_eq!(view["blocked_by"][0]["provider"], "pager");
    assert_eq!(view["context_failed"], json!([]));

    let out = bighub(&dir.path().join("d.db"), &["context", "check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("--context"), "{}", text(&out).1);
}

#[test]
fn check_and_replay_decide_on_the_context_fetched_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let config = dir.path().join("context.toml");
    std::fs::write(
        &config,
        "[[providers]]\nname = \"freezes\"\nkind = \"file\"\npath = \"freezes.json\"\non_failure = \"fail_closed\"\n",
    )
    .unwrap();
    let args = [
        "check",
        "--tool",
        "restart_service",
        "--risk",
        "low",
        "--environment",
        "staging",
        "--target",
        "payments-api",
    ];
    let out = bighub(&db, &args)
        .arg("--context")
        .arg(&config)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stdout}{stderr}");
    assert!(stdout.contains("`freezes`"), "{stdout}");

    std::fs::write(dir.path().join("freezes.json"), r#"{"windows": []}"#).unwrap();
    let replay = |fresh: bool| {
        let mut c = bighub(&db, &["policy", "replay", "--json"]);
        c.arg("--context").arg(&config);
        if fresh {
            c.arg("--fresh-context");
        }
        let out = c.output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}{stderr}");
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    let recorded = replay(false);
    assert_eq!(
        (recorded["decided"].as_u64(), recorded["changed"].as_u64()),
        (Some(1), Some(0))
    );
    let fresh = replay(true);
    assert_eq!(fresh["changed"], 1, "{fresh}");
    assert_eq!(fresh["changes"][0]["mode_after"], "autonomous");

    // The decision log says what each decision was made on.
    let out = bighub(&db, &args)
        .arg("--context")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).0);
    let out = bighub(&db, &["decisions"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let rows: Vec<&str> = stdout.lines().collect();
    assert!(rows[0].ends_with("USED"), "{stdout}");
    assert!(rows[1].ends_with(" freezes"), "{stdout}");
    assert!(rows[2].ends_with(" freezes (failed)"), "{stdout}");
    let out = bighub(&db, &["decisions", "--json"]).output().unwrap();
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let used = &listed[0]["used"]["context"]["freezes"];
    assert!(
        used["error"].is_null() && used["sha256"].is_string(),
        "{listed}"
    );
    assert!(listed[1]["used"]["context"]["freezes"]["error"].is_string());
}

/// The image `trivy/alpine-39.json` scanned: critical findings with a fix.
const ALPINE: &str =
    "alpine@sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1";

/// A context file whose evidence directory holds the Trivy report of [`ALPINE`] and a
/// file that is no report.
fn evidence_config(dir: &Path) -> std::path::PathBuf {
    let evidence = dir.join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../bighub-evidence/tests/fixtures/trivy/alpine-39.json"),
        evidence.join("alpine-39.json"),
    )
    .unwrap();
    std::fs::write(evidence.join("broken.json"), "{\"Results\": [").unwrap();
    let config = dir.join("context.json");
    std::fs::write(
        &config,
        json!({"evidence": {"dir": "evidence", "max_age": "3650d"}}).to_string(),
    )
    .unwrap();
    config
}

#[test]
fn context_check_looks_up_a_sample_image() {
    let dir = tempfile::tempdir().unwrap();
    let config = evidence_config(dir.path());
    let db = dir.path().join("d.db");
    let out = bighub(&db, &["context", "check", "--image", ALPINE])
        .arg("--context")
        .arg(&config)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let view: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(view["image"]["evidence"]["scan"]["counts"]["critical"], 2);
    assert_eq!(view["image"]["record"]["report"], "alpine-39.json");
    assert!(
        view["image"]["record"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("broken.json")
    );

    let out = bighub(&db, &["context", "check", "--image", "alpine:3.9"])
        .arg("--context")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let view: Value = serde_json::from_str(&text(&out).0).unwrap();
    assert_eq!(
        view["image"]["evidence"]["error"],
        "the image alpine:3.9 is not pinned by digest"
    );
}

#[test]
fn policy_eval_shows_the_evidence_the_decision_used() {
    let dir = tempfile::tempdir().unwrap();
    let config = evidence_config(dir.path());
    let input = dir.path().join("action.json");
    std::fs::write(
        &input,
        json!({"tool": "deploy_image", "system": "kubernetes", "risk": "high",
               "environment": "production", "target": "billing",
               "arguments": {"image": ALPINE, "service": "billing"}})
        .to_string(),
    )
    .unwrap();
    let out = bighub(&dir.path().join("d.db"), &["policy", "eval", "--input"])
        .arg(&input)
        .arg("--context")
        .arg(&config)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("mode:      blocked"), "{stdout}");
    assert!(stdout.contains(&format!("evidence:  {ALPINE}")), "{stdout}");
    assert!(
        stdout.contains("scan:      trivy alpine-39.json from dir by trivy dev"),
        "{stdout}"
    );
    assert!(
        stdout.contains("problem:   ") && stdout.contains("broken.json"),
        "{stdout}"
    );
}
