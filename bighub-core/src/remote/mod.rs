//! The hosted BIGHUB service over HTTPS. (Placeholder.)

use serde::{Deserialize, Serialize};

/// How an action is submitted to `/actions/evaluate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionMode {
    /// Fields at the top level.
    #[default]
    Submit,
    /// One payload object.
    SubmitPayload,
}

/// The remote engine.
#[derive(Debug)]
pub struct RemoteBighub {}

/// Builds a [`RemoteBighub`].
#[derive(Debug, Default)]
pub struct RemoteBighubBuilder {}
