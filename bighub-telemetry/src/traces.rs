//! The OTLP/HTTP trace pipeline: an exporter (protobuf over HTTP), a batch processor on a
//! thread of its own (so it works from a plain `main` and inside a tokio runtime alike),
//! and the `tracing` layer that turns spans into OpenTelemetry spans.
//!
//! This module owns building the pipeline ([`OtlpTraces::builder`], [`OtlpTraces::from_env`])
//! and ending it (flush on drop). It does not install a global subscriber (`init.rs` does)
//! and does not decide what a span is called (the instrumented crates do).

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracerProvider, Tracer};
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;

use crate::TelemetryError;
use crate::config::{self, EnvConfig};

/// The `service.name` when neither the builder nor `OTEL_SERVICE_NAME` names one.
pub const DEFAULT_SERVICE_NAME: &str = "bighub";

/// The instrumentation scope spans are recorded under.
const SCOPE: &str = "bighub";

/// A running trace export pipeline. Dropping it flushes the spans still queued and shuts
/// the pipeline down (waiting for the last export, bounded by the exporter's timeout).
///
/// ```no_run
/// use bighub_telemetry::OtlpTraces;
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let traces = OtlpTraces::builder()
///     .endpoint("http://127.0.0.1:4318/v1/traces")
///     .service_name("ops-agent")
///     .build()?;
/// tracing_subscriber::registry().with(traces.layer()).init();
/// // ... run agents; spans are exported in batches ...
/// drop(traces); // flushes
/// # Ok(())
/// # }
/// ```
pub struct OtlpTraces {
    provider: SdkTracerProvider,
    tracer: Tracer,
    endpoint: String,
    service_name: String,
}

impl fmt::Debug for OtlpTraces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpTraces")
            .field("endpoint", &config::redacted(&self.endpoint))
            .field("service_name", &self.service_name)
            .finish_non_exhaustive()
    }
}

impl OtlpTraces {
    /// A builder for a pipeline configured in code (tests, or programs that do not read
    /// the environment).
    pub fn builder() -> OtlpTracesBuilder {
        OtlpTracesBuilder::default()
    }

    /// The pipeline the standard environment variables configure, or `None` when they
    /// configure none: see the [crate documentation](crate) for the variables.
    ///
    /// # Errors
    ///
    /// An unsupported protocol or exporter, an endpoint that is not an HTTP URL, or an
    /// exporter that cannot be built.
    pub fn from_env() -> Result<Option<Self>, TelemetryError> {
        Self::from_env_with_default_name(DEFAULT_SERVICE_NAME)
    }

    /// [`from_env`](Self::from_env), with `service_name` used when `OTEL_SERVICE_NAME` is
    /// not set.
    ///
    /// # Errors
    ///
    /// As [`from_env`](Self::from_env).
    pub fn from_env_with_default_name(service_name: &str) -> Result<Option<Self>, TelemetryError> {
        let Some(env) = EnvConfig::read(|name| std::env::var(name).ok())? else {
            return Ok(None);
        };
        let mut builder = Self::builder().endpoint(env.endpoint);
        builder = builder.service_name(env.service_name.as_deref().unwrap_or(service_name));
        builder.build().map(Some)
    }

    /// A `tracing` layer exporting this pipeline's spans; compose it with other layers on a
    /// `tracing_subscriber::registry()`. It sees spans at `INFO` and above only: events stay
    /// log lines (they are not added to spans), and verbose spans of other crates are left
    /// out.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.tracer.clone())
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_filter(filter_fn(|meta| {
                meta.is_span() && *meta.level() <= Level::INFO
            }))
    }

    /// The URL spans are sent to, as configured (credentials in it included: `Debug`
    /// shows it without them).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The `service.name` of the exported spans.
    pub fn service_name(&self) -> &str {
        &self.service_name
    }

    /// Exports every span ended so far, now.
    ///
    /// # Errors
    ///
    /// The export failed or timed out.
    pub fn flush(&self) -> Result<(), TelemetryError> {
        self.provider
            .force_flush()
            .map_err(|e| TelemetryError::Flush(e.to_string()))
    }
}

impl Drop for OtlpTraces {
    fn drop(&mut self) {
        // Shutting down exports what is still queued; a failure has nowhere to go but stderr.
        if let Err(error) = self.provider.shutdown() {
            eprintln!("bighub: traces were not all exported: {error}");
        }
    }
}

