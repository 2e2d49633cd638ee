//! `ToolRegistry`: the tools an agent offers the model, checked at registration.
//!
//! It owns names (valid, unique), schemas (made strict or validated, errors naming the tool)
//! and the listing sent to the Responses API. How a call is described and run is
//! `registered_tool.rs`'s; the strict-mode rules are `schema/`'s.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::registered_tool::StrictSchemaOrLoose;
use crate::schema::{SchemaError, StrictSchema};
use crate::{
    Action, Error, ToolError, ToolOptions,
    tool::{
        FnTool, FnToolWithContext, RawTool, RegisteredTool, StateType, ToolContext, ToolDefinition,
    },
};

/// Longest tool name the OpenAI API accepts.
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// The tools an agent offers the model.
///
/// Registration checks everything the API would reject later: the name must match
/// `^[a-zA-Z0-9_-]{1,64}$` and be unique; a generated schema is made strict
/// ([`StrictSchema::from_generated`]); a schema written by hand (a raw tool, or the
/// `parameters_schema` option) must pass [`validate_strict`](crate::schema::validate_strict);
/// a tool registered with `strict(false)` keeps its schema as given, which must still be an
/// object schema. Errors name the tool.
///
/// Cloning is cheap (the tools are shared), and the registry is `Send + Sync`.
///
/// ```
/// use bighub_openai::{ToolError, ToolOptions, tool::ToolRegistry};
/// use serde_json::{json, Value};
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct RestartArgs {
///     /// The service to restart.
///     service: String,
/// }
///
/// let mut tools = ToolRegistry::new();
/// tools.register_fn(
///     "restart_service",
///     "Restart a service",
///     |args: RestartArgs| async move { Ok::<_, ToolError>(json!({"restarted": args.service})) },
///     ToolOptions::new().domain("it_actions"),
/// )?;
/// tools.register_raw(
///     "sync_argocd_app",
///     "Sync an Argo CD application",
///     json!({
///         "type": "object",
///         "properties": {"app": {"type": "string"}, "environment": {"type": "string"}},
///         "required": ["app", "environment"],
///         "additionalProperties": false
///     }),
///     |args: Value| async move { Ok::<_, ToolError>(json!({"synced": args["app"]})) },
///     ToolOptions::new().action_name("argocd_sync"),
/// )?;
/// assert_eq!(tools.names().collect::<Vec<_>>(), ["restart_service", "sync_argocd_app"]);
/// let listed = serde_json::to_value(tools.list_tools())?;
/// assert_eq!(listed[0]["type"], "function");
/// assert_eq!(listed[0]["strict"], true);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: Vec<Arc<RegisteredTool>>,
    index: HashMap<String, usize>,
}

