//! The agent's settings, as [`BighubOpenAI::config`](crate::BighubOpenAI::config) reports
//! them, with the Python adapter's names and defaults.
//!
//! This module owns the values and their validation; the
//! [`BighubOpenAIBuilder`](crate::BighubOpenAIBuilder) owns how users set them, and runs
//! read them.

use std::time::Duration;

use bighub_core::FailMode;
use bighub_core::wire::DecisionMode;

pub use crate::provider::ProviderSettings;

/// The version this crate reports to the decision service as `source_version`.
pub const SOURCE_VERSION: &str = concat!("bighub-openai-rs@", env!("CARGO_PKG_VERSION"));

/// Everything that shapes how an agent runs. Read it with
/// [`BighubOpenAI::config`](crate::BighubOpenAI::config); set it through the builder.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AgentConfig {
    /// Who acts (default `AI_AGENT`).
    pub actor: String,
    /// The decision domain (default `it_actions`).
    pub domain: String,
    /// How actions are submitted to a remote engine (default `submit`).
    pub decision_mode: DecisionMode,
    /// What to decide when the engine cannot answer (default `closed`: block).
    pub fail_mode: FailMode,
    /// Most tool rounds per run (default 8, at least 1).
    pub max_tool_rounds: u32,
    /// Routing hint for the decision service (default `auto`).
    pub model_selection: String,
    /// What decisions optimise for (default `better_decision`).
    pub decision_objective: String,
    /// Model provider timeout, retries, backoff and circuit breaker.
    pub provider: ProviderSettings,
    /// Retries of a failed evaluation before the fail-mode decision (default 2).
    pub evaluate_retries: u32,
    /// Report each call's outcome to the engine (default true).
    pub outcome_reporting: bool,
    /// Make a failed outcome report an error of the run (default false).
    pub outcome_reporting_required: bool,
    /// Send the events of each round to decision memory, one batch per round, as soon as
    /// the round is recorded (default true).
    pub memory_enabled: bool,
    /// The `source` of memory batches (default `openai_adapter`).
    pub memory_source: String,
    /// The session all runs of this agent belong to (generated when not set).
    pub session_id: String,
    /// Let the API store responses and continue with `previous_response_id` (default false).
    pub store: bool,
    /// Run the allowed tools of one round concurrently (default true).
    pub parallel_tool_execution: bool,
    /// How long `close()` waits for queued reports (default 5 s).
    pub flush_timeout: Duration,
    /// Pause a run when a call needs an approval that nobody answered (default true);
    /// false reports `approval_required` to the model and goes on.
    pub pause_for_approval: bool,
    /// How long one tool call may run unless the tool says otherwise (default 60 s); a call
    /// that takes longer is stopped and recorded as a `tool_error`.
    pub tool_timeout: Duration,
    /// The most a decision's reason and better action (and each string of its raw answer)
    /// may add to the conversation and the record, in bytes (default 4 KiB); longer texts
    /// are cut with a marker.
    pub max_reason_bytes: usize,
    /// The most one tool output (or error text) may add to the conversation and the record,
    /// in bytes of its JSON text (default 64 KiB); a longer output is cut with a marker.
    pub max_tool_output_bytes: usize,
    /// How often a background response (`queued`, `in_progress`) is polled (default 1 s).
    pub background_poll_interval: Duration,
    /// How many outcome reports and memory batches are sent at once (default 32).
    pub report_concurrency: usize,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            actor: "AI_AGENT".to_owned(),
            domain: "it_actions".to_owned(),
            decision_mode: DecisionMode::Submit,
            fail_mode: FailMode::Closed,
            max_tool_rounds: 8,
            model_selection: "auto".to_owned(),
            decision_objective: "better_decision".to_owned(),
            provider: ProviderSettings::default(),
            evaluate_retries: 2,
            outcome_reporting: true,
            outcome_reporting_required: false,
            memory_enabled: true,
            memory_source: "openai_adapter".to_owned(),
            session_id: uuid::Uuid::new_v4().to_string(),
            store: false,
            parallel_tool_execution: true,
            flush_timeout: Duration::from_secs(5),
            pause_for_approval: true,
            tool_timeout: Duration::from_secs(60),
            max_reason_bytes: 4 * 1024,
            max_tool_output_bytes: 64 * 1024,
            background_poll_interval: Duration::from_secs(1),
            report_concurrency: 32,
        }
    }
}

impl AgentConfig {
    /// Every setting that cannot work, as one message per problem.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.max_tool_rounds < 1 {
            problems.push("max_tool_rounds must be at least 1".to_owned());
        }
        for (name, value) in [
            ("actor", &self.actor),
            ("domain", &self.domain),
            ("model_selection", &self.model_selection),
            ("decision_objective", &self.decision_objective),
            ("session_id", &self.session_id),
            ("memory_source", &self.memory_source),
        ] {
            if value.trim().is_empty() {
                problems.push(format!("{name} must not be empty"));
            }
        }
        let p = &self.provider;
        if p.timeout.is_zero() {
            problems.push("provider_timeout must be greater than zero".to_owned());
        }
        if p.max_backoff < p.backoff {
            problems.push(format!(
                "provider max backoff ({:?}) is shorter than the initial backoff ({:?})",
                p.max_backoff, p.backoff
            ));
        }
        if p.circuit_breaker_failures > 0 && p.circuit_breaker_reset.is_zero() {
            problems.push("provider circuit breaker reset must be greater than zero".to_owned());
        }
        for (name, value) in [
            ("tool_timeout", self.tool_timeout),
            ("background_poll_interval", self.background_poll_interval),
        ] {
            if value.is_zero() {
                problems.push(format!("{name} must be greater than zero"));
            }
        }
        for (name, value, least) in [
            ("max_reason_bytes", self.max_reason_bytes, 64),
            ("max_tool_output_bytes", self.max_tool_output_bytes, 64),
            ("report_concurrency", self.report_concurrency, 1),
            (
                "provider_max_concurrent_requests",
                self.provider.max_concurrent_requests,
                1,
            ),
        ] {
            if value < least {
                problems.push(format!("{name} must be at least {least}"));
            }
        }
        if self.outcome_reporting_required && !self.outcome_reporting {
            problems.push("outcome_reporting_required needs outcome_reporting".to_owned());
        }
        problems
    }
}
