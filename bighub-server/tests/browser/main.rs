//! The approvals console in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, through `fantoccini`), against a decision server on 127.0.0.1.
//!
//! It signs in with an operator token, reads pending approvals with their reason and
//! better action, approves one and rejects another with a comment (the store records
//! `console:<operator>` and the comment), checks that `<script>` and `<img onerror>`
//! arguments render as text and run nothing, and sees a new approval appear without a
//! reload (server-sent events). A second test runs a durable agent against the server:
//! its runs pause, an operator approves the better action of one and rejects the other in
//! the browser, refuses an edit the policy blocks, and the agent resumes both by itself
//! (the tool runs with the shorter duration; the model is told the comment). It saves a
//! screenshot of the pending approvals page to
//! `BIGHUB_CONSOLE_SCREENSHOT` (else to a temporary directory).
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `apt-get install
//! chromium chromium-driver`; other paths through `BIGHUB_CHROMIUM` and
//! `BIGHUB_CHROMEDRIVER`). Without them the test says it was skipped, except under
//! `CI=true`, where it fails. Run with `cargo test -p bighub-server --test browser`.

#[path = "../server/common/mod.rs"]
mod common;

use std::future::Future;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bighub_local::LocalEngine;
use bighub_local::storage::ApprovalStatus;
use bighub_server::console::{Console, ConsoleSettings, OperatorTokens, SessionKey};
use bighub_server::{LocalBackend, ServerConfig};
use common::TestServer;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const ANA: &str = "op_ana_0123456789abcdef";

/// Signs `client` in as `ana` and waits for the pending approvals.
async fn sign_in(client: &Client, server: &TestServer) -> Result<(), fantoccini::error::CmdError> {
    client.goto(&server.url("/")).await?;
    client
        .find(Locator::Id("token"))
        .await?
        .send_keys(ANA)
        .await?;
    client.find(Locator::Id("sign-in")).await?.click().await?;
    client
        .wait()
        .for_element(Locator::Id("pending-list"))
        .await?;
    Ok(())
}

/// Chromium and chromedriver, when installed.
fn browser_paths() -> Option<(PathBuf, PathBuf)> {
    let chromium = std::env::var_os("BIGHUB_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let driver = std::env::var_os("BIGHUB_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    if chromium.exists() && driver.exists() {
        return Some((chromium, driver));
    }
    let missing = format!(
        "Chromium ({}) or chromedriver ({}) is missing",
        chromium.display(),
        driver.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{missing}, and under CI=true the browser tests must run; .ci/run installs them");
    }
    // Past the harness's output capture, so the skip shows in `cargo test`'s output.
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!(
            "skipped: {missing}. To run the browser tests: apt-get install chromium chromium-driver (or set BIGHUB_CHROMIUM and BIGHUB_CHROMEDRIVER), then cargo test -p bighub-server --test browser\n"
        ),
    );
    None
}

/// chromedriver on a free port of 127.0.0.1, killed with the browsers it started when
/// dropped (also when a test panics).
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start(path: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(path);
        // A process group of its own, so that dropping the driver also ends the Chromium
        // it started when a test panics before closing its session.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        let driver = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen in 20s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session with a profile of its own.
async fn browser(driver: &Driver, chromium: &Path, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::rustls()
        .expect("TLS roots for the WebDriver client")
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .expect("a Chromium session")
}

/// Incidents a PagerDuty context provider would answer: one open on payments-api.
const INCIDENTS: &str = r#"{"incidents": [{"id": "Q1CHK42", "incident_number": 4821,
  "title": "Checkout error rate above 5%", "status": "triggered", "urgency": "high",
  "service": {"id": "PSVC7", "summary": "payments-api", "type": "service_reference"}}]}"#;

/// A rule of the server's: nobody is granted domain-admins by an agent.
const NO_DOMAIN_ADMINS: &str = r#"
package bighub.ext
import rego.v1
findings contains {"rule": "no_domain_admins", "mode": "blocked",
                   "reason": "Nobody is granted domain-admins by an agent."} if {
    input.action.arguments.group == "domain-admins"
}
"#;

