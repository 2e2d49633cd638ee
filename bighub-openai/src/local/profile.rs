//! Step-by-step timing of one local decision, for performance work (not run by default).
//!
//! Run with `cargo test --release -p bighub-openai --lib -- --ignored --nocapture profile`.
//! It replays the steps of [`LocalEngine::decide`](super::LocalEngine::decide) on a
//! file-backed store and prints each step's p50 / p99, so that a change can be compared
//! with the baseline in the same run.

use std::time::{Duration, Instant};

use bighub_core::{Decision, ProposedAction, RiskLevel};
use serde_json::json;

use super::LocalEngine;
use crate::digest::canonical_sha256;
use crate::local::input::build_input;
use crate::local::store::NewDecision;

const ROUNDS: usize = 4_000;

/// The steps of one replayed decision (they add up to `decide`).
const REPLAY: [&str; 7] = [
    "store.history",
    "decide_raw (all policy steps)",
    "args sha",
    "row to_string",
    "insert_decision",
    "Decision::from_backend_value",
    "build_input (with history)",
];

fn actions() -> Vec<ProposedAction> {
    vec![
        ProposedAction::new("grant_access")
            .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"}))
            .actor("ops-agent")
            .system("okta")
            .risk(RiskLevel::High)
            .environment("production")
            .target("okta-admins"),
        ProposedAction::new("list_users")
            .system("okta")
            .risk(RiskLevel::Low),
        ProposedAction::new("deploy_service")
            .arguments(json!({"image": "payments:1.42.0", "replicas": 3}))
            .system("argocd")
            .risk(RiskLevel::Medium)
            .environment("production")
            .target("payments"),
        ProposedAction::new("delete_bucket")
            .arguments(json!({"bucket": "old-logs", "api_key": "sk-test"}))
            .system("aws")
            .risk(RiskLevel::Critical)
            .environment("production")
            .target("old-logs"),
    ]
}

