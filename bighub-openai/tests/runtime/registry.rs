//! The tool registry: registration checks, the Responses listing, proposed actions and calls.

use std::collections::BTreeMap;
use std::sync::Arc;

use bighub_openai::engine::DecisionMode;
use bighub_openai::schema::SchemaError;
use bighub_openai::tool::RiskLevel;
use bighub_openai::{
    Action, Error, ToolError, ToolOptions,
    tool::{ActionMetadata, SECRET_ARGS_KEY, ToolContext, ToolErrorKind, ToolRegistry},
};
use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// A hand-written action, as `#[bighub::action]` would generate it.
struct GrantAccess;

#[derive(Deserialize, JsonSchema)]
struct GrantArgs {
    /// The Okta user id.
    user_id: String,
    /// The group to add the user to.
    group: String,
    /// How long, for example `2h`.
    duration: String,
    api_token: Option<String>,
}

struct Directory {
    domain: String,
}

impl Action for GrantAccess {
    fn name(&self) -> &str {
        "grant_access"
    }

    fn description(&self) -> &str {
        "Grant a user temporary membership of an Okta group"
    }

    fn parameters_schema(&self) -> Value {
        schemars::SchemaGenerator::default()
            .into_root_schema_for::<GrantArgs>()
            .to_value()
    }

    fn metadata(&self) -> ActionMetadata {
        ActionMetadata::new("okta")
            .risk(RiskLevel::High)
            .environment("production")
            .target_arg("group")
            .secret_arg("api_token")
    }

    fn call(
        &self,
        arguments: Value,
        context: ToolContext,
    ) -> BoxFuture<'static, Result<Value, ToolError>> {
        Box::pin(async move {
            let args: GrantArgs = serde_json::from_value(arguments)
                .map_err(|e| ToolError::invalid_arguments(None, e.to_string()))?;
            let directory = context.state::<Directory>()?;
            Ok(json!({
                "granted": format!("{}@{}", args.user_id, directory.domain),
                "group": args.group,
                "for": args.duration,
                "token_supplied": args.api_token.is_some()
            }))
        })
    }
}

#[derive(Deserialize, JsonSchema)]
struct RestartArgs {
    service: String,
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize, JsonSchema)]
struct LabelArgs {
    app: String,
    labels: BTreeMap<String, String>,
}

fn restart_tool(tools: &mut ToolRegistry, options: ToolOptions) -> Result<(), Error> {
    tools
        .register_fn(
            "restart_service",
            "Restart a service",
            |args: RestartArgs| async move {
                if args.service == "db" && !args.force {
                    return Err(ToolError::invalid_arguments(
                        Some("force".into()),
                        "restarting the database needs force",
                    ));
                }
                Ok(json!({"restarted": args.service, "force": args.force}))
            },
            options,
        )
        .map(|_| ())
}

fn argocd_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "app": {"type": "string", "description": "Argo CD application"},
            "environment": {"type": "string", "enum": ["staging", "production"]},
            "revision": {"type": ["string", "null"]}
        },
        "required": ["app", "environment", "revision"],
        "additionalProperties": false
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

// ---------------------------------------------------------------- registration checks

#[test]
fn duplicate_names_are_rejected() {
    let mut tools = ToolRegistry::new();
    tools.register(GrantAccess).unwrap();
    let err = tools.register(GrantAccess).unwrap_err();
    assert!(
        matches!(err, Error::DuplicateTool(ref name) if name == "grant_access"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "a tool named `grant_access` is already registered; tool names must be unique"
    );
    assert_eq!(tools.len(), 1);
}

#[test]
fn bad_names_are_rejected() {
    for (name, reason) in [
        ("", "it is empty"),
        ("restart service", "character ' ' is not allowed"),
        ("restart.service", "character '.' is not allowed"),
        ("redémarrer", "character 'é' is not allowed"),
    ] {
        let mut tools = ToolRegistry::new();
        let err = tools
            .register_fn(
                name,
                "x",
                |_: RestartArgs| async { Ok::<_, ToolError>(json!(null)) },
                ToolOptions::new(),
            )
            .unwrap_err();
        match &err {
            Error::InvalidToolName {
                name: got,
                reason: why,
            } => {
                assert_eq!(got, name);
                assert_eq!(why, reason);
            }
            other => panic!("unexpected {other}"),
        }
        assert!(tools.is_empty());
    }
    let long = "a".repeat(65);
    let err = ToolRegistry::new()
        .register_fn(
            &long,
            "x",
            |_: RestartArgs| async { Ok::<_, ToolError>(json!(null)) },
            ToolOptions::new(),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid tool name `{long}`: it is 65 characters long, the limit is 64; tool names must match ^[a-zA-Z0-9_-]{{1,64}}$"
        )
    );
}

