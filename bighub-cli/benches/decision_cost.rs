//! What one decision costs `bighub serve` and its PostgreSQL database, in CPU.
//!
//! Starts `bighub serve` (this package's release binary) on a fresh schema of the database
//! in `BIGHUB_TEST_DATABASE_URL`, then sends decisions (`POST /actions/evaluate`) from 16
//! and from 64 concurrent clients: a mix of a read (autonomous), a staging deploy
//! (autonomous), a production deploy (constrained) and a long admin grant (review, which
//! also opens an approval), on 50 targets. For each load it prints decisions per second,
//! the p50 and p99 latency a client saw, and the CPU time per decision of the server
//! process and of every PostgreSQL process on the machine (its backends and background
//! workers: read from `/proc`, so the database must run on this machine), each measured
//! over the same interval.
//!
//! `BIGHUB_TEST_DATABASE_URL=postgres://… cargo bench -p bighub-cli --bench decision_cost`
//!
//! Without the variable it says so and exits. `BENCH_DECISIONS` sets the decisions per
//! load (default 4,000). `BENCH_BASELINE_BIGHUB=/path/to/bighub` measures another build of
//! the binary first (one built from an earlier commit, say), the same way in the same run,
//! and prints this build's CPU per decision as a ratio of it. A decision the server sheds
//! under load (503) is counted and not retried. This build is measured twice: with the
//! default policy, and with `history_windows` `["1h", "24h"]` and one rate limit
//! configured, which makes every decision count its actor's, system's, action's and
//! target's recent decisions and outcomes (here one actor decides everything, so those
//! counts read thousands of rows).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const CONCURRENCY: [usize; 2] = [16, 64];
const WARMUP: usize = 400;

/// One load's figures.
struct Figures {
    concurrency: usize,
    answered: usize,
    unavailable: usize,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    server_cpu_ms: f64,
    postgres_cpu_ms: f64,
}

fn main() {
    let Ok(url) = std::env::var("BIGHUB_TEST_DATABASE_URL") else {
        println!(
            "decision_cost: skipped: set BIGHUB_TEST_DATABASE_URL to a PostgreSQL database on this machine"
        );
        return;
    };
    let decisions: usize = std::env::var("BENCH_DECISIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");

    println!(
        "decision_cost: bighub serve on PostgreSQL, release build, {decisions} decisions per load"
    );
    let baseline = std::env::var_os("BENCH_BASELINE_BIGHUB").map(|bin| {
        let bin = PathBuf::from(bin);
        println!("baseline: {}", bin.display());
        let figures = measure(&runtime, &bin, &[], &url, decisions);
        print_figures(&figures);
        figures
    });
    let this_build = Path::new(env!("CARGO_BIN_EXE_bighub"));
    println!("this build, default policy:");
    let current = measure(&runtime, this_build, &[], &url, decisions);
    print_figures(&current);
    // What the history costs when a policy reads it: every window counted, one rate limit.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let counted = dir.path().join("history.json");
    std::fs::write(
        &counted,
        json!({"bighub": {"config": {
            "history_windows": ["1h", "24h"],
            "rate_limits": [{"name": "bench", "max": 10_000, "window": "1h", "per": "actor"}]
        }}})
        .to_string(),
    )
    .expect("writes the policy data");
    println!("this build, history_windows [1h, 24h] and one rate limit:");
    let policy = counted.to_string_lossy().into_owned();
    print_figures(&measure(
        &runtime,
        this_build,
        &["--policy", &policy],
        &url,
        decisions,
    ));
    if let Some(baseline) = baseline {
        println!("this build / baseline (CPU per decision):");
        for (now, then) in current.iter().zip(&baseline) {
            println!(
                "  {:>2} clients: server {:.2}x, PostgreSQL {:.2}x, both {:.2}x",
                now.concurrency,
                now.server_cpu_ms / then.server_cpu_ms,
                now.postgres_cpu_ms / then.postgres_cpu_ms,
                (now.server_cpu_ms + now.postgres_cpu_ms)
                    / (then.server_cpu_ms + then.postgres_cpu_ms),
            );
        }
    }
}

fn print_figures(figures: &[Figures]) {
    for f in figures {
        println!(
            "  {:>2} clients: {} decisions ({} answered 503), {:.0}/s, p50 {:.2} ms, p99 {:.2} ms; CPU per decision: server {:.2} ms, PostgreSQL {:.2} ms",
            f.concurrency,
            f.answered,
            f.unavailable,
            f.per_second,
            f.p50_ms,
            f.p99_ms,
            f.server_cpu_ms,
            f.postgres_cpu_ms,
        );
    }
}

