//! The `bighub` command as a user runs it: checks, listings, approvals, the policy
//! workflow, shadow disagreements, context providers, `bighub serve` (with the unmodified Python SDK and the
//! README's self-hosting block).
//!
//! One test binary with a module per concern, linked once; run one concern with
//! `cargo test -p bighub-cli --test cli serve::`.

mod cli;
mod context;
mod python_sdk;
mod serve;
mod shadow;
