//! Runs: requests, streams, results, approvals and what the model is given.
//!
//! Everything a run of a built agent does and returns lives here: the [`RunRequest`] and the
//! [`RunStream`], the [`RunResult`](crate::RunResult) and its [`Execution`], a paused run's
//! [`RunState`](crate::RunState), the [`StreamEvent`](crate::StreamEvent)s, the approval
//! vocabulary, and the input forms a run starts from. Assembling an agent is
//! [`BighubOpenAI`](crate::BighubOpenAI)'s; tools are [`tool`](crate::tool)'s.

// Layout, one concept per file; a file uses only those listed before it (`tests/runtime/layout.rs`
// checks it, method calls across `impl Runner` blocks included):
// - what a run shows a trace: `spans` (its spans and their attributes, after the GenAI
//   conventions);
// - a call and its record: `input` (what a run starts from), `approval` (the approval
//   vocabulary and policy), `call` (a call as the model proposed it, with its kind),
//   `prepared` (one call bound to its decision and approval, and the redaction rule),
//   `caps` (what a decision or a tool may add to the record), `recorded` (one call as a
//   round recorded it);
// - what the model said and the run keeps: `model_response` (one answer, read), `conversation`,
//   `state` (a paused run as data), `result`, `stream_event`;
// - per agent: `ledger` (approvals asked for and acted on), `reporter` (outcome reports and
//   memory, off the hot path), `run_store` (a durable agent's run store, and the secret
//   values kept out of it), `runner` (the agent's shared internals), `ctx` (a run in
//   progress, frozen into and thawed from its state);
// - what a run does, as `impl Runner` blocks by concept: `decide` (a call -> its decision),
//   `settle` (an answer -> a claimed approval), `round` (approvals, execution, records),
//   `hosted_mcp` (what the API ran on hosted MCP servers), `driver` (the loop), `stream`
//   (the streamed loop), `request` (the public request builder), `resume` (finishing
//   paused runs), `durable` (resuming a run store's answered runs, each once).
// The model transport is `crate::provider`'s; no file here sends HTTP itself.

pub(crate) mod approval;
mod call;
mod caps;
mod conversation;
mod ctx;
mod decide;
mod driver;
mod durable;
mod hosted_mcp;
mod input;
mod ledger;
mod model_response;
mod prepared;
mod recorded;
mod reporter;
mod request;
pub(crate) mod result;
mod resume;
mod round;
mod run_store;
mod runner;
mod settle;
mod spans;
pub(crate) mod state;
mod stream;
pub(crate) mod stream_event;

pub use crate::error::ProviderError;
pub use approval::{ApprovalLoop, ApprovalRecord, ApprovalRequest};
pub use decide::ToolCheck;
pub use input::{IntoInput, Message, Role};
pub use model_response::{LlmResponse, McpToolList};
pub use reporter::ReportStats;
pub use request::RunRequest;
pub use result::Execution;
pub use state::RUN_STATE_VERSION;
pub use stream::RunStream;

pub(crate) use run_store::DurableRuns;
pub(crate) use runner::{DecisionHook, Runner};
