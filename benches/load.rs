//! Load: many concurrent runs on one agent against the local fakes, the decision and
//! reporting endpoints answering after 30 ms.
//!
//! Each run makes one round of 8 guarded calls (8 evaluations, 8 outcome reports, one memory
//! batch), then the model answers. Prints, for 1,000 concurrent runs (and 100 as a baseline
//! measured the same way): wall time to the last result, time `close()` took to send what
//! was still queued, the reports sent/failed/dropped/pending it counted (checked against
//! what the fake service received), the peak of connections open at once to the decision
//! service, the agent process's peak of open file descriptors and of resident memory, and
//! the CPU time it spent per run and per guarded call (the runs and their reports).
//!
//! The fakes run in a child process (this binary, started with `fakes`), so that the
//! descriptor and memory figures are the agent's alone; each load gets fresh fakes and a
//! fresh agent process.
//!
//! `cargo bench --bench load`

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bighub::{BighubOpenAI, ToolError};
use bighub_testkit::FakeBighub;
use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
use serde_json::{Value, json};

const CALLS_PER_RUN: usize = 8;
const LATENCY: Duration = Duration::from_millis(30);

/// Restart a Kubernetes deployment.
#[bighub::action(system = "kubernetes", risk = "medium", environment = "staging")]
fn restart_deployment(deployment: String) -> Result<Value, ToolError> {
    Ok(json!({"restarted": deployment}))
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count())
}

/// The process's peak resident set (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The CPU time (user + system, all threads) this process has used, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the state, field 3;
    // utime and stime are fields 14 and 15, in clock ticks.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / clock_ticks_per_second()
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(100.0)
}

struct Figures {
    wall: Duration,
    cpu: f64,
    close: Duration,
    stats: bighub::run::ReportStats,
    received_outcomes: u64,
    peak_connections: usize,
    peak_fds: usize,
    peak_rss_mib: f64,
}

/// The fakes, served by a child process until its stdin closes.
async fn serve_fakes() {
    let openai = FakeOpenAi::start().await.expect("fake OpenAI");
    let bighub = FakeBighub::start().await;
    bighub.set_latency(LATENCY);
    openai.respond_with(|request| {
        if request.tool_outputs().is_empty() {
            (0..CALLS_PER_RUN).fold(Turn::new(), |turn, i| {
                turn.call(
                    "restart_deployment",
                    json!({"deployment": format!("svc-{i}")}).to_string(),
                )
            })
        } else {
            Turn::text("done")
        }
    });
    println!(
        "{} {} {} {}",
        openai.base_url(),
        openai.api_key(),
        bighub.base_url(),
        bighub.api_key()
    );
    let lines = tokio::task::spawn_blocking(|| {
        let mut answers = Vec::new();
        for line in std::io::stdin().lock().lines() {
            answers.push(line.unwrap_or_default());
        }
        answers
    });
    // Any line asks for the counts; the parent reads them, then closes stdin.
    let _ = lines.await;
    println!(
        "{} {}",
        bighub.count("/outcomes/report"),
        bighub.peak_open_connections()
    );
}

struct Fakes {
    child: Child,
    openai: (String, String),
    bighub: (String, String),
}

fn start_fakes() -> Fakes {
    let mut child = Command::new(std::env::current_exe().expect("this bench"))
        .arg("fakes")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the fakes start");
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut first)
        .expect("the fakes say where they listen");
    let parts: Vec<String> = first.split_whitespace().map(str::to_owned).collect();
    Fakes {
        child,
        openai: (parts[0].clone(), parts[1].clone()),
        bighub: (parts[2].clone(), parts[3].clone()),
    }
}

/// Closes the fakes' stdin and reads what the decision service received.
fn stop_fakes(mut fakes: Fakes) -> (u64, usize) {
    drop(fakes.child.stdin.take());
    let mut last = String::new();
    BufReader::new(fakes.child.stdout.take().expect("stdout"))
        .read_line(&mut last)
        .expect("the fakes report");
    let _ = fakes.child.wait();
    let mut parts = last
        .split_whitespace()
        .map(|p| p.parse::<u64>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0) as usize,
    )
}

