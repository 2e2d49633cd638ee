//! A run's trace, exported over OTLP/HTTP to a local receiver and decoded with the official
//! protobuf types: one trace per run, the run's model requests, decisions and tool
//! executions nested under it, with the GenAI semantic conventions' names and attributes.
//!
//! The decision server's side too: each request a server span, an evaluation with what
//! was decided.
//!
//! The binary installs the process's global subscriber once, shared by its tests; each
//! test reads only the spans of its own trace or names.

use std::sync::{Arc, OnceLock};

use bighub::local::LocalEngine;
use bighub::{BighubOpenAI, ExecutionStatus};
use bighub_server::{ApiKeys, Auth, LocalBackend, Server, ServerConfig};
use bighub_telemetry::OtlpTraces;
use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
use bighub_testkit::otlp_receiver::{OtlpReceiver, ReceivedSpan as Received, SpanKind};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const MODEL: &str = "gpt-test";

/// The receiver, the pipeline exporting to it (installed globally), and the runtime both
/// run on.
struct Fixture {
    runtime: Runtime,
    receiver: OtlpReceiver,
    traces: OtlpTraces,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let receiver = runtime.block_on(OtlpReceiver::start()).unwrap();
        let traces = OtlpTraces::builder()
            .endpoint(receiver.url())
            .service_name("telemetry-test")
            .build()
            .unwrap();
        tracing_subscriber::registry().with(traces.layer()).init();
        Fixture {
            runtime,
            receiver,
            traces,
        }
    })
}

/// Restart a Kubernetes deployment.
#[bighub::action(
    system = "kubernetes",
    risk = "low",
    environment = "staging",
    target = "deployment"
)]
fn restart_deployment(
    /// The deployment
    deployment: String,
    /// Its namespace
    namespace: String,
) -> Value {
    json!({"restarted": deployment, "namespace": namespace})
}

fn one<'a>(spans: &'a [Received], name: &str) -> &'a Received {
    let found: Vec<&Received> = spans.iter().filter(|s| s.name() == name).collect();
    assert_eq!(
        found.len(),
        1,
        "one span named {name:?} among {:?}",
        names(spans)
    );
    found[0]
}

fn names(spans: &[Received]) -> Vec<&str> {
    spans.iter().map(Received::name).collect()
}

