//! Installing the process's subscriber: log lines as before (formatted to standard error,
//! filtered), plus trace export when the environment configures it.
//!
//! This module owns the global set-up and its guard; the pipeline itself is `traces.rs`'s.
//! Each layer has its own filter, so a quiet log filter does not silence the exported
//! spans, and with nothing configured the subscriber is the plain formatter alone.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::{OtlpTraces, TelemetryError};

/// Keeps trace export running; dropping it flushes the spans still queued. Hold it in
/// `main` for the life of the program.
#[derive(Debug)]
#[must_use = "dropping the guard ends trace export"]
pub struct TelemetryGuard {
    traces: Option<OtlpTraces>,
}

impl TelemetryGuard {
    /// Whether spans are exported (the environment configured an OTLP endpoint).
    pub fn is_exporting(&self) -> bool {
        self.traces.is_some()
    }

    /// The running pipeline, when spans are exported.
    pub fn traces(&self) -> Option<&OtlpTraces> {
        self.traces.as_ref()
    }
}

/// Installs the global subscriber: log lines to standard error filtered by `RUST_LOG`
/// (`rmcp`'s own events off unless `RUST_LOG` names it: they quote what an MCP server sent,
/// unescaped), and the spans exported over OTLP when the standard variables ask for it.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     // OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 exports the agent's spans.
///     let _telemetry = bighub_telemetry::init_from_env()?;
///     // ... build and run agents ...
///     Ok(())
/// }
/// ```
///
/// # Errors
///
/// A configuration that cannot work (see [`OtlpTraces::from_env`]), or a global
/// subscriber already installed.
pub fn init_from_env() -> Result<TelemetryGuard, TelemetryError> {
    let filter = EnvFilter::from_default_env();
    let filter = if std::env::var("RUST_LOG").is_ok_and(|v| v.contains("rmcp")) {
        filter
    } else {
        filter.add_directive("rmcp=off".parse().expect("a valid directive"))
    };
    init_with_filter(filter, crate::DEFAULT_SERVICE_NAME)
}

/// [`init_from_env`] with the log filter given, and `service_name` used when
/// `OTEL_SERVICE_NAME` is not set. Colours only on a terminal, so that log files hold no
/// escape codes.
///
/// ```no_run
/// # fn main() -> Result<(), bighub_telemetry::TelemetryError> {
/// let filter = tracing_subscriber::EnvFilter::new("warn,bighub_server=info");
/// let _telemetry = bighub_telemetry::init_with_filter(filter, "bighub-server")?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// As [`init_from_env`].
pub fn init_with_filter(
    filter: EnvFilter,
    service_name: &str,
) -> Result<TelemetryGuard, TelemetryError> {
    let traces = OtlpTraces::from_env_with_default_name(service_name)?;
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter);
    let installed = match &traces {
        Some(traces) => tracing_subscriber::registry()
            .with(logs)
            .with(traces.layer())
            .try_init(),
        None => tracing_subscriber::registry().with(logs).try_init(),
    };
    installed.map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(TelemetryGuard { traces })
}
