//! The gate: from a decision to a verdict. (Placeholder, replaced by the full gate.)

use serde::{Deserialize, Serialize};

use crate::Decision;

/// What to do with a decided call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Run it.
    Execute,
    /// Pause for a human.
    RequireApproval,
    /// Ask for more context.
    NeedContext,
    /// Do not run it.
    Block,
}

/// One signal's vote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    /// The signal.
    pub signal: String,
    /// Its verdict.
    pub verdict: Verdict,
}

impl Decision {
    /// The gate's verdict.
    pub fn verdict(&self) -> Verdict {
        Verdict::Block
    }
}
