//! `McpTool`: one tool of a connected MCP server as an [`Action`]: its pinned definition,
//! what a decision about a call is made on (the definition the server offers now, its
//! annotations read as risk signals, trusted or not), and a call forwarded with
//! `tools/call` only against the definition it was decided on.
//!
//! Whether a call may run is decided before [`Action::call`] is reached, by the same loop
//! that guards every other tool; this module only forwards calls it is given.

use std::sync::Arc;

use bighub_core::action::TOOL_HINTS_KEY;
use futures::future::BoxFuture;
use rmcp::model::{CallToolRequestParams, Tool as RmcpTool, ToolAnnotations};
use serde_json::{Map, Value, json};

use crate::tool::{ActionMetadata, RiskLevel, ToolContext};
use crate::{Action, ToolError};

use super::connection::Session;
use super::listing::Definition;

/// The hints of a tool's annotations, with the spec's defaults where the server says
/// nothing (`destructiveHint` and `openWorldHint` default to true, `readOnlyHint` and
/// `idempotentHint` to false), and whether they are trusted.
///
/// The MCP specification has clients treat annotations from untrusted servers as
/// untrusted: a server could call `exec_sql` read-only. So the hints are the server's
/// claims, and only [`trusted`](Self::trusted) ones may lower a tool's risk (see
/// [`risk`](Self::risk)); untrusted, they may only raise it. A server is trusted with
/// `McpServer::trust_annotations`, one tool with `ActionMetadata::trust_annotations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct McpToolHints {
    /// `readOnlyHint`: the tool does not change its environment.
    pub read_only: bool,
    /// `destructiveHint`: a change it makes may destroy something (meaningful only when not
    /// read-only).
    pub destructive: bool,
    /// `idempotentHint`: calling it again with the same arguments changes nothing more.
    pub idempotent: bool,
    /// `openWorldHint`: it reaches entities outside a closed domain (the internet, say).
    pub open_world: bool,
    /// Whether the user takes these claims at their word.
    pub trusted: bool,
}

impl McpToolHints {
    pub(crate) fn from_annotations(a: Option<&ToolAnnotations>, trusted: bool) -> Self {
        let read_only = a.and_then(|a| a.read_only_hint).unwrap_or(false);
        Self {
            read_only,
            destructive: !read_only && a.and_then(|a| a.destructive_hint).unwrap_or(true),
            idempotent: a.and_then(|a| a.idempotent_hint).unwrap_or(false),
            open_world: a.and_then(|a| a.open_world_hint).unwrap_or(true),
            trusted,
        }
    }

    /// The risk the hints suggest. Trusted: a read is low, a destructive change high, any
    /// other change medium. Untrusted: high, the risk of a tool that says nothing (a
    /// possibly destructive change), since a claim may raise the risk but never lower it.
    pub fn risk(&self) -> RiskLevel {
        if !self.trusted {
            RiskLevel::High
        } else if self.read_only {
            RiskLevel::Low
        } else if self.destructive {
            RiskLevel::High
        } else {
            RiskLevel::Medium
        }
    }

    /// As `context.metadata.tool_hints` carries them.
    pub(crate) fn to_json(self) -> Value {
        json!({
            "read_only": self.read_only,
            "destructive": self.destructive,
            "idempotent": self.idempotent,
            "open_world": self.open_world,
            "trusted": self.trusted,
        })
    }
}

/// One tool of a connected server.
pub(crate) struct McpTool {
    /// The name the model sees (prefixed, and with characters OpenAI refuses replaced).
    pub name: String,
    /// The server's name for it, which `tools/call` uses.
    pub server_name: String,
    /// The pinned description and schema: what the model is offered.
    pub description: String,
    pub schema: Value,
    /// The metadata at connect (the user's edits applied).
    pub metadata: ActionMetadata,
    /// Whether the tool's annotations are taken at their word.
    pub trusted: bool,
    /// The risk the user set, which the hints never change.
    pub user_risk: Option<RiskLevel>,
    pub session: Arc<Session>,
}

