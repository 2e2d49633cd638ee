//! What to decide when the decision service cannot be reached. (Placeholder.)

use serde::{Deserialize, Serialize};

/// Fail closed (block) or open (proceed) when the engine cannot answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Block.
    #[default]
    Closed,
    /// Proceed.
    Open,
}
