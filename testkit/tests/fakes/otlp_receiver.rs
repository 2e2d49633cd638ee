//! The OTLP receiver refuses what a collector refuses, and keeps what it accepts.

use bighub_testkit::otlp_receiver::OtlpReceiver;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

fn request(trace_id: Vec<u8>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id,
                    span_id: vec![2; 8],
                    name: "chat gpt-test".to_owned(),
                    ..Span::default()
                }],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
    .encode_to_vec()
}

#[tokio::test]
async fn only_protobuf_spans_with_well_formed_ids_are_kept() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let http = reqwest::Client::new();
    let send = |content_type: &'static str, body: Vec<u8>| {
        http.post(receiver.url())
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let json = send("application/json", request(vec![1; 16]))
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
    let short_id = send("application/x-protobuf", request(vec![1; 4]))
        .await
        .unwrap();
    assert_eq!(short_id.status(), 400);
    let garbage = send("application/x-protobuf", b"not protobuf".to_vec())
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    assert!(receiver.spans().is_empty());

    let ok = send("application/x-protobuf", request(vec![1; 16]))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let spans = receiver.spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].span.name, "chat gpt-test");
}
