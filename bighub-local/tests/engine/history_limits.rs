//! Rate limits and prerequisites decided on a real store's history, on SQLite and on
//! PostgreSQL: the same calls, at the same (manual) times, give the same decisions and the
//! same `input.history` on both.
//!
//! The PostgreSQL half needs `BIGHUB_TEST_DATABASE_URL` (skipped without it, except under
//! `CI=true`).

use std::time::Duration;

use bighub_core::{OutcomeReport, OutcomeStatus, ProposedAction, RiskLevel};
use bighub_local::clock::Clock;
use bighub_local::{LocalEngine, LocalEngineBuilder, LocalError, PolicyConfig};
use serde_json::{Value, json};

/// 2026-06-01T12:00:00Z.
const START_MS: i64 = 1_780_315_200_000;

fn config() -> Value {
    json!({
        "history_windows": ["1h", "24h"],
        "rate_limits": [
            {"name": "prod-deploys", "max": 3, "window": "1h", "action": "deploy",
             "environment": "production", "per": "actor"},
            {"name": "group-grants", "max": 2, "window": "24h", "action": "grant_access",
             "per": "target"}
        ],
        "requires_prior": [
            {"name": "backup-first", "action": "rotate_credential",
             "prior_action": "backup_database", "window": "1h"}
        ]
    })
}

fn engine(builder: LocalEngineBuilder, clock: &Clock) -> LocalEngine {
    builder
        .config(config())
        .clock(clock.clone())
        .build()
        .expect("the engine builds")
}

fn deploy(actor: &str, environment: &str, target: &str) -> ProposedAction {
    ProposedAction::new("deploy")
        .actor(actor)
        .system("argocd")
        .risk(RiskLevel::Low)
        .environment(environment)
        .target(target)
}

fn grant(actor: &str, group: &str) -> ProposedAction {
    ProposedAction::new("grant_access")
        .actor(actor)
        .system("github")
        .risk(RiskLevel::Low)
        .environment("staging")
        .arguments(json!({"user": "dana", "group": group}))
        .target(group)
}

fn on_db(action: &str, db: &str) -> ProposedAction {
    ProposedAction::new(action)
        .actor("dba-bot")
        .system("postgres")
        .risk(RiskLevel::Low)
        .environment("staging")
        .target(db)
}

fn success(request_id: &str) -> OutcomeReport {
    let mut r = OutcomeReport::new(OutcomeStatus::Success);
    r.request_id = Some(request_id.to_owned());
    r
}

/// What each step shows: the mode, the rules that decided, and the parts of the history
/// the rules read.
fn essence(d: &bighub_core::Decision) -> Value {
    let h = &d.raw["decision_packet"]["input"]["history"];
    let last: Vec<Value> = h["last_outcomes"]
        .as_array()
        .map(|l| {
            l.iter()
                .map(|o| json!([o["action"], o["status"], o["at_unix"]]))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "mode": d.raw["mode"],
        "deciding_rules": d.raw["decision_brain"]["deciding_rules"],
        "reason": d.raw["reason"],
        "rate_limits": h["rate_limits"],
        "windows": h["windows"],
        "last_outcomes": last,
    })
}

fn rules(d: &bighub_core::Decision) -> Vec<String> {
    serde_json::from_value(d.raw["decision_brain"]["rules_fired"].clone()).unwrap()
}

