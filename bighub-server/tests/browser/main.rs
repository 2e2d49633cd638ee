//! The approvals console in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, through `fantoccini`), against a decision server on 127.0.0.1.
//!
//! It signs in with an operator token, reads pending approvals with their reason and
//! better action, approves one and rejects another with a comment (the store records
//! `console:<operator>` and the comment), checks that `<script>` and `<img onerror>`
//! arguments render as text and run nothing, and sees a new approval appear without a
//! reload (server-sent events). It saves a screenshot of the pending approvals page to
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
