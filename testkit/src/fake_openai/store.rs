//! What the fake "server side" persists: responses created with `store: true`, their items,
//! and the encrypted reasoning blobs it issued.
//!
//! Owns lookups for `previous_response_id`, `item_reference` and reasoning replay. Does not
//! validate requests (see `validate`) nor record traffic (see `record`).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// One stored response: its whole conversation context and its JSON.
#[derive(Debug, Clone)]
pub(crate) struct StoredResponse {
    /// Stored context of the previous response (if any) + this request's input + its output.
    pub context: Vec<Value>,
    /// The response object as it was returned.
    pub body: Value,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    responses: HashMap<String, StoredResponse>,
    order: Vec<String>,
    items: HashMap<String, Value>,
    encrypted: HashSet<String>,
}

impl Store {
    pub(crate) fn response(&self, id: &str) -> Option<&StoredResponse> {
        self.responses.get(id)
    }

    pub(crate) fn item(&self, id: &str) -> Option<&Value> {
        self.items.get(id)
    }

    pub(crate) fn issued_encrypted(&self, blob: &str) -> bool {
        self.encrypted.contains(blob)
    }

    pub(crate) fn remember_encrypted(&mut self, blob: String) {
        self.encrypted.insert(blob);
    }

    /// Stores a completed response; every context item with an `id` becomes referenceable.
    pub(crate) fn insert(&mut self, id: String, context: Vec<Value>, body: Value) {
        for item in &context {
            if let Some(item_id) = item.get("id").and_then(Value::as_str) {
                self.items.insert(item_id.to_owned(), item.clone());
            }
        }
        if !self.responses.contains_key(&id) {
            self.order.push(id.clone());
        }
        self.responses.insert(id, StoredResponse { context, body });
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.order.clone()
    }
}
