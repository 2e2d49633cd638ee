//! `RegisteredTool`: one tool as the registry holds it (final schema, effective metadata,
//! options) and how one of its calls becomes a [`ProposedAction`].
//!
//! Checking names and schemas at registration is `registry.rs`'s job; deciding and running
//! calls is a run's ([`crate::run`]).

use std::fmt;
use std::sync::Arc;

use bighub_core::{ProposedAction, RiskLevel};
use futures::future::BoxFuture;
use serde_json::{Map, Value};

use crate::schema::StrictSchema;
use crate::{
    Action, ToolError, ToolOptions,
    tool::{ActionMetadata, ToolContext, ToolDefinition},
};

use bighub_core::redact::REDACTED;
pub use bighub_core::redact::SECRET_ARGS_KEY;

/// Arguments read as the action's value when the tool names none, in this order.
pub const CONVENTIONAL_VALUE_ARGS: [&str; 4] = ["value", "amount", "price", "total"];

/// A tool in a [`ToolRegistry`](crate::tool::ToolRegistry): what the agent loop lists, describes to
/// the decision engine and calls.
///
/// ```
/// use bighub_openai::{ToolError, ToolOptions, tool::ToolRegistry};
/// use serde_json::json;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct RefundArgs { order_id: String, amount: f64 }
///
/// let mut tools = ToolRegistry::new();
/// tools.register_fn(
///     "refund_order",
///     "Refund an order",
///     |args: RefundArgs| async move { Ok::<_, ToolError>(json!({"refunded": args.amount})) },
///     ToolOptions::new().system("billing").target_from_args(|a| a["order_id"].as_str().map(str::to_owned)),
/// )?;
/// let tool = tools.get("refund_order").unwrap();
/// let action = tool.proposed_action(&json!({"order_id": "o-42", "amount": 120.5}));
/// assert_eq!(action.system.as_deref(), Some("billing"));
/// assert_eq!(action.target.as_deref(), Some("o-42"));
/// assert_eq!(action.value, Some(120.5));
/// # Ok::<(), bighub_openai::Error>(())
/// ```
pub struct RegisteredTool {
    action: Arc<dyn Action>,
    name: String,
    description: String,
    schema: StrictSchemaOrLoose,
    metadata: ActionMetadata,
    options: ToolOptions,
}

/// The final schema: strict (with its reshaping), or non-strict and kept as given.
#[derive(Debug, Clone)]
pub(crate) enum StrictSchemaOrLoose {
    Strict(StrictSchema),
    Loose(Value),
}

impl RegisteredTool {
    pub(crate) fn new(
        action: Arc<dyn Action>,
        schema: StrictSchemaOrLoose,
        options: ToolOptions,
    ) -> Self {
        let mut metadata = action.metadata();
        // Options override the tool's own metadata; `metadata()` reports the result.
        let overrides = [
            (&mut metadata.action_name, options.get_action_name()),
            (&mut metadata.domain, options.get_domain()),
            (&mut metadata.actor, options.get_actor()),
            (&mut metadata.system, options.get_system()),
            (&mut metadata.environment, options.get_environment()),
        ];
        for (field, value) in overrides {
            if let Some(value) = value {
                *field = Some(value.to_owned());
            }
        }
        if options.get_environment().is_some() {
            // The registration's environment replaces the tool's, fixed or read from an argument.
            metadata.environment_arg = None;
        }
        if let Some(risk) = options.get_risk() {
            metadata.risk = risk;
        }
        if let Some(timeout) = options.get_timeout() {
            metadata.timeout = Some(timeout);
        }
        Self {
            name: action.name().to_owned(),
            description: action.description().to_owned(),
            action,
            schema,
            metadata,
            options,
        }
    }

    /// A tool with its schema kept as given and default options (a hosted MCP tool, decided
    /// here and run elsewhere).
    pub(crate) fn loose(action: Arc<dyn Action>) -> Self {
        let schema = StrictSchemaOrLoose::Loose(action.parameters_schema());
        Self::new(action, schema, ToolOptions::default())
    }

    /// The tool name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the tool does, for the model.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The final parameters schema, as sent to the model.
    pub fn schema(&self) -> &Value {
        match &self.schema {
            StrictSchemaOrLoose::Strict(strict) => strict.schema(),
            StrictSchemaOrLoose::Loose(schema) => schema,
        }
    }

