//! Reading a raw service answer into a [`Decision`]. (Placeholder.)

use serde_json::Value;

use crate::Decision;

impl Decision {
    /// Normalises a raw `/actions/evaluate` answer.
    pub fn from_backend_response(raw: &Value) -> Decision {
        Decision {
            raw: raw.clone(),
            ..Decision::default()
        }
    }
}
