//! `McpTool`: one tool of a connected MCP server as an [`Action`]: its definition, its
//! metadata (annotations read as risk signals), and a call forwarded with `tools/call`.
//!
//! Whether a call may run is decided before [`Action::call`] is reached, by the same loop
//! that guards every other tool; this module only forwards calls it is given.

use std::sync::Arc;

use futures::future::BoxFuture;
use rmcp::model::{CallToolRequestParams, Tool as RmcpTool, ToolAnnotations};
use serde_json::{Map, Value, json};

use crate::tool::{ActionMetadata, RiskLevel, ToolContext};
use crate::{Action, ToolError};

use super::connection::Session;

/// The hints of a tool's annotations, with the spec's defaults where the server says
/// nothing (`destructiveHint` and `openWorldHint` default to true, `readOnlyHint` and
/// `idempotentHint` to false).
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
}

impl McpToolHints {
    pub(crate) fn from_annotations(a: Option<&ToolAnnotations>) -> Self {
        let read_only = a.and_then(|a| a.read_only_hint).unwrap_or(false);
        Self {
            read_only,
            destructive: !read_only && a.and_then(|a| a.destructive_hint).unwrap_or(true),
            idempotent: a.and_then(|a| a.idempotent_hint).unwrap_or(false),
            open_world: a.and_then(|a| a.open_world_hint).unwrap_or(true),
        }
    }

    /// The risk the hints suggest: a read is low, a destructive change high, any other
    /// change medium.
    pub fn risk(&self) -> RiskLevel {
        if self.read_only {
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
        })
    }
}

/// One tool of a connected server.
pub(crate) struct McpTool {
    /// The name the model sees (prefixed, and with characters OpenAI refuses replaced).
    pub name: String,
    /// The server's name for it, which `tools/call` uses.
    pub server_name: String,
    pub description: String,
    pub schema: Value,
    pub metadata: ActionMetadata,
    pub session: Arc<Session>,
}

impl McpTool {
    pub(crate) fn new(
        listed: &RmcpTool,
        name: String,
        metadata: ActionMetadata,
        session: Arc<Session>,
    ) -> Self {
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
        Self {
            name,
            server_name: listed.name.to_string(),
            description,
            schema,
            metadata,
            session,
        }
    }
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
        _context: ToolContext,
    ) -> BoxFuture<'static, Result<Value, ToolError>> {
        let session = self.session.clone();
        let tool = self.server_name.clone();
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
            let params = CallToolRequestParams::new(tool).with_arguments(arguments);
            let result = session
                .peer()
                .call_tool(params)
                .await
                .map_err(|e| ToolError::new(format!("MCP tools/call failed: {e}")))?;
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
        let none = McpToolHints::from_annotations(None);
        assert!(!none.read_only && none.destructive && none.open_world && !none.idempotent);
        assert_eq!(none.risk(), RiskLevel::High);
        let read = McpToolHints::from_annotations(Some(&ToolAnnotations::new().read_only(true)));
        assert!(read.read_only && !read.destructive);
        assert_eq!(read.risk(), RiskLevel::Low);
        let gentle =
            McpToolHints::from_annotations(Some(&ToolAnnotations::new().destructive(false)));
        assert_eq!(gentle.risk(), RiskLevel::Medium);
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
