//! The decision server's tests: the hosted wire contract on SQLite and PostgreSQL, context
//! providers, slow and hostile clients, approval webhooks and Slack's buttons, live policy
//! reload and shadow policies.
//!
//! One test binary with a module per concern, linked once; run one concern with
//! `cargo test -p bighub-server --test server wire::`.

mod common;

mod console;
mod context;
mod decision_logs;
mod durable_runs;
mod hostile_clients;
mod lifecycle;
mod live_policies;
mod notify;
mod rate_limits;
mod slack_actions;
mod wire;
mod wire_postgres;
