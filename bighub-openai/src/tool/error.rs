//! The error a tool returns, and how the runtime describes a call that could not run.

use std::fmt;

/// Why a tool call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ToolErrorKind {
    /// The tool ran and returned an error.
    Failed,
    /// The model's arguments did not match the tool's parameters.
    InvalidArguments,
    /// The tool needs shared state that was never registered on the agent.
    MissingState,
    /// The tool panicked.
    Panicked,
    /// The tool did not finish within its timeout.
    TimedOut,
    /// The run was cancelled before the tool started.
    Cancelled,
}

/// The error of one tool call; it becomes a `tool_error` event, and the run goes on.
///
/// Any error type converts into it with `?`, so a tool can return
/// `Result<T, ToolError>` and use `?` on its clients' errors:
///
/// ```
/// use bighub_openai::ToolError;
///
/// fn parse_port(s: &str) -> Result<u16, ToolError> {
///     Ok(s.parse::<u16>()?)
/// }
/// let err = parse_port("http").unwrap_err();
/// assert_eq!(err.message(), "invalid digit found in string");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    kind: ToolErrorKind,
    message: String,
    field: Option<String>,
}

impl ToolError {
    /// A tool failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            kind: ToolErrorKind::Failed,
            message: message.into(),
            field: None,
        }
    }

    /// Arguments that do not fit the parameters; `field` is the JSON path of the bad value
    /// (for example `spec.replicas`), when known.
    pub fn invalid_arguments(field: Option<String>, message: impl Into<String>) -> Self {
        Self {
            kind: ToolErrorKind::InvalidArguments,
            message: message.into(),
            field,
        }
    }

    /// A tool that needs shared state of type `type_name` which was not registered.
    pub fn missing_state(type_name: &str) -> Self {
        Self {
            kind: ToolErrorKind::MissingState,
            message: format!(
                "this tool needs shared state of type `{type_name}`; register it on the agent with `.state(...)`"
            ),
            field: None,
        }
    }

    /// A tool that panicked, with the panic message when it was a string.
    pub fn panicked(message: impl Into<String>) -> Self {
        Self {
            kind: ToolErrorKind::Panicked,
            message: message.into(),
            field: None,
        }
    }

    /// A tool that did not finish within `timeout`.
    pub fn timed_out(timeout: std::time::Duration) -> Self {
        Self {
            kind: ToolErrorKind::TimedOut,
            message: format!("the tool did not finish within {timeout:?}"),
            field: None,
        }
    }

    /// A call whose run was cancelled before the tool started.
    pub(crate) fn cancelled() -> Self {
        Self {
            kind: ToolErrorKind::Cancelled,
            message: "not started: the run was cancelled".to_owned(),
            field: None,
        }
    }

    /// Why the call failed.
    pub fn kind(&self) -> ToolErrorKind {
        self.kind
    }

    /// The error text (without the field).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON path of the offending argument, for [`ToolErrorKind::InvalidArguments`].
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, &self.field) {
            (ToolErrorKind::InvalidArguments, Some(field)) => {
                write!(f, "invalid argument `{field}`: {}", self.message)
            }
            (ToolErrorKind::InvalidArguments, None) => {
                write!(f, "invalid arguments: {}", self.message)
            }
            (ToolErrorKind::Panicked, _) => write!(f, "tool panicked: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// How an error message names the JSON type of a value: `a string`, `an object`, ...
pub(crate) use crate::schema::kind_of as json_kind;

// Like anyhow::Error, ToolError does not implement std::error::Error itself, so that every
// error type can convert into it with `?`.
impl<E: std::error::Error + Send + Sync + 'static> From<E> for ToolError {
    fn from(error: E) -> Self {
        Self::new(error.to_string())
    }
}