#[derive(Default)]
struct Steps(Vec<(&'static str, Vec<Duration>)>);

impl Steps {
    fn add(&mut self, name: &'static str, d: Duration) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(d),
            None => self.0.push((name, vec![d])),
        }
    }

    fn print(mut self) {
        for (name, v) in &mut self.0 {
            v.sort_unstable();
            let pct = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1e6;
            println!(
                "{name:<36} p50 {:>7.1} µs  p99 {:>7.1} µs",
                pct(0.5),
                pct(0.99)
            );
        }
    }
}

#[test]
#[ignore = "timing, run by hand in release mode"]
fn profile() {
    let dir = tempfile::tempdir().unwrap();
    let engine = LocalEngine::builder()
        .db_path(dir.path().join("p.db"))
        .build()
        .unwrap();
    let actions = actions();
    for i in 0..300 {
        engine.decide(&actions[i % 4]).unwrap();
    }
    let mut steps = Steps::default();
    for i in 0..ROUNDS {
        let a = &actions[i % 4];
        let t = Instant::now();
        let d = engine.decide(a).unwrap();
        steps.add("decide (whole)", t.elapsed());
        std::hint::black_box(d);
        replay(&engine, a, &mut steps);
        let t = Instant::now();
        let input = build_input(a, &Default::default(), 0, &engine.classifier);
        steps.add("build_input", t.elapsed());
        let t = Instant::now();
        let v = regorus::Value::from(input.clone());
        steps.add("serde -> regorus (input)", t.elapsed());
        std::hint::black_box(v);
        let t = Instant::now();
        std::hint::black_box(canonical_sha256(&input));
        steps.add("canonical sha256 (input)", t.elapsed());
    }
    // The slowest replays: which steps made them slow.
    let total: Vec<Duration> = (0..ROUNDS)
        .map(|i| {
            steps
                .0
                .iter()
                .filter(|(n, _)| REPLAY.contains(n))
                .map(|(_, v)| v[i])
                .sum()
        })
        .collect();
    let mut order: Vec<usize> = (0..ROUNDS).collect();
    order.sort_by_key(|i| std::cmp::Reverse(total[*i]));
    let tail = &order[..ROUNDS / 100];
    println!("slowest 1% of replays (mean per step, µs):");
    for (name, v) in &steps.0 {
        if REPLAY.contains(name) {
            let mean = tail.iter().map(|i| v[*i].as_secs_f64()).sum::<f64>() / tail.len() as f64;
            let all = v.iter().map(Duration::as_secs_f64).sum::<f64>() / v.len() as f64;
            println!(
                "  {name:<34} tail {:>7.1}  mean {:>6.1}",
                mean * 1e6,
                all * 1e6
            );
        }
    }
    let ins = &steps
        .0
        .iter()
        .find(|(n, _)| *n == "insert_decision")
        .unwrap()
        .1;
    let mut idx: Vec<usize> = (0..ins.len()).collect();
    idx.sort_by_key(|i| std::cmp::Reverse(ins[*i]));
    let slow: Vec<(usize, u128)> = idx
        .iter()
        .take(40)
        .map(|i| (i % 50, ins[*i].as_micros()))
        .collect();
    println!("slowest inserts (iteration mod 50, µs): {slow:?}");
    steps.print();
    let raw = engine.decide(&actions[0]).unwrap().raw;
    println!("decision row size {} bytes", raw.to_string().len());
    for (k, v) in raw.as_object().unwrap() {
        println!("  {k:<32} {:>5} bytes", v.to_string().len());
    }
    for (k, v) in raw["decision_packet"]["input"].as_object().unwrap() {
        println!("  input.{k:<26} {:>5} bytes", v.to_string().len());
    }
    let t = Instant::now();
    for _ in 0..1000 {
        std::hint::black_box(Decision::from_backend_value(raw.clone()));
    }
    println!("from_backend_value+clone {:?}", t.elapsed() / 1000);
}

/// The steps of `decide`, each timed.
fn replay(engine: &LocalEngine, action: &ProposedAction, steps: &mut Steps) {
    let now = crate::local::clock::now_millis();
    let target = action.target.as_deref().unwrap_or("");
    let name = super::action_name(action);
    let t = Instant::now();
    let (history, precedents) = engine
        .store
        .lock()
        .unwrap()
        .history(name, target, now)
        .unwrap();
    steps.add("store.history", t.elapsed());
    let t = Instant::now();
    let input = build_input(action, &history, now, &engine.classifier);
    steps.add("build_input (with history)", t.elapsed());
    let t = Instant::now();
    let rv = crate::local::convert::to_regorus(&input);
    steps.add("serde -> regorus", t.elapsed());
    let t = Instant::now();
    let out = engine.policy.eval_regorus(rv);
    steps.add("policy eval (vm)", t.elapsed());
    let t = Instant::now();
    let out = crate::local::convert::from_regorus(&out).unwrap();
    steps.add("regorus -> serde", t.elapsed());
    std::hint::black_box(out);
    let t = Instant::now();
    let raw = engine
        .decide_raw(action, &history, precedents, now)
        .unwrap();
    steps.add("decide_raw (all policy steps)", t.elapsed());
    let t = Instant::now();
    let args_sha = canonical_sha256(&action.arguments);
    steps.add("args sha", t.elapsed());
    let t = Instant::now();
    let s1 = raw["decision_packet"]["input"]["action"]["arguments"].to_string();
    let s2 = raw.to_string();
    steps.add("row to_string", t.elapsed());
    std::hint::black_box((s1, s2));
    let mode = raw["mode"].as_str().unwrap_or("blocked");
    let row = NewDecision {
        request_id: raw["request_id"].as_str().unwrap_or_default(),
        created_at: now,
        tool: &action.tool,
        action: name,
        target,
        system: action.system.as_deref(),
        environment: action.environment.as_deref(),
        risk: action.risk.map(RiskLevel::as_str),
        actor: &action.actor,
        mode,
        risk_score: raw["risk"].as_f64(),
        reason: raw["reason"].as_str(),
        arguments: &raw["decision_packet"]["input"]["action"]["arguments"],
        arguments_sha256: &args_sha,
        decision: &raw,
    };
    let approval_reason = (mode == "review").then(|| raw["reason"].as_str().unwrap_or(""));
    let t = Instant::now();
    engine
        .store
        .lock()
        .unwrap()
        .insert_decision(&row, approval_reason)
        .unwrap();
    steps.add("insert_decision", t.elapsed());
    // The same insert, step by step, with a fresh request id.
    {
        use rusqlite::params;
        let id = format!("loc_{}", uuid::Uuid::new_v4().simple());
        let args = row.arguments.to_string();
        let doc = row.decision.to_string();
        let mut store = engine.store.lock().unwrap();
        let t = Instant::now();
        let tx = store.conn.transaction().unwrap();
        steps.add("  begin", t.elapsed());
        let t = Instant::now();
        tx.prepare_cached(
            "INSERT INTO decisions (request_id, created_at, tool, action, target, system,
                environment, risk, actor, mode, risk_score, reason, arguments, arguments_sha256,
                decision)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )
        .unwrap()
        .execute(params![
            id,
            row.created_at,
            row.tool,
            row.action,
            row.target,
            row.system,
            row.environment,
            row.risk,
            row.actor,
            row.mode,
            row.risk_score,
            row.reason,
            args,
            row.arguments_sha256,
            doc,
        ])
        .unwrap();
        steps.add("  insert decision row", t.elapsed());
        let t = Instant::now();
        if let Some(reason) = approval_reason {
            tx.prepare_cached(
                "INSERT INTO approvals (request_id, created_at, tool, action, target,
                    arguments_sha256, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .unwrap()
            .execute(params![
                id,
                row.created_at,
                row.tool,
                row.action,
                row.target,
                row.arguments_sha256,
                reason
            ])
            .unwrap();
        }
        steps.add("  insert approval (reviews)", t.elapsed());
        let t = Instant::now();
        tx.commit().unwrap();
        steps.add("  commit", t.elapsed());
    }
    let t = Instant::now();
    std::hint::black_box(Decision::from_backend_value(raw));
    steps.add("Decision::from_backend_value", t.elapsed());
}

/// Inserting decision rows into a WAL file under variants of the schema and checkpointing.
#[test]
#[ignore = "timing, run by hand in release mode"]
fn profile_sqlite() {
    use rusqlite::{Connection, params};
    let dir = tempfile::tempdir().unwrap();
    let big = "x".repeat(3300);
    let variants: [(&str, &str, bool, i64); 5] = [
        ("as is, checkpoint thread", "", true, 0),
        ("as is, sqlite autocheckpoint", "", false, 1000),
        ("as is, never checkpoint", "", false, 0),
        (
            "no by_time index",
            "DROP INDEX decisions_by_time;",
            false,
            0,
        ),
        (
            "no indexes but pk",
            "DROP INDEX decisions_by_time; DROP INDEX decisions_by_action;",
            false,
            0,
        ),
    ];
    for (vi, (label, ddl, thread, auto)) in variants.iter().enumerate() {
        let path = dir.path().join(format!("v{vi}.db"));
        let mut store =
            crate::local::store::Store::open(&crate::local::StoreLocation::File(path.clone()))
                .unwrap();
        if !thread {
            drop(store);
            store = crate::local::store::Store::open(&crate::local::StoreLocation::Memory).unwrap();
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
            conn.pragma_update(None, "wal_autocheckpoint", auto)
                .unwrap();
            store.conn = conn;
        }
        store.conn.execute_batch(ddl).unwrap();
        let mut times = Vec::new();
        for i in 0..3000i64 {
            let t = Instant::now();
            let tx = store.conn.transaction().unwrap();
            tx.prepare_cached(
                "INSERT INTO decisions (request_id, created_at, tool, action, target, system,
                environment, risk, actor, mode, risk_score, reason, arguments, arguments_sha256,
                decision) VALUES (?1, ?2, 'grant_access', 'grant_access', 'okta-admins', 'okta',
                'production', 'high', 'ops-agent', 'review', 0.7, 'some reason', '{}', ?3, ?4)",
            )
            .unwrap()
            .execute(params![
                format!("loc_{:032x}", i.wrapping_mul(0x9e3779b97f4a7c15u64 as i64)),
                i,
                "a".repeat(64),
                big
            ])
            .unwrap();
            tx.commit().unwrap();
            times.push(t.elapsed());
        }
        let slow: Vec<usize> = {
            let mut idx: Vec<usize> = (0..times.len()).collect();
            idx.sort_by_key(|i| std::cmp::Reverse(times[*i]));
            idx.into_iter().take(15).map(|i| i % 100).collect()
        };
        times.sort_unstable();
        println!(
            "{label:<32} p50 {:>6.1} µs p99 {:>7.1} µs  slowest mod 100: {slow:?}",
            times[1500].as_secs_f64() * 1e6,
            times[2970].as_secs_f64() * 1e6
        );
    }
}

