//! The server's tool list as the agent knows it: read within caps, each tool's definition
//! pinned at connect, read again when the server announces a change
//! (`notifications/tools/list_changed`), and each definition the server now offers compared
//! with its pinned one.
//!
//! This module owns reading `tools/list`, the definitions (pinned and current) and noticing
//! announcements; what a definition means for a decision, and refusing a call whose
//! definition moved, is `tool.rs`'s. The session itself is `connection.rs`'s.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use bighub_core::digest::canonical_sha256;
use rmcp::ClientHandler;
use rmcp::model::{
    JsonRpcMessage, PaginatedRequestParams, ServerNotification, Tool as RmcpTool, ToolAnnotations,
};
use rmcp::service::{NotificationContext, Peer, RoleClient, RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::{Map, Value, json};

use super::McpListingCap;

/// The caps on one reading of the tool list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListingLimits {
    pub pages: usize,
    pub tools: usize,
    pub bytes: usize,
}

/// Why the tool list could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListError {
    /// It went past a cap.
    Cap(McpListingCap),
    /// The request failed (the text says how).
    Failed(String),
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cap(cap) => write!(f, "tools/list went past the cap of {cap}"),
            Self::Failed(message) => write!(f, "tools/list failed: {message}"),
        }
    }
}

/// Reads every page of `tools/list`, refusing a listing that goes past `limits`: a server
/// whose pages never end is stopped at the page cap, not read until the connect timeout.
pub(crate) async fn list_tools(
    peer: &Peer<RoleClient>,
    limits: &ListingLimits,
) -> Result<Vec<RmcpTool>, ListError> {
    let mut tools = Vec::new();
    let mut bytes = 0usize;
    let mut cursor = None;
    for _ in 0..limits.pages {
        let params = cursor.map(|c| PaginatedRequestParams::default().with_cursor(Some(c)));
        let page = peer
            .list_tools(params)
            .await
            .map_err(|e| ListError::Failed(e.to_string()))?;
        // One page is already bounded by the transport (rmcp caps a message); these caps
        // bound what the pages add up to.
        bytes = bytes.saturating_add(serde_json::to_vec(&page.tools).map_or(0, |v| v.len()));
        if bytes > limits.bytes {
            return Err(ListError::Cap(McpListingCap::Bytes(limits.bytes)));
        }
        if tools.len() + page.tools.len() > limits.tools {
            return Err(ListError::Cap(McpListingCap::Tools(limits.tools)));
        }
        tools.extend(page.tools);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(tools),
        }
    }
    Err(ListError::Cap(McpListingCap::Pages(limits.pages)))
}

/// One tool's definition as the server listed it: what the model is told and what a
/// decision about its calls is made on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Definition {
    pub description: String,
    pub schema: Value,
    pub annotations: Option<ToolAnnotations>,
    /// SHA-256 of the canonical JSON of the tool's name, description, input schema and
    /// annotations.
    pub fingerprint: String,
}

impl Definition {
    pub(crate) fn of(listed: &RmcpTool) -> Self {
        let description = listed
            .description
            .as_deref()
            .or(listed.title.as_deref())
            .or(listed.annotations.as_ref().and_then(|a| a.title.as_deref()))
            .unwrap_or_default()
            .to_owned();
        let mut schema = Value::Object((*listed.input_schema).clone());
        // A tool with no arguments may list `{"type": "object"}` alone; the model needs
        // the properties object to be there.
        if let Some(obj) = schema.as_object_mut() {
            obj.entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
        }
        let annotations = listed.annotations.clone();
        let fingerprint = canonical_sha256(&json!({
            "name": listed.name,
            "description": description,
            "input_schema": schema,
            "annotations": annotations,
        }));
        Self {
            description,
            schema,
            annotations,
            fingerprint,
        }
    }

    /// The parts of this definition that differ from `pinned`.
    pub(crate) fn changes_from(&self, pinned: &Definition) -> Vec<&'static str> {
        let mut changes = Vec::new();
        if self.description != pinned.description {
            changes.push("description");
        }
        if self.schema != pinned.schema {
            changes.push("input_schema");
        }
        if self.annotations != pinned.annotations {
            changes.push("annotations");
        }
        changes
    }
}

/// What the agent last read of the server's tools.
struct Current {
    /// The announcement count this reading covers.
    generation: u64,
    /// By the server's tool name; the error when the last reading failed.
    tools: Result<Arc<HashMap<String, Definition>>, String>,
}

/// The server's tools as the agent knows them, shared by the session, its tools, the
/// transport (which counts announcements) and the client handler (which reads again).
pub(crate) struct Listing {
    /// The server, as errors and logs name it.
    label: String,
    limits: ListingLimits,
    /// The definitions read at connect, by the server's tool name.
    pinned: OnceLock<HashMap<String, Definition>>,
    /// `notifications/tools/list_changed` seen so far.
    announced: AtomicU64,
    current: RwLock<Current>,
    /// One reading at a time.
    reading: tokio::sync::Mutex<()>,
}

