//! Benchmark: one local decision (default policy, evaluate + persist) on one core.
//!
//! Prints p50 / p99 latency per decision and decisions per second for a file-backed store
//! (WAL), decisions made back to back on one thread, over several runs. Each run's p99 is
//! printed next to the p99 of a loop of plain arithmetic as long as a decision, timed just
//! after it: what the machine alone adds to the tail at that moment. Then each action's
//! p50 and p99; then the same with an in-memory store, and the policy evaluation alone,
//! for comparison.
//! Run with `cargo bench -p bighub-local --bench local_engine`.
//!
//! The deciding thread is pinned to one core, `BENCH_CORE` (default 0); the store's
//! checkpoint thread is left free to run on the others. The last line is the same run
//! unpinned, for comparison: a deciding thread that shares its core with the disk's
//! interrupts runs the decisions made while a checkpoint syncs the file several times
//! slower (on a two-core VM whose disk interrupts go to core 1, p99 doubles).

use std::time::{Duration, Instant};

use bighub_core::{DecisionEngine, ProposedAction, RiskLevel};
use bighub_local::LocalEngine;
use bighub_local::PreviewHistory;
use serde_json::json;

const WARMUP: usize = 300;
const ROUNDS: usize = 5_000;
/// Runs of `ROUNDS` decisions for the main line.
const RUNS: usize = 5;

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

/// The `p` quantile of sorted `samples`.
fn percentile(samples: &[Duration], p: f64) -> Duration {
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

/// What the machine itself adds to the tail, measured in the same run: a loop of plain
/// arithmetic as long as a median decision, timed as often, right after each run of
/// decisions. Anything that interrupts the core (timer ticks, the hypervisor, a neighbour
/// on the host) shows in its p99; a decision, which touches far more memory than this
/// loop, loses more to each interruption.
struct Machine {
    /// Iterations of the loop that take about as long as a median decision.
    iterations: u64,
}

impl Machine {
    fn spin(n: u64) -> u64 {
        let mut x = 0u64;
        for i in 0..n {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i);
        }
        std::hint::black_box(x)
    }

    /// Calibrates the loop to `target`: scales by the fastest of a few timings, three
    /// times over.
    fn calibrated(target: Duration) -> Self {
        let mut n = 100_000u64;
        for _ in 0..3 {
            let took = (0..20)
                .map(|_| {
                    let t = Instant::now();
                    Self::spin(n);
                    t.elapsed()
                })
                .min()
                .unwrap_or(target);
            n = ((n as f64 * target.as_secs_f64() / took.as_secs_f64().max(1e-9)) as u64).max(1);
        }
        Self { iterations: n }
    }

    /// `ROUNDS` timings of the loop.
    fn samples(&self) -> Vec<Duration> {
        (0..ROUNDS)
            .map(|_| {
                let t = Instant::now();
                Self::spin(self.iterations);
                t.elapsed()
            })
            .collect()
    }
}

fn report(label: &str, mut samples: Vec<Duration>, wall: Duration) {
    samples.sort_unstable();
    let pct = |p: f64| percentile(&samples, p);
    println!(
        "{label:<44} p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs  {:>8.0} decisions/s",
        pct(0.50).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        samples[samples.len() - 1].as_secs_f64() * 1e6,
        samples.len() as f64 / wall.as_secs_f64()
    );
}

/// Decides and stores `ROUNDS` actions back to back (after a warm-up): each one's latency,
/// and the wall time of all.
async fn decide_all(engine: &LocalEngine, actions: &[ProposedAction]) -> (Vec<Duration>, Duration) {
    for i in 0..WARMUP {
        engine
            .evaluate(&actions[i % actions.len()])
            .await
            .expect("decides");
    }
    let mut samples = Vec::with_capacity(ROUNDS);
    let start = Instant::now();
    for i in 0..ROUNDS {
        let t = Instant::now();
        let d = engine
            .evaluate(&actions[i % actions.len()])
            .await
            .expect("decides");
        samples.push(t.elapsed());
        std::hint::black_box(d);
    }
    (samples, start.elapsed())
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    // Built before the thread is pinned, so that their checkpoint threads are not.
    let file = |name: &str| {
        LocalEngine::builder()
            .db_path(dir.path().join(name))
            .build()
            .expect("engine")
    };
    let (unpinned, engine) = (file("unpinned.db"), file("bench.db"));
    let memory = LocalEngine::builder().in_memory().build().expect("engine");
    let actions = actions();

    // The comparison runs last, on a thread started before this one is pinned.
    let (start_unpinned, go) = std::sync::mpsc::channel::<()>();
    let comparison = std::thread::scope(|scope| {
        // Owned here, so that a panic below (stdout closed, say) drops it and the waiting
        // thread ends instead of keeping the scope open forever.
        let start_unpinned = start_unpinned;
        let (unpinned, actions) = (&unpinned, &actions);
        let handle = scope.spawn(move || {
            go.recv().ok()?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            Some(rt.block_on(decide_all(unpinned, actions)))
        });
        pinned_runs(&rt, &engine, &memory, actions);
        start_unpinned.send(()).ok();
        handle.join().ok().flatten()
    });
    if let Some((samples, wall)) = comparison {
        report("evaluate + persist (file, WAL), any core", samples, wall);
    }
}

