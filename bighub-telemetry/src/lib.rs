//! OpenTelemetry traces for bighub-openai agents and the `bighub serve` decision server.
//!
//! The agent runtime and the server describe their work as `tracing` spans named after the
//! OpenTelemetry GenAI semantic conventions: `invoke_agent {agent}` for a run, `chat
//! {model}` for each model request, `bighub.decision {tool}` for each decision, and
//! `execute_tool {tool}` for each tool execution. This crate exports them over OTLP
//! (protobuf over HTTP) when the standard environment variables ask for it, and installs
//! nothing of OpenTelemetry when they do not: logging stays the plain formatter.
//!
//! | variable | effect |
//! |---|---|
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | the URL spans are POSTed to, as given |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | the collector's base URL; spans go to `{base}/v1/traces` |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` (`_TRACES_PROTOCOL`) | `http/protobuf` (the default); anything else is an error |
//! | `OTEL_EXPORTER_OTLP_HEADERS` (`_TRACES_HEADERS`) | `key=value,...` sent with each export (URL-decoded) |
//! | `OTEL_SERVICE_NAME` | the `service.name` of the spans |
//! | `OTEL_TRACES_EXPORTER` | `none` switches export off; `otlp` without an endpoint uses `http://localhost:4318` |
//! | `OTEL_SDK_DISABLED` | `true` switches export off |
//!
//! Without an endpoint (and without `OTEL_TRACES_EXPORTER=otlp`), nothing is exported.
//!
//! ```no_run
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let telemetry = bighub_telemetry::init_from_env()?;
//!     if telemetry.is_exporting() {
//!         eprintln!("exporting traces");
//!     }
//!     // ... build and run agents: their runs, model requests, decisions and tools are spans ...
//!     Ok(()) // dropping `telemetry` flushes the last spans
//! }
//! ```
//!
//! To compose with a subscriber of one's own, build the pipeline and take its layer:
//! [`OtlpTraces::from_env`] or [`OtlpTraces::builder`], then [`OtlpTraces::layer`].
//!
//! This crate owns the export pipeline and the global set-up; it does not name spans or
//! choose their attributes (the instrumented crates do), and it exports no metrics or logs.

mod config;
mod error;
mod init;
mod traces;

pub use error::TelemetryError;
pub use init::{TelemetryGuard, init_from_env, init_with_filter};
pub use traces::{DEFAULT_SERVICE_NAME, OtlpTraces, OtlpTracesBuilder};
