//! Hosted MCP tools: MCP servers the Responses API calls itself, guarded through its
//! approval items.
//!
//! A [`HostedMcp`] is only request JSON: the `mcp` tool sent with every request, always with
//! `require_approval: "always"`, so that the API stops at an `mcp_approval_request` before
//! every call and the agent decides it like a function call (one proposed action, one
//! decision, one approval binding). There is no looser setting: a call the agent never saw
//! would run without a decision. It also says how calls are described to the decision
//! engine (system, environment, risk).

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::ToolError;
use crate::tool::{ActionMetadata, RawTool, RegisteredTool, RiskLevel};

/// An MCP server the Responses API calls on the agent's behalf, each call decided first.
///
/// ```
/// use bighub_openai::mcp::HostedMcp;
/// use bighub_openai::tool::RiskLevel;
///
/// let deploys = HostedMcp::new("deploys", "https://mcp.example.com/mcp")
///     .header("Authorization", "Bearer not-in-debug-output")
///     .allowed_tools(["list_releases", "rollback_release"])
///     .system("argocd")
///     .environment("production")
///     .risk(RiskLevel::High);
/// assert!(!format!("{deploys:?}").contains("not-in-debug-output"));
/// // Added with `BighubOpenAI::builder().hosted_mcp(deploys)`.
/// ```
#[derive(Clone)]
pub struct HostedMcp {
    label: String,
    url: String,
    headers: Vec<(String, String)>,
    allowed_tools: Option<Vec<String>>,
    system: Option<String>,
    environment: Option<String>,
    risk: RiskLevel,
}

impl fmt::Debug for HostedMcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values are credentials more often than not.
        let headers: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("HostedMcp")
            .field("label", &self.label)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("allowed_tools", &self.allowed_tools)
            .field("system", &self.system_name())
            .field("environment", &self.environment)
            .field("risk", &self.risk)
            .finish()
    }
}

impl HostedMcp {
    /// The server `url`, known to the model as `label` (the API's `server_label`).
    pub fn new(label: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            url: url.into(),
            headers: Vec::new(),
            allowed_tools: None,
            system: None,
            environment: None,
            risk: RiskLevel::High,
        }
    }

    /// A header the API sends to the server (authentication, usually). Its value never
    /// appears in `Debug` output.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Only these tools of the server are offered to the model.
    pub fn allowed_tools<I, S>(mut self, tools: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_tools = Some(tools.into_iter().map(Into::into).collect());
        self
    }

    /// The system its calls touch, for the decision engine (default: the label).
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// The environment its calls touch.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The declared risk of its calls (default: high, as nothing is known of its tools).
    pub fn risk(mut self, risk: RiskLevel) -> Self {
        self.risk = risk;
        self
    }

    /// The server label.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn system_name(&self) -> &str {
        self.system.as_deref().unwrap_or(&self.label)
    }

    /// The `mcp` tool of a request.
    pub(crate) fn tool_json(&self) -> Value {
        let mut tool = Map::new();
        tool.insert("type".into(), json!("mcp"));
        tool.insert("server_label".into(), json!(self.label));
        tool.insert("server_url".into(), json!(self.url));
        if !self.headers.is_empty() {
            let headers: Map<String, Value> = self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            tool.insert("headers".into(), Value::Object(headers));
        }
        if let Some(allowed) = &self.allowed_tools {
            tool.insert("allowed_tools".into(), json!(allowed));
        }
        // Every call stops for a decision: the only setting this agent sends.
        tool.insert("require_approval".into(), json!("always"));
        Value::Object(tool)
    }

    /// The tool a call of `name` on this server is decided as. It never runs here: the API
    /// runs the call once it is approved.
    pub(crate) fn decided_tool(&self, name: &str) -> Arc<RegisteredTool> {
        let mut metadata = ActionMetadata::new(self.system_name()).risk(self.risk);
        metadata.environment = self.environment.clone();
        let tool = RawTool::new(
            name,
            format!("`{name}` of the hosted MCP server `{}`", self.label),
            json!({"type": "object"}),
            |_: Value| async {
                Err::<Value, _>(ToolError::new(
                    "hosted MCP calls are run by the Responses API, not by this agent",
                ))
            },
        )
        .with_metadata(metadata);
        Arc::new(RegisteredTool::loose(Arc::new(tool)))
    }

    /// Whether the server offers `name` to the model (every tool without `allowed_tools`).
    pub(crate) fn allows(&self, name: &str) -> bool {
        self.allowed_tools
            .as_ref()
            .is_none_or(|tools| tools.iter().any(|t| t == name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tool_always_requires_approval_and_debug_hides_header_values() {
        let mcp = HostedMcp::new("ops", "https://mcp.example.com")
            .header("Authorization", "Bearer s3cret")
            .allowed_tools(["read"]);
        let tool = mcp.tool_json();
        assert_eq!(tool["type"], "mcp");
        assert_eq!(tool["server_label"], "ops");
        assert_eq!(tool["require_approval"], "always");
        assert_eq!(tool["headers"]["Authorization"], "Bearer s3cret");
        assert_eq!(tool["allowed_tools"], json!(["read"]));
        assert!(!format!("{mcp:?}").contains("s3cret"));
        assert!(mcp.allows("read") && !mcp.allows("write"));
        let decided = mcp.decided_tool("read");
        assert_eq!(decided.metadata().system.as_deref(), Some("ops"));
        assert_eq!(decided.metadata().risk, RiskLevel::High);
    }
}