    /// Whether the model's arguments are constrained to the schema.
    pub fn is_strict(&self) -> bool {
        matches!(self.schema, StrictSchemaOrLoose::Strict(_))
    }

    /// The tool's metadata with the registration options applied.
    pub fn metadata(&self) -> &ActionMetadata {
        &self.metadata
    }

    /// How long one call may run, when the tool or its options say (else the agent's
    /// `tool_timeout` applies).
    pub fn timeout(&self) -> Option<std::time::Duration> {
        self.metadata.timeout
    }

    /// The shared state types the tool reads (see [`Action::required_states`]).
    pub fn required_states(&self) -> Vec<crate::tool::StateType> {
        self.action.required_states()
    }

    /// The registration options.
    pub fn options(&self) -> &ToolOptions {
        &self.options
    }

    /// The tool as declared to the Responses API.
    pub fn definition(&self) -> ToolDefinition {
        ToolDefinition {
            name: self.name.clone(),
            description: self.description.clone(),
            parameters: self.schema().clone(),
            strict: self.is_strict(),
        }
    }

    /// Whether `arguments` fit the tool's strict schema (types, required and unknown
    /// properties, enums); a non-strict tool accepts any object.
    pub fn fits_schema(&self, arguments: &Value) -> bool {
        match &self.schema {
            StrictSchemaOrLoose::Strict(strict) => {
                crate::schema::fits(strict.schema(), strict.schema(), arguments)
            }
            StrictSchemaOrLoose::Loose(_) => arguments.is_object(),
        }
    }

    /// Where `arguments` first depart from the tool's strict schema (the place and what
    /// was expected, never the value); `None` when they fit, or for a tool without a strict
    /// schema whose arguments are an object.
    pub(crate) fn misfit(&self, arguments: &Value) -> Option<crate::schema::Misfit> {
        match &self.schema {
            StrictSchemaOrLoose::Strict(strict) => {
                crate::schema::misfit(strict.schema(), strict.schema(), arguments)
            }
            StrictSchemaOrLoose::Loose(_) if arguments.is_object() => None,
            StrictSchemaOrLoose::Loose(_) => Some(crate::schema::Misfit {
                path: String::new(),
                expected: "a JSON object".to_owned(),
            }),
        }
    }

    /// The model's arguments as the tool sees them: for strict tools, map entry arrays
    /// become objects and `null`s of formerly optional fields are removed.
    pub fn tool_arguments(&self, model_arguments: Value) -> Value {
        match &self.schema {
            StrictSchemaOrLoose::Strict(strict) => strict.to_tool_arguments(model_arguments),
            StrictSchemaOrLoose::Loose(_) => model_arguments,
        }
    }

