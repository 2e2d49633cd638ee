//! Security evidence for a decision: the deployed image found in the call, its scan found
//! in an evidence directory or over HTTP, what the policy sees and what is recorded.

use std::path::{Path, PathBuf};

use bighub_core::{DecisionEngine, ProposedAction, RiskLevel};
use bighub_local::LocalEngine;
use bighub_local::replay::ReplayOptions;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The image `trivy/alpine-39.json` scanned: critical findings with a fix.
const ALPINE: &str = "sha256:055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1";
/// The image `grype/ghsa-test.json` scanned: medium findings only.
const GHSA: &str = "sha256:10008791acbc5866de04108746a02a0c4029ce3a4400a9b3dad45d7f2245f9da";
/// The image both `grype/TestJsonImgsPresenter.json` and `cyclonedx/grype-image-1.7.json`
/// are about; only the second says when it was made.
const TWICE: &str = "sha256:ca738abb87a8d58f112d3400ebb079b61ceae7dc290beb34bda735be4b1941d5";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bighub-evidence/tests/fixtures")
        .join(name)
}

/// A temporary directory with an `evidence/` holding copies of the named fixtures, and a
/// context file whose `evidence` is `config` (the published fixtures are years old: the
/// scans are accepted for ten years).
fn setup(fixtures: &[&str], config: Value) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    for name in fixtures {
        let file = Path::new(name).file_name().unwrap();
        std::fs::copy(fixture(name), evidence.join(file)).unwrap();
    }
    let mut config = config;
    if config.get("max_age").is_none() {
        config["max_age"] = json!("3650d");
    }
    let path = dir.path().join("context.json");
    std::fs::write(&path, json!({"evidence": config}).to_string()).unwrap();
    (dir, path)
}

fn engine(context: &Path) -> LocalEngine {
    LocalEngine::builder()
        .in_memory()
        .context_file(context)
        .build()
        .unwrap()
}

fn deploy(arguments: Value) -> ProposedAction {
    ProposedAction::new("deploy_image")
        .arguments(arguments)
        .system("kubernetes")
        .risk(RiskLevel::High)
        .environment("production")
        .target("billing")
}

fn evidence(d: &bighub_core::Decision) -> (&Value, &Value) {
    (
        &d.raw["decision_packet"]["input"]["evidence"],
        &d.raw["decision_packet"]["evidence"],
    )
}

#[tokio::test]
async fn the_digest_comes_from_the_image_argument_and_its_scan_from_the_dir() {
    let (_dir, context) = setup(&["trivy/alpine-39.json"], json!({"dir": "evidence"}));
    let engine = engine(&context);
    let d = engine
        .evaluate(&deploy(
            json!({"image": format!("registry.example.com/alpine:3.9@{ALPINE}"), "service": "billing"}),
        ))
        .await
        .unwrap();
    let (input, record) = evidence(&d);
    assert_eq!(input["digest"], ALPINE);
    assert_eq!(input["required"], true);
    assert_eq!(input["error"], Value::Null);
    assert_eq!(input["scan"]["format"], "trivy");
    assert!(input["scan"]["age_seconds"].as_i64().unwrap() > 86_400);
    assert_eq!(record["source"], "dir");
    assert_eq!(record["report"], "alpine-39.json");
    assert_eq!(record["scanner"]["name"], "trivy");
    assert_eq!(record["generated_at"], input["scan"]["generated_at"]);
    assert_eq!(record["digest"], ALPINE);
    assert_eq!(d.raw["mode"], "blocked");
    assert_eq!(
        d.raw["decision_brain"]["deciding_rules"],
        json!(["critical_fixable"])
    );
    let reason = d.raw["reason"].as_str().unwrap();
    assert!(reason.contains("CVE-2019-14697"), "{reason}");
    assert!(
        d.raw["better_action"]
            .as_str()
            .unwrap()
            .contains("1.1.20-r5")
    );
}

#[tokio::test]
async fn configured_image_args_are_read_in_order() {
    let (_dir, context) = setup(
        &["trivy/alpine-39.json"],
        json!({"dir": "evidence", "image_args": ["artifact", "image"]}),
    );
    let engine = engine(&context);
    let d = engine
        .evaluate(&deploy(
            json!({"artifact": format!("alpine@{ALPINE}"), "image": "alpine:latest"}),
        ))
        .await
        .unwrap();
    assert_eq!(evidence(&d).0["digest"], ALPINE);
    // `image` is not among the names read any more: the call names no image.
    let (_dir2, context) = setup(
        &["trivy/alpine-39.json"],
        json!({"dir": "evidence", "image_args": ["artifact"]}),
    );
    let d = self::engine(&context)
        .evaluate(&deploy(json!({"image": format!("alpine@{ALPINE}")})))
        .await
        .unwrap();
    assert!(d.raw["decision_packet"]["input"].get("evidence").is_none());
    assert!(d.raw["decision_packet"].get("evidence").is_none());
}

