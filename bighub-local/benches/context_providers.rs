//! Benchmark: what three context providers add to a decision when their answers are
//! cached, against the same decision with none.
//!
//! Prints the p50 and p99 latency of `evaluate` (gather the context, decide, record) with
//! no providers and with three providers whose answers are fresh in the cache (three
//! documents copied into the input, normalized, digested into the decision packet).
//! Both engines use an in-memory store; decisions alternate between them in rounds, so
//! both see the same machine. Run with
//! `cargo bench -p bighub-local --bench context_providers`.

use std::time::{Duration, Instant};

use bighub_core::{DecisionEngine, ProposedAction, RiskLevel};
use bighub_local::LocalEngine;
use bighub_local::context::{ContextProviders, FileProvider, ProviderOptions};
use serde_json::json;

const WARMUP: usize = 200;
const ROUNDS: usize = 3_000;

fn percentile(samples: &[Duration], p: f64) -> Duration {
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let documents = [
        (
            "freezes",
            json!({"windows": [{"name": "year-end", "start": "2026-12-20T00:00:00Z",
            "end": "2027-01-04T00:00:00Z", "systems": ["argocd"], "environments": ["production"]}]}),
        ),
        (
            "incidents",
            json!({"incidents": [{"id": "P1", "title": "payments latency",
            "status": "triggered", "urgency": "high", "service": {"id": "S1", "summary": "Payments"}}]}),
        ),
        (
            "status",
            json!({"status": {"indicator": "none", "description": "All Systems Operational"},
            "components": [{"id": "c1", "name": "API", "status": "operational"}]}),
        ),
    ];
    let mut providers = ContextProviders::new();
    for (name, document) in &documents {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, document.to_string()).expect("write a document");
        let mut options = ProviderOptions::default();
        options.ttl = Duration::from_secs(3600);
        providers = providers
            .register(*name, FileProvider::new(path), options)
            .expect("register a provider");
    }
    let without = LocalEngine::builder()
        .in_memory()
        .build()
        .expect("an engine");
    let with = LocalEngine::builder()
        .in_memory()
        .context(providers)
        .build()
        .expect("an engine with providers");
    let action = ProposedAction::new("deploy_service")
        .arguments(json!({"image": "payments:1.42.0", "replicas": 3}))
        .system("argocd")
        .risk(RiskLevel::Medium)
        .environment("staging")
        .target("payments");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        for _ in 0..WARMUP {
            without.evaluate(&action).await.expect("a decision");
            with.evaluate(&action).await.expect("a decision");
        }
        let mut none = Vec::with_capacity(ROUNDS);
        let mut three = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            without.evaluate(&action).await.expect("a decision");
            none.push(t.elapsed());
            let t = Instant::now();
            with.evaluate(&action).await.expect("a decision");
            three.push(t.elapsed());
        }
        none.sort();
        three.sort();
        for (label, samples) in [("no providers", &none), ("three cached providers", &three)] {
            println!(
                "{label:>24}: p50 {:>8.1?}  p99 {:>8.1?}  ({ROUNDS} decisions)",
                percentile(samples, 0.5),
                percentile(samples, 0.99)
            );
        }
    });
}
