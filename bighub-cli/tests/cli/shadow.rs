//! `bighub decisions --shadow`: the calls where the shadow policy set disagreed, one per
//! line, escaped like every other listing.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Text a model controls: a terminal would clear the screen and print a fake line.
const INJECTED: &str = "ok\n\x1b[2J\x1b[1;1HAPPROVED\r\u{202e}";
/// How the CLI shows it.
const SHOWN: &str = r"ok\n\x1b[2J\x1b[1;1HAPPROVED\r\u{202e}";

/// Names its rule after the call's target: the rule a listing prints is model-controlled.
const SHADOW: &str = r#"package bighub.ext
import rego.v1

findings contains {"rule": concat("", ["frozen_", input.action.target]), "mode": "blocked",
                   "reason": "Frozen."} if input.action.name == "restart_service"
"#;

fn bighub(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bighub"))
        .args(args)
        .env("BIGHUB_DB", db)
        .env_remove("BIGHUB_POLICY")
        .env_remove("BIGHUB_DATABASE_URL")
        .env_remove("BIGHUB_BASE_URL")
        .output()
        .expect("the bighub binary runs")
}

fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect()
}

/// Three calls: one the shadow blocks (with the injected target), one it agrees with, and
/// a second disagreement; answers the disagreeing request ids, oldest first.
fn seed(db: &Path, shadow_dir: &Path) -> Vec<String> {
    std::fs::write(shadow_dir.join("frozen.rego"), SHADOW).unwrap();
    let engine = bighub_local::LocalEngine::builder()
        .db_path(db)
        .shadow_policy(shadow_dir)
        .build()
        .unwrap();
    let mut ids = Vec::new();
    for (tool, target) in [
        ("restart_service", INJECTED),
        ("list_pods", "payments"),
        ("restart_service", "payments-api"),
    ] {
        let d = engine
            .decide(&bighub_core::ProposedAction::new(tool).target(target))
            .unwrap();
        assert_eq!(d.raw["mode"], "autonomous");
        if tool == "restart_service" {
            ids.push(d.request_id.unwrap());
        }
    }
    ids
}

#[test]
fn decisions_shadow_lists_the_disagreements_escaped_one_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let ids = seed(&db, dir.path());

    let out = bighub(&db, &["decisions", "--shadow"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "the header and two disagreements: {text}");
    assert!(lines[0].starts_with("REQUEST"), "{text}");
    assert!(lines[0].contains("SHADOW RULES"), "{text}");
    // Newest first: request, tool, enforced mode, shadow mode, shadow rules.
    assert!(lines[1].starts_with(&ids[1]), "{text}");
    for (line, rule) in [
        (lines[1], "frozen_payments-api".to_owned()),
        (lines[2], format!("frozen_{SHOWN}")),
    ] {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[2], "restart_service", "{line}");
        assert_eq!(fields[3], "autonomous", "{line}");
        assert_eq!(fields[4], "blocked", "{line}");
        assert!(line.ends_with(&rule), "{line}");
    }
    assert!(lines[2].starts_with(&ids[0]), "{text}");

    let out = bighub(&db, &["decisions", "--shadow", "--json", "--limit", "1"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text:?}");
    let rows: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["request_id"], ids[1].as_str());
    assert_eq!(rows[0]["mode"], "autonomous");
    assert_eq!(rows[0]["shadow_mode"], "blocked");
    assert_eq!(
        rows[0]["shadow_deciding_rules"],
        serde_json::json!(["frozen_payments-api"])
    );
    let all: Vec<Value> =
        serde_json::from_slice(&bighub(&db, &["decisions", "--shadow", "--json"]).stdout).unwrap();
    assert_eq!(
        all[1]["shadow_deciding_rules"][0],
        format!("frozen_{INJECTED}").as_str(),
        "JSON keeps the exact string"
    );
}

#[test]
fn decisions_shadow_without_disagreements_prints_the_header_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let engine = bighub_local::LocalEngine::builder()
        .db_path(&db)
        .build()
        .unwrap();
    engine
        .decide(&bighub_core::ProposedAction::new("restart_service"))
        .unwrap();
    drop(engine);
    let out = bighub(&db, &["decisions", "--shadow"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    // The ordinary listing still shows the decision.
    let out = bighub(&db, &["decisions"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
}

#[test]
fn decisions_shadow_through_a_server_is_refused_with_a_reason() {
    let out = Command::new(env!("CARGO_BIN_EXE_bighub"))
        .args(["--server", "http://127.0.0.1:9", "decisions", "--shadow"])
        .env("BIGHUB_API_KEY", "bh_cli_test_key_0123456789")
        .env_remove("BIGHUB_DB")
        .env_remove("BIGHUB_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("decisions --shadow reads the store"), "{err}");
}