#[test]
fn a_guarded_run_is_one_trace_of_genai_spans() {
    let Fixture {
        runtime,
        receiver,
        traces,
    } = fixture();

    let openai = runtime.block_on(FakeOpenAi::start()).unwrap();
    let arguments = json!({"deployment": "payments-api-7f3", "namespace": "prod-eu-9"});
    openai.push(Turn::new().call("restart_deployment", arguments.to_string()));
    openai.push(Turn::text("Restarted."));
    let engine = LocalEngine::builder().in_memory().build().unwrap();
    let policy_sha256 = engine.policy_sha256().to_owned();
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(engine)
        .actor("ops-agent")
        .action(RestartDeployment)
        .build()
        .unwrap();
    let prompt = "Restart the payments deployment, ticket OPS-4411";
    let result = runtime.block_on(agent.run(prompt, MODEL)).unwrap();
    let event = result.last().unwrap().clone();
    assert_eq!(event.status, ExecutionStatus::Executed, "{event:?}");
    let mode = event.decision.as_ref().unwrap().mode.unwrap().as_str();
    runtime.block_on(agent.close()).unwrap();

    // Spans end as the run goes; flushing exports them all (the receiver runs on the
    // runtime's workers meanwhile).
    traces.flush().unwrap();
    let all = receiver.wait_for(|spans| spans.iter().any(|s| s.name() == "invoke_agent ops-agent"));
    let run = one(&all, "invoke_agent ops-agent");
    let spans: Vec<Received> = all
        .iter()
        .filter(|s| s.span.trace_id == run.span.trace_id)
        .cloned()
        .collect();
    let run = one(&spans, "invoke_agent ops-agent");
    let chats: Vec<&Received> = spans
        .iter()
        .filter(|s| s.name() == "chat gpt-test")
        .collect();
    let decision = one(&spans, "bighub.decision restart_deployment");
    let tool = one(&spans, "execute_tool restart_deployment");
    assert_eq!(chats.len(), 2, "{:?}", names(&spans));

    // One trace, nested run -> chat / decision / execute_tool.
    assert!(
        run.span.parent_span_id.is_empty(),
        "the run is the trace's root"
    );
    for child in chats.iter().copied().chain([decision, tool]) {
        assert_eq!(child.span.trace_id, run.span.trace_id, "{}", child.name());
        assert_eq!(
            child.span.parent_span_id,
            run.span.span_id,
            "{}",
            child.name()
        );
    }
    for span in &spans {
        assert_eq!(span.service_name.as_deref(), Some("telemetry-test"));
    }

    // The run: an agent invocation.
    assert_eq!(run.span.kind, SpanKind::Internal as i32);
    assert_eq!(
        run.attr("gen_ai.operation.name").as_deref(),
        Some("invoke_agent")
    );
    assert_eq!(run.attr("gen_ai.agent.name").as_deref(), Some("ops-agent"));
    assert_eq!(run.attr("gen_ai.request.model").as_deref(), Some(MODEL));
    assert_eq!(run.attr("gen_ai.provider.name").as_deref(), Some("openai"));
    assert_eq!(
        run.attr("bighub.trace_id").as_deref(),
        Some(event.trace_id.as_str())
    );

    // Each model request: a client span with the response's id, model and usage.
    let responses = openai.responses();
    assert_eq!(responses.len(), 2);
    for chat in &chats {
        assert_eq!(chat.span.kind, SpanKind::Client as i32);
        assert_eq!(chat.attr("gen_ai.operation.name").as_deref(), Some("chat"));
        assert_eq!(chat.attr("gen_ai.provider.name").as_deref(), Some("openai"));
        assert_eq!(chat.attr("gen_ai.system").as_deref(), Some("openai"));
        assert_eq!(chat.attr("gen_ai.request.model").as_deref(), Some(MODEL));
        let id = chat.attr("gen_ai.response.id").expect("a response id");
        let body = responses
            .iter()
            .find(|r| r.response_id.as_deref() == Some(id.as_str()))
            .and_then(|r| r.body.clone())
            .expect("the span names a response the fake sent");
        assert_eq!(
            chat.attr("gen_ai.response.model"),
            body["model"].as_str().map(str::to_owned)
        );
        let usage = &body["usage"];
        assert!(usage["input_tokens"].as_u64().unwrap() > 0);
        assert_eq!(
            chat.attr("gen_ai.usage.input_tokens"),
            Some(usage["input_tokens"].to_string())
        );
        assert_eq!(
            chat.attr("gen_ai.usage.output_tokens"),
            Some(usage["output_tokens"].to_string())
        );
    }
    // The two requests are sequential: the decision and the tool run between them.
    let mut by_start = chats.clone();
    by_start.sort_by_key(|c| c.span.start_time_unix_nano);
    assert!(by_start[0].span.end_time_unix_nano <= decision.span.start_time_unix_nano);
    assert!(tool.span.end_time_unix_nano <= by_start[1].span.start_time_unix_nano);

    // The decision: the engine's mode, request id and policy revision.
    let decided = event.decision.as_ref().unwrap();
    assert_eq!(decision.attr("bighub.decision.mode").as_deref(), Some(mode));
    assert_eq!(
        decision.attr("bighub.decision.verdict").as_deref(),
        Some("execute")
    );
    assert_eq!(
        decision.attr("bighub.request_id"),
        decided.request_id.clone()
    );
    assert_eq!(decision.attr("bighub.policy.revision"), Some(policy_sha256));
    assert!(decision.attr("bighub.decision.risk").is_some());
    assert_eq!(
        decision.attr("gen_ai.tool.name").as_deref(),
        Some("restart_deployment")
    );
    assert_eq!(
        decision.attr("gen_ai.tool.call.id"),
        Some(event.call_id.clone())
    );

    // The tool execution.
    assert_eq!(tool.span.kind, SpanKind::Internal as i32);
    assert_eq!(
        tool.attr("gen_ai.operation.name").as_deref(),
        Some("execute_tool")
    );
    assert_eq!(
        tool.attr("gen_ai.tool.name").as_deref(),
        Some("restart_deployment")
    );
    assert_eq!(
        tool.attr("gen_ai.tool.call.id"),
        Some(event.call_id.clone())
    );
    assert_eq!(tool.attr("gen_ai.tool.type").as_deref(), Some("function"));
    assert!(tool.attr("error.type").is_none());

    // Neither the arguments, the prompt nor the model's text is an attribute.
    for span in &spans {
        for value in span.attribute_values() {
            for secret in ["payments-api-7f3", "prod-eu-9", "OPS-4411", "Restarted."] {
                assert!(!value.contains(secret), "{}: {value}", span.name());
            }
        }
    }
}

