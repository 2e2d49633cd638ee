//! # bighub-openai
//!
//! Run an OpenAI agent whose risky tool calls are decided before they execute.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Lets `#[action]` name this crate `::bighub_openai` from inside it too (tests, doctests).
extern crate self as bighub_openai;

mod action;
mod state;
mod tool_error;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use action::{Action, ActionMetadata, RiskLevel};
pub use bighub_core as core;
pub use bighub_openai_macros::action;
pub use state::{State, ToolContext, ToolContextBuilder};
pub use tool_error::{ToolError, ToolErrorKind};
