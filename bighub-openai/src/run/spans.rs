//! The trace spans of a run, named and attributed after the OpenTelemetry GenAI semantic
//! conventions: `invoke_agent` (a run), `chat` (each model request), `bighub.decision`
//! (each decision on a call) and `execute_tool` (each tool execution), nested under the
//! run.
//!
//! They are plain `tracing` spans. With no subscriber, or one that does not want them, a
//! span is a disabled handle and nothing here formats or allocates: every value that has
//! to be built (a span name, a count) is recorded only when the span is enabled. An
//! OpenTelemetry layer (`bighub-telemetry`, or any `tracing-opentelemetry` set-up) exports
//! them: `otel.name`, `otel.kind` and `otel.status_code` are the fields it reads for the
//! span's name, kind and status. Values are recorded as strings and numbers, never with
//! `Debug` of a value that quotes itself, so that an exported attribute holds the value
//! alone; a `fmt` subscriber still prints each string field escaped.
//!
//! Attributes are names, ids, counts, modes and scores: never a call's arguments, a tool's
//! output, instructions or anything the model wrote. This module neither installs a
//! subscriber nor exports anything.

use bighub_core::Decision;
use serde_json::Value;
use tracing::Span;
use tracing::field::Empty;

use crate::Error;
use crate::ToolError;
use crate::tool::ToolErrorKind;

/// `gen_ai.provider.name` (and the older `gen_ai.system`) of every model request.
const PROVIDER: &str = "openai";

/// The span of one run of the agent (`invoke_agent {gen_ai.agent.name}`): the agent is
/// named by its actor; `bighub.trace_id` is the run's id in the decision log.
pub(crate) fn run(agent: &str, model: &str, session: &str, trace_id: &str) -> Span {
    let span = tracing::info_span!(
        "invoke_agent",
        otel.name = Empty,
        otel.kind = "internal",
        otel.status_code = Empty,
        gen_ai.operation.name = "invoke_agent",
        gen_ai.provider.name = PROVIDER,
        gen_ai.system = PROVIDER,
        gen_ai.agent.name = agent,
        gen_ai.request.model = model,
        gen_ai.conversation.id = session,
        bighub.trace_id = trace_id,
        error.type = Empty,
    );
    if !span.is_disabled() {
        let name = if agent.is_empty() {
            "invoke_agent".to_owned()
        } else {
            format!("invoke_agent {agent}")
        };
        span.record("otel.name", name.as_str());
    }
    span
}

/// The span of one model request (`chat {gen_ai.request.model}`), a client span; what the
/// response says is added by [`record_response`].
pub(crate) fn chat(model: &str) -> Span {
    let span = tracing::info_span!(
        "chat",
        otel.name = Empty,
        otel.kind = "client",
        otel.status_code = Empty,
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = PROVIDER,
        gen_ai.system = PROVIDER,
        gen_ai.request.model = model,
        gen_ai.response.model = Empty,
        gen_ai.response.id = Empty,
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        error.type = Empty,
    );
    if !span.is_disabled() {
        span.record("otel.name", format!("chat {model}").as_str());
    }
    span
}

/// Adds what a Responses API answer says about itself to its `chat` span: its id, the
/// model that answered, and the token usage when the answer reports it.
pub(crate) fn record_response(span: &Span, raw: &Value) {
    if span.is_disabled() {
        return;
    }
    if let Some(id) = raw.get("id").and_then(Value::as_str) {
        span.record("gen_ai.response.id", id);
    }
    if let Some(model) = raw.get("model").and_then(Value::as_str) {
        span.record("gen_ai.response.model", model);
    }
    let usage = raw.get("usage");
    let tokens = |key: &str| usage.and_then(|u| u.get(key)).and_then(Value::as_u64);
    if let Some(input) = tokens("input_tokens") {
        span.record("gen_ai.usage.input_tokens", input);
    }
    if let Some(output) = tokens("output_tokens") {
        span.record("gen_ai.usage.output_tokens", output);
    }
}

