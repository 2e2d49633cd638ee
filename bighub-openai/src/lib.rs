//! # bighub-openai
//!
//! Run an OpenAI agent whose risky tool calls are decided before they execute.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Lets `#[action]` name this crate `::bighub_openai` from inside it too (tests, doctests).
extern crate self as bighub_openai;

mod action;
mod agent;
pub mod blocking;
mod circuit_breaker;
mod config;
mod error;
mod event;
mod input;
mod provider;
mod reporter;
mod run_result;
mod fn_tool;
mod registered_tool;
mod registry;
pub mod schema;
mod state;
mod tool_definition;
mod tool_error;
mod tool_options;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use action::{Action, ActionMetadata, RiskLevel};
pub use agent::{AsyncBighubOpenAI, BighubOpenAI, BighubOpenAIBuilder, GuardedOpenAI, RunRequest, ToolCheck};
pub use bighub_core as core;
pub use bighub_core::{
    ApprovalResolution, Decision, DecisionEngine, DecisionMode, FailMode, MemoryBatch, Mode,
    OutcomeReport, OutcomeStatus, ProposedAction, RemoteBighub, Resolution, Verdict,
};
pub use config::{AgentConfig, SOURCE_VERSION};
pub use event::{ExecutionEvent, ExecutionStatus};
pub use input::{IntoInput, Message, Role};
pub use provider::ProviderSettings;
pub use reporter::ReportStats;
pub use run_result::{Execution, LlmResponse, RunResult};
pub use bighub_openai_macros::action;
pub use error::Error;
pub use fn_tool::{FnTool, RawTool};
pub use registered_tool::{CONVENTIONAL_VALUE_ARGS, RegisteredTool, SECRET_ARGS_KEY};
pub use registry::{MAX_TOOL_NAME_LEN, ToolRegistry};
pub use state::{State, ToolContext, ToolContextBuilder};
pub use tool_definition::ToolDefinition;
pub use tool_error::{ToolError, ToolErrorKind};
pub use tool_options::ToolOptions;
