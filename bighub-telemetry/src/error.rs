//! What can go wrong setting up trace export: the one error type of this crate.
//!
//! This module owns the error vocabulary only; reading the configuration is `config.rs`'s,
//! building the exporter `traces.rs`'s.

/// Why trace export could not be set up (or flushed).
///
/// No variant carries a header value: a header often holds an API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` (or its traces variant) names a protocol this build
    /// does not export with: only `http/protobuf` is compiled in.
    #[error(
        "the OTLP protocol `{protocol}` is not supported by this build (from {variable}); use http/protobuf"
    )]
    UnsupportedProtocol {
        /// The protocol asked for.
        protocol: String,
        /// The variable that asked for it.
        variable: &'static str,
    },
    /// `OTEL_TRACES_EXPORTER` names an exporter other than `otlp` or `none`.
    #[error("the traces exporter `{0}` is not supported (OTEL_TRACES_EXPORTER); use otlp or none")]
    UnsupportedExporter(String),
    /// The endpoint is not an `http://` or `https://` URL.
    #[error("the OTLP endpoint {endpoint:?} is not an http:// or https:// URL")]
    InvalidEndpoint {
        /// The endpoint as configured, any `user:password@` in it shown as `***@`.
        endpoint: String,
    },
    /// A header name or value given to the builder is not a valid HTTP header.
    #[error("the OTLP header `{name}` is not a valid HTTP header name and value")]
    InvalidHeader {
        /// The header's name.
        name: String,
    },
    /// The OTLP exporter could not be built.
    #[error("the OTLP exporter could not be built: {0}")]
    Exporter(String),
    /// Spans could not be flushed or the pipeline shut down.
    #[error("the trace pipeline could not flush: {0}")]
    Flush(String),
    /// Another global subscriber was already installed.
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
}
