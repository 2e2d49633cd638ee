//! Tools: what a guarded tool is, how it is registered, what a call can reach.
//!
//! The [`Action`](crate::Action) trait and its metadata, per-tool
//! [`ToolOptions`](crate::ToolOptions), the [`ToolRegistry`] (names, strict schemas, the
//! listing sent to the model), closures and raw JSON tools, the shared state a call can
//! reach (and the [`Constraints`] of its decision), and the error a tool returns. Deciding and running calls is a
//! [run](crate::run)'s job, not this module's.

// The lowest layer of the runtime: it uses only the crate's `Error` and the `schema` rules.

pub(crate) mod action;
pub(crate) mod arguments;
mod constraints;
mod definition;
pub(crate) mod error;
mod fn_tool;
pub(crate) mod options;
mod registered_tool;
mod registry;
pub(crate) mod state;

pub use action::{ActionMetadata, RiskLevel};
pub use constraints::{ConstrainedAction, Constraints};
pub use definition::ToolDefinition;
pub use error::ToolErrorKind;
pub(crate) use error::json_kind;
pub use fn_tool::{FnTool, FnToolWithContext, RawTool};
pub use registered_tool::{CONVENTIONAL_VALUE_ARGS, RegisteredTool, SECRET_ARGS_KEY};
pub use registry::{MAX_TOOL_NAME_LEN, ToolRegistry};
pub use state::{StateType, ToolContext, ToolContextBuilder};