#[tokio::test]
async fn the_target_counts_when_it_is_a_reference_with_a_digest() {
    let (_dir, context) = setup(&["trivy/alpine-39.json"], json!({"dir": "evidence"}));
    let engine = engine(&context);
    let action = deploy(json!({})).target(format!("alpine@{ALPINE}"));
    let d = engine.evaluate(&action).await.unwrap();
    assert_eq!(evidence(&d).0["digest"], ALPINE);
    assert_eq!(evidence(&d).1["source"], "dir");

    // A target that is no image reference is no image: nothing is required.
    let d = engine.evaluate(&deploy(json!({}))).await.unwrap();
    assert!(d.raw["decision_packet"]["input"].get("evidence").is_none());
    let d = engine
        .evaluate(&deploy(json!({})).target("alpine:3.9"))
        .await
        .unwrap();
    assert!(d.raw["decision_packet"]["input"].get("evidence").is_none());
}

#[tokio::test]
async fn an_image_by_tag_only_asks_for_context() {
    let (_dir, context) = setup(&["trivy/alpine-39.json"], json!({"dir": "evidence"}));
    let d = engine(&context)
        .evaluate(&deploy(json!({"image": "alpine:3.9"})))
        .await
        .unwrap();
    let (input, record) = evidence(&d);
    assert_eq!(
        *input,
        json!({"digest": null, "required": true, "scan": null,
               "error": "the image alpine:3.9 is not pinned by digest"})
    );
    assert_eq!(record["image"], "alpine:3.9");
    assert_eq!(d.raw["mode"], "needs_context");
    assert_eq!(
        d.raw["decision_brain"]["deciding_rules"],
        json!(["scan_missing"])
    );
    let reason = d.raw["reason"].as_str().unwrap();
    assert!(reason.contains("not pinned by digest"), "{reason}");
}

#[tokio::test]
async fn a_digest_without_a_scan_is_an_error_the_policy_sees() {
    let (_dir, context) = setup(&["grype/ghsa-test.json"], json!({"dir": "evidence"}));
    let d = engine(&context)
        .evaluate(&deploy(json!({"image": format!("alpine@{ALPINE}")})))
        .await
        .unwrap();
    let (input, record) = evidence(&d);
    assert_eq!(input["scan"], Value::Null);
    assert_eq!(input["error"], format!("no scan for {ALPINE}"));
    assert_eq!(record["source"], Value::Null);
    assert_eq!(d.raw["mode"], "needs_context");
    assert_eq!(
        d.raw["decision_brain"]["deciding_rules"],
        json!(["scan_missing"])
    );
}

#[tokio::test]
async fn the_newest_report_of_the_digest_wins_and_others_are_not_used() {
    let (_dir, context) = setup(
        &[
            "grype/TestJsonImgsPresenter.json",
            "cyclonedx/grype-image-1.7.json",
            "grype/ghsa-test.json",
        ],
        json!({"dir": "evidence"}),
    );
    let engine = engine(&context);
    let d = engine
        .evaluate(&deploy(json!({"image": format!("app@{TWICE}")})))
        .await
        .unwrap();
    let (input, record) = evidence(&d);
    assert_eq!(record["report"], "grype-image-1.7.json");
    assert_eq!(input["scan"]["format"], "cyclonedx");
    assert_eq!(input["scan"]["digest"], TWICE);

    let d = engine
        .evaluate(&deploy(json!({"image": format!("app@{GHSA}")})))
        .await
        .unwrap();
    let (input, record) = evidence(&d);
    assert_eq!(record["report"], "ghsa-test.json");
    assert_eq!(input["scan"]["digest"], GHSA);
    let fired = d.raw["decision_brain"]["rules_fired"].as_array().unwrap();
    assert!(fired.contains(&json!("scan_clean")), "{fired:?}");
}

#[tokio::test]
async fn an_unreadable_report_is_a_problem_not_a_failure() {
    let (dir, context) = setup(&["trivy/alpine-39.json"], json!({"dir": "evidence"}));
    std::fs::write(dir.path().join("evidence/broken.json"), "{\"Results\": [").unwrap();
    let d = engine(&context)
        .evaluate(&deploy(json!({"image": format!("alpine@{ALPINE}")})))
        .await
        .unwrap();
    let (input, record) = evidence(&d);
    assert_eq!(input["scan"]["format"], "trivy");
    let problems = record["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].as_str().unwrap().contains("broken.json"));
}

/// Serves `body` for one path to every request on 127.0.0.1, and keeps the request heads;
/// the server stops with the test's runtime.
async fn serve(
    path: &'static str,
    body: Vec<u8>,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let asked = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
            seen.lock().unwrap().push(head);
            let (status, body) = if asked.split('?').next() == Some(path) {
                ("200 OK", body.as_slice())
            } else {
                ("404 Not Found", &b"{}"[..])
            };
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
            let _ = socket.write_all(body).await;
            let _ = socket.shutdown().await;
        }
    });
    (format!("http://{addr}"), heads)
}