impl McpTool {
    pub(crate) fn new(
        listed: &RmcpTool,
        name: String,
        metadata: ActionMetadata,
        trusted: bool,
        user_risk: Option<RiskLevel>,
        session: Arc<Session>,
    ) -> Self {
        let pinned = Definition::of(listed);
        Self {
            name,
            server_name: listed.name.to_string(),
            description: pinned.description,
            schema: pinned.schema,
            metadata,
            trusted,
            user_risk,
            session,
        }
    }

    /// The definition a decision is made on now: the one the server offers, as last
    /// listed, and which parts of it changed since connect. A tool the server no longer
    /// lists (or a list that cannot be read) is described by its pinned definition; its
    /// call fails before it is forwarded.
    fn offered(&self) -> Option<(Definition, Vec<&'static str>)> {
        let listing = self.session.listing();
        let pinned = listing.pinned(&self.server_name)?;
        match listing.current(&self.server_name) {
            Ok(Some(now)) => {
                let changes = now.changes_from(pinned);
                Some((now, changes))
            }
            _ => Some((pinned.clone(), Vec::new())),
        }
    }

    /// What the decision engine sees beside the tool's fixed metadata: the risk and the
    /// hints of the definition the server offers now (`tool_hints`: the four hints,
    /// `trusted`, `definition_changed`, `changed` and the definition's fingerprint).
    pub(crate) fn decision_metadata(&self) -> Value {
        let Some((definition, changes)) = self.offered() else {
            return Value::Null;
        };
        let hints = McpToolHints::from_annotations(definition.annotations.as_ref(), self.trusted);
        let risk = self.user_risk.unwrap_or_else(|| hints.risk());
        let mut tool_hints = hints.to_json();
        if let Some(h) = tool_hints.as_object_mut() {
            h.insert(
                "definition_changed".into(),
                Value::Bool(!changes.is_empty()),
            );
            h.insert("changed".into(), json!(changes));
            h.insert("definition".into(), Value::String(definition.fingerprint));
        }
        json!({ "risk": risk.as_str(), TOOL_HINTS_KEY: tool_hints })
    }
}

/// The fingerprint of the definition a call was decided on, as its proposed action
/// carried it.
fn decided_definition(context: &ToolContext) -> Option<String> {
    context
        .decided_action()?
        .context
        .metadata
        .get(TOOL_HINTS_KEY)?
        .get("definition")?
        .as_str()
        .map(str::to_owned)
}

impl Action for McpTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn parameters_schema(&self) -> Value {
        self.schema.clone()
    }

    fn metadata(&self) -> ActionMetadata {
        self.metadata.clone()
    }

    fn call(
        &self,
        arguments: Value,
        context: ToolContext,
    ) -> BoxFuture<'static, Result<Value, ToolError>> {
        let session = self.session.clone();
        let tool = self.server_name.clone();
        let shown = self.name.clone();
        // A call made outside a run (no decision) is held to the pinned definition.
        let expected = decided_definition(&context).or_else(|| {
            session
                .listing()
                .pinned(&tool)
                .map(|d| d.fingerprint.clone())
        });
        Box::pin(async move {
            let arguments = match arguments {
                Value::Object(map) => map,
                Value::Null => Map::new(),
                _ => {
                    return Err(ToolError::invalid_arguments(
                        None,
                        "the arguments of an MCP tool are a JSON object",
                    ));
                }
            };
            // Forward only against the definition the call was decided on, as the server
            // offers it now (a change it announced is read first).
            let listing = session.listing();
            listing.refresh(session.peer()).await;
            match listing.current(&tool) {
                Err(e) => {
                    return Err(ToolError::new(format!(
                        "the MCP server's tool list cannot be read ({e}); the call was not forwarded"
                    )));
                }
                Ok(None) => {
                    return Err(ToolError::new(format!(
                        "the MCP server no longer offers `{shown}`; the call was not forwarded"
                    )));
                }
                Ok(Some(now)) if Some(&now.fingerprint) != expected.as_ref() => {
                    tracing::warn!(tool = ?shown, "MCP tool changed between its decision and its call; not forwarded");
                    return Err(ToolError::new(format!(
                        "the MCP server changed the definition of `{shown}` after this call was decided; the call was not forwarded"
                    )));
                }
                Ok(Some(_)) => {}
            }
            let params = CallToolRequestParams::new(tool).with_arguments(arguments);
            let result = session
                .peer()
                .call_tool(params)
                .await
                .map_err(|e| ToolError::new(format!("MCP tools/call failed: {e}")))?;
            // A change the server announced before answering is read now, so that the
            // next decision is made on it.
            listing.refresh(session.peer()).await;
            let result = serde_json::to_value(&result)
                .map_err(|e| ToolError::new(format!("unreadable MCP result: {e}")))?;
            tool_output(result)
        })
    }
}

