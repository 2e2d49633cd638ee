//! Benchmark of the guarded tool loop against the local fakes.
//!
//! 1. Concurrency: one round of 8 parallel tool calls against a fake BIGHUB that answers
//!    after 30 ms takes about one evaluation latency, not eight. Prints the latency of one
//!    evaluation, a run with 1 call, a run with 8 calls, and the ratios.
//! 2. Overhead: the loop's own cost per tool call against zero-latency fakes, in µs,
//!    from the slope between runs with 1 and 33 calls in one round (same number of model
//!    requests), once with the fake BIGHUB over HTTP and once with an in-process engine.
//!
//! `cargo bench --bench agent_loop` (figures are medians over repeated runs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bighub::{
    BighubOpenAI, Decision, ToolError,
    engine::{
        ApprovalResolution, DecisionEngine, MemoryBatch, OutcomeReport, ProposedAction,
        RemoteBighub,
    },
};
use bighub_testkit::FakeBighub;
use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
use serde_json::{Value, json};

/// Restart a Kubernetes deployment.
#[bighub::action(system = "kubernetes", risk = "medium", environment = "staging")]
fn restart_deployment(deployment: String) -> Result<Value, ToolError> {
    Ok(json!({"restarted": deployment}))
}

/// Allows everything, in-process: isolates the loop from HTTP to the decision service.
#[derive(Debug)]
struct AllowAll;

#[async_trait]
impl DecisionEngine for AllowAll {
    async fn evaluate(&self, _: &ProposedAction) -> Result<Decision, bighub::engine::EngineError> {
        Ok(Decision::from_backend_response(
            &json!({"mode": "autonomous", "request_id": "r"}),
        ))
    }
    async fn report_outcome(&self, _: &OutcomeReport) -> Result<(), bighub::engine::EngineError> {
        Ok(())
    }
    async fn ingest_memory(&self, _: &MemoryBatch) -> Result<(), bighub::engine::EngineError> {
        Ok(())
    }
    async fn resolve_approval(
        &self,
        _: &str,
        _: &ApprovalResolution,
    ) -> Result<Value, bighub::engine::EngineError> {
        Ok(Value::Null)
    }
}

fn turn_with_calls(n: usize) -> Turn {
    (0..n).fold(Turn::new(), |turn, i| {
        turn.call(
            "restart_deployment",
            json!({"deployment": format!("svc-{i}")}).to_string(),
        )
    })
}

/// Median wall time of `runs` runs with `calls` tool calls in one round.
async fn median_run(
    agent: &BighubOpenAI,
    openai: &FakeOpenAi,
    calls: usize,
    runs: usize,
) -> Duration {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        openai.push(turn_with_calls(calls));
        openai.push(Turn::text("done"));
        let start = Instant::now();
        let result = agent.run("restart", "gpt-bench").await.expect("run");
        times.push(start.elapsed());
        assert_eq!(result.execution.events.len(), calls);
    }
    times.sort();
    times[times.len() / 2]
}

fn agent(openai: &FakeOpenAi, engine: Arc<dyn DecisionEngine>) -> BighubOpenAI {
    BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .shared_engine(engine)
        .outcome_reporting(false)
        .memory_enabled(false)
        .action(RestartDeployment)
        .build()
        .expect("agent")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let openai = FakeOpenAi::start().await.expect("fake OpenAI");
    let bighub = FakeBighub::start().await;
    let remote: Arc<dyn DecisionEngine> = Arc::new(
        RemoteBighub::builder()
            .api_key(bighub.api_key())
            .base_url(bighub.base_url())
            .build()
            .expect("remote engine"),
    );

    // 1. Concurrency against a 30 ms decision service.
    bighub.set_latency(Duration::from_millis(30));
    let mut evals = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        remote
            .evaluate(&ProposedAction::new("restart_deployment"))
            .await
            .expect("evaluate");
        evals.push(start.elapsed());
    }
    evals.sort();
    let evaluation = evals[evals.len() / 2];
    let slow = agent(&openai, Arc::clone(&remote));
    median_run(&slow, &openai, 1, 3).await; // warm-up
    let one = median_run(&slow, &openai, 1, 15).await;
    let eight = median_run(&slow, &openai, 8, 15).await;
    println!("decision service latency 30 ms");
    println!("  one evaluation:              {:8.2} ms", ms(evaluation));
    println!("  run, 1 tool call:            {:8.2} ms", ms(one));
    println!("  run, 8 parallel tool calls:  {:8.2} ms", ms(eight));
    println!(
        "  8 evaluations one by one:    {:8.2} ms (8 x one evaluation)",
        8.0 * ms(evaluation)
    );
    println!(
        "  ratio 8-call run / 1-call run: {:.2}  (8 sequential evaluations would add {:.0} ms)",
        ms(eight) / ms(one),
        7.0 * ms(evaluation)
    );

    // 2. Overhead per tool call against zero-latency fakes.
    bighub.set_latency(Duration::ZERO);
    for (label, engine) in [
        ("fake BIGHUB over HTTP", Arc::clone(&remote)),
        (
            "in-process engine",
            Arc::new(AllowAll) as Arc<dyn DecisionEngine>,
        ),
    ] {
        let fast = agent(&openai, engine);
        median_run(&fast, &openai, 33, 3).await; // warm-up
        let small = median_run(&fast, &openai, 1, 31).await;
        let large = median_run(&fast, &openai, 33, 31).await;
        let per_call = (large.as_secs_f64() - small.as_secs_f64()) / 32.0 * 1e6;
        println!("zero-latency fakes, {label}");
        println!("  run, 1 tool call:   {:8.3} ms", ms(small));
        println!("  run, 33 tool calls: {:8.3} ms", ms(large));
        println!(
            "  per extra tool call: {per_call:7.1} µs (includes the fake model's replay validation)"
        );
    }
}