impl Listing {
    pub(crate) fn new(label: String, limits: ListingLimits) -> Self {
        Self {
            label,
            limits,
            pinned: OnceLock::new(),
            announced: AtomicU64::new(0),
            current: RwLock::new(Current {
                generation: 0,
                tools: Ok(Arc::default()),
            }),
            reading: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn limits(&self) -> &ListingLimits {
        &self.limits
    }

    /// Pins the definitions read at connect; they are also the current ones.
    pub(crate) fn pin(&self, listed: &[RmcpTool]) {
        let definitions: HashMap<String, Definition> = listed
            .iter()
            .map(|t| (t.name.to_string(), Definition::of(t)))
            .collect();
        if let Ok(mut current) = self.current.write() {
            current.tools = Ok(Arc::new(definitions.clone()));
        }
        let _ = self.pinned.set(definitions);
    }

    /// The definition pinned at connect.
    pub(crate) fn pinned(&self, tool: &str) -> Option<&Definition> {
        self.pinned.get().and_then(|p| p.get(tool))
    }

    /// The definition the server offers now, as last read: `Ok(None)` when it no longer
    /// lists the tool, `Err` when the last reading failed.
    pub(crate) fn current(&self, tool: &str) -> Result<Option<Definition>, String> {
        let current = self
            .current
            .read()
            .map_err(|_| "the tool list is unavailable".to_owned())?;
        match &current.tools {
            Ok(tools) => Ok(tools.get(tool).cloned()),
            Err(e) => Err(e.clone()),
        }
    }

    /// Counts an announcement; the next [`refresh`](Self::refresh) reads the list again.
    pub(crate) fn announce(&self) {
        self.announced.fetch_add(1, Ordering::SeqCst);
    }

    /// Reads the tool list again when the server announced a change since the last
    /// reading; does nothing otherwise. A reading that fails leaves every tool unusable
    /// until one succeeds (its calls fail as tool errors), and is tried again next time.
    pub(crate) async fn refresh(&self, peer: &Peer<RoleClient>) {
        let one = self.reading.lock().await;
        self.read_again(peer, one).await;
    }

    /// As [`refresh`](Self::refresh), but does nothing while a reading is under way: a
    /// server that floods announcements cannot pile up waiting readers. A call still waits
    /// for the list its decision needs.
    pub(crate) async fn refresh_if_idle(&self, peer: &Peer<RoleClient>) {
        if let Ok(one) = self.reading.try_lock() {
            self.read_again(peer, one).await;
        }
    }

    async fn read_again(&self, peer: &Peer<RoleClient>, _one: tokio::sync::MutexGuard<'_, ()>) {
        let target = self.announced.load(Ordering::SeqCst);
        let generation = self.current.read().map_or(0, |c| c.generation);
        if generation >= target {
            return;
        }
        let read = list_tools(peer, &self.limits).await;
        let tools = match read {
            Ok(listed) => {
                let tools: HashMap<String, Definition> = listed
                    .iter()
                    .map(|t| (t.name.to_string(), Definition::of(t)))
                    .collect();
                self.log_changes(&tools);
                Ok(Arc::new(tools))
            }
            Err(e) => {
                tracing::warn!(server = ?self.label, error = ?e.to_string(), "MCP tool list could not be read again; its tools fail until it can");
                Err(e.to_string())
            }
        };
        if let Ok(mut current) = self.current.write() {
            if tools.is_ok() {
                current.generation = target;
            }
            current.tools = tools;
        }
    }

    /// Logs (escaped: everything here is the server's text) each pinned tool whose
    /// definition changed or that is gone.
    fn log_changes(&self, now: &HashMap<String, Definition>) {
        let Some(pinned) = self.pinned.get() else {
            return;
        };
        for (name, was) in pinned {
            match now.get(name) {
                None => tracing::warn!(
                    server = ?self.label,
                    tool = ?name,
                    "MCP server no longer lists a tool; its calls fail"
                ),
                Some(def) => {
                    let changes = def.changes_from(was);
                    if !changes.is_empty() {
                        tracing::warn!(
                            server = ?self.label,
                            tool = ?name,
                            changed = ?changes,
                            description = ?def.description,
                            "MCP server changed a tool's definition since connect; its calls are decided as changed"
                        );
                    }
                }
            }
        }
    }
}

/// The client side's handler: on `notifications/tools/list_changed` it reads the list
/// again (the transport has already counted the announcement).
#[derive(Clone)]
pub(crate) struct Watcher {
    pub(crate) listing: Arc<Listing>,
}

impl ClientHandler for Watcher {
    async fn on_tool_list_changed(&self, context: NotificationContext<RoleClient>) {
        self.listing.refresh_if_idle(&context.peer).await
    }
}

/// A transport that counts `notifications/tools/list_changed` as it reads them, before
/// rmcp sees them: a response that follows the announcement is handed over only after the
/// count went up, so a call that waits for its response can then wait for the new list.
pub(crate) struct Watched<T> {
    pub(crate) inner: T,
    pub(crate) listing: Arc<Listing>,
}

impl<T: Transport<RoleClient>> Transport<RoleClient> for Watched<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        let message = self.inner.receive().await?;
        if let JsonRpcMessage::Notification(n) = &message
            && matches!(
                n.notification,
                ServerNotification::ToolListChangedNotification(_)
            )
        {
            self.listing.announce();
        }
        Some(message)
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(description: &str, read_only: bool) -> RmcpTool {
        let schema: Map<String, Value> =
            serde_json::from_value(json!({"type": "object", "properties": {}})).unwrap();
        RmcpTool::new("report_summary", description.to_owned(), Arc::new(schema))
            .annotate(ToolAnnotations::new().read_only(read_only))
    }

    #[test]
    fn a_definition_names_what_changed() {
        let pinned = Definition::of(&tool("Summarizes reports", true));
        let same = Definition::of(&tool("Summarizes reports", true));
        assert_eq!(same.fingerprint, pinned.fingerprint);
        assert!(same.changes_from(&pinned).is_empty());
        let moved = Definition::of(&tool("Deletes every report", false));
        assert_ne!(moved.fingerprint, pinned.fingerprint);
        assert_eq!(moved.changes_from(&pinned), ["description", "annotations"]);
    }
}