/// The scenario, on one store; answers every step's essence.
fn scenario(builder: LocalEngineBuilder) -> Result<Vec<Value>, LocalError> {
    let clock = Clock::manual(START_MS);
    let e = engine(builder, &clock);
    let mut steps = Vec::new();
    let tick = || clock.advance(Duration::from_secs(60));

    // Three production deploys by one agent in an hour run ("prod" is a production name).
    for (i, target) in ["svc-a", "svc-b", "svc-c"].iter().enumerate() {
        let d = e.decide(&deploy(
            "ci-bot",
            if i == 0 { "prod" } else { "production" },
            target,
        ))?;
        assert_eq!(
            d.raw["mode"], "autonomous",
            "deploy {i}: {}",
            d.raw["reason"]
        );
        steps.push(essence(&d));
        tick();
    }
    // The fourth is over the limit, whatever the target.
    let d = e.decide(&deploy("ci-bot", "production", "svc-d"))?;
    assert_eq!(d.raw["mode"], "review", "{}", d.raw["reason"]);
    assert_eq!(
        d.raw["decision_brain"]["deciding_rules"],
        json!(["rate_limit"])
    );
    let factor = d
        .salient_factors
        .iter()
        .find(|f| f.factor.as_deref() == Some("rate_limit"))
        .expect("a rate_limit factor");
    assert_eq!(factor.extra["limit"], "prod-deploys");
    assert_eq!(factor.extra["count"], 4);
    assert_eq!(factor.extra["window"], "1h");
    let h = &d.raw["decision_packet"]["input"]["history"];
    assert_eq!(h["rate_limits"]["prod-deploys"]["decisions"], 3);
    assert_eq!(h["windows"]["1h"]["actor"]["decisions"], 3);
    assert_eq!(
        h["windows"]["1h"]["actor"]["by_mode"],
        json!({"autonomous": 3})
    );
    assert_eq!(h["windows"]["24h"]["system"]["decisions"], 3);
    assert_eq!(h["windows"]["1h"]["target"]["decisions"], 0);
    assert_eq!(h["windows"]["1h"]["actor"]["capped"], false);
    steps.push(essence(&d));
    tick();
    // Another agent, and a staging deploy, are not counted against ci-bot's production limit.
    let d = e.decide(&deploy("other-bot", "production", "svc-a"))?;
    assert_eq!(d.raw["mode"], "autonomous");
    steps.push(essence(&d));
    let d = e.decide(&deploy("ci-bot", "staging", "svc-a"))?;
    assert_eq!(d.raw["mode"], "autonomous", "{}", d.raw["reason"]);
    assert!(!rules(&d).contains(&"rate_limit".to_owned()));
    steps.push(essence(&d));
    // The review counted too; an hour after the first deploys, the window has room again.
    clock.advance(Duration::from_secs(3600));
    let d = e.decide(&deploy("ci-bot", "production", "svc-e"))?;
    assert_eq!(d.raw["mode"], "autonomous", "{}", d.raw["reason"]);
    steps.push(essence(&d));
    tick();

    // Two grants a day to one group; the third, by anyone, is reviewed.
    for actor in ["a", "b"] {
        let d = e.decide(&grant(actor, "payments-team"))?;
        assert_eq!(d.raw["mode"], "autonomous", "{}", d.raw["reason"]);
        steps.push(essence(&d));
        tick();
    }
    let d = e.decide(&grant("c", "payments-team"))?;
    assert_eq!(d.raw["mode"], "review", "{}", d.raw["reason"]);
    assert!(rules(&d).contains(&"rate_limit".to_owned()));
    steps.push(essence(&d));
    let d = e.decide(&grant("c", "web-team"))?;
    assert_eq!(d.raw["mode"], "autonomous");
    steps.push(essence(&d));
    tick();

    // Rotating a credential needs a successful backup of the same database in the last hour.
    let d = e.decide(&on_db("rotate_credential", "db-1"))?;
    assert_eq!(d.raw["mode"], "needs_context", "{}", d.raw["reason"]);
    assert_eq!(
        d.raw["decision_brain"]["deciding_rules"],
        json!(["requires_prior"])
    );
    assert_eq!(
        d.responsible_action_space.information_gathering[0]["action"],
        "backup_database"
    );
    steps.push(essence(&d));
    let backup = e.decide(&on_db("backup_database", "db-1"))?;
    tick();
    // A failed backup is not a prerequisite met.
    let mut failed = success(backup.request_id.as_deref().unwrap());
    failed.status = OutcomeStatus::Failure;
    e.record_outcome(&failed)?;
    tick();
    assert_eq!(
        e.decide(&on_db("rotate_credential", "db-1"))?.raw["mode"],
        "needs_context"
    );
    e.record_outcome(&success(backup.request_id.as_deref().unwrap()))?;
    tick();
    let d = e.decide(&on_db("rotate_credential", "db-1"))?;
    assert_eq!(d.raw["mode"], "autonomous", "{}", d.raw["reason"]);
    let h = &d.raw["decision_packet"]["input"]["history"];
    assert_eq!(h["last_outcomes"][0]["action"], "backup_database");
    assert_eq!(h["last_outcomes"][0]["status"], "SUCCESS");
    assert_eq!(h["last_outcomes"][1]["status"], "FAILURE");
    assert_eq!(
        h["windows"]["1h"]["actor"]["outcomes"],
        json!({"FAILURE": 1, "SUCCESS": 1})
    );
    steps.push(essence(&d));
    // Another database has had no backup.
    assert_eq!(
        e.decide(&on_db("rotate_credential", "db-2"))?.raw["mode"],
        "needs_context"
    );
    // Two hours later the backup is too old.
    clock.advance(Duration::from_secs(2 * 3600));
    let d = e.decide(&on_db("rotate_credential", "db-1"))?;
    assert_eq!(d.raw["mode"], "needs_context");
    steps.push(essence(&d));
    Ok(steps)
}

