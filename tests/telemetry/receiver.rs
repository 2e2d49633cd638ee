//! A local OTLP/HTTP trace receiver: `POST /v1/traces` bodies decoded as the official
//! `ExportTraceServiceRequest` protobuf, kept for the test to read. It listens on
//! 127.0.0.1 only and stops with the runtime it was started on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// One exported span with its resource's `service.name`.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) service_name: Option<String>,
    pub(crate) span: Span,
}

impl Received {
    pub(crate) fn name(&self) -> &str {
        &self.span.name
    }

    /// An attribute's value as text (strings as they are, numbers in decimal).
    pub(crate) fn attr(&self, key: &str) -> Option<String> {
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
    pub(crate) fn attribute_values(&self) -> Vec<String> {
        self.span
            .attributes
            .iter()
            .filter_map(|kv| self.attr(&kv.key))
            .collect()
    }
}

#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Received>>>);

pub(crate) struct Receiver {
    url: String,
    spans: Spans,
}

impl Receiver {
    pub(crate) async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        let spans = Spans::default();
        let app = Router::new()
            .route("/v1/traces", post(export))
            .with_state(spans.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, spans }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The spans received so far, waiting (up to 10 s) until `ready` holds for them.
    pub(crate) fn wait_for(&self, ready: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let spans = self.spans.0.lock().unwrap().clone();
            if ready(&spans) || Instant::now() > deadline {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn export(State(spans): State<Spans>, body: Bytes) -> impl IntoResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new()).into_response();
    };
    let mut received = spans.0.lock().unwrap();
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
                received.push(Received {
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
