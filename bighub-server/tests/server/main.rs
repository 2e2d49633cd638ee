//! The decision server's tests: the hosted wire contract on SQLite and PostgreSQL, context
//! providers, and slow and hostile clients.
//!
//! One test binary with a module per concern, linked once; run one concern with
//! `cargo test -p bighub-server --test server wire::`.

mod common;

mod context;
mod durable_runs;
mod hostile_clients;
mod wire;
mod wire_postgres;
