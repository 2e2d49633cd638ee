//! The action trait: what every guarded tool is, however it was written.
//!
//! `#[bighub::action]` implements it for a plain function; the registry implements it for
//! closures and raw JSON tools. This module owns the trait and the tool metadata only; the
//! registry (`registry.rs`) owns names, options and strict schemas.

use futures::future::BoxFuture;
use serde_json::Value;

pub use bighub_core::RiskLevel;

use crate::{
    ToolError,
    tool::{StateType, ToolContext},
};

/// The decision metadata of a tool: which system it touches, how risky it is, where.
///
/// ```
/// use bighub_openai::{tool::{ActionMetadata, RiskLevel}};
///
/// let meta = ActionMetadata::new("okta").risk(RiskLevel::High).environment("production");
/// assert_eq!(meta.system.as_deref(), Some("okta"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActionMetadata {
    /// The system the tool touches (`okta`, `terraform`, `argocd`, ...).
    pub system: Option<String>,
    /// The declared risk; `medium` unless said otherwise.
    pub risk: RiskLevel,
    /// The environment it touches (`production`, `staging`, ...), when it is the same for
    /// every call.
    pub environment: Option<String>,
    /// The argument whose value is the environment a call touches (for example `namespace`),
    /// when the model chooses it; a call without a string there falls back to `environment`.
    pub environment_arg: Option<String>,
    /// The action name sent to the decision engine, when it differs from the tool name.
    pub action_name: Option<String>,
    /// The decision domain, when it differs from the agent's.
    pub domain: Option<String>,
    /// The actor, when it differs from the agent's.
    pub actor: Option<String>,
    /// The argument whose value is the action's target (for example `group`).
    pub target_arg: Option<String>,
    /// The argument whose numeric value is the action's value (for example `amount`).
    pub value_arg: Option<String>,
    /// Arguments whose values are secret: redacted before anything stores or sends them.
    pub secret_args: Vec<String>,
    /// How long one call may run; the agent's `tool_timeout` when `None`.
    pub timeout: Option<std::time::Duration>,
    /// For a tool of an MCP server: take its annotations (`readOnlyHint`, ...) at their
    /// word, as `McpServer::trust_annotations` does for every tool of a server. Untrusted
    /// annotations never lower a tool's risk. Other tools ignore it.
    pub trust_annotations: bool,
}

impl ActionMetadata {
    /// Metadata for a tool that touches `system`, with medium risk.
    pub fn new(system: impl Into<String>) -> Self {
        Self {
            system: Some(system.into()),
            ..Self::default()
        }
    }

    /// Sets the declared risk.
    pub fn risk(mut self, risk: RiskLevel) -> Self {
        self.risk = risk;
        self
    }

    /// Sets the environment.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Names the argument that holds the environment.
    pub fn environment_arg(mut self, arg: impl Into<String>) -> Self {
        self.environment_arg = Some(arg.into());
        self
    }

    /// Sets the action name.
    pub fn action_name(mut self, action_name: impl Into<String>) -> Self {
        self.action_name = Some(action_name.into());
        self
    }

    /// Sets the domain.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Sets the actor.
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Names the argument that holds the target.
    pub fn target_arg(mut self, arg: impl Into<String>) -> Self {
        self.target_arg = Some(arg.into());
        self
    }

    /// Names the argument that holds the numeric value.
    pub fn value_arg(mut self, arg: impl Into<String>) -> Self {
        self.value_arg = Some(arg.into());
        self
    }

    /// Marks an argument as secret.
    pub fn secret_arg(mut self, arg: impl Into<String>) -> Self {
        self.secret_args.push(arg.into());
        self
    }

    /// Trusts the tool's MCP annotations (see the field's documentation).
    ///
    /// ```
    /// use bighub_openai::tool::ActionMetadata;
    ///
    /// assert!(ActionMetadata::default().trust_annotations().trust_annotations);
    /// ```
    pub fn trust_annotations(mut self) -> Self {
        self.trust_annotations = true;
        self
    }

    /// Sets how long one call may run before it fails as timed out.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// A guarded tool: a name, a description, an argument schema, decision metadata and a call.
///
/// You rarely implement this by hand: `#[bighub::action]` does it for a function, and
/// [`ToolRegistry`](crate::tool::ToolRegistry) does it for closures and raw JSON tools.
///
/// `call` receives the model's JSON arguments and returns the tool's JSON output or a
/// [`ToolError`]; the future is `'static` so that tools of one round can run concurrently.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a guarded tool (it does not implement `Action`)",
    label = "expected the tool type `#[bighub::action]` generated, found `{Self}`",
    note = "`#[bighub::action]` on `fn list_pods` generates the type `ListPods` (the name in UpperCamelCase), which implements `Action`: pass that, as in `.action(ListPods)`, not the function itself",
    note = "closures and raw JSON tools are registered with `bighub::tool::ToolRegistry` and `.tools(registry)`"
)]
pub trait Action: Send + Sync + 'static {
    /// The tool name the model sees; must match `^[a-zA-Z0-9_-]{1,64}$`.
    fn name(&self) -> &str;

    /// What the tool does, for the model.
    fn description(&self) -> &str;

    /// The JSON schema of the arguments, as generated (the registry makes it strict).
    fn parameters_schema(&self) -> Value;

    /// System, risk, environment and the optional overrides.
    fn metadata(&self) -> ActionMetadata;

    /// Runs the tool on the model's JSON arguments.
    fn call(
        &self,
        arguments: Value,
        context: ToolContext,
    ) -> BoxFuture<'static, Result<Value, ToolError>>;

    /// The shared state types the tool reads from its [`ToolContext`]; the agent's `build()`
    /// refuses a tool whose state was never registered. `#[bighub::action]` lists its
    /// `State<T>` parameters here; the default is none.
    fn required_states(&self) -> Vec<StateType> {
        Vec::new()
    }
}