#[tokio::test]
async fn a_scan_is_found_over_http_when_the_dir_has_none() {
    let report = std::fs::read(fixture("trivy/alpine-39.json")).unwrap();
    let (base, heads) = serve(
        "/by-digest/sha256%3A055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1",
        report,
    )
    .await;
    // SAFETY: no other thread of this test reads or writes this variable.
    unsafe { std::env::set_var("BIGHUB_TEST_SCANS_TOKEN", "s3cret-token") };
    let (_dir, context) = setup(
        &["grype/ghsa-test.json"],
        json!({"dir": "evidence", "http": {
            "url": format!("{base}/by-digest/{{digest}}?key=query-secret"),
            "headers": {"Authorization": {"env": "BIGHUB_TEST_SCANS_TOKEN", "prefix": "Bearer "}},
            "timeout": "2s"}}),
    );
    let engine = engine(&context);
    let d = engine
        .evaluate(&deploy(json!({"image": format!("alpine@{ALPINE}")})))
        .await
        .unwrap();
    let (input, record) = evidence(&d);
    assert_eq!(input["scan"]["format"], "trivy");
    assert_eq!(record["source"], "http");
    assert_eq!(
        record["report"],
        format!("{base}/by-digest/sha256%3A{}", &ALPINE[7..])
    );
    assert_eq!(
        d.raw["decision_brain"]["deciding_rules"],
        json!(["critical_fixable"])
    );
    let heads = heads.lock().unwrap().join("\n").to_ascii_lowercase();
    assert!(
        heads.contains("authorization: bearer s3cret-token"),
        "{heads}"
    );
    let text = d.raw.to_string();
    assert!(!text.contains("s3cret-token") && !text.contains("query-secret"));

    // A digest the server does not know: 404, no scan.
    let other = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    let d = engine
        .evaluate(&deploy(json!({"image": format!("alpine@{other}")})))
        .await
        .unwrap();
    let (input, record) = evidence(&d);
    assert_eq!(input["error"], format!("no scan for {other}"));
    assert_eq!(record["problems"], json!([]));
}

#[tokio::test]
async fn a_report_over_http_about_another_digest_is_not_used() {
    let report = std::fs::read(fixture("grype/ghsa-test.json")).unwrap();
    let (base, _heads) = serve(
        "/by-digest/sha256%3A055936d3920576da37aa9bc460d70c5f212028bda1c08c0879aedf03d7a66ea1",
        report,
    )
    .await;
    let (_dir, context) = setup(
        &[],
        json!({"http": {"url": format!("{base}/by-digest/{{digest}}")}}),
    );
    let d = engine(&context)
        .evaluate(&deploy(json!({"image": format!("alpine@{ALPINE}")})))
        .await
        .unwrap();
    let (input, record) = evidence(&d);
    assert_eq!(input["scan"], Value::Null);
    assert_eq!(input["error"], format!("no scan for {ALPINE}"));
    let problem = record["problems"][0].as_str().unwrap();
    assert!(
        problem.contains(&format!("not about {ALPINE}")),
        "{problem}"
    );
    assert_eq!(d.raw["mode"], "needs_context");
}

#[tokio::test]
async fn a_scanner_program_prints_the_report_when_nothing_else_has_one() {
    // The program is handed the digest as one argument, never through a shell.
    let script = format!("test \"$1\" = {ALPINE} && cat \"$2\"",);
    let report = fixture("trivy/alpine-39.json");
    let (_dir, context) = setup(
        &[],
        json!({"command": {"argv": ["sh", "-c", script, "scanner", "{digest}", report], "timeout": "10s"}}),
    );
    let engine = engine(&context);
    let d = engine
        .evaluate(&deploy(json!({"image": format!("alpine@{ALPINE}")})))
        .await
        .unwrap();
    let (input, packet) = evidence(&d);
    assert_eq!(input["scan"]["scanner"]["name"], "trivy", "{packet}");
    assert_eq!(packet["source"], "command");
    assert_eq!(d.raw["mode"], "blocked");

    // Another digest: the program's report is not about it, so it is not used.
    let other = format!("alpine@{GHSA}");
    let d = engine
        .evaluate(&deploy(json!({"image": other})))
        .await
        .unwrap();
    let (input, packet) = evidence(&d);
    assert!(input["scan"].is_null(), "{input}");
    assert_eq!(input["error"], format!("no scan for {GHSA}"));
    assert!(
        !packet["problems"].as_array().unwrap().is_empty(),
        "{packet}"
    );
}

