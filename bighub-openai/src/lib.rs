//! # bighub-openai
//!
//! Run an OpenAI agent whose risky tool calls are decided before they execute.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod action;
#[cfg(feature = "local")]
pub mod local;
mod state;
mod tool_error;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use action::{Action, ActionMetadata, RiskLevel};
pub use bighub_core as core;
pub use bighub_openai_macros::action;
#[cfg(feature = "local")]
pub use local::LocalEngine;
pub use state::{State, ToolContext, ToolContextBuilder};
pub use tool_error::{ToolError, ToolErrorKind};
