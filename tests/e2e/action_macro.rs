//! `#[bighub::action]` at run time: JSON arguments in, typed call, JSON output out; the
//! schema, the metadata, every way a call can fail, and what the decision engine is told.

use std::sync::atomic::{AtomicUsize, Ordering};

use bighub::{
    Action, BighubOpenAI, State, ToolError,
    tool::{RiskLevel, ToolContext, ToolErrorKind},
};
use bighub_testkit::FakeBighub;
use bighub_testkit::fake_bighub::{Reply, decision};
use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Grant a user temporary membership in an Okta group.
///
/// The grant expires by itself.
#[bighub::action(
    system = "okta",
    risk = "high",
    environment = "production",
    target = "group",
    secret = ["approval_token"]
)]
async fn grant_access(
    /// Okta user login, e.g. alice@example.com
    user_id: String,
    group: String,
    /// How long the membership lasts, e.g. "2h"
    duration: String,
    approval_token: Option<String>,
) -> Result<Grant, ToolError> {
    if group == "admins" {
        return Err(ToolError::new("admins cannot be granted temporarily"));
    }
    Ok(Grant {
        user_id,
        group,
        duration,
        approved: approval_token.is_some(),
    })
}

#[derive(Debug, Serialize, PartialEq)]
struct Grant {
    user_id: String,
    group: String,
    duration: String,
    approved: bool,
}

#[derive(Deserialize, JsonSchema)]
struct Resources {
    cpu: u32,
    memory: String,
}

#[derive(Deserialize, JsonSchema)]
struct Spec {
    image: String,
    replicas: u32,
    resources: Resources,
}

/// Apply a deployment spec.
#[bighub::action(system = "kubernetes", value = "replicas_cap")]
fn apply_spec(name: String, spec: Spec, replicas_cap: Option<u32>) -> String {
    let cap = replicas_cap.unwrap_or(u32::MAX);
    format!(
        "{name}: {} x{} ({} cpu, {})",
        spec.image,
        spec.replicas.min(cap),
        spec.resources.cpu,
        spec.resources.memory
    )
}

/// A client the tools share; counts its calls.
struct PagerClient {
    calls: AtomicUsize,
}

/// Page the on-call engineer.
#[bighub::action(system = "pagerduty", risk = "low", name = "page-oncall")]
fn page(pager: State<PagerClient>, message: String) -> usize {
    let _ = message;
    pager.calls.fetch_add(1, Ordering::SeqCst) + 1
}

/// List incidents.
#[bighub::action(system = "pagerduty", risk = "low")]
fn list_incidents() -> Vec<String> {
    vec!["INC-1".to_owned()]
}

/// Restart a deployment in the namespace the model names.
#[bighub::action(
    system = "kubernetes",
    environment_arg = "namespace",
    target = "deployment"
)]
fn restart_in(deployment: String, namespace: String) -> String {
    format!("{namespace}/{deployment}")
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds")
        .block_on(future)
}

fn call(tool: &dyn Action, arguments: Value) -> Result<Value, ToolError> {
    block_on(tool.call(arguments, ToolContext::default()))
}

#[test]
fn async_tool_round_trips_json_to_typed_call_to_json() {
    let output = call(
        &GrantAccess,
        json!({"user_id": "alice@example.com", "group": "oncall", "duration": "2h"}),
    )
    .unwrap();
    assert_eq!(
        output,
        json!({"user_id": "alice@example.com", "group": "oncall", "duration": "2h", "approved": false})
    );
}

#[test]
fn sync_tool_round_trips_nested_structs() {
    let output = call(
        &ApplySpec,
        json!({
            "name": "web",
            "spec": {"image": "web:2", "replicas": 5, "resources": {"cpu": 2, "memory": "1Gi"}},
            "replicas_cap": 3
        }),
    )
    .unwrap();
    assert_eq!(output, json!("web: web:2 x3 (2 cpu, 1Gi)"));
}

#[test]
fn the_function_stays_callable_as_written() {
    let grant = block_on(grant_access(
        "bob".into(),
        "oncall".into(),
        "1h".into(),
        Some("t".into()),
    ))
    .unwrap();
    assert!(grant.approved);
    assert_eq!(list_incidents(), ["INC-1"]);
}

