//! The embedded engine's tests: policies and their configuration, golden decisions, the
//! SQLite and PostgreSQL stores, approvals, durable runs, replay, policy tests, live reload and shadow policies,
//! context providers and security evidence.
//!
//! One test binary with a module per concern, linked once; run one concern with
//! `cargo test -p bighub-local --test engine local_store::`.

mod approval_lifecycle;
mod context_providers;
mod decision_log;
mod decision_logs_sink;
mod durable_runs;
mod evidence_lookup;
mod golden_decisions;
mod history_limits;
mod live_policies;
mod local_approvals;
mod local_config;
mod local_policy;
mod local_policy_files;
mod local_policy_tests;
mod local_replay;
mod local_store;
mod postgres_store;
mod shadow_policies;