#[test]
fn rate_limits_and_prerequisites_on_sqlite() {
    scenario(LocalEngine::builder().in_memory()).unwrap();
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_decides_rate_limits_and_prerequisites_as_sqlite_does() {
    use crate::postgres_store::{database_url, fresh_schema};
    let Some(url) = database_url() else { return };
    let pg = scenario(
        LocalEngine::builder()
            .database_url(&url)
            .database_schema(fresh_schema()),
    )
    .unwrap();
    let sqlite = scenario(LocalEngine::builder().in_memory()).unwrap();
    assert_eq!(pg.len(), sqlite.len());
    for (i, (p, s)) in pg.iter().zip(&sqlite).enumerate() {
        assert_eq!(p, s, "step {i}");
    }
}

/// Calls decided at once (a model's parallel tool calls) each see the ones before them:
/// of eight simultaneous deploys under a limit of three, exactly three run.
fn parallel_calls_stay_within_the_limit(builder: LocalEngineBuilder) {
    let clock = Clock::manual(START_MS);
    let e = engine(builder, &clock);
    let start = std::sync::Barrier::new(8);
    let modes: Vec<String> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..8)
            .map(|i| {
                let (e, start) = (&e, &start);
                s.spawn(move || {
                    start.wait();
                    let d = e
                        .decide(&deploy("ci-bot", "production", &format!("svc-{i}")))
                        .unwrap();
                    d.raw["mode"].as_str().unwrap().to_owned()
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let ran = modes.iter().filter(|m| *m == "autonomous").count();
    let reviewed = modes.iter().filter(|m| *m == "review").count();
    assert_eq!((ran, reviewed), (3, 5), "{modes:?}");
}

#[test]
fn parallel_calls_stay_within_the_limit_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    parallel_calls_stay_within_the_limit(
        LocalEngine::builder().db_path(dir.path().join("decisions.db")),
    );
}

#[cfg(feature = "postgres")]
#[test]
fn parallel_calls_stay_within_the_limit_on_postgres() {
    use crate::postgres_store::{database_url, fresh_schema};
    let Some(url) = database_url() else { return };
    parallel_calls_stay_within_the_limit(
        LocalEngine::builder()
            .database_url(&url)
            .database_schema(fresh_schema()),
    );
}

/// A call a per-target limit selects but cannot count, since it names no target, is
/// reviewed rather than let past the limit.
#[test]
fn a_call_a_limit_cannot_count_is_reviewed() {
    let e = engine(LocalEngine::builder().in_memory(), &Clock::manual(START_MS));
    let untargeted = ProposedAction::new("grant_access")
        .actor("ops")
        .system("github")
        .risk(RiskLevel::Low)
        .environment("staging")
        .arguments(json!({"user": "dana"}));
    let d = e.decide(&untargeted).unwrap();
    assert_eq!(d.raw["mode"], "review", "{}", d.raw["reason"]);
    assert!(
        rules(&d).contains(&"rate_limit".to_owned()),
        "{:?}",
        rules(&d)
    );
    assert_eq!(
        d.raw["decision_packet"]["input"]["history"]["rate_limits"]["group-grants"],
        Value::Null
    );
}

/// Another connection's writes count at once: the SQLite cache of recent decisions does
/// not hide them from the counts.
#[test]
fn another_connections_decisions_count_towards_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.db");
    let clock = Clock::manual(START_MS);
    let a = engine(LocalEngine::builder().db_path(&path), &clock);
    let b = engine(LocalEngine::builder().db_path(&path), &clock);
    for engine in [&a, &b, &a] {
        assert_eq!(
            engine
                .decide(&deploy("ci-bot", "production", "svc"))
                .unwrap()
                .raw["mode"],
            "autonomous"
        );
        clock.advance(Duration::from_secs(1));
    }
    let d = b.decide(&deploy("ci-bot", "production", "svc")).unwrap();
    assert_eq!(d.raw["mode"], "review", "{}", d.raw["reason"]);
}

/// The Rego tests of the rate_limit and requires_prior rules (`tests/policies/history_rules`,
/// as `bighub policy test` runs them) all pass.
#[test]
fn the_history_rules_rego_tests_pass() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/policies/history_rules");
    let results = LocalEngine::builder()
        .in_memory()
        .run_policy_tests(&[&dir])
        .unwrap();
    assert!(results.len() >= 8, "{results:#?}");
    let failed: Vec<_> = results.iter().filter(|r| !r.passed()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// The configuration the README shows under "Rate limits and prerequisites" is valid, and
/// does what the README says of it.
#[test]
fn the_readme_example_configures_the_limits_it_describes() {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split_once("### Rate limits and prerequisites")
        .expect("the README has the section")
        .1;
    let json = section
        .split_once("```json\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a JSON block in the section")
        .0;
    let data: Value = serde_json::from_str(json).expect("the README's JSON parses");
    let clock = Clock::manual(START_MS);
    let engine = LocalEngine::builder()
        .in_memory()
        .data(data)
        .clock(clock.clone())
        .build()
        .expect("the README's configuration is valid");
    let config = engine.policy_config();
    assert_eq!(config.rate_limits.len(), 2);
    assert_eq!(config.requires_prior.len(), 1);
    for _ in 0..3 {
        assert_eq!(
            engine
                .decide(&deploy("ci-bot", "production", "web"))
                .unwrap()
                .raw["mode"],
            "autonomous"
        );
        clock.advance(Duration::from_secs(1));
    }
    let d = engine
        .decide(&deploy("ci-bot", "production", "web"))
        .unwrap();
    assert_eq!(d.raw["mode"], "review");
    assert_eq!(
        engine
            .decide(&on_db("rotate_credential", "db-1"))
            .unwrap()
            .raw["mode"],
        "needs_context"
    );
}

/// The configuration's error for `overrides`.
fn config_error(overrides: Value) -> String {
    PolicyConfig::from_overrides(overrides, "test")
        .unwrap_err()
        .to_string()
}

/// The keys are read, checked and normalized.
#[test]
fn limits_and_prerequisites_are_read_and_normalized() {
    let config = PolicyConfig::from_overrides(
        json!({
            "history_windows": ["24h", "1h", "15m"],
            "rate_limits": [{"name": "grants", "max": 5, "window": "1 day",
                             "action": "Grant_Access", "per": "target"}],
            "requires_prior": [{"name": "backup", "action": "Rotate_Credential",
                                "prior_action": "backup_database", "window": "PT1H",
                                "status": "success"}]
        }),
        "test",
    )
    .unwrap();
    assert_eq!(
        config
            .history_windows
            .iter()
            .map(|w| w.as_secs())
            .collect::<Vec<_>>(),
        [900, 3600, 86_400]
    );
    let limit = &config.rate_limits[0];
    assert_eq!(limit.action.as_deref(), Some("grant_access"));
    assert_eq!(limit.per, bighub_local::config::Dimension::Target);
    assert_eq!(limit.window.as_secs(), 86_400);
    assert_eq!(config.requires_prior[0].action, "rotate_credential");
    assert_eq!(config.requires_prior[0].status, "SUCCESS");
    let defaults = PolicyConfig::default();
    assert!(defaults.history_windows.is_empty());
    assert_eq!(
        PolicyConfig::from_overrides(
            json!({"rate_limits": [{"name": "x", "max": 1, "window": "1h"}]}),
            "test"
        )
        .unwrap()
        .rate_limits[0]
            .per,
        bighub_local::config::Dimension::Actor
    );
}

#[test]
fn mistakes_name_their_key() {
    let e = config_error(json!({"rate_limits": [{"name": "x", "max": 3, "windw": "1h"}]}));
    assert!(
        e.contains("rate_limits[0].windw") && e.contains("did you mean `window`?"),
        "{e}"
    );
    let e = config_error(json!({"requires_prior": [{"name": "x", "action": "a",
        "prior_acton": "b", "window": "1h"}]}));
    assert!(e.contains("did you mean `prior_action`?"), "{e}");
    let e = config_error(json!({"rate_limit": []}));
    assert!(e.contains("did you mean `rate_limits`?"), "{e}");
    let e = config_error(json!({"rate_limits": [{"name": "x", "max": 0, "window": "1h"}]}));
    assert!(
        e.contains("rate_limits[0].max") && e.contains("from 1 to 10000"),
        "{e}"
    );
    let e = config_error(json!({"rate_limits": [{"name": "x", "max": 10_001, "window": "1h"}]}));
    assert!(e.contains("found 10001"), "{e}");
    let e = config_error(json!({"rate_limits": [
        {"name": "x", "max": 1, "window": "1h"}, {"name": "x", "max": 2, "window": "2h"}]}));
    assert!(e.contains("rate_limits[1].name"), "{e}");
    let e = config_error(
        json!({"rate_limits": [{"name": "x", "max": 1, "window": "1h",
        "per": "team"}]}),
    );
    assert!(e.contains("rate_limits[0].per"), "{e}");
    let e = config_error(json!({"rate_limits": [{"name": "x", "max": 1, "window": "soon"}]}));
    assert!(
        e.contains("rate_limits[0].window") && e.contains("cannot read"),
        "{e}"
    );
    let e = config_error(json!({"history_windows": ["1h", 0]}));
    assert!(e.contains("history_windows[1]"), "{e}");
}