#[test]
fn name_and_description_come_from_the_function() {
    assert_eq!(GrantAccess.name(), "grant_access");
    assert_eq!(
        GrantAccess.description(),
        "Grant a user temporary membership in an Okta group.\n\nThe grant expires by itself."
    );
    assert_eq!(Page.name(), "page-oncall");
}

#[test]
fn schema_lists_model_arguments_with_their_doc_comments() {
    let schema = GrantAccess.parameters_schema();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    assert!(
        schema.get("title").is_none(),
        "the argument struct's name leaked: {schema}"
    );
    assert_eq!(
        schema["required"],
        json!(["user_id", "group", "duration"]),
        "an Option is not required"
    );
    let properties = schema["properties"].as_object().unwrap();
    let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["approval_token", "duration", "group", "user_id"]);
    assert_eq!(
        properties["user_id"]["description"],
        "Okta user login, e.g. alice@example.com"
    );
    assert_eq!(
        properties["duration"]["description"],
        "How long the membership lasts, e.g. \"2h\""
    );
    assert!(properties["group"].get("description").is_none());
}

#[test]
fn schema_leaves_out_state_parameters() {
    let schema = Page.parameters_schema();
    let properties = schema["properties"].as_object().unwrap();
    assert_eq!(properties.keys().collect::<Vec<_>>(), ["message"]);
    assert_eq!(schema["required"], json!(["message"]));
}

#[test]
fn metadata_carries_the_attribute() {
    let meta = GrantAccess.metadata();
    assert_eq!(meta.system.as_deref(), Some("okta"));
    assert_eq!(meta.risk, RiskLevel::High);
    assert_eq!(meta.environment.as_deref(), Some("production"));
    assert_eq!(meta.target_arg.as_deref(), Some("group"));
    assert_eq!(meta.value_arg, None);
    assert_eq!(meta.secret_args, ["approval_token"]);
    assert_eq!(meta.action_name, None);

    let meta = ApplySpec.metadata();
    assert_eq!(meta.risk, RiskLevel::Medium, "medium unless said otherwise");
    assert_eq!(meta.value_arg.as_deref(), Some("replicas_cap"));
    assert_eq!(meta.environment, None);
}

#[test]
fn wrong_type_in_a_nested_field_names_its_path() {
    let error = call(
        &ApplySpec,
        json!({
            "name": "web",
            "spec": {"image": "web:2", "replicas": 1, "resources": {"cpu": "two", "memory": "1Gi"}}
        }),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ToolErrorKind::InvalidArguments);
    assert_eq!(error.field(), Some("spec.resources.cpu"));
    // What was expected and what came, never the value itself.
    assert!(error.message().starts_with("expected "), "{error}");
    assert!(error.message().ends_with(", got a string"), "{error}");
    assert!(!error.to_string().contains("two"), "{error}");
    assert!(error.to_string().contains("spec.resources.cpu"), "{error}");
}

#[test]
fn missing_field_is_named() {
    let error = call(&GrantAccess, json!({"user_id": "alice", "duration": "2h"})).unwrap_err();
    assert_eq!(error.kind(), ToolErrorKind::InvalidArguments);
    assert!(error.message().contains("missing field `group`"), "{error}");

    let error = call(
        &ApplySpec,
        json!({"name": "web", "spec": {"image": "web:2", "resources": {"cpu": 1, "memory": "1Gi"}}}),
    )
    .unwrap_err();
    assert_eq!(error.field(), Some("spec"));
    assert!(
        error.message().contains("missing field `replicas`"),
        "{error}"
    );
}

#[test]
fn unknown_field_is_named() {
    let error = call(
        &GrantAccess,
        json!({"user_id": "alice", "group": "oncall", "duration": "2h", "grup": "x"}),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ToolErrorKind::InvalidArguments);
    assert!(error.message().contains("unknown field `grup`"), "{error}");
}

#[test]
fn arguments_that_are_not_an_object_are_rejected() {
    // Complete and in order: serde alone would accept it by position.
    let error = call(&GrantAccess, json!(["alice", "oncall", "2h", null])).unwrap_err();
    assert_eq!(error.kind(), ToolErrorKind::InvalidArguments);
    assert_eq!(
        error.message(),
        "expected an object of named arguments, got an array"
    );
    let error = call(&GrantAccess, json!("alice")).unwrap_err();
    assert_eq!(
        error.message(),
        "expected an object of named arguments, got a string"
    );
}

