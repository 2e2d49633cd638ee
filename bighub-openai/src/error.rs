//! The one error type of bighub-openai.
//!
//! Tool calls that fail are not errors of the runtime: they become [`ToolError`](crate::ToolError)s
//! and the run goes on. This type is for setup and runtime failures.

use crate::schema::SchemaError;

/// Everything that can go wrong while setting up or running the SDK.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tool name that the OpenAI API would reject.
    #[error("invalid tool name `{name}`: {reason}; tool names must match ^[a-zA-Z0-9_-]{{1,64}}$")]
    InvalidToolName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A second tool with a name already registered.
    #[error("a tool named `{0}` is already registered; tool names must be unique")]
    DuplicateTool(String),

    /// A tool whose parameters schema is not (and could not be made) acceptable.
    #[error("tool `{tool}`: invalid parameters schema at {source}")]
    Schema {
        /// The tool.
        tool: String,
        /// The offending node and rule.
        source: SchemaError,
    },

    /// An error of the decision layer.
    #[error(transparent)]
    Core(#[from] bighub_core::Error),
}