/// One load, in a fresh agent process: prints its figures as one line.
async fn load(runs: usize) -> Figures {
    let fakes = start_fakes();
    let agent = BighubOpenAI::builder()
        .openai_api_key(&fakes.openai.1)
        .openai_base_url(&fakes.openai.0)
        .bighub_api_key(&fakes.bighub.1)
        .bighub_base_url(&fakes.bighub.0)
        .flush_timeout(Duration::from_secs(120))
        .action(RestartDeployment)
        .build()
        .expect("agent");

    let stop = Arc::new(AtomicBool::new(false));
    let peak_fds = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak_fds));
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                peak.fetch_max(open_fds(), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let cpu_start = cpu_seconds();
    let start = Instant::now();
    let mut all: futures::stream::FuturesUnordered<_> = (0..runs)
        .map(|i| {
            let agent = agent.clone();
            tokio::spawn(async move { agent.run(format!("restart batch {i}"), "gpt-bench").await })
        })
        .collect();
    while let Some(run) = futures::StreamExt::next(&mut all).await {
        let result = run.expect("run task").expect("run");
        assert_eq!(result.execution.events.len(), CALLS_PER_RUN);
    }
    let wall = start.elapsed();
    let closing = Instant::now();
    let stats = agent.close().await.expect("close");
    let close = closing.elapsed();
    let cpu = cpu_seconds() - cpu_start;
    stop.store(true, Ordering::SeqCst);
    let _ = sampler.await;
    let (received_outcomes, peak_connections) = stop_fakes(fakes);
    Figures {
        wall,
        cpu,
        close,
        stats,
        received_outcomes,
        peak_connections,
        peak_fds: peak_fds.load(Ordering::SeqCst),
        peak_rss_mib: peak_rss_mib(),
    }
}

fn print(runs: usize, f: &Figures) {
    let s = &f.stats;
    println!(
        "{runs} concurrent runs x {CALLS_PER_RUN} guarded calls, decision/report latency {LATENCY:?}"
    );
    println!(
        "  wall time to the last result:   {:8.2} s",
        f.wall.as_secs_f64()
    );
    println!(
        "  close() flushing the rest:      {:8.2} s",
        f.close.as_secs_f64()
    );
    println!(
        "  reports: {} outcomes + {} memory batches sent, {} failed, {} dropped, {} pending{}",
        s.outcomes_sent,
        s.memory_batches_sent,
        s.failed,
        s.dropped,
        s.pending,
        if s.flush_timed_out {
            " (flush timed out)"
        } else {
            ""
        }
    );
    println!(
        "  expected: {} outcomes + {runs} memory batches",
        runs * CALLS_PER_RUN
    );
    println!(
        "  peak connections to the decision service: {}",
        f.peak_connections
    );
    println!(
        "  outcome reports the service received: {}",
        f.received_outcomes
    );
    println!(
        "  agent process: peak {} open file descriptors, peak resident memory {:.1} MiB",
        f.peak_fds, f.peak_rss_mib
    );
    println!(
        "  agent process CPU (runs and their reports): {:.2} ms per run, {:.0} µs per guarded call",
        f.cpu * 1000.0 / runs as f64,
        f.cpu * 1e6 / (runs * CALLS_PER_RUN) as f64
    );
    println!("RSS {}", f.peak_rss_mib);
}

/// Runs one load in a child agent process and returns its printed figures.
fn load_in_child(runs: usize) -> String {
    let output = Command::new(std::env::current_exe().expect("this bench"))
        .args(["agent", &runs.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .expect("the agent process runs");
    assert!(output.status.success(), "the load of {runs} runs failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("fakes") => return serve_fakes().await,
        Some("agent") => {
            let runs = args[1].parse().expect("a number of runs");
            let figures = load(runs).await;
            print(runs, &figures);
            let _ = std::io::stdout().flush();
            println!("WALL {}", figures.wall.as_secs_f64());
            return;
        }
        _ => {}
    }
    let wall = |text: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix("WALL "))
            .and_then(|w| w.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let baseline = load_in_child(100);
    print!(
        "{}",
        baseline
            .lines()
            .filter(|l| !l.starts_with("WALL") && !l.starts_with("RSS"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    let full = load_in_child(1000);
    print!(
        "{}",
        full.lines()
            .filter(|l| !l.starts_with("WALL") && !l.starts_with("RSS"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    println!(
        "ratio 1000-run / 100-run wall time: {:.2}",
        wall(&full) / wall(&baseline)
    );
    let rss = |text: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix("RSS "))
            .and_then(|w| w.parse().ok())
            .unwrap_or(f64::NAN)
    };
    println!(
        "resident memory per additional concurrent run (1000 vs 100): {:.1} KiB",
        (rss(&full) - rss(&baseline)) * 1024.0 / 900.0
    );
}