/// A decision server with a console `ana` signs in to, deciding with a PagerDuty provider.
async fn console_server(dir: &Path) -> TestServer {
    let incidents = dir.join("incidents.json");
    std::fs::write(&incidents, INCIDENTS).unwrap();
    let providers = dir.join("context.json");
    std::fs::write(
        &providers,
        json!({"providers": [{"name": "pagerduty", "kind": "file",
            "path": incidents, "shape": "pagerduty_incidents"}]})
        .to_string(),
    )
    .unwrap();
    let engine = LocalEngine::builder()
        .in_memory()
        .context_file(&providers)
        .policy("no_domain_admins.rego", NO_DOMAIN_ADMINS)
        .build()
        .unwrap();
    let engine = Arc::new(engine);
    let backend = Arc::new(LocalBackend::new(engine.clone()));
    let mut settings = ConsoleSettings::new(SessionKey::random().unwrap());
    settings.tokens = OperatorTokens::parse(&format!("ana={ANA}")).unwrap();
    settings.secure_cookies = false;
    let mut config: ServerConfig = common::config();
    config.console = Some(Console::new(backend.clone(), settings).unwrap());
    TestServer::with_backend(engine, backend, config).await
}

/// Asks for `body` through the API as agent A; the decision must be a review.
async fn review(server: &TestServer, body: Value) -> String {
    let (status, decision) = common::post(server, "/actions/evaluate", &body).await;
    assert_eq!(
        (status, decision["mode"].as_str()),
        (200, Some("review")),
        "{decision}"
    );
    decision["request_id"].as_str().unwrap().to_owned()
}

fn okta_grant() -> Value {
    json!({"action": "grant_access", "target": "okta-admins", "actor": "access-bot",
        "context": {"system": "okta", "risk": "high", "environment": "production",
            "session_id": "run-2f9c", "arguments": {"user_id": "jordan.lee@example.com",
            "group": "okta-admins", "duration": "48h", "ticket": "IT-4471"}}})
}

fn incident_deploy() -> Value {
    json!({"action": "deploy_release", "target": "payments-api", "actor": "release-agent",
        "context": {"tool": "argocd_sync", "system": "argocd", "risk": "medium",
            "environment": "production", "session_id": "run-7a1d",
            "arguments": {"application": "payments-api", "revision": "v2.31.0",
                          "image": "registry.example.com/payments-api@sha256:4be1c2"}}})
}

fn terraform_apply() -> Value {
    json!({"action": "terraform_apply", "target": "prod-network", "actor": "infra-agent",
        "context": {"system": "terraform", "risk": "critical", "environment": "production",
            "session_id": "run-c03e", "arguments": {"workspace": "prod-network",
            "plan": "plan-8812", "changes": "3 to add, 1 to change, 0 to destroy"}}})
}

/// Waits until `check` holds, polling for at most `secs`.
async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {secs}s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The text of the element `css`; read again when the live list replaced it meanwhile.
async fn text_of(client: &Client, css: &str) -> String {
    let mut tries = 0;
    loop {
        let read = match client.find(Locator::Css(css)).await {
            Ok(element) => element.text().await,
            Err(e) => Err(e),
        };
        match read {
            Ok(text) => return text,
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{css}: {e}"),
        }
    }
}