    /// Runs the tool on the model's arguments (reshaped first, see
    /// [`tool_arguments`](Self::tool_arguments)).
    pub fn call(
        &self,
        arguments: Value,
        context: ToolContext,
    ) -> BoxFuture<'static, Result<Value, ToolError>> {
        self.action.call(self.tool_arguments(arguments), context)
    }

    /// Describes a call of this tool for a decision engine.
    ///
    /// The arguments are reshaped first (as in [`call`](Self::call)); the closures of the
    /// options see them in that form, and so does the engine.
    ///
    /// - `action`: the `action_name` option, else the tool's, else the tool name.
    /// - `system`, `risk`, `environment`: the tool's metadata, overridden by the options,
    ///   overridden by string values of the same keys returned by `metadata_from_args`
    ///   (a `risk` that is not a known level is kept in `context.metadata` instead). The
    ///   tool's environment is the string in its `environment_arg` argument when it names one
    ///   (a JSON pointer when it starts with `/`), else its fixed `environment`.
    /// - `context.metadata`: every other non-null key of `metadata_from_args`, plus
    ///   [`SECRET_ARGS_KEY`] listing the secret arguments when there are any.
    /// - `target`: `target_from_args` when set; else the argument named by the tool's
    ///   `target_arg` (a string, or a number rendered), a JSON pointer when it starts with `/`.
    /// - `value`: `value_from_args` when set; else the `value_arg` argument; else the first of
    ///   `value`, `amount`, `price`, `total` that holds a number or a numeric string. Most
    ///   actions have none: `None` is normal.
    /// - An argument the tool marks secret never becomes the target, value or environment:
    ///   `target_arg` / `environment_arg` naming one give `"[REDACTED]"`, `value_arg` (or a
    ///   conventional value argument) naming one gives no value (`#[bighub::action]` refuses
    ///   such a tool at compile time).
    /// - `domain`, `actor`, `decision_mode`: the options, else the tool's metadata; unset
    ///   values stay `None` (an empty `actor`) and the agent fills in its defaults.
    pub fn proposed_action(&self, arguments: &Value) -> ProposedAction {
        let arguments = self.tool_arguments(arguments.clone());
        let meta = &self.metadata;
        let mut action = ProposedAction::new(self.name.clone())
            .action_name(
                meta.action_name
                    .clone()
                    .unwrap_or_else(|| self.name.clone()),
            )
            .risk(meta.risk);
        let secret = |arg: &str| meta.secret_args.iter().any(|s| s == arg);
        action.system = meta.system.clone();
        action.environment = meta
            .environment_arg
            .as_deref()
            .and_then(|arg| argument(&arguments, arg).map(|v| (arg, v)))
            .and_then(|(arg, v)| v.as_str().map(|env| (arg, env)))
            .map(|(arg, env)| {
                if secret(arg) {
                    REDACTED.to_owned()
                } else {
                    env.to_owned()
                }
            })
            .or_else(|| meta.environment.clone());
        action.domain = meta.domain.clone();
        action.actor = meta.actor.clone().unwrap_or_default();
        action.decision_mode = self.options.get_decision_mode();

        if let Some(extra) = self.options.metadata_for(&arguments) {
            apply_metadata(&mut action, extra);
        }
        if !meta.secret_args.is_empty() {
            action
                .context
                .metadata
                .insert(SECRET_ARGS_KEY.to_owned(), meta.secret_args.clone().into());
        }

        action.target = match self.options.target_for(&arguments) {
            Some(target) => target,
            None => meta.target_arg.as_deref().and_then(|arg| {
                let target = target_of(&arguments, arg)?;
                Some(if secret(arg) {
                    REDACTED.to_owned()
                } else {
                    target
                })
            }),
        };
        action.value = match self.options.value_for(&arguments) {
            Some(value) => value.filter(|v| v.is_finite()),
            None => match meta.value_arg.as_deref() {
                Some(arg) if secret(arg) => None,
                Some(arg) => argument(&arguments, arg).and_then(number_of),
                None => CONVENTIONAL_VALUE_ARGS
                    .iter()
                    .filter(|arg| !secret(arg))
                    .find_map(|arg| arguments.get(*arg).and_then(number_of)),
            },
        };
        action.arguments = arguments;
        action
    }
}

fn apply_metadata(action: &mut ProposedAction, extra: Value) {
    let Value::Object(extra) = extra else {
        if !extra.is_null() {
            tracing::warn!(tool = ?action.tool, "metadata_from_args returned a non-object; ignored");
        }
        return;
    };
    let mut rest = Map::new();
    for (key, value) in extra {
        match (key.as_str(), value) {
            (_, Value::Null) => {}
            ("system", Value::String(system)) => action.system = Some(system),
            ("environment", Value::String(environment)) => action.environment = Some(environment),
            ("risk", Value::String(risk)) => match risk.parse::<RiskLevel>() {
                Ok(risk) => action.risk = Some(risk),
                Err(_) => {
                    rest.insert(key, Value::String(risk));
                }
            },
            (_, value) => {
                rest.insert(key, value);
            }
        }
    }
    action.context.metadata.extend(rest);
}

/// An argument by name, or by JSON pointer when the name starts with `/`.
fn argument<'a>(arguments: &'a Value, name: &str) -> Option<&'a Value> {
    if name.starts_with('/') {
        arguments.pointer(name)
    } else {
        arguments.get(name)
    }
}

fn target_of(arguments: &Value, name: &str) -> Option<String> {
    match argument(arguments, name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|v| v.is_finite())
}

impl fmt::Debug for RegisteredTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegisteredTool")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("strict", &self.is_strict())
            .field("metadata", &self.metadata)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}
