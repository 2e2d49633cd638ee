//! How long it takes to read a rich service answer into a decision and gate it.

use std::hint::black_box;

use bighub_core::Decision;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::Value;

fn rich_answer() -> Value {
    serde_json::from_str(include_str!("../tests/fixtures/argocd_sync_review.json"))
        .expect("the fixture is valid JSON")
}

fn decision(c: &mut Criterion) {
    let raw = rich_answer();
    let decided = Decision::from_backend_response(&raw);

    c.bench_function("normalise", |b| {
        b.iter(|| Decision::from_backend_response(black_box(&raw)))
    });
    // The owned variant moves the answer in instead of copying it; the copy happens in
    // the untimed setup.
    c.bench_function("normalise_owned", |b| {
        b.iter_batched(
            || raw.clone(),
            Decision::from_backend_value,
            BatchSize::SmallInput,
        )
    });
    c.bench_function("gate", |b| b.iter(|| black_box(&decided).verdict()));
    c.bench_function("votes", |b| b.iter(|| black_box(&decided).votes()));
    c.bench_function("normalise+gate", |b| {
        b.iter(|| Decision::from_backend_response(black_box(&raw)).verdict())
    });
}

criterion_group!(benches, decision);
criterion_main!(benches);
