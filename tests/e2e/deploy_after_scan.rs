//! Deploying only what was scanned, end to end: an agent with a `deploy_image` tool, the
//! embedded engine reading real scanner reports from an evidence directory and a freeze
//! calendar, and the fake OpenAI Responses API as the model.

use std::path::Path;
use std::sync::Arc;

use crate::support::Runs;
use bighub::local::LocalEngine;
use bighub::{BighubOpenAI, ExecutionStatus, State, ToolError};
use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
use serde_json::{Value, json};

const MODEL: &str = "gpt-test";
/// Scanned by `grype/ghsa-test.json`: medium findings only.
const CLEAN: &str =
    "anchore/test_images@sha256:10008791acbc5866de04108746a02a0c4029ce3a4400a9b3dad45d7f2245f9da";
/// Scanned by `trivy/alpine-39.json`: CVE-2019-14697 (critical) in musl, fixed in 1.1.20-r5.
const CRITICAL: &str = "registry.example.com/billing@sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1";

/// Deploy a container image to a production service.
#[bighub::action(
    system = "kubernetes",
    risk = "high",
    environment = "production",
    target = "service"
)]
async fn deploy_image(
    /// The image reference, pinned by digest
    image: String,
    /// The service
    service: String,
    runs: State<Runs>,
) -> Result<Value, ToolError> {
    runs.hit();
    Ok(json!({"ok": true, "image": image, "service": service}))
}

/// An engine reading `report` from an evidence directory and a freeze calendar (on or off)
/// in `dir`; high-risk production changes run constrained, so the evidence and freeze rules
/// decide.
fn engine(dir: &Path, report: &str, freeze: bool) -> LocalEngine {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("bighub-evidence/tests/fixtures");
    std::fs::create_dir(dir.join("evidence")).unwrap();
    let name = Path::new(report).file_name().unwrap();
    std::fs::copy(fixtures.join(report), dir.join("evidence").join(name)).unwrap();
    let (start, end) = if freeze {
        ("2020-01-01T00:00:00Z", "2999-01-01T00:00:00Z")
    } else {
        ("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z")
    };
    std::fs::write(
        dir.join("freezes.json"),
        json!({"windows": [{"name": "release-freeze", "start": start, "end": end,
                            "environments": ["production"]}]})
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("context.json"),
        json!({"providers": [{"name": "freezes", "kind": "file", "path": "freezes.json",
                              "shape": "freeze_calendar"}],
               "evidence": {"dir": "evidence", "max_age": "3650d"}})
        .to_string(),
    )
    .unwrap();
    LocalEngine::builder()
        .in_memory()
        .context_file(dir.join("context.json"))
        .config(json!({"risk_matrix": {"high": {"production": "constrained"}}}))
        .build()
        .unwrap()
}

struct Run {
    runs: Arc<Runs>,
    status: ExecutionStatus,
    decision: Value,
    /// What the model was told about the call.
    output: String,
}

async fn deploy(report: &str, freeze: bool, image: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let openai = FakeOpenAi::start().await.unwrap();
    let runs = Arc::new(Runs::default());
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .engine(engine(dir.path(), report, freeze))
        .actor("deploy-agent")
        .action(DeployImage)
        .shared_state(Arc::clone(&runs))
        .build()
        .unwrap();
    let args = json!({"image": image, "service": "billing"});
    openai.push(Turn::new().call("deploy_image", args.to_string()));
    openai.push(Turn::text("Done."));
    let result = agent
        .run("Deploy the new billing image to production", MODEL)
        .await
        .unwrap();
    agent.close().await.unwrap();
    let event = result.last().unwrap();
    let requests: Vec<Value> = openai
        .requests()
        .into_iter()
        .filter_map(|r| r.body)
        .collect();
    let output = requests[1]["input"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call_output")
        .map(|i| i["output"].as_str().unwrap_or_default().to_owned())
        .unwrap();
    Run {
        runs,
        status: event.status,
        decision: event.decision.as_ref().unwrap().raw.clone(),
        output,
    }
}

fn deciding(decision: &Value) -> &Value {
    &decision["decision_brain"]["deciding_rules"]
}

#[tokio::test]
async fn a_clean_scan_lets_the_deploy_run() {
    let run = deploy("grype/ghsa-test.json", false, CLEAN).await;
    assert_eq!(run.runs.count(), 1);
    assert_eq!(run.status, ExecutionStatus::Executed, "{}", run.decision);
    let fired = run.decision["decision_brain"]["rules_fired"]
        .as_array()
        .unwrap();
    assert!(fired.contains(&json!("scan_clean")), "{fired:?}");
    assert_eq!(
        run.decision["decision_packet"]["evidence"]["report"],
        "ghsa-test.json"
    );
}

#[tokio::test]
async fn critical_findings_with_a_fix_block_it_and_the_model_learns_the_fix() {
    let run = deploy("trivy/alpine-39.json", false, CRITICAL).await;
    assert_eq!(run.runs.count(), 0);
    assert_eq!(run.status, ExecutionStatus::Blocked, "{}", run.decision);
    assert_eq!(*deciding(&run.decision), json!(["critical_fixable"]));
    assert!(run.output.contains("CVE-2019-14697"), "{}", run.output);
    assert!(run.output.contains("1.1.20-r5"), "{}", run.output);
}

#[tokio::test]
async fn a_change_freeze_blocks_it_whatever_the_scan_says() {
    let run = deploy("grype/ghsa-test.json", true, CLEAN).await;
    assert_eq!(run.runs.count(), 0);
    assert_eq!(run.status, ExecutionStatus::Blocked, "{}", run.decision);
    assert_eq!(*deciding(&run.decision), json!(["freeze_window"]));
    let fired = run.decision["decision_brain"]["rules_fired"]
        .as_array()
        .unwrap();
    assert!(fired.contains(&json!("scan_clean")), "{fired:?}");
}
