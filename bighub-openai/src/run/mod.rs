//! Runs: requests, streams, results, approvals and what the model is given.
//!
//! Everything a run of a built agent does and returns lives here: the [`RunRequest`] and the
//! [`RunStream`], the [`RunResult`](crate::RunResult) and its [`Execution`], a paused run's
//! [`RunState`](crate::RunState), the [`StreamEvent`](crate::StreamEvent)s, the approval
//! vocabulary, and the input forms a run starts from. Assembling an agent is
//! [`BighubOpenAI`](crate::BighubOpenAI)'s; tools are [`tool`](crate::tool)'s.

// Layout, one concept per file; a file uses only those listed before it:
// - vocabulary: `input`, `approval`, `model_response` (what the model answered, read and
//   kept), `state` (a paused run as data), `result`, `stream_event`;
// - per call: `prepared` (one call bound to its decision and approval, and the redaction
//   rule), `caps` (what a decision or a tool may add to the record);
// - per agent: `conversation`, `ledger` (approvals asked for and acted on), `reporter`
//   (outcome reports and memory, off the hot path), `runner` (the agent's shared internals);
// - what a run does, as `impl Runner` blocks by concept: `decide` (a call -> its decision),
//   `settle` (an answer -> a claimed approval), `round` (approvals, execution, records),
//   `driver` (the loop), `hosted_mcp` (what the API ran on hosted MCP servers), `stream` (the streamed loop), `request` (the public request
//   builder), `resume` (finishing paused runs).
// The model transport is `crate::provider`'s; no file here sends HTTP itself.

pub(crate) mod approval;
mod caps;
mod conversation;
mod decide;
mod driver;
mod hosted_mcp;
mod input;
mod ledger;
mod model_response;
mod prepared;
mod reporter;
mod request;
pub(crate) mod result;
mod resume;
mod round;
mod runner;
mod settle;
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

pub(crate) use runner::{DecisionHook, Runner};