/// Where a schema comes from: generated (made strict) or written by hand (validated as is).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SchemaSource {
    Generated,
    Supplied,
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an [`Action`] (a `#[bighub::action]` tool, or any implementation) with
    /// default options.
    pub fn register<A: Action>(&mut self, action: A) -> Result<&RegisteredTool, Error> {
        self.register_with(action, ToolOptions::default())
    }

    /// Registers an [`Action`] with options.
    pub fn register_with<A: Action>(
        &mut self,
        action: A,
        options: ToolOptions,
    ) -> Result<&RegisteredTool, Error> {
        self.insert(Arc::new(action), SchemaSource::Generated, options)
    }

    /// Registers an [`Action`] that is already shared.
    pub fn register_shared(
        &mut self,
        action: Arc<dyn Action>,
        options: ToolOptions,
    ) -> Result<&RegisteredTool, Error> {
        self.insert(action, SchemaSource::Generated, options)
    }

    /// Registers an async closure over typed arguments; the schema is generated from `Args`
    /// and made strict.
    pub fn register_fn<Args, F, Fut, T, E>(
        &mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        f: F,
        options: ToolOptions,
    ) -> Result<&RegisteredTool, Error>
    where
        Args: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize,
        E: Into<ToolError>,
    {
        self.register_with(FnTool::new(name, description, f), options)
    }

    /// Registers an async closure over typed arguments and the call's [`ToolContext`]
    /// (shared state, call id); list the states it reads in `states`, so that the agent's
    /// `build()` refuses to start without them (see [`FnToolWithContext`]).
    pub fn register_fn_with_context<Args, F, Fut, T, E>(
        &mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        states: impl IntoIterator<Item = StateType>,
        f: F,
        options: ToolOptions,
    ) -> Result<&RegisteredTool, Error>
    where
        Args: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(Args, ToolContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize,
        E: Into<ToolError>,
    {
        let tool = states.into_iter().fold(
            FnToolWithContext::new(name, description, f),
            |tool, state| tool.with_state(state),
        );
        self.register_with(tool, options)
    }

    /// Adds every tool of `other`; a name registered in both is an error and nothing of
    /// `other` is added.
    pub fn merge(&mut self, other: ToolRegistry) -> Result<(), Error> {
        if let Some(clash) = other.names().find(|name| self.contains(name)) {
            return Err(Error::DuplicateTool(clash.to_owned()));
        }
        for tool in other.tools {
            self.index.insert(tool.name().to_owned(), self.tools.len());
            self.tools.push(tool);
        }
        Ok(())
    }

    /// Registers a plain (synchronous) closure over typed arguments. It runs when the call
    /// is awaited, on the caller's task: keep it short, or use
    /// [`register_fn`](Self::register_fn) with `spawn_blocking` for blocking work.
    pub fn register_sync_fn<Args, F, T, E>(
        &mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        f: F,
        options: ToolOptions,
    ) -> Result<&RegisteredTool, Error>
    where
        Args: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(Args) -> Result<T, E> + Send + Sync + 'static,
        T: Serialize + Send + 'static,
        E: Into<ToolError> + Send + 'static,
    {
        self.register_fn(
            name,
            description,
            move |args: Args| std::future::ready(f(args)),
            options,
        )
    }

    /// Registers an async closure over the JSON arguments with a schema written by hand,
    /// which must be strict (unless the options say `strict(false)`).
    pub fn register_raw<F, Fut, T, E>(
        &mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        schema: Value,
        f: F,
        options: ToolOptions,
    ) -> Result<&RegisteredTool, Error>
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize,
        E: Into<ToolError>,
    {
        let tool = RawTool::new(name, description, schema, f);
        self.insert(Arc::new(tool), SchemaSource::Supplied, options)
    }

    fn insert(
        &mut self,
        action: Arc<dyn Action>,
        source: SchemaSource,
        options: ToolOptions,
    ) -> Result<&RegisteredTool, Error> {
        let name = action.name().to_owned();
        check_name(&name)?;
        if self.index.contains_key(&name) {
            return Err(Error::DuplicateTool(name));
        }
        let (schema, source) = match options.get_parameters_schema() {
            Some(schema) => (schema.clone(), SchemaSource::Supplied),
            None => (action.parameters_schema(), source),
        };
        let schema =
            final_schema(schema, source, options.is_strict()).map_err(|source| Error::Schema {
                tool: name.clone(),
                source,
            })?;
        let tool = Arc::new(RegisteredTool::new(action, schema, options));
        self.index.insert(name, self.tools.len());
        self.tools.push(tool);
        Ok(self.tools.last().expect("just pushed"))
    }

    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<&RegisteredTool> {
        self.index.get(name).map(|&i| &*self.tools[i])
    }

    /// The tool named `name`, shared (for a call that outlives the borrow of the registry).
    pub fn get_shared(&self, name: &str) -> Option<Arc<RegisteredTool>> {
        self.index.get(name).map(|&i| Arc::clone(&self.tools[i]))
    }

    /// Whether a tool named `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The tool names, in registration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tools.iter().map(|t| t.name())
    }

    /// How many tools are registered.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether no tool is registered.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The tools, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &RegisteredTool> {
        self.tools.iter().map(|t| &**t)
    }

    /// The tool definitions for the Responses API, in registration order.
    pub fn list_tools(&self) -> Vec<ToolDefinition> {
        self.iter().map(RegisteredTool::definition).collect()
    }
}

impl<'a> IntoIterator for &'a ToolRegistry {
    type Item = &'a RegisteredTool;
    type IntoIter = Box<dyn Iterator<Item = &'a RegisteredTool> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

fn final_schema(
    schema: Value,
    source: SchemaSource,
    strict: bool,
) -> Result<StrictSchemaOrLoose, SchemaError> {
    if !strict {
        return match schema.get("type").and_then(Value::as_str) {
            Some("object") => Ok(StrictSchemaOrLoose::Loose(schema)),
            _ => Err(SchemaError::RootNotObject {
                found: match schema.get("type") {
                    Some(t) => format!("\"type\": {t}"),
                    None => "a schema without \"type\": \"object\"".to_owned(),
                },
            }),
        };
    }
    let strict = match source {
        SchemaSource::Generated => StrictSchema::from_generated(schema)?,
        SchemaSource::Supplied => StrictSchema::from_supplied(schema)?,
    };
    Ok(StrictSchemaOrLoose::Strict(strict))
}

fn check_name(name: &str) -> Result<(), Error> {
    let bad_char = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'));
    let reason = if name.is_empty() {
        Some("it is empty".to_owned())
    } else if let Some(c) = bad_char {
        Some(format!("character {c:?} is not allowed"))
    } else if name.len() > MAX_TOOL_NAME_LEN {
        // All ASCII here, so bytes are characters.
        Some(format!(
            "it is {} characters long, the limit is {MAX_TOOL_NAME_LEN}",
            name.len()
        ))
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidToolName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<ToolRegistry>();
        assert_send_sync::<ToolOptions>();
    }

    #[test]
    fn names_follow_the_api_pattern() {
        assert!(check_name("grant_access").is_ok());
        assert!(check_name("Sync-App_2").is_ok());
        assert!(check_name(&"a".repeat(64)).is_ok());
        let too_long = check_name(&"a".repeat(65)).unwrap_err().to_string();
        assert!(too_long.contains("65 characters long"), "{too_long}");
        assert!(
            check_name("")
                .unwrap_err()
                .to_string()
                .contains("it is empty")
        );
        let bad = check_name("grant access").unwrap_err().to_string();
        assert!(bad.contains("character ' ' is not allowed"), "{bad}");
        assert!(check_name("grant.access").is_err());
        // Non-ASCII letters are not in [a-zA-Z]: 'é' is 2 bytes, flagged by character.
        assert!(check_name("créer").unwrap_err().to_string().contains("'é'"));
    }
}
