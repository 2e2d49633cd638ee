//! `ToolOptions`: per-tool settings given at registration, on top of the tool's own metadata.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bighub_core::RiskLevel;
use bighub_core::wire::DecisionMode;
use serde_json::Value;

type MetadataFn = Arc<dyn Fn(&Value) -> Value + Send + Sync>;
type ValueFn = Arc<dyn Fn(&Value) -> Option<f64> + Send + Sync>;
type TargetFn = Arc<dyn Fn(&Value) -> Option<String> + Send + Sync>;

/// Per-tool options: how a call of this tool is described to the decision engine, and how its
/// schema is sent to the model.
///
/// Every setting overrides the tool's own [`ActionMetadata`](crate::tool::ActionMetadata); the
/// `*_from_args` closures receive the call's arguments (after reshaping, as the tool sees
/// them) and override both. See [`RegisteredTool::proposed_action`](crate::tool::RegisteredTool::proposed_action)
/// for the exact rules.
///
/// ```
/// use bighub_openai::ToolOptions;
/// use bighub_openai::engine::DecisionMode;
/// use bighub_openai::tool::RiskLevel;
/// use serde_json::json;
///
/// let options = ToolOptions::new()
///     .action_name("argocd_sync")
///     .domain("it_actions")
///     .risk(RiskLevel::High)
///     .decision_mode(DecisionMode::SubmitPayload)
///     .metadata_from_args(|a| json!({"system": "argocd", "environment": a["environment"], "app": a["app"]}))
///     .target_from_args(|a| a["app"].as_str().map(str::to_owned));
/// assert_eq!(options.get_action_name(), Some("argocd_sync"));
/// assert_eq!(options.get_risk(), Some(RiskLevel::High));
/// assert!(options.is_strict());
/// assert!(options.get_actor().is_none());
/// ```
///
/// Settings are written with the by-value setters and read with the `get_*` methods (as
/// [`std::process::Command`] does), so every value passes through one place.
#[derive(Clone)]
#[non_exhaustive]
pub struct ToolOptions {
    action_name: Option<String>,
    domain: Option<String>,
    actor: Option<String>,
    system: Option<String>,
    risk: Option<RiskLevel>,
    environment: Option<String>,
    parameters_schema: Option<Value>,
    decision_mode: Option<DecisionMode>,
    strict: bool,
    timeout: Option<Duration>,
    metadata_from_args: Option<MetadataFn>,
    value_from_args: Option<ValueFn>,
    target_from_args: Option<TargetFn>,
}

impl Default for ToolOptions {
    fn default() -> Self {
        Self {
            action_name: None,
            domain: None,
            actor: None,
            system: None,
            risk: None,
            environment: None,
            parameters_schema: None,
            decision_mode: None,
            strict: true,
            timeout: None,
            metadata_from_args: None,
            value_from_args: None,
            target_from_args: None,
        }
    }
}

impl ToolOptions {
    /// Default options: strict, nothing overridden.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the action name sent to the decision engine.
    pub fn action_name(mut self, name: impl Into<String>) -> Self {
        self.action_name = Some(name.into());
        self
    }

    /// Sets the decision domain.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Sets the actor.
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Sets the system touched.
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Sets the declared risk.
    pub fn risk(mut self, risk: RiskLevel) -> Self {
        self.risk = Some(risk);
        self
    }

    /// Sets the environment touched.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Replaces the generated parameters schema.
    pub fn parameters_schema(mut self, schema: Value) -> Self {
        self.parameters_schema = Some(schema);
        self
    }

    /// Sets how a remote engine receives this tool's actions.
    pub fn decision_mode(mut self, mode: DecisionMode) -> Self {
        self.decision_mode = Some(mode);
        self
    }

    /// Turns strict mode on (the default) or off. A non-strict tool keeps its schema as
    /// given (it must still be an object schema) and is listed with `"strict": false`.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// How long one call may run before it fails with a `tool_error` (timed out).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Derives decision metadata from the arguments. The closure returns a JSON object:
    /// `system`, `risk` and `environment` (strings) override the tool's; every other key goes
    /// to the action's `context.metadata`; `null` values are skipped.
    pub fn metadata_from_args<F>(mut self, f: F) -> Self
    where
        F: Fn(&Value) -> Value + Send + Sync + 'static,
    {
        self.metadata_from_args = Some(Arc::new(f));
        self
    }

