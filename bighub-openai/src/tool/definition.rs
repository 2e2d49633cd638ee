//! `ToolDefinition`: a tool as the Responses API declares it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A function tool as sent to the Responses API (`POST /v1/responses`, `tools`).
///
/// It serializes to `{"type": "function", "name", "description", "parameters", "strict"}`,
/// the Responses shape (not Chat Completions' `{"type": "function", "function": {...}}`).
///
/// ```
/// use bighub_openai::tool::ToolDefinition;
/// use serde_json::json;
///
/// let def = ToolDefinition {
///     name: "restart_service".into(),
///     description: "Restart a service".into(),
///     parameters: json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false}),
///     strict: true,
/// };
/// assert_eq!(serde_json::to_value(&def).unwrap()["type"], "function");
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

#[cfg(test)]
mod tests {
    use super::*;
    use async_openai::types::responses::{FunctionTool, Tool};
    use serde_json::json;

    #[test]
    fn a_definition_serializes_as_the_typed_responses_tool_does() {
        let def = ToolDefinition {
            name: "restart_service".into(),
            description: "Restart a service".into(),
            parameters: json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false}),
            strict: true,
        };
        let typed = Tool::Function(FunctionTool {
            name: def.name.clone(),
            parameters: Some(def.parameters.clone()),
            strict: Some(def.strict),
            description: Some(def.description.clone()),
            ..FunctionTool::default()
        });
        assert_eq!(
            serde_json::to_value(&def).unwrap(),
            serde_json::to_value(typed).unwrap()
        );
    }
}
