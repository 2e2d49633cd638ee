//! `ToolDefinition`: a tool as the Responses API declares it, and its async-openai form.

use async_openai::types::responses::{FunctionTool, Tool};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A function tool as sent to the Responses API (`POST /v1/responses`, `tools`).
///
/// It serializes to `{"type": "function", "name", "description", "parameters", "strict"}`,
/// the Responses shape (not Chat Completions' `{"type": "function", "function": {...}}`).
///
/// ```
/// use bighub_openai::ToolDefinition;
/// use serde_json::json;
///
/// let def = ToolDefinition {
///     name: "restart_service".into(),
///     description: "Restart a service".into(),
///     parameters: json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false}),
///     strict: true,
/// };
/// assert_eq!(serde_json::to_value(&def).unwrap()["type"], "function");
/// let tool: async_openai::types::responses::Tool = def.into();
/// assert!(matches!(tool, async_openai::types::responses::Tool::Function(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "function")]
pub struct ToolDefinition {
    /// The tool name.
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// The JSON schema of the arguments.
    pub parameters: Value,
    /// Whether the model's arguments are constrained to the schema.
    pub strict: bool,
}

impl From<ToolDefinition> for FunctionTool {
    fn from(def: ToolDefinition) -> Self {
        FunctionTool {
            name: def.name,
            parameters: Some(def.parameters),
            strict: Some(def.strict),
            description: (!def.description.is_empty()).then_some(def.description),
            ..FunctionTool::default()
        }
    }
}

impl From<ToolDefinition> for Tool {
    fn from(def: ToolDefinition) -> Self {
        Tool::Function(def.into())
    }
}