#[test]
fn user_schemas_are_validated_and_errors_name_tool_and_path() {
    let mut tools = ToolRegistry::new();
    let err = tools
        .register_raw(
            "apply_terraform",
            "Apply a Terraform plan",
            json!({
                "type": "object",
                "properties": {"workspace": {"type": "string"}, "spec": {"type": "object", "properties": {"vars": {"type": "string"}}, "required": ["vars"]}},
                "required": ["workspace", "spec"],
                "additionalProperties": false
            }),
            |_: Value| async { Ok::<_, ToolError>(json!(null)) },
            ToolOptions::new(),
        )
        .unwrap_err();
    match &err {
        Error::Schema { tool, source } => {
            assert_eq!(tool, "apply_terraform");
            assert_eq!(source.path(), "/properties/spec");
            assert!(matches!(
                source,
                SchemaError::MissingAdditionalProperties { .. }
            ));
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(
        err.to_string(),
        "tool `apply_terraform`: invalid parameters schema at /properties/spec: object is missing \"additionalProperties\": false"
    );

    // A `parameters_schema` override is the user's too: validated, not rewritten.
    let err = tools
        .register_with(
            GrantAccess,
            ToolOptions::new().parameters_schema(json!({"type": "object", "properties": {"group": {"type": "string"}}, "required": [], "additionalProperties": false})),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "tool `grant_access`: invalid parameters schema at (root): property \"group\" is not listed in \"required\"; make it required and nullable (for example \"type\": [\"string\", \"null\"])"
    );

    // A generated schema that cannot be made strict names the tool and the field.
    #[derive(Deserialize, JsonSchema)]
    struct Patch {
        #[allow(dead_code)]
        body: Value,
    }
    let err = tools
        .register_fn(
            "patch_resource",
            "Patch",
            |_: Patch| async { Ok::<_, ToolError>(json!(null)) },
            ToolOptions::new(),
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("tool `patch_resource`: invalid parameters schema at /properties/body: "),
        "{err}"
    );
    assert!(
        tools.is_empty(),
        "failed registrations leave nothing behind"
    );

    // ...and registers as non-strict, schema kept as generated.
    let tool = tools
        .register_fn(
            "patch_resource",
            "Patch",
            |_: Patch| async { Ok::<_, ToolError>(json!(null)) },
            ToolOptions::new().strict(false),
        )
        .unwrap();
    assert!(!tool.is_strict());
    assert_eq!(tool.schema()["properties"]["body"], json!(true));
    assert!(!tool.definition().strict);

    // A non-strict schema must still be an object schema.
    let err = tools
        .register_raw(
            "bad_root",
            "x",
            json!({"type": "array", "items": {}}),
            |_: Value| async { Ok::<_, ToolError>(json!(null)) },
            ToolOptions::new().strict(false),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Schema {
                source: SchemaError::RootNotObject { .. },
                ..
            }
        ),
        "{err}"
    );
}

// ---------------------------------------------------------------- listing

#[test]
fn list_tools_has_the_exact_responses_shape() {
    let mut tools = ToolRegistry::new();
    tools
        .register_raw(
            "sync_argocd_app",
            "Sync an Argo CD app",
            argocd_schema(),
            |_: Value| async { Ok::<_, ToolError>(json!({})) },
            ToolOptions::new(),
        )
        .unwrap();
    tools
        .register_raw(
            "free_form",
            "Anything goes",
            json!({"type": "object", "properties": {"payload": {}}}),
            |_: Value| async { Ok::<_, ToolError>(json!({})) },
            ToolOptions::new().strict(false),
        )
        .unwrap();
    let listed = serde_json::to_value(tools.list_tools()).unwrap();
    assert_eq!(
        listed,
        json!([
            {"type": "function", "name": "sync_argocd_app", "description": "Sync an Argo CD app", "parameters": argocd_schema(), "strict": true},
            {"type": "function", "name": "free_form", "description": "Anything goes", "parameters": {"type": "object", "properties": {"payload": {}}}, "strict": false}
        ])
    );
    // Key order on the wire: the tag first.
    assert!(
        serde_json::to_string(&tools.list_tools()[0])
            .unwrap()
            .starts_with(r#"{"type":"function","name":"sync_argocd_app","#)
    );
    // And a definition reads back.
    let back: Vec<bighub_openai::tool::ToolDefinition> = serde_json::from_value(listed).unwrap();
    assert_eq!(back, tools.list_tools());
}

#[test]
fn registry_lookup_and_iteration() {
    let mut tools = ToolRegistry::new();
    assert!(tools.is_empty());
    tools.register(GrantAccess).unwrap();
    restart_tool(&mut tools, ToolOptions::new()).unwrap();
    assert_eq!(tools.len(), 2);
    assert_eq!(
        tools.names().collect::<Vec<_>>(),
        ["grant_access", "restart_service"]
    );
    assert!(tools.contains("restart_service") && !tools.contains("nope"));
    assert!(tools.get("nope").is_none());
    assert_eq!(
        tools.get("grant_access").unwrap().description(),
        "Grant a user temporary membership of an Okta group"
    );
    let names: Vec<&str> = (&tools).into_iter().map(|t| t.name()).collect();
    assert_eq!(names, ["grant_access", "restart_service"]);
    let shared = tools.get_shared("grant_access").unwrap();
    let copy = tools.clone();
    assert!(
        std::ptr::eq(&*shared, copy.get("grant_access").unwrap()),
        "clones share the tools"
    );
    assert_eq!(
        format!("{tools:?}"),
        r#"["grant_access", "restart_service"]"#
    );
}

// ---------------------------------------------------------------- proposed actions

#[test]
fn proposed_action_from_tool_metadata() {
    let mut tools = ToolRegistry::new();
    let tool = tools.register(GrantAccess).unwrap();
    let action = tool.proposed_action(&json!({"user_id": "alice", "group": "okta-admins", "duration": "48h", "api_token": "s3cr3t"}));
    assert_eq!(action.tool, "grant_access");
    assert_eq!(action.action, "grant_access");
    assert_eq!(action.system.as_deref(), Some("okta"));
    assert_eq!(action.risk, Some(RiskLevel::High));
    assert_eq!(action.environment.as_deref(), Some("production"));
    assert_eq!(action.target.as_deref(), Some("okta-admins"));
    assert_eq!(action.value, None, "no value is normal");
    assert_eq!(action.domain, None);
    assert_eq!(action.actor, "");
    assert_eq!(action.decision_mode, None);
    assert_eq!(
        action.context.metadata[SECRET_ARGS_KEY],
        json!(["api_token"])
    );
    assert_eq!(action.arguments["group"], "okta-admins");
}

#[test]
fn options_override_metadata_and_closures_override_options() {
    let mut tools = ToolRegistry::new();
    let tool = tools
        .register_with(
            GrantAccess,
            ToolOptions::new()
                .action_name("okta_grant")
                .domain("it_actions")
                .actor("ops-agent")
                .system("okta-preview")
                .risk(RiskLevel::Critical)
                .environment("staging")
                .decision_mode(DecisionMode::SubmitPayload)
                .target_from_args(|a| a["user_id"].as_str().map(|u| format!("user:{u}")))
                .value_from_args(|a| a["duration"].as_str()?.trim_end_matches('h').parse().ok()),
        )
        .unwrap();
    assert_eq!(tool.metadata().system.as_deref(), Some("okta-preview"));
    assert_eq!(tool.metadata().risk, RiskLevel::Critical);
    let action = tool.proposed_action(
        &json!({"user_id": "alice", "group": "okta-admins", "duration": "48h", "api_token": null}),
    );
    assert_eq!(action.action, "okta_grant");
    assert_eq!(action.domain.as_deref(), Some("it_actions"));
    assert_eq!(action.actor, "ops-agent");
    assert_eq!(action.system.as_deref(), Some("okta-preview"));
    assert_eq!(action.risk, Some(RiskLevel::Critical));
    assert_eq!(action.environment.as_deref(), Some("staging"));
    assert_eq!(action.decision_mode, Some(DecisionMode::SubmitPayload));
    assert_eq!(action.target.as_deref(), Some("user:alice"));
    assert_eq!(action.value, Some(48.0));

    // A closure that finds nothing decides: no fallback to `target_arg`.
    let mut tools = ToolRegistry::new();
    let tool = tools
        .register_with(GrantAccess, ToolOptions::new().target_from_args(|_| None))
        .unwrap();
    assert_eq!(tool.proposed_action(&json!({"group": "g"})).target, None);
}

#[test]
fn options_are_read_back_through_getters_as_registered() {
    let defaults = ToolOptions::new();
    assert!(defaults.is_strict());
    assert_eq!(defaults.get_action_name(), None);
    assert_eq!(defaults.get_timeout(), None);

    let mut tools = ToolRegistry::new();
    let tool = tools
        .register_with(
            GrantAccess,
            ToolOptions::new()
                .action_name("okta_grant")
                .domain("it_actions")
                .actor("ops-agent")
                .system("okta-preview")
                .risk(RiskLevel::Critical)
                .environment("staging")
                .decision_mode(DecisionMode::SubmitPayload)
                .timeout(std::time::Duration::from_secs(5))
                .parameters_schema(argocd_schema())
                .strict(false),
        )
        .unwrap();
    let options = tool.options();
    assert_eq!(options.get_action_name(), Some("okta_grant"));
    assert_eq!(options.get_domain(), Some("it_actions"));
    assert_eq!(options.get_actor(), Some("ops-agent"));
    assert_eq!(options.get_system(), Some("okta-preview"));
    assert_eq!(options.get_risk(), Some(RiskLevel::Critical));
    assert_eq!(options.get_environment(), Some("staging"));
    assert_eq!(
        options.get_decision_mode(),
        Some(DecisionMode::SubmitPayload)
    );
    assert_eq!(
        options.get_timeout(),
        Some(std::time::Duration::from_secs(5))
    );
    assert_eq!(options.get_parameters_schema(), Some(&argocd_schema()));
    assert!(!options.is_strict());
    assert!(!tool.definition().strict);
}

#[test]
fn metadata_from_args_sets_system_risk_environment_and_context() {
    let mut tools = ToolRegistry::new();
    let tool = tools
        .register_raw(
            "sync_argocd_app",
            "Sync an Argo CD app",
            argocd_schema(),
            |_: Value| async { Ok::<_, ToolError>(json!({})) },
            ToolOptions::new().action_name("argocd_sync").system("gitops").metadata_from_args(|a| {
                json!({"system": "argocd", "environment": a["environment"], "app": a["app"], "revision": a["revision"], "risk": if a["environment"] == "production" { "high" } else { "low" }})
            }),
        )
        .unwrap();
    let action = tool.proposed_action(
        &json!({"app": "checkout", "environment": "production", "revision": null}),
    );
    assert_eq!(action.action, "argocd_sync");
    assert_eq!(action.system.as_deref(), Some("argocd"));
    assert_eq!(action.environment.as_deref(), Some("production"));
    assert_eq!(action.risk, Some(RiskLevel::High));
    // Other keys go to the context; nulls are skipped.
    assert_eq!(
        Value::Object(action.context.metadata.clone()),
        json!({"app": "checkout"})
    );
    let action = tool
        .proposed_action(&json!({"app": "checkout", "environment": "staging", "revision": "abc"}));
    assert_eq!(action.risk, Some(RiskLevel::Low));
    assert_eq!(action.context.metadata["revision"], "abc");

    // An unknown risk level stays visible to the engine instead of being dropped.
    let mut tools = ToolRegistry::new();
    let tool = tools
        .register_raw(
            "t",
            "t",
            argocd_schema(),
            |_: Value| async { Ok::<_, ToolError>(json!({})) },
            ToolOptions::new().metadata_from_args(|_| json!({"risk": "spicy"})),
        )
        .unwrap();
    let action = tool.proposed_action(&json!({}));
    assert_eq!(action.risk, Some(RiskLevel::Medium));
    assert_eq!(action.context.metadata["risk"], "spicy");
}

struct Transfer(ActionMetadata);

impl Action for Transfer {
    fn name(&self) -> &str {
        "transfer_budget"
    }
    fn description(&self) -> &str {
        "Move budget between cost centers"
    }
    fn parameters_schema(&self) -> Value {
        json!({"type": "object", "properties": {
            "account": {"type": "integer"},
            "quota": {"type": "string"},
            "amount": {"type": ["number", "string"]},
            "spec": {"type": "object", "properties": {"cluster": {"type": "string"}}, "required": ["cluster"]}
        }})
    }
    fn metadata(&self) -> ActionMetadata {
        self.0.clone()
    }
    fn call(&self, _: Value, _: ToolContext) -> BoxFuture<'static, Result<Value, ToolError>> {
        Box::pin(async { Ok(json!({})) })
    }
}

fn transfer(metadata: ActionMetadata) -> ToolRegistry {
    let mut tools = ToolRegistry::new();
    tools.register(Transfer(metadata)).unwrap();
    tools
}

#[test]
fn target_and_value_from_named_arguments() {
    let args =
        json!({"account": 4012, "quota": "1500.5", "amount": 99, "spec": {"cluster": "prod-eu"}});

    let tools = transfer(
        ActionMetadata::default()
            .target_arg("account")
            .value_arg("quota"),
    );
    let action = tools.get("transfer_budget").unwrap().proposed_action(&args);
    assert_eq!(
        action.target.as_deref(),
        Some("4012"),
        "numbers are rendered"
    );
    assert_eq!(action.value, Some(1500.5), "numeric strings count");

    let tools = transfer(ActionMetadata::default().target_arg("/spec/cluster"));
    let action = tools.get("transfer_budget").unwrap().proposed_action(&args);
    assert_eq!(
        action.target.as_deref(),
        Some("prod-eu"),
        "a JSON pointer reaches nested arguments"
    );
    assert_eq!(action.value, Some(99.0), "conventional `amount`");

    let action = tools
        .get("transfer_budget")
        .unwrap()
        .proposed_action(&json!({"amount": "a lot", "spec": {"cluster": 7}}));
    assert_eq!(
        action.value, None,
        "a non-numeric amount is no value, not an error"
    );
    assert_eq!(action.target.as_deref(), Some("7"));

    let action = tools
        .get("transfer_budget")
        .unwrap()
        .proposed_action(&json!({}));
    assert_eq!((action.target, action.value), (None, None));

    // A named value argument that is missing does not fall back to the conventional names.
    let tools = transfer(ActionMetadata::default().value_arg("quota"));
    assert_eq!(
        tools
            .get("transfer_budget")
            .unwrap()
            .proposed_action(&json!({"amount": 5}))
            .value,
        None
    );
}

#[test]
fn proposed_action_sees_reshaped_arguments() {
    let mut tools = ToolRegistry::new();
    let tool = tools
        .register_fn(
            "label_app",
            "Set labels",
            |args: LabelArgs| async move {
                Ok::<_, ToolError>(json!({"app": args.app, "labels": args.labels}))
            },
            ToolOptions::new().metadata_from_args(|a| json!({"team": a["labels"]["team"]})),
        )
        .unwrap();
    let action = tool.proposed_action(
        &json!({"app": "checkout", "labels": [{"key": "team", "value": "payments"}]}),
    );
    assert_eq!(
        action.arguments,
        json!({"app": "checkout", "labels": {"team": "payments"}})
    );
    assert_eq!(action.context.metadata["team"], "payments");
}

// ---------------------------------------------------------------- calls

#[test]
fn calls_run_through_the_registry() {
    let rt = runtime();
    let mut tools = ToolRegistry::new();
    tools.register(GrantAccess).unwrap();
    restart_tool(&mut tools, ToolOptions::new()).unwrap();
    tools
        .register_fn(
            "label_app",
            "Set labels",
            |args: LabelArgs| async move {
                Ok::<_, ToolError>(json!({"app": args.app, "labels": args.labels}))
            },
            ToolOptions::new(),
        )
        .unwrap();
    tools
        .register_sync_fn(
            "parse_port",
            "Parse a port",
            |args: RestartArgs| {
                args.service
                    .parse::<u16>()
                    .map(|port| json!({"port": port}))
            },
            ToolOptions::new(),
        )
        .unwrap();
    tools
        .register_raw(
            "sync_argocd_app",
            "Sync",
            argocd_schema(),
            |args: Value| async move {
                match args["environment"].as_str() {
                    Some("production") => Err(ToolError::new("sync window closed")),
                    _ => Ok(json!({"synced": args["app"]})),
                }
            },
            ToolOptions::new(),
        )
        .unwrap();
    let ctx = ToolContext::builder()
        .state(Directory {
            domain: "example.com".into(),
        })
        .build();

    rt.block_on(async {
        let out = tools.get("grant_access").unwrap()
            .call(json!({"user_id": "alice", "group": "admins", "duration": "2h", "api_token": null}), ctx.clone())
            .await
            .unwrap();
        assert_eq!(out, json!({"granted": "alice@example.com", "group": "admins", "for": "2h", "token_supplied": false}));

        // Missing shared state is a tool error of its own kind.
        let err = tools.get("grant_access").unwrap()
            .call(json!({"user_id": "a", "group": "g", "duration": "1h", "api_token": null}), ToolContext::default())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ToolErrorKind::MissingState);

        // The optional `force` arrives as null in strict mode and gets its default.
        let restart = tools.get("restart_service").unwrap();
        let out = restart.call(json!({"service": "api", "force": null}), ctx.clone()).await.unwrap();
        assert_eq!(out, json!({"restarted": "api", "force": false}));

        // A ToolError returned by the closure keeps its kind and field.
        let err = restart.call(json!({"service": "db", "force": null}), ctx.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ToolErrorKind::InvalidArguments);
        assert_eq!(err.field(), Some("force"));
        assert_eq!(err.to_string(), "invalid argument `force`: restarting the database needs force");

        // Arguments that do not deserialize name the field.
        let err = restart.call(json!({"service": 42, "force": true}), ctx.clone()).await.unwrap_err();
        assert_eq!(err.kind(), ToolErrorKind::InvalidArguments);
        assert_eq!(err.field(), Some("service"));

        // Maps reach the tool as maps.
        let out = tools.get("label_app").unwrap()
            .call(json!({"app": "checkout", "labels": [{"key": "tier", "value": "1"}]}), ctx.clone())
            .await
            .unwrap();
        assert_eq!(out, json!({"app": "checkout", "labels": {"tier": "1"}}));

        // A sync closure; its std error converts into a failed ToolError.
        let port = tools.get("parse_port").unwrap();
        assert_eq!(port.call(json!({"service": "8443", "force": null}), ctx.clone()).await.unwrap(), json!({"port": 8443}));
        let err = port.call(json!({"service": "https", "force": null}), ctx.clone()).await.unwrap_err();
        assert_eq!((err.kind(), err.message()), (ToolErrorKind::Failed, "invalid digit found in string"));

        // A raw tool gets the JSON arguments as sent.
        let sync = tools.get("sync_argocd_app").unwrap();
        assert_eq!(
            sync.call(json!({"app": "checkout", "environment": "staging", "revision": null}), ctx.clone()).await.unwrap(),
            json!({"synced": "checkout"})
        );
        let err = sync.call(json!({"app": "checkout", "environment": "production", "revision": null}), ctx.clone()).await.unwrap_err();
        assert_eq!((err.kind(), err.message()), (ToolErrorKind::Failed, "sync window closed"));
    });
}

