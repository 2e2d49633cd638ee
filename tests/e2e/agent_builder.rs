//! A newcomer's path through the builder: tools from several sources add up, closures reach
//! shared state and their call, and a tool whose state is missing stops `build()`.

use crate::support::{GrantAccess, World};
use bighub::{
    Error, ToolError, ToolOptions,
    tool::{FnToolWithContext, StateType, ToolContext, ToolRegistry},
};
use bighub_testkit::fake_openai::Turn;
use serde_json::json;

#[derive(Debug)]
struct Pager {
    service: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Page {
    message: String,
}

fn pager_tools() -> ToolRegistry {
    let mut tools = ToolRegistry::new();
    tools
        .register_fn_with_context(
            "page_oncall",
            "Page the on-call engineer.",
            [StateType::of::<Pager>()],
            |args: Page, context: ToolContext| async move {
                let pager = context.state::<Pager>()?;
                Ok::<_, ToolError>(json!({
                    "paged": pager.service,
                    "message": args.message,
                    "call_id": context.call_id(),
                }))
            },
            ToolOptions::new().system("pagerduty"),
        )
        .unwrap();
    tools
}

#[tokio::test]
async fn tools_from_a_registry_add_to_the_actions_registered_before() {
    let world = World::start().await;
    let agent = world
        .agent()
        .tools(pager_tools())
        .state(Pager {
            service: "db".into(),
        })
        .build()
        .unwrap();
    let names: Vec<String> = agent.list_tools().into_iter().map(|t| t.name).collect();
    assert!(names.contains(&"grant_access".to_owned()), "{names:?}");
    assert!(names.contains(&"page_oncall".to_owned()), "{names:?}");
}

#[tokio::test]
async fn a_registry_naming_a_tool_twice_is_an_error_at_build() {
    let world = World::start().await;
    let mut clash = ToolRegistry::new();
    clash.register(GrantAccess).unwrap();
    let error = world.agent().tools(clash).build().unwrap_err();
    assert!(
        matches!(&error, Error::DuplicateTool(name) if name == "grant_access"),
        "{error}"
    );
}

#[tokio::test]
async fn a_closure_tool_reads_shared_state_and_its_call_id() {
    let world = World::start().await;
    world.decide_all("autonomous");
    world.openai.push(Turn::new().call_with_id(
        "page_oncall",
        json!({"message": "disk full"}).to_string(),
        "call_p",
    ));
    world.openai.push(Turn::text("Paged."));
    let agent = world
        .agent()
        .tools(pager_tools())
        .state(Pager {
            service: "db".into(),
        })
        .build()
        .unwrap();
    let result = agent.run("Page on-call", "gpt-test").await.unwrap();
    let output = result.last().unwrap().output.clone().unwrap();
    assert_eq!(
        output,
        json!({"paged": "db", "message": "disk full", "call_id": "call_p"})
    );
}

#[tokio::test]
async fn a_tool_whose_state_was_never_registered_stops_build() {
    let world = World::start().await;
    // A closure tool that declares its state.
    let error = world.agent().tools(pager_tools()).build().unwrap_err();
    assert!(
        matches!(&error, Error::MissingState { tool, state } if tool == "page_oncall" && state.ends_with("Pager")),
        "{error}"
    );
    assert!(error.to_string().contains(".state("), "{error}");

    // A `#[bighub::action]` tool with a `State<T>` parameter says so too.
    let error = bighub::BighubOpenAI::builder()
        .engine(
            bighub::local::LocalEngine::builder()
                .in_memory()
                .build()
                .unwrap(),
        )
        .action(GrantAccess)
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, Error::MissingState { tool, state } if tool == "grant_access" && state.ends_with("Runs")),
        "{error}"
    );

    // The same with a tool built by hand.
    let tool = FnToolWithContext::new(
        "page_again",
        "Page again.",
        |_: Page, context: ToolContext| async move {
            context.state::<Pager>()?;
            Ok::<_, ToolError>(json!({}))
        },
    )
    .needs_state::<Pager>();
    let error = bighub::BighubOpenAI::builder()
        .engine(
            bighub::local::LocalEngine::builder()
                .in_memory()
                .build()
                .unwrap(),
        )
        .action_with(tool, ToolOptions::new().system("pagerduty"))
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::MissingState { .. }), "{error}");
}

#[test]
fn a_bighub_base_url_without_a_key_is_an_error_at_build_not_a_local_decision() {
    let error = bighub::BighubOpenAI::builder()
        .bighub_base_url("http://127.0.0.1:8484")
        .build()
        .unwrap_err();
    assert!(matches!(&error, Error::Config(_)), "{error}");
    let text = error.to_string();
    assert!(text.contains("BIGHUB_API_KEY"), "{text}");
    assert!(text.contains("127.0.0.1:8484"), "{text}");
}

#[tokio::test]
async fn a_model_provider_that_cannot_be_reached_says_why_in_the_report() {
    let world = World::start().await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", closed.local_addr().unwrap());
    drop(closed);
    let agent = world.agent().openai_base_url(url).build().unwrap();
    let error = agent.run("hello", "gpt-test").await.unwrap_err();
    assert!(matches!(&error, Error::Provider { .. }), "{error}");
    // What `fn main() -> Result<(), bighub::Error>` prints: the cause, on its line.
    let report = format!("{error:?}");
    assert!(
        report.to_lowercase().contains("connection refused"),
        "{report}"
    );
    assert!(!report.contains("Provider {"), "{report}");
}
