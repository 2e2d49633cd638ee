//! Shared pieces of the end-to-end tests: seed-style tools and an agent wired to the fakes.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bighub::{BighubOpenAI, BighubOpenAIBuilder, State, ToolError};
use bighub_testkit::FakeBighub;
use bighub_testkit::fake_bighub::{Reply, decision};
use bighub_testkit::fake_openai::FakeOpenAi;
use serde_json::{Value, json};

/// Counts how many times tools really ran.
#[derive(Debug, Default)]
pub(crate) struct Runs(AtomicUsize);

impl Runs {
    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    pub(crate) fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    pub(crate) fn reset(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
}

/// Grant a user temporary membership in an Okta group.
#[bighub::action(
    system = "okta",
    risk = "high",
    environment = "production",
    target = "group"
)]
pub(crate) async fn grant_access(
    /// Okta user login
    user_id: String,
    /// The Okta group
    group: String,
    /// How long the membership lasts, e.g. "2h"
    duration: String,
    runs: State<Runs>,
) -> Result<Value, ToolError> {
    runs.hit();
    Ok(json!({"ok": true, "user_id": user_id, "group": group, "duration": duration}))
}

/// Restart a Kubernetes deployment.
#[bighub::action(
    system = "kubernetes",
    risk = "medium",
    environment = "staging",
    target = "deployment"
)]
pub(crate) fn restart_deployment(
    deployment: String,
    namespace: String,
    runs: State<Runs>,
) -> Value {
    runs.hit();
    json!({"restarted": deployment, "namespace": namespace})
}

/// Apply a Terraform workspace.
#[bighub::action(system = "terraform", risk = "high", environment = "staging")]
pub(crate) fn terraform_apply(workspace: String, runs: State<Runs>) -> Result<Value, String> {
    runs.hit();
    Err(format!(
        "terraform apply failed in {workspace}: state lock held"
    ))
}

/// Rotate a credential.
#[bighub::action(system = "vault", risk = "medium", environment = "staging")]
pub(crate) fn rotate_credentials(secret_path: String, runs: State<Runs>) -> Value {
    runs.hit();
    panic!("vault client crashed while rotating {secret_path}");
}

/// Two fakes, and a decision per action name: `grant_access` -> review, others autonomous,
/// unless a test installs its own responder.
pub(crate) struct World {
    pub openai: FakeOpenAi,
    pub bighub: FakeBighub,
    pub runs: Arc<Runs>,
}

impl World {
    pub(crate) async fn start() -> Self {
        let openai = FakeOpenAi::start().await.expect("fake OpenAI starts");
        let bighub = FakeBighub::start().await;
        Self {
            openai,
            bighub,
            runs: Arc::new(Runs::default()),
        }
    }

    /// Decides every evaluation with `mode`.
    pub(crate) fn decide_all(&self, mode: &'static str) {
        self.bighub.on_evaluate(move |body| {
            Reply::ok(decision(mode, body["action"].as_str().unwrap_or_default()))
        });
    }

    /// An agent builder wired to both fakes with the example tools, fast retries, and the
    /// run counter shared with the tools.
    pub(crate) fn agent(&self) -> BighubOpenAIBuilder {
        BighubOpenAI::builder()
            .openai_api_key(self.openai.api_key())
            .openai_base_url(self.openai.base_url())
            .bighub_api_key(self.bighub.api_key())
            .bighub_base_url(self.bighub.base_url())
            .actor("ops-agent")
            .provider_backoff(Duration::from_millis(1), Duration::from_millis(5))
            .flush_timeout(Duration::from_secs(5))
            .action(GrantAccess)
            .action(RestartDeployment)
            .action(TerraformApply)
            .action(RotateCredentials)
            .shared_state(Arc::clone(&self.runs))
    }

    /// The bodies of every `/responses` request the model received.
    pub(crate) fn model_requests(&self) -> Vec<Value> {
        self.openai
            .requests()
            .into_iter()
            .filter_map(|r| r.body)
            .collect()
    }

    /// The bodies of every request to a BIGHUB path.
    pub(crate) fn bighub_bodies(&self, path: &str) -> Vec<Value> {
        self.bighub
            .requests_to(path)
            .into_iter()
            .filter_map(|r| r.body)
            .collect()
    }
}

/// The JSON the model received as the output of `call_id` in `request`.
pub(crate) fn tool_output(request: &Value, call_id: &str) -> Value {
    let item = request["input"]
        .as_array()
        .expect("input is a list")
        .iter()
        .find(|i| i["type"] == "function_call_output" && i["call_id"] == call_id)
        .unwrap_or_else(|| panic!("no output for {call_id} in {request}"));
    serde_json::from_str(item["output"].as_str().expect("output is a string"))
        .expect("output is JSON")
}
