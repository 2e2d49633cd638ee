//! Shared resources for tools: `State<T>` parameters and the per-call `ToolContext`.
//!
//! An API client or a connection pool is registered once on the agent and injected into
//! every tool that takes a `State<T>` parameter; such parameters never appear in the schema
//! the model sees.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use bighub_core::{Decision, ProposedAction};

use super::constraints::Constraints;
use crate::ToolError;

/// A shared resource injected into a tool.
///
/// ```
/// use bighub_openai::{State, tool::ToolContext};
///
/// struct OktaClient { base_url: String }
///
/// let ctx = ToolContext::builder()
///     .state(OktaClient { base_url: "https://example.okta.com".into() })
///     .build();
/// let okta: State<OktaClient> = ctx.state().unwrap();
/// assert_eq!(okta.base_url, "https://example.okta.com");
/// ```
pub struct State<T: ?Sized>(pub Arc<T>);

impl<T: ?Sized> Clone for State<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: ?Sized> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("State").field(&&*self.0).finish()
    }
}

/// A shared state type a tool needs: see [`Action::required_states`](crate::Action::required_states).
///
/// ```
/// use bighub_openai::tool::StateType;
///
/// struct OktaClient;
/// let needed = StateType::of::<OktaClient>();
/// assert!(needed.name().ends_with("OktaClient"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateType {
    id: TypeId,
    name: &'static str,
}

impl StateType {
    /// The state type `T`.
    pub fn of<T: Send + Sync + 'static>() -> Self {
        Self {
            id: TypeId::of::<T>(),
            name: type_name::<T>(),
        }
    }

    /// The type's name, as Rust spells it.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// What a tool call can reach besides its arguments: shared state, which call it is, and
/// what it was decided on, including the [`Constraints`] it runs under.
///
/// A closure ([`FnToolWithContext`](crate::tool::FnToolWithContext)) gets the context as its
/// second argument; an `#[action]` function gets it by taking a `ToolContext` parameter,
/// which the model never sees:
///
/// ```
/// use bighub_openai::{ToolError, tool::ToolContext};
///
/// /// Deploy a service.
/// #[bighub_openai::action(system = "argocd", risk = "high", environment = "staging")]
/// async fn deploy(service: String, context: ToolContext) -> Result<String, ToolError> {
///     if let Some(constraints) = context.constraints() {
///         // A constrained decision: run within what it names, or refuse.
///         if constraints.texts().any(|c| c == "no production") && service.ends_with("-prod") {
///             return Err(ToolError::new("this call may not touch production"));
///         }
///     }
///     Ok(format!("deployed {service}"))
/// }
/// ```
#[derive(Clone, Default)]
pub struct ToolContext {
    states: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    call_id: Option<String>,
    decided: Option<Arc<ProposedAction>>,
    constraints: Option<Arc<Constraints>>,
}

impl fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // State values may hold credentials: show how many there are, never what.
        f.debug_struct("ToolContext")
            .field("states", &self.states.len())
            .field("call_id", &self.call_id)
            // The action's arguments may hold secrets: only which tool it was.
            .field("decided", &self.decided.as_ref().map(|a| &a.tool))
            // Engine-chosen text: how many constraints, not what they say.
            .field(
                "constraints",
                &self.constraints.as_ref().map(|c| c.texts().count()),
            )
            .finish()
    }
}

impl ToolContext {
    /// Starts a context with no state.
    pub fn builder() -> ToolContextBuilder {
        ToolContextBuilder::default()
    }

    /// The shared state of type `T`, or a [`ToolError`] naming the missing type.
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<State<T>, ToolError> {
        self.states
            .get(&TypeId::of::<T>())
            .and_then(|any| Arc::clone(any).downcast::<T>().ok())
            .map(State)
            .ok_or_else(|| ToolError::missing_state(type_name::<T>()))
    }

    /// Whether the context holds a state of this type.
    pub fn has(&self, state: StateType) -> bool {
        self.states.contains_key(&state.id)
    }

    /// The proposed action the call was decided on, when a run decided it.
    pub fn decided_action(&self) -> Option<&ProposedAction> {
        self.decided.as_deref()
    }

    /// The constraints of the `constrained` decision the call runs under; `None` when a run
    /// did not decide it so, e.g. when the decision was `autonomous`.
    ///
    /// ```
    /// use bighub_openai::tool::ToolContext;
    ///
    /// // Outside a run nothing was decided, so nothing constrains the call.
    /// assert!(ToolContext::default().constraints().is_none());
    /// ```
    pub fn constraints(&self) -> Option<&Constraints> {
        self.constraints.as_deref()
    }

    /// The same context, carrying the action the call was decided on and the constraints of
    /// its decision.
    pub(crate) fn with_decided(mut self, action: &ProposedAction, decision: &Decision) -> Self {
        self.decided = Some(Arc::new(action.clone()));
        self.constraints = Constraints::of(decision).map(Arc::new);
        self
    }

    /// The model's id for this call, when the call came from a model.
    pub fn call_id(&self) -> Option<&str> {
        self.call_id.as_deref()
    }

    /// The same context for another call.
    pub fn with_call_id(&self, call_id: impl Into<String>) -> Self {
        Self {
            states: Arc::clone(&self.states),
            call_id: Some(call_id.into()),
            decided: None,
            constraints: None,
        }
    }
}

/// Collects the shared state of a [`ToolContext`].
#[derive(Default)]
pub struct ToolContextBuilder {
    states: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for ToolContextBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The states are the user's values, shown by count only.
        f.debug_struct("ToolContextBuilder")
            .field("states", &self.states.len())
            .finish()
    }
}

impl ToolContextBuilder {
    /// Adds a value; a second value of the same type replaces the first.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.states.insert(TypeId::of::<T>(), Arc::new(value));
        self
    }

    /// Adds a value that is already shared.
    pub fn shared_state<T: Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.states.insert(TypeId::of::<T>(), value);
        self
    }

    /// Finishes the context.
    pub fn build(self) -> ToolContext {
        ToolContext {
            states: Arc::new(self.states),
            call_id: None,
            decided: None,
            constraints: None,
        }
    }
}