/// Marks a run's or a model request's span failed, with `error.type` a fixed name of the
/// failure (never its message, which may quote what a server sent).
pub(crate) fn record_error(span: &Span, error: &Error) {
    let error_type = match error.cause() {
        Error::Provider { source, .. } => match source.status {
            Some(status) if status >= 500 => "http_5xx",
            Some(429) => "http_429",
            Some(_) => "http_4xx",
            None => "transport",
        },
        Error::ProviderNotConfigured(_) => "provider_not_configured",
        Error::ProviderResponse(_) => "provider_response",
        Error::ResponseNotCompleted { .. } => "response_not_completed",
        Error::CircuitOpen { .. } => "circuit_open",
        Error::MaxToolRounds { .. } => "max_tool_rounds",
        Error::UnsupportedCall { .. } => "unsupported_call",
        Error::OutcomeReport { .. } => "outcome_report",
        Error::Cancelled => "cancelled",
        Error::Mcp { .. } | Error::McpListingTooLarge { .. } => "mcp",
        _ => "_OTHER",
    };
    span.record("otel.status_code", "error");
    span.record("error.type", error_type);
}

/// Marks a tool execution's span failed, with `error.type` the kind of failure.
pub(crate) fn record_tool_error(span: &Span, error: &ToolError) {
    let error_type = match error.kind() {
        ToolErrorKind::Failed => "tool_failed",
        ToolErrorKind::InvalidArguments => "invalid_arguments",
        ToolErrorKind::MissingState => "missing_state",
        ToolErrorKind::Panicked => "panicked",
        ToolErrorKind::TimedOut => "timeout",
        ToolErrorKind::Cancelled => "cancelled",
    };
    span.record("otel.status_code", "error");
    span.record("error.type", error_type);
}

/// The span of one decision on a call (`bighub.decision {gen_ai.tool.name}`); what the
/// engine decided is added by [`record_decision`].
pub(crate) fn decision(tool: &str, call_id: &str) -> Span {
    let span = tracing::info_span!(
        "bighub.decision",
        otel.name = Empty,
        otel.kind = "internal",
        gen_ai.tool.name = tool,
        gen_ai.tool.call.id = call_id,
        bighub.decision.mode = Empty,
        bighub.decision.risk = Empty,
        bighub.decision.verdict = Empty,
        bighub.request_id = Empty,
        bighub.policy.revision = Empty,
    );
    if !span.is_disabled() {
        span.record("otel.name", format!("bighub.decision {tool}").as_str());
    }
    span
}

/// Adds the decision's mode, risk, verdict, request id and policy revision (the local
/// engine's `decision_brain.policy_sha256`) to its `bighub.decision` span.
pub(crate) fn record_decision(span: &Span, decision: &Decision) {
    if span.is_disabled() {
        return;
    }
    if let Some(mode) = decision.mode {
        span.record("bighub.decision.mode", mode.as_str());
    }
    if let Some(risk) = decision.risk.or(decision.risk_score) {
        span.record("bighub.decision.risk", risk);
    }
    span.record("bighub.decision.verdict", decision.verdict().as_str());
    if let Some(request_id) = &decision.request_id {
        span.record("bighub.request_id", request_id.as_str());
    }
    let revision = decision
        .decision_brain()
        .and_then(|brain| brain.get("policy_sha256"))
        .and_then(Value::as_str);
    if let Some(revision) = revision {
        span.record("bighub.policy.revision", revision);
    }
}

/// The span of one tool execution (`execute_tool {gen_ai.tool.name}`). Every tool the
/// agent executes is offered to the model as a function whose call the agent runs (an MCP
/// server's tools included), so `gen_ai.tool.type` is `function`.
pub(crate) fn execute_tool(tool: &str, call_id: &str) -> Span {
    let span = tracing::info_span!(
        "execute_tool",
        otel.name = Empty,
        otel.kind = "internal",
        otel.status_code = Empty,
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = tool,
        gen_ai.tool.call.id = call_id,
        gen_ai.tool.type = "function",
        error.type = Empty,
    );
    if !span.is_disabled() {
        span.record("otel.name", format!("execute_tool {tool}").as_str());
    }
    span
}