#[test]
fn a_tool_without_parameters_accepts_empty_or_null_arguments() {
    assert_eq!(call(&ListIncidents, json!({})).unwrap(), json!(["INC-1"]));
    assert_eq!(call(&ListIncidents, Value::Null).unwrap(), json!(["INC-1"]));
    let error = call(&ListIncidents, json!({"status": "open"})).unwrap_err();
    assert!(
        error.message().contains("unknown field `status`"),
        "{error}"
    );
}

#[test]
fn err_return_becomes_a_tool_error_with_its_text() {
    let error = call(
        &GrantAccess,
        json!({"user_id": "alice", "group": "admins", "duration": "2h"}),
    )
    .unwrap_err();
    assert_eq!(error.kind(), ToolErrorKind::Failed);
    assert_eq!(error.message(), "admins cannot be granted temporarily");
}

#[test]
fn state_is_injected_from_the_context() {
    let context = ToolContext::builder()
        .state(PagerClient {
            calls: AtomicUsize::new(0),
        })
        .build();
    let first = block_on(Page.call(json!({"message": "db down"}), context.clone())).unwrap();
    let second = block_on(Page.call(json!({"message": "db down"}), context)).unwrap();
    assert_eq!((first, second), (json!(1), json!(2)), "one shared client");
}

#[test]
fn missing_state_is_a_missing_state_error() {
    let error = call(&Page, json!({"message": "db down"})).unwrap_err();
    assert_eq!(error.kind(), ToolErrorKind::MissingState);
    assert_eq!(
        error,
        ToolError::missing_state(std::any::type_name::<PagerClient>())
    );
}

#[test]
fn arguments_are_checked_before_state() {
    // A bad call reports the model's mistake, which the model can fix, before the setup's.
    let error = call(&Page, json!({})).unwrap_err();
    assert_eq!(error.kind(), ToolErrorKind::InvalidArguments);
}

#[test]
fn tool_types_are_plain_values() {
    let tools: Vec<Box<dyn Action>> = vec![Box::new(GrantAccess), Box::new(Page)];
    let names: Vec<&str> = tools.iter().map(|tool| tool.name()).collect();
    assert_eq!(names, ["grant_access", "page-oncall"]);
    assert_eq!(format!("{:?}", GrantAccess), "GrantAccess");
}

#[tokio::test]
async fn each_call_is_decided_in_the_environment_its_argument_names() {
    let openai = FakeOpenAi::start().await.expect("fake OpenAI starts");
    let bighub = FakeBighub::start().await;
    bighub.on_evaluate(|body| {
        Reply::ok(decision(
            "autonomous",
            body["action"].as_str().unwrap_or_default(),
        ))
    });
    let arguments = |namespace: &str| json!({"deployment": "checkout", "namespace": namespace});
    openai.push(
        Turn::new()
            .call_with_id("restart_in", arguments("prod-eu").to_string(), "call_1")
            .call_with_id("restart_in", arguments("staging").to_string(), "call_2"),
    );
    openai.push(Turn::text("Restarted in both."));
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .bighub_api_key(bighub.api_key())
        .bighub_base_url(bighub.base_url())
        .action(RestartIn)
        .build()
        .unwrap();

    let result = agent.run("Restart checkout", "gpt-test").await.unwrap();

    let mut outputs: Vec<Value> = result
        .execution
        .events
        .iter()
        .filter_map(|event| event.output.clone())
        .collect();
    outputs.sort_by_key(Value::to_string);
    assert_eq!(
        outputs,
        [json!("prod-eu/checkout"), json!("staging/checkout")]
    );
    // Evaluated concurrently: compare in a fixed order.
    let mut seen: Vec<(Value, Value)> = bighub
        .requests_to("/actions/evaluate")
        .into_iter()
        .filter_map(|request| request.body)
        .map(|body| {
            (
                body["context"]["environment"].clone(),
                body["target"].clone(),
            )
        })
        .collect();
    seen.sort_by_key(|(environment, _)| environment.to_string());
    assert_eq!(
        seen,
        [
            (json!("prod-eu"), json!("checkout")),
            (json!("staging"), json!("checkout"))
        ]
    );
}
