//! The decision log as people read it: a filtered page of decisions, newest first, and one
//! decision whole.
//!
//! This module owns the query a log page is read with ([`DecisionQuery`]), the page
//! ([`DecisionPage`]) and where the next one starts ([`DecisionCursor`]), and one decision
//! with everything recorded about it ([`DecisionDetail`]). The statements live with each
//! back end (`sqlite/decision_log.rs`, `postgres/decision_log.rs`); both select the same
//! rows in the same order.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use crate::storage::{ApprovalRecord, DecisionRecord};

/// The most decisions one page holds; a larger `limit` is lowered to this.
pub const MAX_PAGE: usize = 500;

/// Which decisions a page of the log holds. Every filter given must match exactly; none
/// given selects every decision.
///
/// ```
/// use bighub_local::storage::DecisionQuery;
///
/// let query = DecisionQuery {
///     tool: Some("grant_access".into()),
///     environment: Some("production".into()),
///     limit: 50,
///     ..DecisionQuery::default()
/// };
/// assert_eq!(query.limit, 50);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionQuery {
    /// The tool called.
    pub tool: Option<String>,
    /// The mode decided (`autonomous`, `review`, `blocked`, ...).
    pub mode: Option<String>,
    /// Who the action is done as.
    pub actor: Option<String>,
    /// The system acted on.
    pub system: Option<String>,
    /// The environment acted in.
    pub environment: Option<String>,
    /// Decided at or after this time (unix milliseconds).
    pub from_ms: Option<i64>,
    /// Decided before this time (unix milliseconds).
    pub to_ms: Option<i64>,
    /// Where the page starts: the previous page's [`DecisionPage::next`]; `None` for the
    /// newest decisions.
    pub after: Option<DecisionCursor>,
    /// The most decisions on the page (at most [`MAX_PAGE`]).
    pub limit: usize,
}

impl Default for DecisionQuery {
    fn default() -> Self {
        Self {
            tool: None,
            mode: None,
            actor: None,
            system: None,
            environment: None,
            from_ms: None,
            to_ms: None,
            after: None,
            limit: 50,
        }
    }
}

impl DecisionQuery {
    /// The page size the store reads: at least 1, at most [`MAX_PAGE`].
    pub(crate) fn page_size(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE)
    }
}

/// Where a page of the log starts: the position of the last decision of the page before
/// it. Opaque; written and read as a decimal number (in a URL's query, say).
///
/// ```
/// use bighub_local::storage::DecisionCursor;
///
/// let cursor: DecisionCursor = "123456".parse().unwrap();
/// assert_eq!(cursor.to_string(), "123456");
/// assert!("x".parse::<DecisionCursor>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct DecisionCursor(pub(crate) i64);

impl fmt::Display for DecisionCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A cursor that is not one: not a non-negative decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a decision log cursor")]
pub struct InvalidCursor;

impl FromStr for DecisionCursor {
    type Err = InvalidCursor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Self(n)),
            _ => Err(InvalidCursor),
        }
    }
}

/// One page of the decision log, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionPage {
    /// The decisions, newest first, each with its outcomes.
    pub decisions: Vec<DecisionRecord>,
    /// Where the next (older) page starts; `None` when this page is the last.
    pub next: Option<DecisionCursor>,
}

/// One decision with everything recorded about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionDetail {
    /// The decision's row, with its outcomes.
    pub record: DecisionRecord,
    /// The whole decision as it was answered (arguments redacted as recorded), with its
    /// `decision_packet`: the input it was decided on, and the context and evidence used.
    pub decision: Value,
    /// The approval a review decision opened, as it stands now.
    pub approval: Option<ApprovalRecord>,
}
