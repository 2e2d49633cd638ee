//! Registers a few IT actions the ways the registry offers (a `#[bighub::action]` function,
//! a raw JSON tool, typed closures) and prints what the model is offered: `list_tools()` as the
//! Responses API receives it, then how one call would be described to the decision engine.
//!
//! Run with `cargo run --example tools`; it needs no network and no keys.

use std::collections::BTreeMap;

use bighub::engine::DecisionMode;
use bighub::tool::RiskLevel;
use bighub::{
    ToolError, ToolOptions,
    tool::{ActionMetadata, FnTool, ToolRegistry},
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// Grant a user temporary membership of an Okta group.
#[bighub::action(
    system = "okta",
    risk = "high",
    environment = "production",
    target = "group"
)]
fn grant_access(
    /// The Okta user id.
    user_id: String,
    /// The Okta group to join.
    group: String,
    /// How long the membership lasts, for example `2h`.
    duration: String,
) -> Value {
    json!({"granted": group, "user": user_id, "expires_in": duration})
}

#[derive(Deserialize, JsonSchema)]
struct TerraformApplyArgs {
    /// The Terraform workspace.
    workspace: String,
    /// Estimated monthly cost change of the plan, in USD.
    monthly_cost_delta: f64,
    /// Variables passed to `terraform apply`.
    vars: BTreeMap<String, String>,
    /// Only apply these resource addresses.
    targets: Option<Vec<String>>,
}

#[derive(Deserialize, JsonSchema)]
struct RotateCredentialsArgs {
    /// The credential's path in the secret store.
    secret_path: String,
    /// The new value, or null to generate one; marked secret for redaction.
    new_value: Option<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `RUST_LOG=bighub_openai=debug` shows the SDK's spans and events on stderr;
    // `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318` also exports the spans as traces.
    let _telemetry = bighub_telemetry::init_with_filter(log_filter(), "bighub-example-tools")?;
    let mut tools = ToolRegistry::new();

    // 1. A `#[bighub::action]` function, with the target taken from its `group` argument.
    tools.register(GrantAccess)?;

    // 2. A raw JSON tool with a hand-written strict schema; decision metadata from arguments.
    tools.register_raw(
        "sync_argocd_app",
        "Sync an Argo CD application to its target revision.",
        json!({
            "type": "object",
            "properties": {
                "app": {"type": "string", "description": "The Argo CD application."},
                "environment": {"type": "string", "enum": ["staging", "production"]},
                "prune": {"type": "boolean", "description": "Delete resources no longer in Git."}
            },
            "required": ["app", "environment", "prune"],
            "additionalProperties": false
        }),
        |args: Value| async move {
            Ok::<_, ToolError>(json!({"synced": args["app"], "status": "Healthy"}))
        },
        ToolOptions::new()
            .domain("it_actions")
            .actor("ops-agent")
            .action_name("argocd_sync")
            .metadata_from_args(
                |a| json!({"system": "argocd", "environment": a["environment"], "app": a["app"]}),
            )
            .target_from_args(|a| a["app"].as_str().map(str::to_owned)),
    )?;

    // 3. A typed closure: the schema comes from `TerraformApplyArgs` and is made strict
    //    (the `vars` map becomes a list of key/value entries for the model).
    tools.register_fn(
        "terraform_apply",
        "Apply a reviewed Terraform plan to a workspace.",
        |args: TerraformApplyArgs| async move {
            Ok::<_, ToolError>(json!({"workspace": args.workspace, "vars": args.vars.len(), "targets": args.targets, "cost_delta": args.monthly_cost_delta}))
        },
        ToolOptions::new()
            .system("terraform")
            .risk(RiskLevel::Critical)
            .environment("production")
            .decision_mode(DecisionMode::SubmitPayload)
            .target_from_args(|a| a["workspace"].as_str().map(str::to_owned))
            .value_from_args(|a| a["monthly_cost_delta"].as_f64()),
    )?;

    // 4. A closure with its own metadata, marking the secret argument for redaction.
    tools.register_with(
        FnTool::new(
            "rotate_credentials",
            "Rotate a credential in the secret store.",
            |args: RotateCredentialsArgs| async move {
                Ok::<_, ToolError>(
                    json!({"rotated": args.secret_path, "generated": args.new_value.is_none()}),
                )
            },
        )
        .with_metadata(
            ActionMetadata::new("vault")
                .risk(RiskLevel::High)
                .environment("production")
                .target_arg("secret_path")
                .secret_arg("new_value"),
        ),
        ToolOptions::new(),
    )?;

    println!("# list_tools()");
    println!("{}", serde_json::to_string_pretty(&tools.list_tools())?);

    let sync = tools.get("sync_argocd_app").expect("registered above");
    let action = sync.proposed_action(
        &json!({"app": "checkout-service", "environment": "production", "prune": false}),
    );
    println!("\n# proposed action for sync_argocd_app(checkout-service, production)");
    println!("{}", serde_json::to_string_pretty(&action)?);
    Ok(())
}

/// `RUST_LOG`'s filter, with rmcp's own events off unless `RUST_LOG` names `rmcp`: they
/// quote what an MCP server sent (request ids, error messages) unescaped, so a server
/// could forge log lines. Everything bighub logs about MCP servers is escaped.
fn log_filter() -> tracing_subscriber::EnvFilter {
    let filter = tracing_subscriber::EnvFilter::from_default_env();
    if std::env::var("RUST_LOG").is_ok_and(|v| v.contains("rmcp")) {
        filter
    } else {
        filter.add_directive("rmcp=off".parse().expect("a valid directive"))
    }
}