/// Starts `bin` on a fresh schema, warms it up, and runs each load.
fn measure(
    runtime: &tokio::runtime::Runtime,
    bin: &Path,
    args: &[&str],
    url: &str,
    decisions: usize,
) -> Vec<Figures> {
    let schema = format!(
        "bench_cost_{}_{}",
        std::process::id(),
        SCHEMAS.fetch_add(1, Ordering::Relaxed)
    );
    let mut server = Server::start(bin, args, url, &schema);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .expect("client");
    let base = server.base.clone();
    runtime.block_on(load(&client, &base, 8, WARMUP));
    let mut all = Vec::new();
    for concurrency in CONCURRENCY {
        let server_cpu = process_cpu(server.child.id());
        let pg_cpu = postgres_cpu();
        let started = Instant::now();
        let (mut latencies, unavailable) =
            runtime.block_on(load(&client, &base, concurrency, decisions));
        let wall = started.elapsed();
        let server_ms = (process_cpu(server.child.id()) - server_cpu) * 1000.0;
        let pg_ms = (postgres_cpu() - pg_cpu) * 1000.0;
        latencies.sort();
        let n = latencies.len().max(1);
        let at = |q: usize| latencies.get(q).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        all.push(Figures {
            concurrency,
            answered: latencies.len(),
            unavailable,
            per_second: latencies.len() as f64 / wall.as_secs_f64(),
            p50_ms: at(n / 2),
            p99_ms: at(n * 99 / 100),
            server_cpu_ms: server_ms / n as f64,
            postgres_cpu_ms: pg_ms / n as f64,
        });
    }
    server.stop();
    drop_schema(runtime, url, &schema);
    all
}

static SCHEMAS: AtomicUsize = AtomicUsize::new(0);

/// `total` decisions from `concurrency` clients: the latency of each decision answered,
/// and how many were answered 503 (the server shedding load), which are not retried.
async fn load(
    client: &reqwest::Client,
    base: &str,
    concurrency: usize,
    total: usize,
) -> (Vec<Duration>, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let unavailable = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = format!("{base}/actions/evaluate");
        let next = next.clone();
        let unavailable = unavailable.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return seen;
                }
                let body = action(i);
                let started = Instant::now();
                let response = client
                    .post(&url)
                    .json(&body)
                    .send()
                    .await
                    .expect("evaluate");
                if response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
                    unavailable.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                assert!(
                    response.status().is_success(),
                    "evaluate answered {}",
                    response.status()
                );
                let _: Value = response.json().await.expect("decision");
                seen.push(started.elapsed());
            }
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    (all, unavailable.load(Ordering::Relaxed))
}

/// The `i`-th call of the mix, as the hosted wire contract carries it.
fn action(i: usize) -> Value {
    let target = format!("service-{}", i % 50);
    let (action, target, context) = match i % 4 {
        0 => (
            "list_pods",
            target,
            json!({"system": "kubernetes", "risk": "low", "arguments": {}}),
        ),
        1 => (
            "deploy_service",
            target.clone(),
            json!({"system": "argocd", "risk": "medium",
              "environment": "staging", "arguments": {"service": target, "version": format!("1.{i}")}}),
        ),
        2 => (
            "deploy_service",
            target.clone(),
            json!({"system": "argocd", "risk": "high",
              "environment": "production", "arguments": {"service": target, "version": format!("1.{i}")}}),
        ),
        _ => (
            "grant_access",
            "okta-admins".to_owned(),
            json!({"system": "okta", "risk": "high",
              "environment": "production",
              "arguments": {"user_id": format!("user-{i}"), "group": "okta-admins", "duration": "48h"}}),
        ),
    };
    json!({"action": action, "actor": "bench-agent", "target": target, "domain": "it_actions",
           "context": context})
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(bin: &Path, args: &[&str], url: &str, schema: &str) -> Self {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--insecure-no-auth"])
            // Every client is on this machine: no per-address cap.
            .args(["--max-connections-per-address", "0"])
            .args(["--database-url", url, "--database-schema", schema])
            .args(args)
            .env_remove("BIGHUB_POLICY")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bighub serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, base }
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn drop_schema(runtime: &tokio::runtime::Runtime, url: &str, schema: &str) {
    runtime.block_on(async {
        let Ok((db, connection)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await else {
            return;
        };
        tokio::spawn(connection);
        let _ = db
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await;
    });
}

/// User + system CPU seconds of process `pid` (all its threads).
fn process_cpu(pid: u32) -> f64 {
    stat_cpu(&format!("/proc/{pid}/stat")).map_or(0.0, |(_, cpu)| cpu)
}

/// User + system CPU seconds of every process named `postgres` on the machine.
fn postgres_cpu() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| stat_cpu(&format!("{}/stat", e.path().display())))
        .filter(|(name, _)| name == "postgres")
        .map(|(_, cpu)| cpu)
        .sum()
}

/// The command name and user + system CPU seconds in a `/proc/…/stat` file.
fn stat_cpu(path: &str) -> Option<(String, f64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    // After the name: state is field 3; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    Some((name, (ticks(11)? + ticks(12)?) / clock_ticks()))
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(100.0)
}