#[test]
fn calls_outlive_the_registry_borrow() {
    let rt = runtime();
    let mut tools = ToolRegistry::new();
    restart_tool(&mut tools, ToolOptions::new()).unwrap();
    let tools = Arc::new(tools);
    let future = {
        let tool = tools.get_shared("restart_service").unwrap();
        tool.call(
            json!({"service": "api", "force": true}),
            ToolContext::default(),
        )
    };
    drop(tools);
    assert_eq!(
        rt.block_on(future).unwrap(),
        json!({"restarted": "api", "force": true})
    );
}

#[test]
fn options_debug_does_not_print_closures() {
    let options = ToolOptions::new()
        .action_name("argocd_sync")
        .metadata_from_args(|_| json!({}));
    let text = format!("{options:?}");
    assert!(
        text.contains("action_name: Some(\"argocd_sync\")"),
        "{text}"
    );
    assert!(
        text.contains("metadata_from_args: Some(<closure>)"),
        "{text}"
    );
    assert!(text.contains("value_from_args: None"), "{text}");
}

#[test]
fn a_secret_argument_never_becomes_the_target_value_or_environment() {
    let mut tools = ToolRegistry::new();
    let tool = bighub_openai::tool::RawTool::new(
        "rotate2",
        "Rotate a token",
        json!({
            "type": "object",
            "properties": {"token": {"type": "string"}, "amount": {"type": "number"}, "env": {"type": "string"}},
            "required": ["token", "amount", "env"],
            "additionalProperties": false
        }),
        |_: Value| async { Ok::<_, ToolError>(json!({})) },
    )
    .with_metadata(
        ActionMetadata::new("vault")
            .target_arg("token")
            .value_arg("amount")
            .environment_arg("env")
            .secret_arg("token")
            .secret_arg("amount")
            .secret_arg("env"),
    );
    tools.register(tool).unwrap();
    let action = tools
        .get("rotate2")
        .unwrap()
        .proposed_action(&json!({"token": "hunter2-secret", "amount": 42, "env": "prod-secret"}));
    assert_eq!(action.target.as_deref(), Some("[REDACTED]"));
    assert_eq!(action.environment.as_deref(), Some("[REDACTED]"));
    assert_eq!(action.value, None);
    assert!(
        !serde_json::to_string(&action.redacted_arguments())
            .unwrap()
            .contains("hunter2")
    );
}
