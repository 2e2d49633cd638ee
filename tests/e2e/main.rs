//! End to end: the agent against the validating fakes of the OpenAI Responses API and of
//! BIGHUB, against `bighub serve` and real MCP servers, and the macro's runtime behaviour.
//!
//! One test binary with a module per concern, so that the workspace links the whole tree
//! once for them rather than once per file. Run one concern with
//! `cargo test --test e2e agent_approvals::`.

mod support;

mod action_macro;
mod agent_approvals;
mod agent_builder;
mod agent_local;
mod agent_loop;
mod agent_stream;
mod approval_lifecycle;
mod deploy_after_scan;
mod durable_runs;
mod guard_integrity;
mod hosted_mcp;
mod mcp_filesystem;
mod mcp_tools;
mod shadow_policies;