/// Clicks the element `css`; found again when the live list replaced it meanwhile.
async fn click(client: &Client, css: &str) {
    let mut tries = 0;
    loop {
        let clicked = match client.find(Locator::Css(css)).await {
            Ok(element) => element.click().await,
            Err(e) => Err(e),
        };
        match clicked {
            Ok(()) => return,
            Err(_) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{css}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_answer_approvals_in_a_real_browser() {
    let Some((chromium, driver_path)) = browser_paths() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = console_server(dir.path()).await;
    let grant = review(&server, okta_grant()).await;
    let deploy = review(&server, incident_deploy()).await;
    let apply = review(&server, terraform_apply()).await;

    let driver = Driver::start(&driver_path);
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&driver, &chromium, profile.path()).await;
    let outcome = run(&client, &server, [&grant, &deploy, &apply]).await;
    if outcome.is_err() {
        let url = client.current_url().await.map(|u| u.to_string());
        let source = client.source().await.unwrap_or_default();
        eprintln!("the browser was at {url:?}, showing:\n{source}");
    }
    let _ = client.close().await;
    drop(driver);
    outcome.unwrap();
}

/// The cases, one after another in one browser session.
async fn run(
    client: &Client,
    server: &TestServer,
    [grant, deploy, apply]: [&String; 3],
) -> Result<(), fantoccini::error::CmdError> {
    // Signing in: the console sends the browser to its sign-in page first.
    client.goto(&server.url("/")).await?;
    assert!(
        client
            .current_url()
            .await?
            .path()
            .ends_with("/console/login")
    );
    client
        .find(Locator::Id("token"))
        .await?
        .send_keys(ANA)
        .await?;
    client.find(Locator::Id("sign-in")).await?.click().await?;
    client
        .wait()
        .for_element(Locator::Id("pending-list"))
        .await?;
    assert_eq!(client.current_url().await?.path(), "/");
    assert_eq!(text_of(client, "#operator").await, "ana");

    // The pending approvals, with their reason and better action.
    for id in [grant, deploy, apply] {
        client
            .find(Locator::Css(&format!("li[data-request-id=\"{id}\"]")))
            .await?;
    }
    let grant_row = format!("li[data-request-id=\"{grant}\"]");
    let reason = text_of(client, &format!("{grant_row} .reason")).await;
    assert!(
        reason.contains("privilege grants longer than 2h need a human review"),
        "{reason}"
    );
    let better = text_of(client, &format!("{grant_row} .better")).await;
    assert!(better.contains("for 2h instead of 48h"), "{better}");
    let deploy_reason = text_of(client, &format!("li[data-request-id=\"{deploy}\"] .reason")).await;
    assert!(deploy_reason.contains("Q1CHK42"), "{deploy_reason}");

    let png = client.screenshot().await?;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = match std::env::var_os("BIGHUB_CONSOLE_SCREENSHOT") {
        Some(p) => PathBuf::from(p),
        None => std::env::temp_dir().join("bighub-console-pending.png"),
    };
    std::fs::write(&path, &png).unwrap();
    eprintln!("screenshot of the pending approvals: {}", path.display());

    // Approving in the browser: the store records it approved by console:ana.
    click(client, &format!("{grant_row} a.button")).await;
    client
        .wait()
        .for_element(Locator::Id("approve-form"))
        .await?;
    assert!(
        text_of(client, "#better-action")
            .await
            .contains("for 2h instead of 48h")
    );
    client
        .find(Locator::Id("approve-comment"))
        .await?
        .send_keys("Approved for the IT-4471 migration window")
        .await?;
    click(client, "#approve").await;
    client.wait().for_element(Locator::Id("notice")).await?;
    assert_eq!(client.current_url().await?.query(), Some("done=approved"));
    assert_eq!(text_of(client, "#status").await.to_lowercase(), "approved");
    let record = server.engine.approval(grant).unwrap().unwrap();
    assert_eq!(record.status, ApprovalStatus::Approved);
    assert_eq!(record.resolver.as_deref(), Some("console:ana"));

    // Rejecting another with a comment the model will see.
    client
        .goto(&server.url(&format!("/console/approvals/{apply}")))
        .await?;
    let comment = "Not during the freeze: split the change and apply prod-network after 18:00 UTC";
    client
        .find(Locator::Id("reject-comment"))
        .await?
        .send_keys(comment)
        .await?;
    click(client, "#reject").await;
    client.wait().for_element(Locator::Id("comment")).await?;
    assert_eq!(text_of(client, "#comment").await, comment);
    let record = server.engine.approval(apply).unwrap().unwrap();
    assert_eq!(record.status, ApprovalStatus::Rejected);
    assert_eq!(record.comment.as_deref(), Some(comment));
    assert_eq!(record.resolver.as_deref(), Some("console:ana"));

    // Arguments holding markup render as text and run nothing.
    let script = "<script>alert(1)</script>";
    let img = "<img src=x onerror=alert(1)>";
    let hostile = review(
        server,
        json!({"action": "grant_access", "target": "okta-admins", "actor": img,
            "context": {"system": "okta", "risk": "high", "environment": "production",
                "arguments": {"user_id": script, "group": "okta-admins", "duration": "48h",
                              "note": img}}}),
    )
    .await;
    client
        .goto(&server.url(&format!("/console/approvals/{hostile}")))
        .await?;
    let arguments = text_of(client, "#arguments").await;
    assert!(
        arguments.contains(script) && arguments.contains(img),
        "{arguments}"
    );
    assert!(text_of(client, "main").await.contains(img));
    assert!(client.get_alert_text().await.is_err(), "no dialog opened");
    assert!(client.find_all(Locator::Css("img")).await?.is_empty());
    assert_eq!(client.find_all(Locator::Css("script")).await?.len(), 1);
    client.goto(&server.url("/")).await?;
    let row = format!("li[data-request-id=\"{hostile}\"]");
    assert!(text_of(client, &row).await.contains(img));
    assert!(client.get_alert_text().await.is_err(), "no dialog opened");
    assert!(client.find_all(Locator::Css("img")).await?.is_empty());

    // A new approval shows up while the page is open, without a reload.
    client
        .execute("window.__stillHere = 'yes'; return true;", vec![])
        .await?;
    let mut again = okta_grant();
    again["context"]["arguments"]["user_id"] = json!("sam.ortiz@example.com");
    let live = review(server, again).await;
    let live_row = format!("li[data-request-id=\"{live}\"]");
    eventually(15, "the new approval appearing", || async {
        client.find(Locator::Css(&live_row)).await.is_ok()
    })
    .await;
    assert!(text_of(client, &live_row).await.contains("okta-admins"));
    let marker = client
        .execute("return window.__stillHere || null;", vec![])
        .await?;
    assert_eq!(marker, json!("yes"), "the page was not reloaded");
    // An answer elsewhere takes it off the list, live too.
    let (status, _) = common::post(
        server,
        &format!("/approvals/{live}/resolve"),
        &json!({"resolution": "rejected", "comment": "duplicate"}),
    )
    .await;
    assert_eq!(status, 200);
    eventually(15, "the answered approval leaving the list", || async {
        client.find(Locator::Css(&live_row)).await.is_err()
    })
    .await;
    Ok(())
}

/// The grants the durable agent's tool ran: `(user, duration)`.
#[derive(Debug, Default)]
struct Granted(std::sync::Mutex<Vec<(String, String)>>);

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct GrantArgs {
    /// Okta user login
    user_id: String,
    /// The Okta group
    group: String,
    /// How long the membership lasts, e.g. "2h"
    duration: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_run_finishes_once_an_operator_answers_in_the_browser() {
    use bighub_openai::engine::RemoteBighub;
    use bighub_openai::tool::{ActionMetadata, FnTool};
    use bighub_openai::{BighubOpenAI, ToolError};
    use bighub_testkit::fake_openai::{FakeOpenAi, Turn};

    let Some((chromium, driver_path)) = browser_paths() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = console_server(dir.path()).await;
    let openai = FakeOpenAi::start().await.unwrap();
    let granted = Arc::new(Granted::default());
    let seen = Arc::clone(&granted);
    let metadata = ActionMetadata::new("okta")
        .risk(bighub_core::RiskLevel::High)
        .environment("production")
        .target_arg("group");
    let tool = FnTool::new(
        "grant_access",
        "Grant a user temporary membership in an Okta group",
        move |args: GrantArgs| {
            let seen = Arc::clone(&seen);
            async move {
                seen.0
                    .lock()
                    .unwrap()
                    .push((args.user_id.clone(), args.duration.clone()));
                Ok::<_, ToolError>(json!({"ok": true, "user_id": args.user_id,
                    "group": args.group, "duration": args.duration}))
            }
        },
    )
    .with_metadata(metadata);
    let base = server.url("");
    let base = base.trim_end_matches('/');
    let store = RemoteBighub::builder()
        .api_key(common::KEY_A)
        .base_url(base)
        .max_retries(0)
        .build()
        .unwrap();
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .provider_backoff(Duration::from_millis(1), Duration::from_millis(5))
        .bighub_api_key(common::KEY_A)
        .bighub_base_url(base)
        .durable(store)
        .action(tool)
        .build()
        .unwrap();

    // Two runs pause on reviews; the agent keeps nothing: the server holds both.
    let mut ids = Vec::new();
    for (user, call) in [
        ("jordan.lee@example.com", "call_jordan"),
        ("sam.ortiz@example.com", "call_sam"),
    ] {
        let args = json!({"user_id": user, "group": "okta-admins", "duration": "48h"});
        openai.push(Turn::new().call_with_id("grant_access", args.to_string(), call));
        let paused = agent
            .run(format!("Grant {user} Okta admin for 48h"), "gpt-test")
            .await
            .unwrap();
        assert!(paused.durable_run_id().is_some(), "saved as a durable run");
        ids.push(paused.pending_approvals()[0].request_id.clone());
    }
    let other = review(&server, okta_grant()).await;

    let driver = Driver::start(&driver_path);
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&driver, &chromium, profile.path()).await;
    let outcome = answer_in_browser(&client, &server, &ids[0], &ids[1], &other).await;
    if outcome.is_err() {
        let source = client.source().await.unwrap_or_default();
        eprintln!("the browser showed:\n{source}");
    }
    let _ = client.close().await;
    drop(driver);
    outcome.unwrap();

    // The agent resumes both runs by itself, once.
    openai.push(Turn::text("Done."));
    openai.push(Turn::text("Done."));
    let resumed = agent.resume_answered().await.unwrap();
    assert_eq!(resumed.len(), 2, "{resumed:?}");
    for (run_id, result) in &resumed {
        let result = result.as_ref().unwrap_or_else(|e| panic!("{run_id}: {e}"));
        assert!(!result.is_paused());
    }
    assert!(agent.resume_answered().await.unwrap().is_empty());
    assert_eq!(
        *granted.0.lock().unwrap(),
        [("jordan.lee@example.com".to_owned(), "2h".to_owned())],
        "the better action ran, with the shorter duration; the rejected call did not run"
    );
    let requests: Vec<Value> = openai
        .requests()
        .into_iter()
        .filter_map(|r| r.body)
        .collect();
    let output = |call: &str| -> Value {
        requests
            .iter()
            .flat_map(|r| r["input"].as_array().cloned().unwrap_or_default())
            .find(|i| i["type"] == "function_call_output" && i["call_id"] == call)
            .map(|i| serde_json::from_str(i["output"].as_str().unwrap()).unwrap())
            .unwrap_or_else(|| panic!("no output for {call}"))
    };
    let jordan = output("call_jordan");
    assert_eq!(jordan["status"], "executed");
    assert_eq!(jordan["arguments_changed"]["ran_with"]["duration"], "2h");
    let sam = output("call_sam");
    assert_eq!(sam["status"], "rejected");
    assert_eq!(
        sam["comment"],
        "Use the break-glass runbook for Sam instead"
    );
    assert_eq!(
        server.engine.approval(&ids[0]).unwrap().unwrap().status,
        ApprovalStatus::Used
    );
}

/// In the browser: approve the better action of `better`, reject `reject`, and see an
/// edit of `edit` the policy blocks refused.
async fn answer_in_browser(
    client: &Client,
    server: &TestServer,
    better: &str,
    reject: &str,
    edit: &str,
) -> Result<(), fantoccini::error::CmdError> {
    sign_in(client, server).await?;

    client
        .goto(&server.url(&format!("/console/approvals/{better}")))
        .await?;
    click(client, "#approve-better").await;
    client.wait().for_element(Locator::Id("notice")).await?;
    assert_eq!(client.current_url().await?.query(), Some("done=changed"));
    let record = server.engine.approval(better).unwrap().unwrap();
    assert_eq!(record.status, ApprovalStatus::Approved);
    assert_eq!(record.arguments.unwrap()["duration"], "2h");
    assert_eq!(record.resolver.as_deref(), Some("console:ana"));

    client
        .goto(&server.url(&format!("/console/approvals/{reject}")))
        .await?;
    client
        .find(Locator::Id("reject-comment"))
        .await?
        .send_keys("Use the break-glass runbook for Sam instead")
        .await?;
    click(client, "#reject").await;
    client.wait().for_element(Locator::Id("comment")).await?;

    // An edit into what the policy blocks: the console shows the policy's decision and
    // offers nothing to confirm; the approval stays pending.
    client
        .goto(&server.url(&format!("/console/approvals/{edit}")))
        .await?;
    let area = client.find(Locator::Id("edit-arguments")).await?;
    area.clear().await?;
    area.send_keys(r#"{"user_id": "jordan.lee@example.com", "group": "domain-admins", "duration": "1h", "ticket": "IT-4471"}"#)
        .await?;
    click(client, "#edit-preview").await;
    client.wait().for_element(Locator::Id("edit-mode")).await?;
    assert_eq!(
        text_of(client, "#edit-mode").await.to_lowercase(),
        "blocked"
    );
    assert!(
        text_of(client, "#edit-reason")
            .await
            .contains("domain-admins")
    );
    assert!(client.find(Locator::Id("edit-confirm")).await.is_err());
    assert_eq!(
        server.engine.approval(edit).unwrap().unwrap().status,
        ApprovalStatus::Pending
    );

    // An edit the policy lets run is confirmed after its decision is shown.
    let area = client.find(Locator::Id("edit-arguments")).await?;
    area.clear().await?;
    area.send_keys(r#"{"user_id": "jordan.lee@example.com", "group": "okta-admins", "duration": "1h", "ticket": "IT-4471"}"#)
        .await?;
    click(client, "#edit-preview").await;
    client
        .wait()
        .for_element(Locator::Id("edit-confirm"))
        .await?;
    click(client, "#edit-confirm").await;
    // The preview's page has a notice too: wait for the answer's own page.
    eventually(15, "the edited call approved", || async {
        client
            .current_url()
            .await
            .is_ok_and(|u| u.query() == Some("done=changed"))
    })
    .await;
    let record = server.engine.approval(edit).unwrap().unwrap();
    assert_eq!(record.status, ApprovalStatus::Approved);
    assert_eq!(record.arguments.unwrap()["duration"], "1h");
    Ok(())
}