#[tokio::test]
async fn an_image_reference_that_could_be_read_as_an_option_is_never_handed_to_a_scanner() {
    let marker = tempfile::tempdir().unwrap();
    let ran = marker.path().join("ran");
    let script = format!("touch {}", ran.display());
    let (_dir, context) = setup(
        &[],
        json!({"command": {"argv": ["sh", "-c", script, "scanner", "{image}"]}}),
    );
    let engine = engine(&context);
    let d = engine
        .evaluate(&deploy(
            json!({"image": format!("--output=/tmp/x@{ALPINE}")}),
        ))
        .await
        .unwrap();
    let (input, packet) = evidence(&d);
    assert!(input["scan"].is_null(), "{input}");
    assert!(
        packet["problems"][0]
            .as_str()
            .unwrap()
            .contains("not a plain reference"),
        "{packet}"
    );
    assert!(!ran.exists(), "the scanner ran");
}

#[test]
fn a_synchronous_decide_does_not_look_up_and_asks_for_context() {
    let (_dir, context) = setup(&["grype/ghsa-test.json"], json!({"dir": "evidence"}));
    let d = engine(&context)
        .decide(&deploy(json!({"image": format!("app@{GHSA}")})))
        .unwrap();
    let (input, _) = evidence(&d);
    assert_eq!(input["digest"], GHSA);
    assert_eq!(input["error"], "not looked up: synchronous decide");
    assert_eq!(d.raw["mode"], "needs_context");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_decides_on_the_evidence_recorded() {
    let (dir, context) = setup(&["trivy/alpine-39.json"], json!({"dir": "evidence"}));
    let db = dir.path().join("decisions.db");
    let build = || {
        LocalEngine::builder()
            .db_path(&db)
            .context_file(&context)
            .build()
            .unwrap()
    };
    let d = build()
        .evaluate(&deploy(json!({"image": format!("alpine@{ALPINE}")})))
        .await
        .unwrap();
    assert_eq!(d.raw["mode"], "blocked");

    // The report is gone: a fresh lookup would find no scan, the recorded one still blocks.
    std::fs::remove_file(dir.path().join("evidence/alpine-39.json")).unwrap();
    let engine = build();
    let report = engine.replay(&ReplayOptions::default()).unwrap();
    assert_eq!((report.decided, report.changed), (1, 0), "{report:?}");
    let report = engine
        .replay_with_fresh_context(&ReplayOptions::default())
        .unwrap();
    assert_eq!((report.decided, report.changed), (1, 0), "{report:?}");
    let now = engine
        .evaluate(&deploy(json!({"image": format!("alpine@{ALPINE}")})))
        .await
        .unwrap();
    assert_eq!(now.raw["mode"], "needs_context");
}

#[test]
fn evidence_configuration_mistakes_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("context.json");
    let error = |config: Value| {
        std::fs::write(&path, config.to_string()).unwrap();
        LocalEngine::builder()
            .in_memory()
            .context_file(&path)
            .build()
            .unwrap_err()
            .to_string()
    };
    let e = error(json!({"evidence": {"dri": "evidence"}}));
    assert!(
        e.contains("evidence.dri: unknown key; did you mean `dir`?"),
        "{e}"
    );
    let e = error(
        json!({"evidence": {"dir": "e", "http": {"url": "https://x.test/{digest}", "timout": "1s"}}}),
    );
    assert!(
        e.contains("evidence.http.timout: unknown key; did you mean `timeout`?"),
        "{e}"
    );
    let e = error(json!({"evidence": {"http": {"url": "http://scans.example.com/{digest}"}}}));
    assert!(e.contains("evidence.http.url: plain http"), "{e}");
    let e = error(json!({"evidence": {"http": {"url": "https://scans.example.com/all"}}}));
    assert!(
        e.contains("evidence.http.url") && e.contains("{digest}"),
        "{e}"
    );
    let e = error(json!({"evidence": {"http": {"url": "https://x.test/{digest}/{system}"}}}));
    assert!(e.contains("only placeholder"), "{e}");
    let e = error(json!({"evidence": {}}));
    assert!(e.contains("names no source"), "{e}");
    let e = error(json!({"evidence": {"dir": "e", "max_age": "a while"}}));
    assert!(e.contains("evidence.max_age"), "{e}");
}

#[test]
fn max_age_is_the_policy_s_max_scan_age() {
    let (_dir, context) = setup(&[], json!({"dir": "evidence", "max_age": "12h"}));
    let engine = engine(&context);
    assert_eq!(
        engine.policy_config().max_scan_age,
        std::time::Duration::from_secs(12 * 3600)
    );
}
