//! What every run of one agent shares: its settings, tools, decision engine, model
//! transport, outcome reporter, approval ledger, decision hook and, for a durable agent,
//! its run store.
//!
//! This module owns the [`Runner`] and the ids of one run. What a run does with it is split
//! by concept: deciding a call (`decide.rs`), settling an approval (`settle.rs`), playing a
//! round (`round.rs`), the loop (`driver.rs`), the streamed loop (`stream.rs`), resuming
//! a paused run (`resume.rs`) and resuming a run store's answered runs (`durable.rs`).

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use bighub_core::DecisionEngine;
use serde_json::Value;

use super::ledger::ApprovalLedger;
use super::reporter::Reporter;
use super::run_store::DurableRuns;
use crate::config::AgentConfig;
use crate::mcp::HostedMcp;
use crate::provider::Provider;
use crate::tool::{ToolContext, ToolRegistry};
use crate::{Error, ExecutionEvent};

/// Called with every execution event (see the builder's `on_decision`).
pub(crate) type DecisionHook = Arc<dyn Fn(&ExecutionEvent) + Send + Sync>;

/// The shared internals of one agent.
pub(crate) struct Runner {
    pub(crate) config: AgentConfig,
    pub(crate) tools: ToolRegistry,
    /// The tool list sent with every model request, serialized once.
    pub(crate) tool_list: Vec<Value>,
    /// Hosted MCP servers: their `mcp` tools are in `tool_list`, their approval requests
    /// are decided as calls of theirs.
    pub(crate) hosted: Vec<HostedMcp>,
    pub(crate) engine: Arc<dyn DecisionEngine>,
    pub(crate) provider: Result<Provider, String>,
    pub(crate) reporter: Reporter,
    pub(crate) context: ToolContext,
    pub(crate) on_decision: Option<DecisionHook>,
    pub(crate) ledger: ApprovalLedger,
    /// Models that refused `include: ["reasoning.encrypted_content"]` (models that do not
    /// reason): asked without it from then on.
    pub(crate) plain_models: Mutex<HashSet<String>>,
    /// Where paused runs are kept until answered, for a durable agent.
    pub(crate) durable: Option<DurableRuns>,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("config", &self.config)
            .field("tools", &self.tools.names().collect::<Vec<_>>())
            .field("engine", &self.engine)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// Identifies the run a call belongs to.
#[derive(Debug, Clone)]
pub(crate) struct RunIds {
    pub(crate) trace_id: String,
    /// The model of the run (empty outside a run).
    pub(crate) model: String,
}

impl RunIds {
    /// Fresh ids for a run of `model` (empty for a call outside a run).
    pub(crate) fn new(model: &str) -> Self {
        Self {
            trace_id: uuid::Uuid::new_v4().to_string(),
            model: model.to_owned(),
        }
    }
}

impl Runner {
    pub(crate) fn new(
        config: AgentConfig,
        tools: ToolRegistry,
        engine: Arc<dyn DecisionEngine>,
        provider: Result<Provider, String>,
        context: ToolContext,
        on_decision: Option<DecisionHook>,
        hosted: Vec<HostedMcp>,
    ) -> Self {
        Self {
            reporter: Reporter::new(Arc::clone(&engine), config.report_concurrency),
            tool_list: tools
                .list_tools()
                .iter()
                .map(|t| serde_json::json!(t))
                .chain(hosted.iter().map(HostedMcp::tool_json))
                .collect(),
            hosted,
            engine,
            provider,
            tools,
            context,
            on_decision,
            ledger: ApprovalLedger::default(),
            config,
            plain_models: Mutex::default(),
            durable: None,
        }
    }

    pub(crate) fn provider(&self) -> Result<&Provider, Error> {
        self.provider
            .as_ref()
            .map_err(|why| Error::ProviderNotConfigured(why.clone()))
    }
}
