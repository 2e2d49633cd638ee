//! Why a provider could not give its document for a decision.
//!
//! This module owns [`FetchError`] and the one-line, escaped rendering of it that the
//! policy, the store and the decision see. It fetches nothing.

use std::time::Duration;

use crate::duration::format_duration;

/// The longest error text handed to the policy, in characters; the rest is cut.
const MAX_ERROR_CHARS: usize = 300;

/// Why a provider's document is missing from a decision. Its text is one line, escaped,
/// and never holds a secret (a header's value, an environment variable's value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The provider took longer than its timeout.
    #[error("timed out after {}", human(.0))]
    Timeout(Duration),
    /// The provider was not asked (a synchronous decision cannot wait for a fetch).
    #[error("not fetched: {0}")]
    NotFetched(String),
    /// The provider reads a field of the action that the action does not have.
    #[error("the action has no {0}, which the provider reads")]
    MissingField(&'static str),
    /// A header reads an environment variable that is not set (named; its value never is).
    #[error("the environment variable {0} is not set")]
    MissingEnv(String),
    /// The URL, once the action's fields are put in, is not one the provider may fetch.
    #[error("{0}")]
    Url(String),
    /// The server answered with a status other than 2xx.
    #[error("the server answered HTTP {0}")]
    Status(u16),
    /// The request failed before an answer (connection, TLS, ...).
    #[error("the request failed: {0}")]
    Request(String),
    /// The document is larger than the provider accepts.
    #[error("the document is larger than {0} bytes")]
    TooLarge(u64),
    /// The document is not JSON.
    #[error("the document is not JSON: {0}")]
    Json(String),
    /// A file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A program could not be started.
    #[error("cannot run {program}: {message}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        message: String,
    },
    /// A program exited unsuccessfully; with the first line of what it wrote to standard
    /// error.
    #[error("{program} exited with {status}: {stderr}")]
    Exit {
        /// The program.
        program: String,
        /// Its exit status (`status 1`, `signal 9`).
        status: String,
        /// The first line of its standard error.
        stderr: String,
    },
    /// The document does not fit the shape the provider declares.
    #[error("the document does not fit the shape {shape}: {message}")]
    Shape {
        /// The shape's name.
        shape: String,
        /// What does not fit.
        message: String,
    },
    /// Anything else a provider reports.
    #[error("{0}")]
    Other(String),
}

impl FetchError {
    /// The error as the policy sees it: one line, control characters escaped, at most a
    /// few hundred characters.
    pub fn one_line(&self) -> String {
        one_line(&self.to_string())
    }
}

/// A duration as people write it: `2s`, `1m30s`, `250ms`.
pub(crate) fn human(d: &Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format_duration(d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// `text` on one line: control characters (newlines among them) escaped as `\n`, `\u{1b}`,
/// cut after [`MAX_ERROR_CHARS`] characters.
pub(crate) fn one_line(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_ERROR_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The first line of `text`, escaped: what a failing program said first.
pub(crate) fn first_line(text: &str) -> String {
    one_line(
        text.lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_one_escaped_line() {
        assert_eq!(one_line("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
        assert_eq!(first_line("\n  boom: no\nmore"), "boom: no");
        assert_eq!(
            one_line(&"x".repeat(400)).chars().count(),
            MAX_ERROR_CHARS + 1
        );
        assert_eq!(
            FetchError::Timeout(Duration::from_millis(200)).to_string(),
            "timed out after 200ms"
        );
    }
}