    /// Derives the action's numeric value (a cost, an amount) from the arguments.
    pub fn value_from_args<F>(mut self, f: F) -> Self
    where
        F: Fn(&Value) -> Option<f64> + Send + Sync + 'static,
    {
        self.value_from_args = Some(Arc::new(f));
        self
    }

    /// Derives the action's target (the resource acted on) from the arguments.
    pub fn target_from_args<F>(mut self, f: F) -> Self
    where
        F: Fn(&Value) -> Option<String> + Send + Sync + 'static,
    {
        self.target_from_args = Some(Arc::new(f));
        self
    }

    /// The action name sent to the decision engine, when set (the tool's, else the tool
    /// name, otherwise).
    pub fn get_action_name(&self) -> Option<&str> {
        self.action_name.as_deref()
    }

    /// The decision domain, when set (the tool's, else the agent's, otherwise).
    pub fn get_domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// The actor, when set (the tool's, else the agent's, otherwise).
    pub fn get_actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// The system touched, when it overrides the tool's.
    pub fn get_system(&self) -> Option<&str> {
        self.system.as_deref()
    }

    /// The declared risk, when it overrides the tool's.
    pub fn get_risk(&self) -> Option<RiskLevel> {
        self.risk
    }

    /// The environment touched, when it overrides the tool's.
    pub fn get_environment(&self) -> Option<&str> {
        self.environment.as_deref()
    }

    /// The parameters schema that replaces the generated one, when set; it must be strict
    /// unless [`is_strict`](Self::is_strict) is false.
    pub fn get_parameters_schema(&self) -> Option<&Value> {
        self.parameters_schema.as_ref()
    }

    /// How a remote engine receives this tool's actions, when set (the engine's otherwise).
    pub fn get_decision_mode(&self) -> Option<DecisionMode> {
        self.decision_mode
    }

    /// Whether the model's arguments are constrained to the schema (`true` by default).
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// How long one call may run, when set (it overrides the tool's own timeout and the
    /// agent's `tool_timeout`).
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Runs the `metadata_from_args` closure, if any.
    pub(crate) fn metadata_for(&self, arguments: &Value) -> Option<Value> {
        self.metadata_from_args.as_ref().map(|f| f(arguments))
    }

    /// Runs the `value_from_args` closure; the outer `None` when there is none.
    pub(crate) fn value_for(&self, arguments: &Value) -> Option<Option<f64>> {
        self.value_from_args.as_ref().map(|f| f(arguments))
    }

    /// Runs the `target_from_args` closure; the outer `None` when there is none.
    pub(crate) fn target_for(&self, arguments: &Value) -> Option<Option<String>> {
        self.target_from_args.as_ref().map(|f| f(arguments))
    }
}

impl fmt::Debug for ToolOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Closures cannot be printed; say whether each is set.
        let set = |present: bool| if present { "Some(<closure>)" } else { "None" };
        f.debug_struct("ToolOptions")
            .field("action_name", &self.action_name)
            .field("domain", &self.domain)
            .field("actor", &self.actor)
            .field("system", &self.system)
            .field("risk", &self.risk)
            .field("environment", &self.environment)
            .field("timeout", &self.timeout)
            .field(
                "parameters_schema",
                &self.parameters_schema.as_ref().map(|_| "<schema>"),
            )
            .field("decision_mode", &self.decision_mode)
            .field("strict", &self.strict)
            .field(
                "metadata_from_args",
                &format_args!("{}", set(self.metadata_from_args.is_some())),
            )
            .field(
                "value_from_args",
                &format_args!("{}", set(self.value_from_args.is_some())),
            )
            .field(
                "target_from_args",
                &format_args!("{}", set(self.target_from_args.is_some())),
            )
            .finish()
    }
}