/// The default policy's parts, each evaluated alone, to see where its time goes.
#[test]
#[ignore = "timing, run by hand in release mode"]
fn profile_policy_parts() {
    use crate::local::config::{default_data, normalize};
    use crate::local::policy::{DEFAULT_POLICY, PolicySet, Source};
    let mut data = default_data();
    normalize(&mut data).unwrap();
    let probes = r#"package bighub.policy
import rego.v1
probe_spaces := [space("available"), space("constrained"), space("forbidden"), space("information_gathering")]
probe_factors := [f.factor | some f in effective; is_object(f.factor)]
probe_sorts := [sort({f.rule | some f in effective}), sort({f.rule | some f in winners}), sort({f.rule | some f in all_findings; f.rule in exempt})]
probe_intent := {"declared": input.declared_request, "inferred": sprintf("%s: %s%s", [family_label, act.name, target_text]), "confidence": confidence, "mismatch": mismatch}
probe_body := {"can_touch": can_touch, "can_verify": can_verify, "can_rollback": can_rollback, "cannot_observe": cannot_observe, "requires_human": requires_human}
probe_layer := {"raw_action": act.name, "interpreted_action": sprintf("%s%s in %s", [family_label, target_text, env_label]), "action_family": action_family}
probe_base := [i | some i in numbers.range(1, 20); is_string(act.name); is_string(target_text)]
probe_sprintf := [sprintf("%s%s in %s", [act.name, target_text, i]) | some i in numbers.range(1, 20)]
probe_concat := [concat("", [act.name, target_text, " in ", act.name]) | some i in numbers.range(1, 20)]
probe_cfg := cfg.failure_threshold
probe_ext := [x | x := data.bighub.ext.override.mode]
probe_user := [f | some f in data.bighub.ext.findings]
probe_input := input.action.name
probe_core := {"mode": mode, "risk": risk_score, "reason": reason, "better_action": better_action}
"#;
    let sources = [
        Source {
            name: "default.rego".to_owned(),
            text: DEFAULT_POLICY.to_owned(),
        },
        Source {
            name: "probes.rego".to_owned(),
            text: probes.to_owned(),
        },
    ];
    let inputs: Vec<_> = actions()
        .iter()
        .map(|a| {
            regorus::Value::from(build_input(
                a,
                &Default::default(),
                0,
                &crate::local::facts::Classifier::from_data(&data),
            ))
        })
        .collect();
    for part in [
        "is_destructive",
        "is_read_only",
        "privilege_escalation",
        "findings",
        "effective",
        "mode",
        "reason",
        "better_action",
        "risk_score",
        "mismatch",
        "action_family",
        "all_findings",
        "invalid_findings",
        "probe_spaces",
        "probe_factors",
        "probe_sorts",
        "probe_intent",
        "probe_body",
        "probe_layer",
        "probe_core",
        "probe_base",
        "probe_cfg",
        "probe_ext",
        "probe_user",
        "probe_input",
        "probe_sprintf",
        "probe_concat",
        "decision",
    ] {
        let entry = format!("data.bighub.policy.{part}");
        let set = PolicySet::compile(&sources, &data, &entry, &[]).unwrap();
        let mut times = Vec::new();
        for i in 0..2000 {
            let t = Instant::now();
            std::hint::black_box(set.eval_regorus(inputs[i % 4].clone()));
            times.push(t.elapsed());
        }
        times.sort_unstable();
        println!("{part:<24} p50 {:>6.1} µs", times[1000].as_secs_f64() * 1e6);
    }
}
