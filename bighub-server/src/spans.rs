//! The trace span of each request the server answers: an HTTP server span named
//! `{method} {route}` (the route template, never the path with its ids), with the answer's
//! status and, for an evaluation, what was decided (`bighub.decision.mode`,
//! `bighub.decision.risk`, `bighub.request_id`, `bighub.policy.revision`, the tool as
//! `gen_ai.tool.name`).
//!
//! These are plain `tracing` spans: exported only when an OpenTelemetry layer is installed
//! (`bighub serve` installs one when the standard `OTEL_*` variables configure it), a
//! disabled handle otherwise. Values are recorded as strings and numbers, never request
//! bodies, arguments or keys. This module neither routes nor answers requests (`routes.rs`).

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;
use tracing::field::Empty;
use tracing::{Instrument, Span};

/// Runs `request` inside its span, and records the answer's status on it.
pub(crate) async fn request(request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!(
        "http.request",
        otel.name = Empty,
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = method.as_str(),
        http.route = Empty,
        http.response.status_code = Empty,
        gen_ai.tool.name = Empty,
        bighub.decision.mode = Empty,
        bighub.decision.risk = Empty,
        bighub.request_id = Empty,
        bighub.policy.revision = Empty,
        bighub.dry_run = Empty,
    );
    if !span.is_disabled() {
        match request.extensions().get::<MatchedPath>() {
            Some(route) => {
                span.record("http.route", route.as_str());
                span.record("otel.name", format!("{method} {}", route.as_str()).as_str());
            }
            None => {
                span.record("otel.name", method.as_str());
            }
        }
    }
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
    response
}

/// Adds the tool an evaluation is about to the current request's span.
pub(crate) fn record_tool(tool: &str, dry_run: bool) {
    let span = Span::current();
    span.record("gen_ai.tool.name", tool);
    span.record("bighub.dry_run", dry_run);
}

/// Adds what was decided (the decision as answered) to the current request's span.
pub(crate) fn record_decision(decision: &Value) {
    let span = Span::current();
    if span.is_disabled() {
        return;
    }
    if let Some(mode) = decision["mode"].as_str() {
        span.record("bighub.decision.mode", mode);
    }
    if let Some(risk) = decision["risk"].as_f64() {
        span.record("bighub.decision.risk", risk);
    }
    if let Some(request_id) = decision["request_id"].as_str() {
        span.record("bighub.request_id", request_id);
    }
    if let Some(revision) = decision["decision_brain"]["policy_sha256"].as_str() {
        span.record("bighub.policy.revision", revision);
    }
}