/// Everything but the comparison, on the pinned thread.
fn pinned_runs(
    rt: &tokio::runtime::Runtime,
    engine: &LocalEngine,
    memory: &LocalEngine,
    actions: &[ProposedAction],
) {
    let core = std::env::var("BENCH_CORE")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0);
    let pinned = core_affinity::get_core_ids()
        .and_then(|ids| ids.into_iter().find(|id| id.id == core))
        .is_some_and(core_affinity::set_for_current);
    let on = if pinned {
        format!("core {core}")
    } else {
        "not pinned".to_owned()
    };

    // Several runs back to back, each followed by the machine's own loop for as long: one
    // run's p99 moves with what the host does meanwhile, and the loop shows how much.
    let (mut all, mut wall, mut p99s) = (Vec::new(), Duration::ZERO, Vec::new());
    let (mut machine, mut machine_all) = (None, Vec::new());
    let mut by_action = vec![Vec::new(); actions.len()];
    for _ in 0..RUNS {
        let (mut samples, w) = rt.block_on(decide_all(engine, actions));
        // Decisions cycle through the actions in order.
        for (i, s) in samples.iter().enumerate() {
            by_action[i % actions.len()].push(*s);
        }
        samples.sort_unstable();
        // Calibrated once, on the first run's median, so every run is compared with the
        // same loop.
        let machine = machine.get_or_insert_with(|| Machine::calibrated(percentile(&samples, 0.5)));
        let mut baseline = machine.samples();
        baseline.sort_unstable();
        p99s.push(format!(
            "{:.0} ({:.0})",
            percentile(&samples, 0.99).as_secs_f64() * 1e6,
            percentile(&baseline, 0.99).as_secs_f64() * 1e6,
        ));
        all.extend(samples);
        machine_all.extend(baseline);
        wall += w;
    }
    report(&format!("evaluate + persist (file, WAL), {on}"), all, wall);
    println!(
        "  p99 of each of the {RUNS} runs (machine's loop just after): {} µs",
        p99s.join(", ")
    );
    for (a, mut samples) in actions.iter().zip(by_action) {
        samples.sort_unstable();
        println!(
            "  {:<42} p50 {:>7.1} µs  p99 {:>7.1} µs",
            a.action,
            percentile(&samples, 0.50).as_secs_f64() * 1e6,
            percentile(&samples, 0.99).as_secs_f64() * 1e6,
        );
    }
    machine_all.sort_unstable();
    println!(
        "{:<44} p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs",
        "  machine: arithmetic as long as a decision",
        percentile(&machine_all, 0.50).as_secs_f64() * 1e6,
        percentile(&machine_all, 0.99).as_secs_f64() * 1e6,
        machine_all[machine_all.len() - 1].as_secs_f64() * 1e6,
    );

    // The same with the store in memory: what the file's writes and checkpoints add.
    let (samples, wall) = rt.block_on(decide_all(memory, actions));
    report(
        &format!("evaluate + persist (in-memory), {on}"),
        samples,
        wall,
    );

    let none = PreviewHistory::default();
    let mut samples = Vec::with_capacity(ROUNDS);
    let start = Instant::now();
    for i in 0..ROUNDS {
        let t = Instant::now();
        let d = engine
            .preview(&actions[i % actions.len()], &none, None)
            .expect("decides");
        samples.push(t.elapsed());
        std::hint::black_box(d);
    }
    report(
        "policy evaluation only (no store)",
        samples,
        start.elapsed(),
    );

    // The floor: the same machinery with a one-line policy.
    let trivial = LocalEngine::builder()
        .in_memory()
        .without_default_policy()
        .entrypoint("data.floor.decision")
        .policy("floor.rego", "package floor\nimport rego.v1\ndecision := {\"mode\": \"autonomous\", \"reason\": input.action.name}\n")
        .build()
        .expect("trivial engine");
    let mut samples = Vec::with_capacity(ROUNDS);
    let start = Instant::now();
    for i in 0..ROUNDS {
        let t = Instant::now();
        std::hint::black_box(
            trivial
                .preview(&actions[i % actions.len()], &none, None)
                .expect("decides"),
        );
        samples.push(t.elapsed());
    }
    report("floor: one-line policy, no store", samples, start.elapsed());

    for (i, a) in actions.iter().enumerate() {
        let mut samples = Vec::with_capacity(ROUNDS / 4);
        let start = Instant::now();
        for _ in 0..ROUNDS / 4 {
            let t = Instant::now();
            std::hint::black_box(engine.preview(a, &none, None).expect("decides"));
            samples.push(t.elapsed());
        }
        report(
            &format!("  policy only, action {} ({})", i + 1, a.action),
            samples,
            start.elapsed(),
        );
    }
}
