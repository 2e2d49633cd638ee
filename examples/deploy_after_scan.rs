//! Deploying only what was scanned: an agent may deploy container images to production,
//! and the embedded engine lets a deploy run only on a fresh, clean scan of the exact image
//! (found by its digest), and never during a change freeze.
//!
//! ```sh
//! cargo run --example deploy_after_scan
//! ```
//!
//! Three scenarios, each with its own evidence directory, freeze calendar and store in a
//! temporary directory:
//!
//! - **clean**: the image's scan (Grype) finds nothing critical or high: the deploy runs.
//! - **critical**: the image's scan (Trivy) finds critical vulnerabilities with a fix: the
//!   deploy is blocked, and the model is told which CVEs and which fixed versions.
//! - **freeze**: the scan is clean, but a change freeze is on: blocked whatever the scan.
//!
//! The reports are scanners' own published test data (`bighub-evidence/tests/fixtures/`,
//! Apache-2.0; their sources are listed in that directory's README). They are years old, so
//! this example accepts scans up to ten years old (`"max_age": "3650d"`); a pipeline that
//! scans at build time keeps the default, `24h`.
//!
//! With `OPENAI_API_KEY` (or `OPENAI_BASE_URL`) set, a model is asked to deploy the image in
//! each scenario (`OPENAI_MODEL`, default `gpt-5.5`). Without, it prints the decision the
//! embedded engine makes for the example call in each scenario, without a model.

use std::path::Path;

use bighub::local::LocalEngine;
use bighub::{BighubOpenAI, Decision, ToolError};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Serialize)]
struct Deployed {
    ok: bool,
    image: String,
    service: String,
}

/// Deploy a container image to a production service.
#[bighub::action(
    system = "kubernetes",
    risk = "high",
    environment = "production",
    target = "service"
)]
async fn deploy_image(
    /// The image reference, pinned by digest: registry/name@sha256:...
    image: String,
    /// The service to deploy it to, e.g. billing
    service: String,
) -> Result<Deployed, ToolError> {
    Ok(Deployed {
        ok: true,
        image,
        service,
    })
}

/// One scenario: the report in the evidence directory, the image deployed, and whether a
/// change freeze is on.
struct Scenario {
    name: &'static str,
    report: &'static str,
    image: &'static str,
    freeze: bool,
}

const SCENARIOS: [Scenario; 3] = [
    Scenario {
        name: "clean",
        report: "grype/ghsa-test.json",
        image: "anchore/test_images@sha256:10008791acbc5866de04108746a02a0c4029ce3a4400a9b3dad45d7f2245f9da",
        freeze: false,
    },
    Scenario {
        name: "critical",
        report: "trivy/alpine-39.json",
        image: "registry.example.com/billing@sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1",
        freeze: false,
    },
    Scenario {
        name: "freeze",
        report: "grype/ghsa-test.json",
        image: "anchore/test_images@sha256:10008791acbc5866de04108746a02a0c4029ce3a4400a9b3dad45d7f2245f9da",
        freeze: true,
    },
];

#[tokio::main]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let model = std::env::var("OPENAI_MODEL").unwrap_or_else(|_| "gpt-5.5".to_owned());
    let has_openai = ["OPENAI_API_KEY", "OPENAI_BASE_URL"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()));
    if !has_openai {
        eprintln!(
            "OPENAI_API_KEY is not set (nor OPENAI_BASE_URL), so no model runs. Here is the \
             decision the embedded engine makes in each scenario for the example call \
             deploy_image(<image>, \"billing\"):"
        );
    }
    for scenario in &SCENARIOS {
        let dir = tempfile::tempdir()?;
        let agent = BighubOpenAI::from_env()
            .actor("deploy-agent")
            .domain("it_actions")
            .engine(engine(dir.path(), scenario)?)
            .action(DeployImage)
            .build()?;
        println!("\n== {} ({})", scenario.name, scenario.report);
        if has_openai {
            let prompt = format!(
                "Deploy {} to production for the billing service.",
                scenario.image
            );
            let result = agent.run(prompt, &model).await?;
            for event in &result.execution.events {
                println!("{}: {}", event.tool, event.status);
            }
            println!("model: {}", result.output_text());
        } else {
            let check = agent
                .check_tool(
                    "deploy_image",
                    json!({"image": scenario.image, "service": "billing"}),
                )
                .await?;
            println!("verdict:  {}", check.verdict);
            print_decision(&check.decision);
        }
        agent.close().await?;
    }
    Ok(())
}

/// The embedded engine of one scenario, everything it reads in `dir`: the evidence
/// directory, the freeze calendar, the context file naming both, and the store.
fn engine(dir: &Path, scenario: &Scenario) -> Result<LocalEngine, Box<dyn std::error::Error>> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("bighub-evidence/tests/fixtures");
    let evidence = dir.join("evidence");
    std::fs::create_dir(&evidence)?;
    let file = Path::new(scenario.report).file_name().unwrap_or_default();
    std::fs::copy(fixtures.join(scenario.report), evidence.join(file))?;

    // A window from an hour ago to two hours from now when the freeze is on.
    let now = jiff::Timestamp::now();
    let (start, end) = if scenario.freeze {
        (
            now - jiff::SignedDuration::from_hours(1),
            now + jiff::SignedDuration::from_hours(2),
        )
    } else {
        (
            now - jiff::SignedDuration::from_hours(48),
            now - jiff::SignedDuration::from_hours(24),
        )
    };
    let freezes = json!({"windows": [{
        "name": "release-freeze", "start": start.round(jiff::Unit::Second)?.to_string(),
        "end": end.round(jiff::Unit::Second)?.to_string(),
        "environments": ["production"], "reason": "quarter-end release",
    }]});
    std::fs::write(dir.join("freezes.json"), freezes.to_string())?;

    let context = json!({
        "providers": [{"name": "freezes", "kind": "file", "path": "freezes.json",
                        "shape": "freeze_calendar"}],
        "evidence": {"dir": "evidence", "image_args": ["image"], "max_age": "3650d"},
    });
    std::fs::write(dir.join("context.json"), context.to_string())?;

    Ok(LocalEngine::builder()
        .db_path(dir.join("decisions.db"))
        .context_file(dir.join("context.json"))
        // A high-risk production change waits for a human by default; this team lets a
        // deploy run within its declared scope, and relies on the scan and freeze rules
        // to stop or pause the others.
        .config(json!({"risk_matrix": {"high": {"production": "constrained"}}}))
        .build()?)
}

fn print_decision(decision: &Decision) {
    let text = |v: Option<&str>| v.unwrap_or("-").to_owned();
    println!(
        "mode:     {}",
        decision.mode.map_or("-".into(), |m| m.to_string())
    );
    println!("reason:   {}", text(decision.reason.as_deref()));
    if let Some(better) = &decision.better_action {
        println!("better:   {better}");
    }
    let rules = |key: &str| {
        decision
            .decision_brain()
            .and_then(|b| b.get(key))
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    println!(
        "rules:    {} decided (fired: {})",
        rules("deciding_rules"),
        rules("rules_fired")
    );
    let evidence = &decision.raw["decision_packet"]["evidence"];
    if evidence.is_object() {
        println!(
            "evidence: {} report {} ({} {}, generated {})",
            text(evidence["source"].as_str()),
            text(evidence["report"].as_str()),
            text(evidence["scanner"]["name"].as_str()),
            text(evidence["scanner"]["version"].as_str()),
            text(evidence["generated_at"].as_str()),
        );
    }
}