/// Configures an [`OtlpTraces`] in code.
///
/// ```no_run
/// # fn main() -> Result<(), bighub_telemetry::TelemetryError> {
/// let traces = bighub_telemetry::OtlpTraces::builder()
///     .endpoint("https://otlp.example.com/v1/traces")
///     .header("authorization", "Bearer ...")
///     .service_name("bighub-server")
///     .build()?;
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
pub struct OtlpTracesBuilder {
    endpoint: Option<String>,
    service_name: Option<String>,
    headers: HashMap<String, String>,
    timeout: Option<Duration>,
}

impl fmt::Debug for OtlpTracesBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values often carry credentials: only their names are shown.
        let mut names: Vec<&String> = self.headers.keys().collect();
        names.sort();
        f.debug_struct("OtlpTracesBuilder")
            .field("endpoint", &self.endpoint.as_deref().map(config::redacted))
            .field("service_name", &self.service_name)
            .field("headers", &names)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl OtlpTracesBuilder {
    /// The full URL spans are POSTed to (e.g. `http://127.0.0.1:4318/v1/traces`); default
    /// `http://localhost:4318/v1/traces`.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The `service.name` of the spans (default [`DEFAULT_SERVICE_NAME`]).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// A header sent with every export (e.g. an API key of the collector). Headers from
    /// `OTEL_EXPORTER_OTLP_HEADERS` are added too, and win for the same name.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// How long one export may take (default 10 s, or `OTEL_EXPORTER_OTLP_TIMEOUT`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Builds the exporter and starts its batch thread.
    ///
    /// # Errors
    ///
    /// An endpoint that is not an HTTP URL, an invalid header, or an exporter that cannot
    /// be built.
    pub fn build(self) -> Result<OtlpTraces, TelemetryError> {
        let endpoint = self
            .endpoint
            .unwrap_or_else(|| "http://localhost:4318/v1/traces".to_owned());
        config::check_endpoint(&endpoint)?;
        for (name, value) in &self.headers {
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            let valid_value = value
                .bytes()
                .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
            if !valid_name || !valid_value {
                return Err(TelemetryError::InvalidHeader { name: name.clone() });
            }
        }
        let service_name = self
            .service_name
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.clone())
            .with_headers(self.headers);
        if let Some(timeout) = self.timeout {
            exporter = exporter.with_timeout(timeout);
        }
        let exporter = exporter
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        let resource = Resource::builder_empty()
            .with_service_name(service_name.clone())
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer(SCOPE);
        Ok(OtlpTraces {
            provider,
            tracer,
            endpoint,
            service_name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_header_names_and_endpoints_without_credentials() {
        let builder = OtlpTraces::builder()
            .endpoint("https://user:pa55@otlp.example.com/v1/traces")
            .header("authorization", "Bearer tok3n-value");
        let shown = format!("{builder:?}");
        assert!(shown.contains("authorization"), "{shown}");
        assert!(
            !shown.contains("tok3n-value") && !shown.contains("pa55"),
            "{shown}"
        );
    }

    #[test]
    fn bad_headers_and_endpoints_are_typed_errors() {
        let bad_value = OtlpTraces::builder()
            .endpoint("http://127.0.0.1:4318/v1/traces")
            .header("authorization", "line\nbreak")
            .build();
        assert!(
            matches!(bad_value, Err(TelemetryError::InvalidHeader { name }) if name == "authorization")
        );
        let bad_name = OtlpTraces::builder().header("bad name", "v").build();
        assert!(matches!(
            bad_name,
            Err(TelemetryError::InvalidHeader { .. })
        ));
        let bad_endpoint = OtlpTraces::builder().endpoint("127.0.0.1:4318").build();
        assert!(matches!(
            bad_endpoint,
            Err(TelemetryError::InvalidEndpoint { .. })
        ));
    }

    #[test]
    fn a_pipeline_builds_outside_any_runtime_and_flushes_with_nothing_queued() {
        let traces = OtlpTraces::builder()
            .endpoint("http://127.0.0.1:9/v1/traces")
            .service_name("unit")
            .build()
            .unwrap();
        assert_eq!(traces.service_name(), "unit");
        assert_eq!(traces.endpoint(), "http://127.0.0.1:9/v1/traces");
        traces.flush().unwrap();
    }
}
