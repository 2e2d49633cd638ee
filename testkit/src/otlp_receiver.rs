//! A local OTLP/HTTP trace receiver: `POST /v1/traces` bodies decoded as the official
//! `ExportTraceServiceRequest` protobuf (`opentelemetry-proto`), kept for a test to read.
//!
//! It listens on 127.0.0.1 only, on a free port, and stops when the [`OtlpReceiver`] is
//! dropped (or with the runtime it was started on). It refuses what a collector refuses (a
//! body that is not uncompressed `application/x-protobuf`, ids of the wrong length) and
//! checks nothing more: assertions are the test's.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

pub use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

/// One exported span with its resource's `service.name`.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// The resource's `service.name`, when it has one.
    pub service_name: Option<String>,
    /// The span as decoded.
    pub span: Span,
}

impl ReceivedSpan {
    /// The span's name.
    pub fn name(&self) -> &str {
        &self.span.name
    }

    /// An attribute's value as text (strings as they are, numbers in decimal).
    pub fn attr(&self, key: &str) -> Option<String> {
        let value = self
            .span
            .attributes
            .iter()
            .find(|kv| kv.key == key)?
            .value
            .as_ref()?
            .value
            .as_ref()?;
        Some(match value {
            AnyValue::StringValue(s) => s.clone(),
            AnyValue::IntValue(i) => i.to_string(),
            AnyValue::DoubleValue(d) => d.to_string(),
            AnyValue::BoolValue(b) => b.to_string(),
            other => format!("{other:?}"),
        })
    }

    /// Every attribute value, as text, for checks on what may never appear.
    pub fn attribute_values(&self) -> Vec<String> {
        self.span
            .attributes
            .iter()
            .filter_map(|kv| self.attr(&kv.key))
            .collect()
    }
}

#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<ReceivedSpan>>>);

/// A running receiver; dropping it stops it.
///
/// ```no_run
/// # async fn example() -> std::io::Result<()> {
/// let receiver = bighub_testkit::otlp_receiver::OtlpReceiver::start().await?;
/// // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=<receiver.url()> for the program under test ...
/// let spans = receiver.wait_for(|spans| !spans.is_empty());
/// # Ok(())
/// # }
/// ```
pub struct OtlpReceiver {
    url: String,
    spans: Spans,
    server: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for OtlpReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpReceiver")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl OtlpReceiver {
    /// Listens on 127.0.0.1, on a free port, on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// The port cannot be bound.
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/v1/traces", listener.local_addr()?);
        let spans = Spans::default();
        let app = Router::new()
            .route("/v1/traces", post(export))
            .with_state(spans.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, spans, server })
    }

    /// The traces URL (`http://127.0.0.1:PORT/v1/traces`); the base endpoint is this
    /// without `/v1/traces`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The spans received so far, once `ready` holds for them or 10 s have passed
    /// (blocking the calling thread: call it outside the receiver's runtime's workers).
    pub fn wait_for(&self, ready: impl Fn(&[ReceivedSpan]) -> bool) -> Vec<ReceivedSpan> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let spans = self.spans();
            if ready(&spans) || Instant::now() > deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Takes what an OTLP/HTTP collector takes: a protobuf body (`415` for another media
/// type), not compressed (this receiver decodes none), whose spans have 16-byte trace ids
/// and 8-byte span ids (`400` otherwise, as the collector refuses them).
async fn export(State(spans): State<Spans>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if header(header::CONTENT_TYPE) != Some("application/x-protobuf") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, Vec::new()).into_response();
    }
    if header(header::CONTENT_ENCODING).is_some_and(|e| e != "identity") {
        return (StatusCode::BAD_REQUEST, Vec::new()).into_response();
    }
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new()).into_response();
    };
    let malformed = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .any(|s| {
            s.trace_id.len() != 16
                || s.span_id.len() != 8
                || !(s.parent_span_id.is_empty() || s.parent_span_id.len() == 8)
        });
    if malformed {
        return (StatusCode::BAD_REQUEST, Vec::new()).into_response();
    }
    let mut received = spans.0.lock().unwrap_or_else(|p| p.into_inner());
    for resource_spans in request.resource_spans {
        let service_name = resource_spans.resource.as_ref().and_then(|r| {
            r.attributes
                .iter()
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.as_ref())
                .and_then(|v| match v {
                    AnyValue::StringValue(s) => Some(s.clone()),
                    _ => None,
                })
        });
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                received.push(ReceivedSpan {
                    service_name: service_name.clone(),
                    span,
                });
            }
        }
    }
    let answer = ExportTraceServiceResponse::default().encode_to_vec();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        answer,
    )
        .into_response()
}
