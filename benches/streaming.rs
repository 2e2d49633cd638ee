//! Streamed runs overlap decisions with generation.
//!
//! A fake model streams a tool call and then a message for about 200 ms (paced events);
//! the decision service answers in 100 ms. The streamed run requests the decision as soon
//! as the call's arguments are complete, so it should finish within about 10% of the time
//! the model alone takes (the same run with a decision service that answers at once). The
//! non-streamed `run`, which decides after the whole response, is shown for contrast.
//!
//! `cargo bench --bench streaming` prints the medians and the ratio.

use std::time::{Duration, Instant};

use bighub::{BighubOpenAI, RunResult, StreamEvent};
use bighub_testkit::fake_bighub::{Reply, decision};
use bighub_testkit::fake_openai::Turn;
use bighub_testkit::{FakeBighub, FakeOpenAi};
use futures::StreamExt;
use serde_json::{Value, json};

const ITERATIONS: usize = 7;
/// Events of the paced response (created, in progress, the call's 6, the message's 8,
/// completed), 12 ms apart: about 200 ms.
const EVENTS_PER_RESPONSE: u32 = 17;
const EVENT_DELAY: Duration = Duration::from_millis(12);
const DECISION_LATENCY: Duration = Duration::from_millis(100);

/// Restart a Kubernetes deployment.
#[bighub::action(system = "kubernetes", risk = "low", environment = "staging")]
fn restart_deployment(deployment: String) -> Value {
    json!({"restarted": deployment})
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Stream,
    Run,
}

async fn one_run(decision_latency: Duration, mode: Mode) -> Duration {
    let openai = FakeOpenAi::start().await.expect("fake OpenAI starts");
    let bighub = FakeBighub::start().await;
    bighub.on_evaluate(|body| {
        Reply::ok(decision(
            "autonomous",
            body["action"].as_str().unwrap_or_default(),
        ))
    });
    bighub.set_latency(decision_latency);
    let turn = Turn::new()
        .call(
            "restart_deployment",
            json!({"deployment": "checkout"}).to_string(),
        )
        .message("Restarting checkout now; I will confirm when it is done.");
    // Not streamed, the same generation time is spent before the body is sent.
    openai.push(match mode {
        Mode::Stream => turn.event_delay(EVENT_DELAY),
        Mode::Run => turn.hold_for(EVENT_DELAY * EVENTS_PER_RESPONSE),
    });
    openai.push(Turn::text("Restarted checkout."));
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .bighub_api_key(bighub.api_key())
        .bighub_base_url(bighub.base_url())
        .outcome_reporting(false)
        .memory_enabled(false)
        .action(RestartDeployment)
        .build()
        .expect("agent builds");

    let started = Instant::now();
    let result: RunResult = match mode {
        Mode::Run => agent
            .run("Restart checkout", "gpt-test")
            .await
            .expect("run"),
        Mode::Stream => {
            let mut stream = agent.run_stream("Restart checkout", "gpt-test");
            let mut last = None;
            while let Some(event) = stream.next().await {
                if let StreamEvent::FinalResponse { response } = event.expect("stream") {
                    last = Some(response);
                }
            }
            last.expect("a final response")
        }
    };
    let elapsed = started.elapsed();
    assert_eq!(result.output_text(), "Restarted checkout.");
    elapsed
}

async fn median(decision_latency: Duration, mode: Mode) -> Duration {
    let mut samples = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        samples.push(one_run(decision_latency, mode).await);
    }
    samples.sort();
    samples[ITERATIONS / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        one_run(Duration::ZERO, Mode::Stream).await; // warm-up
        let model_alone = median(Duration::ZERO, Mode::Stream).await;
        let streamed = median(DECISION_LATENCY, Mode::Stream).await;
        let plain = median(DECISION_LATENCY, Mode::Run).await;
        let ratio = streamed.as_secs_f64() / model_alone.as_secs_f64();
        println!(
            "streaming (median of {ITERATIONS}; the model streams ~200 ms, decisions take {} ms)",
            DECISION_LATENCY.as_millis()
        );
        println!(
            "  model alone (instant decisions), run_stream: {:7.1} ms",
            ms(model_alone)
        );
        println!(
            "  run_stream, 100 ms decisions               : {:7.1} ms",
            ms(streamed)
        );
        println!(
            "  run (not streamed), 100 ms decisions       : {:7.1} ms",
            ms(plain)
        );
        println!(
            "  run_stream / model alone                   : {ratio:7.3} ({:+.1}%)",
            (ratio - 1.0) * 100.0
        );
        println!(
            "  run / model alone                          : {:7.3}",
            plain.as_secs_f64() / model_alone.as_secs_f64()
        );
    });
}