/// The output the model sees for a `tools/call` result: the text of its content, its
/// structured content, and any other content blocks as they came. A result flagged
/// `isError` is a tool error carrying its text.
fn tool_output(result: Value) -> Result<Value, ToolError> {
    let mut text = Vec::new();
    let mut other = Vec::new();
    for block in result["content"].as_array().into_iter().flatten() {
        match (block["type"].as_str(), block["text"].as_str()) {
            (Some("text"), Some(t)) => text.push(t.to_owned()),
            _ => other.push(block.clone()),
        }
    }
    let text = text.join("\n");
    if result["isError"] == Value::Bool(true) {
        let message = if text.is_empty() {
            "the MCP tool reported an error".to_owned()
        } else {
            text
        };
        return Err(ToolError::new(message));
    }
    let mut out = Map::new();
    if !text.is_empty() {
        out.insert("text".into(), Value::String(text));
    }
    if let Some(structured) = result.get("structuredContent").filter(|v| !v.is_null()) {
        out.insert("structured_content".into(), structured.clone());
    }
    if !other.is_empty() {
        out.insert("content".into(), Value::Array(other));
    }
    Ok(Value::Object(out))
}

/// The name OpenAI accepts for `name`: characters outside `[A-Za-z0-9_-]` become `_`.
pub(crate) fn model_name(prefix: Option<&str>, name: &str) -> String {
    let full = match prefix {
        Some(p) => format!("{p}_{name}"),
        None => name.to_owned(),
    };
    full.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_default_as_the_spec_says() {
        let none = McpToolHints::from_annotations(None, true);
        assert!(!none.read_only && none.destructive && none.open_world && !none.idempotent);
        assert_eq!(none.risk(), RiskLevel::High);
        let read_only = ToolAnnotations::new().read_only(true);
        let read = McpToolHints::from_annotations(Some(&read_only), true);
        assert!(read.read_only && !read.destructive);
        assert_eq!(read.risk(), RiskLevel::Low);
        let gentle =
            McpToolHints::from_annotations(Some(&ToolAnnotations::new().destructive(false)), true);
        assert_eq!(gentle.risk(), RiskLevel::Medium);
    }

    #[test]
    fn untrusted_annotations_never_lower_the_risk() {
        let none = McpToolHints::from_annotations(None, false);
        for claim in [
            ToolAnnotations::new().read_only(true),
            ToolAnnotations::new().destructive(false),
        ] {
            let hints = McpToolHints::from_annotations(Some(&claim), false);
            assert!(!hints.trusted);
            assert_eq!(hints.risk(), none.risk());
            assert_eq!(hints.to_json()["trusted"], false);
        }
    }

    #[test]
    fn results_become_outputs_and_errors() {
        let ok = tool_output(json!({"content": [{"type": "text", "text": "a"},
                                                {"type": "text", "text": "b"}],
                                    "structuredContent": {"replicas": 3}}))
        .unwrap();
        assert_eq!(
            ok,
            json!({"text": "a\nb", "structured_content": {"replicas": 3}})
        );
        let err = tool_output(json!({"content": [{"type": "text", "text": "boom"}],
                                     "isError": true}))
        .unwrap_err();
        assert_eq!(err.message(), "boom");
    }

    #[test]
    fn names_are_made_acceptable_to_the_model() {
        assert_eq!(model_name(Some("kube"), "pods.list"), "kube_pods_list");
        assert_eq!(model_name(None, "get-logs"), "get-logs");
    }
}
