//! What the fake "server side" persists: responses created with `store: true`, their items,
//! the encrypted reasoning blobs it issued, and background responses on their way to the end.
//!
//! Owns lookups for `previous_response_id`, `item_reference` and reasoning replay, and what
//! `GET /v1/responses/{id}` answers:
//!
//! | the id names | each GET answers |
//! |---|---|
//! | a background response with polls pending | the first `queued`, later ones `in_progress` (no output) |
//! | a background response with no poll pending | the finished response, whatever its status (stored for `previous_response_id` then, if it may be continued) |
//! | a response stored by `store: true` | that response |
//! | anything else | nothing (the server answers 404) |
//!
//! Does not validate requests (see `validate`) nor record traffic (see `record`).

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

/// A response created with `background: true`, answered by polls until it finishes.
#[derive(Debug, Clone)]
pub(crate) struct BackgroundResponse {
    /// Polls still to answer before the finished response.
    pub pending_polls: usize,
    /// The response as `queued` (the first pending poll).
    pub queued: Value,
    /// The response as `in_progress` (later pending polls).
    pub in_progress: Value,
    /// The finished response.
    pub finished: Value,
    /// The context to store once the finished response is first served, when it is stored
    /// and may be continued.
    pub context: Option<Vec<Value>>,
    /// Pending polls answered so far.
    pub served: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    responses: HashMap<String, StoredResponse>,
    background: HashMap<String, BackgroundResponse>,
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

    /// Registers a background response under `id`.
    pub(crate) fn insert_background(&mut self, id: String, response: BackgroundResponse) {
        self.background.insert(id, response);
    }

    /// What `GET /v1/responses/{id}` answers now (see the module table); a pending poll is
    /// used up by answering it.
    pub(crate) fn retrieve(&mut self, id: &str) -> Option<Value> {
        let Some(response) = self.background.get_mut(id) else {
            return self.responses.get(id).map(|r| r.body.clone());
        };
        if response.pending_polls > 0 {
            response.pending_polls -= 1;
            response.served += 1;
            return Some(if response.served == 1 {
                response.queued.clone()
            } else {
                response.in_progress.clone()
            });
        }
        let finished = response.finished.clone();
        if let Some(context) = response.context.take() {
            self.insert(id.to_owned(), context, finished.clone());
        }
        Some(finished)
    }
}