#[test]
fn each_server_request_is_a_server_span_and_an_evaluation_carries_its_decision() {
    let Fixture {
        runtime,
        receiver,
        traces,
    } = fixture();
    let key = "bh_0123456789abcdef0123";
    let engine = LocalEngine::builder().in_memory().build().unwrap();
    let policy_sha256 = engine.policy_sha256().to_owned();
    let config = ServerConfig::new(Auth::Keys(ApiKeys::parse(&format!("agent={key}")).unwrap()));
    let server = Server::new(Arc::new(LocalBackend::new(Arc::new(engine))), config);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = runtime.spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));

    // An agent deciding through the server.
    let openai = runtime.block_on(FakeOpenAi::start()).unwrap();
    let arguments = json!({"deployment": "ledger-5c1", "namespace": "fin-2"});
    openai.push(Turn::new().call("restart_deployment", arguments.to_string()));
    openai.push(Turn::text("Done."));
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .bighub_api_key(key)
        .bighub_base_url(format!("http://{addr}"))
        .actor("remote-agent")
        .action(RestartDeployment)
        .build()
        .unwrap();
    let result = runtime
        .block_on(agent.run("Restart the ledger", MODEL))
        .unwrap();
    let event = result.last().unwrap().clone();
    assert_eq!(event.status, ExecutionStatus::Executed, "{event:?}");
    let request_id = event.request_id.clone().unwrap();
    runtime.block_on(agent.close()).unwrap();
    let _ = stop.send(());
    runtime.block_on(served).unwrap().unwrap();

    traces.flush().unwrap();
    let is_evaluation = |s: &Received| {
        s.name() == "POST /actions/evaluate"
            && s.attr("bighub.request_id").as_deref() == Some(request_id.as_str())
    };
    let spans = receiver.wait_for(|spans| {
        spans.iter().any(is_evaluation) && spans.iter().any(|s| s.name() == "POST /outcomes/report")
    });
    let evaluation = spans
        .iter()
        .find(|s| is_evaluation(s))
        .unwrap_or_else(|| panic!("no evaluation span among {:?}", names(&spans)));
    assert_eq!(evaluation.span.kind, SpanKind::Server as i32);
    assert_eq!(
        evaluation.attr("http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(
        evaluation.attr("http.route").as_deref(),
        Some("/actions/evaluate")
    );
    assert_eq!(
        evaluation.attr("http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        evaluation.attr("gen_ai.tool.name").as_deref(),
        Some("restart_deployment")
    );
    let mode = event.decision.as_ref().unwrap().mode.unwrap().as_str();
    assert_eq!(
        evaluation.attr("bighub.decision.mode").as_deref(),
        Some(mode)
    );
    assert_eq!(
        evaluation.attr("bighub.policy.revision"),
        Some(policy_sha256)
    );
    assert_eq!(evaluation.attr("bighub.dry_run").as_deref(), Some("false"));
    // The outcome report is a request of its own, named by its route.
    let report = spans
        .iter()
        .find(|s| s.name() == "POST /outcomes/report")
        .unwrap_or_else(|| panic!("no report span among {:?}", names(&spans)));
    assert_eq!(
        report.attr("http.route").as_deref(),
        Some("/outcomes/report")
    );
    assert!(report.attr("bighub.decision.mode").is_none());
    for span in &spans {
        for value in span.attribute_values() {
            for secret in ["ledger-5c1", "fin-2", key] {
                assert!(!value.contains(secret), "{}: {value}", span.name());
            }
        }
    }
}

#[test]
fn a_streamed_run_nests_its_decisions_under_the_run_not_the_request_they_were_made_during() {
    use futures::StreamExt;

    let Fixture {
        runtime,
        receiver,
        traces,
    } = fixture();
    let openai = runtime.block_on(FakeOpenAi::start()).unwrap();
    let arguments = json!({"deployment": "search-1", "namespace": "ops"});
    openai.push(Turn::new().call("restart_deployment", arguments.to_string()));
    openai.push(Turn::text("Restarted."));
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(LocalEngine::builder().in_memory().build().unwrap())
        .actor("stream-agent")
        .action(RestartDeployment)
        .build()
        .unwrap();
    let items: Vec<_> = runtime.block_on(agent.run_stream("Restart search", MODEL).collect());
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    runtime.block_on(agent.close()).unwrap();

    traces.flush().unwrap();
    let all = receiver.wait_for(|spans| {
        spans
            .iter()
            .any(|s| s.name() == "invoke_agent stream-agent")
    });
    let run = one(&all, "invoke_agent stream-agent");
    let spans: Vec<Received> = all
        .iter()
        .filter(|s| s.span.trace_id == run.span.trace_id)
        .cloned()
        .collect();
    let chats: Vec<&Received> = spans
        .iter()
        .filter(|s| s.name() == "chat gpt-test")
        .collect();
    assert_eq!(chats.len(), 2, "{:?}", names(&spans));
    let decision = one(&spans, "bighub.decision restart_deployment");
    let tool = one(&spans, "execute_tool restart_deployment");
    for child in chats.iter().copied().chain([decision, tool]) {
        assert_eq!(
            child.span.parent_span_id,
            run.span.span_id,
            "{}",
            child.name()
        );
    }
    for chat in &chats {
        assert!(chat.attr("gen_ai.usage.output_tokens").is_some());
        assert!(chat.attr("gen_ai.response.id").is_some());
    }
}
