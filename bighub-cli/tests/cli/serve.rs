//! `bighub serve`, run as a user would: the first line, a request, the stop on SIGTERM,
//! the refusals to serve without keys, approval webhooks and Slack's buttons.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "bh_cli_test_key_0123456789";

/// A running `bighub serve`, killed if the test ends early.
struct Served {
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(db: &Path, keys: Option<&str>, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bighub"));
    c.arg("--db").arg(db).arg("serve").args(args);
    c.env_remove("BIGHUB_POLICY")
        .env_remove("BIGHUB_SERVER_API_KEYS")
        .env_remove("BIGHUB_DATABASE_URL")
        .env_remove("BIGHUB_NOTIFY_SECRET")
        .env_remove("BIGHUB_SLACK_SIGNING_SECRET")
        .env_remove("BIGHUB_CONSOLE_TOKENS")
        .env_remove("BIGHUB_CONSOLE_SESSION_KEY");
    if let Some(k) = keys {
        c.env("BIGHUB_SERVER_API_KEYS", k);
    }
    c
}

fn start(db: &Path, keys: Option<&str>, args: &[&str]) -> Served {
    start_logging_to(db, keys, args, Stdio::null())
}

fn start_logging_to(db: &Path, keys: Option<&str>, args: &[&str], stderr: Stdio) -> Served {
    spawn(command(db, keys, args), stderr)
}

fn spawn(mut command: Command, stderr: Stdio) -> Served {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("the bighub binary runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Served { child, addr }
}

/// One HTTP/1.1 request; answers the status and the body.
fn request(addr: &str, method: &str, path: &str, key: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let key = key
        .map(|k| format!("x-api-key: {k}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\n{key}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).unwrap().parse().unwrap();
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

#[test]
fn serves_the_contract_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let mut served = start(
        &db,
        Some(&format!("ops={KEY}")),
        &["--listen", "127.0.0.1:0"],
    );
    let grant = r#"{"action": "grant_access", "target": "okta-admins", "context": {"system": "okta",
        "risk": "high", "environment": "production",
        "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}}}"#;
    let (status, body) = request(&served.addr, "POST", "/actions/evaluate", Some(KEY), grant);
    assert_eq!(status, 200, "{body}");
    let decision: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(decision["mode"], "review");
    assert!(
        decision["better_action"]
            .as_str()
            .unwrap()
            .contains("2h instead of 48h")
    );
    let (status, _) = request(&served.addr, "POST", "/actions/evaluate", None, grant);
    assert_eq!(status, 401);
    let (status, _) = request(&served.addr, "GET", "/healthz", None, "");
    assert_eq!(status, 200);

    let pid = served.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let exit = loop {
        if let Some(status) = served.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");

    // The decision is in the store, under the key's name.
    let out = Command::new(env!("CARGO_BIN_EXE_bighub"))
        .args(["--db"])
        .arg(&db)
        .args(["decisions", "--json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["caller"], "ops");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(KEY));
}

/// An operator approves with the CLI on the server's store; the agent's claim through the
/// server then runs exactly that call, once.
#[test]
fn an_approval_answered_with_the_cli_is_claimed_once_through_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let served = start(
        &db,
        Some(&format!("ops={KEY}")),
        &["--listen", "127.0.0.1:0"],
    );
    let arguments =
        serde_json::json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"});
    let grant = serde_json::json!({"action": "grant_access", "target": "okta-admins",
        "context": {"system": "okta", "risk": "high", "environment": "production",
                    "tool": "grant_access", "arguments": arguments}});
    let (status, body) = request(
        &served.addr,
        "POST",
        "/actions/evaluate",
        Some(KEY),
        &grant.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let decision: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(decision["mode"], "review");
    let id = decision["request_id"].as_str().unwrap().to_owned();

    let out = Command::new(env!("CARGO_BIN_EXE_bighub"))
        .arg("--db")
        .arg(&db)
        .args(["approvals", "approve", &id])
        .env("USER", "alice")
        .env_remove("BIGHUB_DATABASE_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    let resolve = format!("/approvals/{id}/resolve");
    // The agent answers too: the approval was already answered the same way.
    let (status, body) = request(
        &served.addr,
        "POST",
        &resolve,
        Some(KEY),
        r#"{"resolution": "approved"}"#,
    );
    assert_eq!(status, 409, "{body}");
    let digest = bighub_core::ProposedAction::new("grant_access")
        .arguments(arguments)
        .approval_digest();
    let claim = |tool: &str, digest: &str| {
        serde_json::json!({"resolution": "approved", "claim": true, "tool": tool,
                           "arguments_sha256": digest})
        .to_string()
    };
    let other = "0".repeat(64);
    let (status, body) = request(
        &served.addr,
        "POST",
        &resolve,
        Some(KEY),
        &claim("grant_access", &other),
    );
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("arguments_changed"), "{body}");
    let (status, body) = request(
        &served.addr,
        "POST",
        &resolve,
        Some(KEY),
        &claim("delete_user", &digest),
    );
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("tool_changed"), "{body}");
    let (status, body) = request(
        &served.addr,
        "POST",
        &resolve,
        Some(KEY),
        &claim("grant_access", &digest),
    );
    assert_eq!(status, 200, "{body}");
    let record: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(record["used"], true);
    assert_eq!(record["claimed"], true);
    assert_eq!(record["resolver"], "operator:alice");
    let (status, body) = request(
        &served.addr,
        "POST",
        &resolve,
        Some(KEY),
        &claim("grant_access", &digest),
    );
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("already_used"), "{body}");
}

/// Runs `bighub ARGS` against the server at `addr` (through `--server`, or
/// `BIGHUB_BASE_URL` when `flag` is false): standard output and standard error.
fn through_server(
    addr: &str,
    key: Option<&str>,
    flag: bool,
    args: &[&str],
) -> (bool, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bighub"));
    let url = format!("http://{addr}");
    if flag {
        c.arg("--server").arg(&url);
        c.env_remove("BIGHUB_BASE_URL");
    } else {
        c.env("BIGHUB_BASE_URL", &url);
    }
    match key {
        Some(k) => c.env("BIGHUB_API_KEY", k),
        None => c.env_remove("BIGHUB_API_KEY"),
    };
    c.env("USER", "bob")
        .env_remove("BIGHUB_DB")
        .env_remove("BIGHUB_DATABASE_URL");
    let out = c.args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_lists_and_resolves_approvals_through_a_server_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let served = start(
        &db,
        Some(&format!("operator={KEY}")),
        &["--listen", "127.0.0.1:0"],
    );
    let grant = r#"{"action": "grant_access", "target": "okta-admins", "context": {"system": "okta",
        "risk": "high", "environment": "production", "secret_args": ["ticket_token"],
        "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h",
                      "ticket_token": "tok-5647382910"}}}"#;
    let (status, body) = request(&served.addr, "POST", "/actions/evaluate", Some(KEY), grant);
    assert_eq!(status, 200, "{body}");
    let decision: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = decision["request_id"].as_str().unwrap().to_owned();

    // Listed through the server (here named by BIGHUB_BASE_URL), with the arguments
    // being approved, the secret redacted; standard error says where it read.
    let (ok, out, err) = through_server(&served.addr, Some(KEY), false, &["approvals", "list"]);
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!("server: http://{}", served.addr)),
        "{err}"
    );
    assert!(out.contains(&id), "{out}");
    assert!(out.contains(r#""duration":"48h""#), "{out}");
    assert!(!out.contains("tok-5647382910"), "{out}");
    let (ok, out, _) = through_server(
        &served.addr,
        Some(KEY),
        true,
        &["approvals", "list", "--json"],
    );
    assert!(ok);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["arguments"]["duration"], "48h");

    // Without a key it says which variable is missing.
    let (ok, _, err) = through_server(&served.addr, None, true, &["approvals", "list"]);
    assert!(!ok);
    assert!(err.contains("BIGHUB_API_KEY"), "{err}");

    // Approved through the server: the key is who resolved it, the login a note.
    let (ok, out, err) = through_server(
        &served.addr,
        Some(KEY),
        true,
        &["approvals", "approve", &id],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("{id} approved"));
    let (ok, out, _) = through_server(&served.addr, Some(KEY), true, &["approvals", "list"]);
    assert!(ok);
    assert_eq!(out.trim(), "No pending approvals.");
    let (ok, out, _) = through_server(&served.addr, Some(KEY), true, &["decisions", "--json"]);
    assert!(ok);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows[0]["request_id"], id.as_str());
    assert_eq!(rows[0]["caller"], "operator");
    let (status, body) = request(&served.addr, "GET", "/approvals?status=all", Some(KEY), "");
    assert_eq!(status, 200);
    let all: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(all[0]["resolver"], "operator");
    assert_eq!(all[0]["resolved_by"], "bob");

    // A store named on the command line wins over BIGHUB_BASE_URL, and says so.
    drop(served);
    let out = Command::new(env!("CARGO_BIN_EXE_bighub"))
        .arg("--db")
        .arg(&db)
        .args(["approvals", "list"])
        .env("BIGHUB_BASE_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("store: "));
}

#[test]
fn the_connection_flags_hold_slow_clients_and_logs_to_a_file_carry_no_colours() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let log = dir.path().join("serve.log");
    let served = start_logging_to(
        &db,
        Some(&format!("ops={KEY}")),
        &[
            "--listen",
            "127.0.0.1:0",
            "--header-read-timeout",
            "1",
            "--max-connections-per-address",
            "2",
        ],
        Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    // Half a header, then nothing: closed by the header-read timeout.
    let mut slow = TcpStream::connect(&served.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(slow, "POST /actions/evaluate HTTP/1.1\r\nx-api").unwrap();
    let mut held = TcpStream::connect(&served.addr).unwrap();
    held.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // Two from this address already: the third is refused.
    let (status, body) = request(&served.addr, "GET", "/healthz", None, "");
    assert_eq!(
        (status, body.as_str()),
        (503, r#"{"detail":"too many connections"}"#)
    );
    let mut rest = Vec::new();
    assert!(
        slow.read_to_end(&mut rest).is_ok(),
        "the slow client was not closed"
    );
    assert!(
        held.read_to_end(&mut rest).is_ok(),
        "the idle client was not closed"
    );
    let (status, body) = request(
        &served.addr,
        "POST",
        "/actions/evaluate",
        Some(KEY),
        r#"{"action": "list_users", "context": {"system": "okta"}}"#,
    );
    assert_eq!(status, 200, "{body}");
    // Refusals are logged too: a wrong key, a second resolution.
    let (status, _) = request(
        &served.addr,
        "GET",
        "/approvals",
        Some("bh_not_a_key_0123456789"),
        "",
    );
    assert_eq!(status, 401);
    let (status, _) = request(
        &served.addr,
        "POST",
        "/approvals/loc_missing/resolve",
        Some(KEY),
        r#"{"resolution": "approved"}"#,
    );
    assert_eq!(status, 404);
    drop(served);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("decided"), "{logged}");
    assert!(
        logged.contains("refused: missing or wrong API key"),
        "{logged}"
    );
    assert!(logged.contains("status=404"), "{logged}");
    assert!(!logged.contains('\u{1b}'), "{logged:?}");
}

#[test]
fn the_console_is_served_when_operators_can_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let keys = format!("agent={KEY}");
    // Without operator tokens or a proxy: no console, and the API as before.
    let plain = start(&db, Some(&keys), &["--listen", "127.0.0.1:0"]);
    assert_eq!(request(&plain.addr, "GET", "/", None, "").0, 404);
    assert_eq!(
        request(&plain.addr, "GET", "/console/login", None, "").0,
        404
    );
    drop(plain);

    let mut child = command(&db, Some(&keys), &["--listen", "127.0.0.1:0"])
        .env("BIGHUB_CONSOLE_TOKENS", "ana=op_ana_0123456789abcdef")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let served = Served {
        addr: line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap()
            .to_owned(),
        child,
    };
    let mut said = String::new();
    stderr.read_line(&mut said).unwrap();
    assert_eq!(said.trim(), format!("console: http://{}/", served.addr));
    assert_eq!(request(&served.addr, "GET", "/", None, "").0, 303);
    assert_eq!(
        request(&served.addr, "GET", "/console/login", None, "").0,
        200
    );
    let (status, _) = request(&served.addr, "GET", "/approvals", Some(KEY), "");
    assert_eq!(status, 200);
    drop(served);

    // Misconfigurations are refused at start, without printing a token.
    for (env, args, says) in [
        (
            Some("ana=tok3n"),
            vec!["--listen", "127.0.0.1:0"],
            "BIGHUB_CONSOLE_TOKENS",
        ),
        (
            None,
            vec![
                "--listen",
                "127.0.0.1:0",
                "--console-trusted-proxy",
                "127.0.0.1",
            ],
            "--console-auth-header",
        ),
        (
            None,
            vec![
                "--listen",
                "127.0.0.1:0",
                "--console-auth-header",
                "X-Forwarded-Email",
            ],
            "--console-trusted-proxy",
        ),
    ] {
        let mut c = command(&db, Some(&keys), &args);
        if let Some(tokens) = env {
            c.env("BIGHUB_CONSOLE_TOKENS", tokens);
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(says) && !stderr.contains("tok3n"),
            "{stderr}"
        );
    }
}

#[test]
fn refuses_to_serve_without_keys_except_on_loopback_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let out = command(&db, None, &["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BIGHUB_SERVER_API_KEYS"));

    let out = command(&db, None, &["--listen", "0.0.0.0:0", "--insecure-no-auth"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));

    let out = command(&db, Some("short"), &["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shorter than"));

    let served = start(
        &db,
        None,
        &["--listen", "127.0.0.1:0", "--insecure-no-auth"],
    );
    let (status, body) = request(&served.addr, "GET", "/approvals?status=all", None, "");
    assert_eq!((status, body.as_str()), (200, "[]"));
}

#[test]
fn keys_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let file = dir.path().join("keys");
    std::fs::write(&file, format!("# agents\nfile-agent={KEY}\n")).unwrap();
    let served = start(
        &db,
        None,
        &[
            "--listen",
            "127.0.0.1:0",
            "--api-key-file",
            file.to_str().unwrap(),
        ],
    );
    let (status, _) = request(&served.addr, "GET", "/approvals", Some(KEY), "");
    assert_eq!(status, 200);
    let (status, _) = request(
        &served.addr,
        "GET",
        "/approvals",
        Some("bh_other_key_0123456789"),
        "",
    );
    assert_eq!(status, 401);
}

/// The PostgreSQL test database, or `None` after saying why the test is skipped; under
/// `CI=true` a missing database fails.
fn database_url() -> Option<String> {
    match std::env::var("BIGHUB_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "BIGHUB_TEST_DATABASE_URL is not set, and under CI=true the PostgreSQL tests must run; .ci/run sets it"
            )
        }
        _ => {
            // Past the harness's output capture, so the skip shows in `cargo test`'s output.
            let _ = Write::write_fmt(
                &mut std::io::stderr(),
                format_args!(
                    "skipped: BIGHUB_TEST_DATABASE_URL is not set. To run the PostgreSQL tests, start PostgreSQL and set it (see the README)\n"
                ),
            );
            None
        }
    }
}

#[test]
fn two_servers_share_one_postgres_database() {
    let Some(url) = database_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let unused = dir.path().join("unused.db");
    let schema = format!("cli_{}", std::process::id());
    let pg = [
        "--database-url",
        url.as_str(),
        "--database-schema",
        schema.as_str(),
    ];
    let args = |listen: &'static str| -> Vec<&str> {
        let mut a = vec!["--listen", listen];
        a.extend_from_slice(&pg);
        a
    };
    let keys = format!("ops={KEY}");
    let one = start(&unused, Some(&keys), &args("127.0.0.1:0"));
    let two = start(&unused, Some(&keys), &args("127.0.0.1:0"));
    let grant = r#"{"action": "grant_access", "target": "okta-admins", "context": {"system": "okta",
        "risk": "high", "environment": "production",
        "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}}}"#;
    let (status, body) = request(&one.addr, "POST", "/actions/evaluate", Some(KEY), grant);
    assert_eq!(status, 200, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = request(&two.addr, "GET", "/approvals", Some(KEY), "");
    assert_eq!(status, 200);
    assert!(body.contains(&id), "{body}");
    let resolve = format!("/approvals/{id}/resolve");
    let (status, _) = request(
        &two.addr,
        "POST",
        &resolve,
        Some(KEY),
        r#"{"resolution": "approved"}"#,
    );
    assert_eq!(status, 200);
    let (status, body) = request(
        &one.addr,
        "POST",
        &resolve,
        Some(KEY),
        r#"{"resolution": "rejected"}"#,
    );
    assert_eq!(status, 409, "{body}");
    drop((one, two));

    // The CLI reads the same database.
    let out = Command::new(env!("CARGO_BIN_EXE_bighub"))
        .args(pg)
        .args(["decisions", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["request_id"], id.as_str());
    assert_eq!(rows[0]["caller"], "ops");
    assert!(!unused.exists(), "a database URL wins over --db");
}

/// Counts the calls of the README agent's tool that really ran.
#[derive(Debug, Default)]
struct Runs(std::sync::atomic::AtomicUsize);

/// Grant a user temporary membership in an Okta group.
#[bighub::action(
    system = "okta",
    risk = "high",
    environment = "production",
    target = "group"
)]
fn grant_access(
    user_id: String,
    group: String,
    duration: String,
    runs: bighub::State<Runs>,
) -> serde_json::Value {
    runs.0.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    serde_json::json!({"granted": user_id, "group": group, "for": duration})
}

/// A bash that runs the README's commands, in a process group of its own so that the
/// server it starts in the background stops with it.
struct Shell {
    child: Child,
    stdin: std::process::ChildStdin,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Shell {
    fn start(dir: &Path) -> Self {
        use std::os::unix::process::CommandExt;
        let mut child = Command::new("bash")
            .current_dir(dir)
            .env("BIGHUB_BIN", env!("CARGO_BIN_EXE_bighub"))
            .env("USER", "alice")
            .env_remove("BIGHUB_API_KEY")
            .env_remove("BIGHUB_BASE_URL")
            .env_remove("BIGHUB_DB")
            .env_remove("BIGHUB_DATABASE_URL")
            .env_remove("BIGHUB_POLICY")
            .env_remove("BIGHUB_SERVER_API_KEYS")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut shell = Self {
            child,
            stdin,
            lines,
        };
        // `cargo run -p bighub-cli -- ARGS` is the binary this test was built with; the
        // server's logs (standard error) stay out of the answers read here.
        shell.run(
            r#"exec 2>/dev/null
cargo() {
  if [ "$1 $2 $3 $4" != "run -p bighub-cli --" ]; then echo "unexpected cargo $*"; return 99; fi
  shift 4; "$BIGHUB_BIN" "$@"
}"#,
        );
        shell
    }

    /// Runs `script`, then answers every line it printed.
    fn run(&mut self, script: &str) -> Vec<String> {
        writeln!(self.stdin, "{script}\necho; echo __done__").unwrap();
        self.stdin.flush().unwrap();
        let mut out = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the README's commands finish");
            if line == "__done__" {
                return out;
            }
            out.push(line);
        }
    }

    /// Waits for a line that starts with `prefix` (from a command in the background).
    fn wait_for(&mut self, prefix: &str, seen: &[String]) -> String {
        if let Some(line) = seen.iter().find(|l| l.starts_with(prefix)) {
            return line.clone();
        }
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the server starts");
            if line.starts_with(prefix) {
                return line;
            }
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

/// The README's self-hosting block, run as written (`cargo run -p bighub-cli --` is the
/// binary under test, the port a free one) in a fresh directory, as a normal user would:
/// an agent pauses on the server's review, `bighub approvals list` shows it with its
/// arguments, `bighub approvals approve` answers it through the server, and the agent
/// resumes and runs the call once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_self_hosting_block_runs_as_written() {
    use bighub::engine::{ApprovalRefusal, ApprovalRefused};
    use bighub::{ApprovalAnswer, BighubOpenAI};
    use bighub_testkit::fake_openai::{FakeOpenAi, Turn};

    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let block = readme
        .split("<!-- self-hosting -->\n```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```\n<!-- /self-hosting -->").next())
        .expect("the README has the self-hosting block");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let block = block.replace("127.0.0.1:8484", &format!("127.0.0.1:{port}"));
    let (setup, rest) = block.split_once("# Any HTTP client").unwrap();
    let (curl, reviews) = rest.split_once("# Reviews").unwrap();
    let mut review_lines = reviews.lines().filter(|l| l.starts_with("cargo run"));
    let list = review_lines.next().unwrap();
    let approve = review_lines.next().unwrap();
    assert!(approve.ends_with("REQUEST_ID"), "{approve}");

    let dir = tempfile::tempdir().unwrap();
    let mut shell = Shell::start(dir.path());
    let out = shell.run(setup);
    let listening = shell.wait_for("listening on http://", &out);
    assert_eq!(listening, format!("listening on http://127.0.0.1:{port}"));
    let key = shell.run("echo \"$BIGHUB_API_KEY\"").concat();
    assert_eq!(key.len(), 48, "{key}");
    let base_url = shell.run("echo \"$BIGHUB_BASE_URL\"").concat();
    assert_eq!(base_url, format!("http://127.0.0.1:{port}"));
    assert!(dir.path().join("bighub-server.db").exists());

    // The curl example asks for the decision the README shows.
    let answer = shell.run(&format!("# Any HTTP client{curl}")).concat();
    let decision: serde_json::Value =
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer:?}"));
    assert_eq!(decision["mode"], "review", "{answer}");
    assert!(
        decision["better_action"]
            .as_str()
            .unwrap()
            .contains("2h instead of 48h")
    );

    // An agent, configured by the two variables, pauses on the server's review.
    let openai = FakeOpenAi::start().await.unwrap();
    let args = serde_json::json!({"user_id": "bob", "group": "okta-admins", "duration": "48h"});
    openai.push(Turn::new().call_with_id("grant_access", args.to_string(), "call_g"));
    openai.push(Turn::text("Bob has his access."));
    let runs = std::sync::Arc::new(Runs::default());
    let agent = BighubOpenAI::builder()
        .openai_api_key(openai.api_key())
        .openai_base_url(openai.base_url())
        .bighub_api_key(&key)
        .bighub_base_url(&base_url)
        .action(GrantAccess)
        .shared_state(runs.clone())
        .build()
        .unwrap();
    let paused = agent
        .run("Grant Bob admin for 48h", "gpt-test")
        .await
        .unwrap();
    let pending = paused.pending_approvals();
    assert_eq!(pending.len(), 1);
    let id = pending[0].request_id.clone();

    // The operator lists reviews through the server, with the arguments being approved.
    let listed = shell.run(&format!("{{ {list}; }} 2>&1"));
    assert!(
        listed[0].starts_with(&format!("server: http://127.0.0.1:{port}")),
        "{listed:?}"
    );
    let row = listed
        .iter()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{id} in {listed:?}"));
    assert!(row.contains(r#""duration":"48h""#), "{row}");
    assert!(row.contains(r#""user_id":"bob""#), "{row}");
    assert_eq!(runs.0.load(std::sync::atomic::Ordering::SeqCst), 0);

    // ... and approves it through the server.
    let approved = shell.run(&format!(
        "{{ {}; }} 2>&1",
        approve.replace("REQUEST_ID", &id)
    ));
    assert!(
        approved.iter().any(|l| l == &format!("{id} approved")),
        "{approved:?}"
    );

    // The agent resumes: the call runs once.
    let state = paused.paused.unwrap();
    let done = agent
        .resume(
            state.clone(),
            [(id.clone(), ApprovalAnswer::approved("ok"))],
        )
        .await
        .unwrap();
    assert_eq!(done.output_text(), "Bob has his access.");
    assert_eq!(runs.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    let again = agent
        .resume(state, [(id, ApprovalAnswer::approved("ok"))])
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            bighub::Error::Approval(ApprovalRefused {
                refusal: ApprovalRefusal::AlreadyUsed,
                ..
            })
        ),
        "{again}"
    );
    assert_eq!(runs.0.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// One HTTP request accepted on `listener` within 10 s, answered 200: its head and body.
fn receive_one(listener: &std::net::TcpListener) -> (String, String) {
    listener.set_nonblocking(true).unwrap();
    let started = Instant::now();
    let mut stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(_) if started.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("no webhook request within 10 s: {e}"),
        }
    };
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap();
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    (head, String::from_utf8(body).unwrap())
}

#[test]
fn approvals_reach_a_webhook_and_slack_buttons_need_slacks_signature() {
    const SECRET: &str = "whsec_cli_test_0123456789";
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let keys = format!("ops={KEY}");
    let slack_secret = dir.path().join("slack-secret");
    std::fs::write(&slack_secret, "8f742231b10e8888abcd99yyyzzz85a5\n").unwrap();

    // Settings that cannot work are refused before the server starts, naming what to fix.
    let refused = |env: &[(&str, &str)], args: &[&str]| {
        let mut c = command(&db, Some(&keys), args);
        c.envs(env.iter().copied());
        let out = c.output().unwrap();
        assert!(!out.status.success(), "{args:?} started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let secret_env = [("BIGHUB_NOTIFY_SECRET", SECRET)];
    let err = refused(
        &secret_env,
        &["--notify-url", "http://hooks.example.com/h?token=t0k3n"],
    );
    assert!(
        err.contains("plain http://") && !err.contains("t0k3n"),
        "{err}"
    );
    let err = refused(&[], &["--notify-url", "https://hooks.example.com/h"]);
    assert!(err.contains("BIGHUB_NOTIFY_SECRET"), "{err}");
    let err = refused(&[], &["--slack-user", "U0ALICE=alice"]);
    assert!(err.contains("BIGHUB_SLACK_SIGNING_SECRET"), "{err}");
    let err = refused(
        &[],
        &[
            "--slack-signing-secret-file",
            slack_secret.to_str().unwrap(),
        ],
    );
    assert!(err.contains("--slack-user"), "{err}");

    let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = format!("http://{}/hook", receiver.local_addr().unwrap());
    let mut c = command(
        &db,
        Some(&keys),
        &[
            "--listen",
            "127.0.0.1:0",
            "--notify-url",
            &hook,
            "--public-url",
            "https://bighub.example.com",
            "--slack-signing-secret-file",
            slack_secret.to_str().unwrap(),
            "--slack-user",
            "U0ALICE=alice",
        ],
    );
    c.envs(secret_env);
    let served = spawn(c, Stdio::null());
    let grant = r#"{"action": "grant_access", "target": "okta-admins", "context": {"system": "okta",
        "risk": "high", "environment": "production",
        "arguments": {"user_id": "alice", "group": "okta-admins", "duration": "48h"}}}"#;
    let (status, body) = request(&served.addr, "POST", "/actions/evaluate", Some(KEY), grant);
    assert_eq!(status, 200, "{body}");
    let decision: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = decision["request_id"].as_str().unwrap();

    let (head, body) = receive_one(&receiver);
    assert!(head.contains("x-bighub-signature: v1="), "{head}");
    assert!(head.contains("x-bighub-timestamp: "), "{head}");
    let note: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(note["type"], "approval.requested");
    assert_eq!(note["request_id"], id);
    assert_eq!(
        note["link"],
        format!("https://bighub.example.com/console/approvals/{id}")
    );
    assert!(!body.contains(SECRET));

    // Slack's endpoint is on, and refuses what Slack did not sign.
    let (status, body) = request(
        &served.addr,
        "POST",
        "/slack/actions",
        None,
        "payload=%7B%7D",
    );
    assert_eq!(status, 401, "{body}");
}

/// `bighub serve` watches its policy files: a change is put in force, a broken one is
/// reported in /healthz while the revision in force keeps deciding; a shadow policy is
/// decided beside it and counted in /metrics.
#[test]
fn serve_reloads_changed_policies_and_decides_shadow_policies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let policies = dir.path().join("policies");
    let shadow = dir.path().join("shadow");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::create_dir_all(&shadow).unwrap();
    let rule = |name: &str, mode: &str| {
        format!(
            "package bighub.ext\nimport rego.v1\n\nfindings contains {{\"rule\": \"{name}\", \"mode\": \"{mode}\", \"reason\": \"{name}\"}} if input.action.name == \"restart_service\"\n"
        )
    };
    std::fs::write(shadow.join("frozen.rego"), rule("frozen", "blocked")).unwrap();
    let served = start(
        &db,
        Some(&format!("agent={KEY}")),
        &[
            "--policy",
            policies.to_str().unwrap(),
            "--shadow-policy",
            shadow.to_str().unwrap(),
            "--policy-poll-interval",
            "1s",
        ],
    );
    let body = r#"{"action": "restart_service", "actor": "ops", "context": {"system": "kubernetes", "risk": "low"}}"#;
    let decide = || {
        let (status, text) = request(&served.addr, "POST", "/actions/evaluate", Some(KEY), body);
        assert_eq!(status, 200, "{text}");
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let health = || {
        let (status, text) = request(&served.addr, "GET", "/healthz", None, "");
        assert_eq!(status, 200, "{text}");
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let wait_until = |what: &str, done: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let h = health();
            if done(&h) {
                return h;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {h}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };

    let first = decide();
    assert_eq!(first["mode"], "autonomous");
    assert_eq!(first["decision_brain"]["shadow"]["mode"], "blocked");
    let revision = first["decision_brain"]["policy_revision"].clone();
    assert_eq!(health()["policy"]["revision"], revision);

    // Written whole (a hidden file renamed into place): a poll never sees half a file.
    let put = |text: &str| {
        let temporary = policies.join(".restarts.rego.tmp");
        std::fs::write(&temporary, text).unwrap();
        std::fs::rename(&temporary, policies.join("restarts.rego")).unwrap();
    };
    put(&rule("restarts_wait", "review"));
    wait_until("the change", &|h| h["policy"]["revision"] != revision);
    let changed = decide();
    assert_eq!(changed["mode"], "review");

    put("package bighub.ext\nbroken {");
    let h = wait_until("the error", &|h| {
        !h["policy"]["last_reload_error"].is_null()
    });
    assert_eq!(h["status"], "ok");
    assert_eq!(
        decide()["mode"],
        "review",
        "the revision in force keeps deciding"
    );

    let (_, metrics) = request(&served.addr, "GET", "/metrics", None, "");
    assert!(
        metrics.contains("bighub_shadow_decisions_total{agreement=\"disagree\",rule=\"frozen\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("bighub_policy_reloads_total{result=\"failed\"} 1"),
        "{metrics}"
    );
}

#[test]
fn decision_log_flags_write_one_masked_line_per_kept_decision_and_metrics_count() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let log = dir.path().join("decisions.jsonl");
    let log_arg = log.to_str().unwrap();
    let mut served = start(
        &db,
        Some(&format!("ops={KEY}")),
        &[
            "--listen",
            "127.0.0.1:0",
            "--decision-log-file",
            log_arg,
            "--decision-log-drop-mode",
            "autonomous",
            "--decision-log-mask",
            "/input/action/arguments/user_id",
            "--decision-log-label",
            "region=eu",
        ],
    );
    let grant = r#"{"action": "grant_access", "target": "okta-admins", "context": {"system": "okta",
        "risk": "high", "environment": "production",
        "arguments": {"user_id": "alice-customer", "group": "okta-admins", "duration": "48h",
                      "password": "hunter2-cli-log"}}}"#;
    let read = r#"{"action": "list_pods", "target": "payments",
        "context": {"system": "kubernetes", "environment": "production"}}"#;
    let (status, body) = request(&served.addr, "POST", "/actions/evaluate", Some(KEY), grant);
    assert_eq!(status, 200, "{body}");
    let decision: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (status, body) = request(&served.addr, "POST", "/actions/evaluate", Some(KEY), read);
    assert_eq!(status, 200, "{body}");
    let (_, metrics) = request(&served.addr, "GET", "/metrics", None, "");
    assert!(
        metrics.contains("bighub_decision_log_records_total{result=\"dropped_rule\"} 1"),
        "{metrics}"
    );

    let pid = served.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    while served.child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Stopping sent what was queued.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("hunter2-cli-log") && !text.contains("alice-customer"),
        "{text}"
    );
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["decision_id"], decision["request_id"]);
    assert_eq!(lines[0]["requested_by"], "ops");
    assert_eq!(lines[0]["labels"]["region"], "eu");
    assert_eq!(
        lines[0]["input"]["action"]["arguments"]["user_id"],
        "[MASKED]"
    );
    assert_eq!(
        lines[0]["input"]["action"]["arguments"]["password"],
        "[REDACTED]"
    );
}

#[test]
fn serve_exports_a_span_per_request_when_the_otlp_endpoint_is_set() {
    use bighub_testkit::otlp_receiver::{OtlpReceiver, SpanKind};

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let receiver = runtime.block_on(OtlpReceiver::start()).unwrap();
    let base = receiver.url().trim_end_matches("/v1/traces").to_owned();
    let dir = tempfile::tempdir().unwrap();
    let mut command = command(
        &dir.path().join("bighub.db"),
        Some(&format!("agent={KEY}")),
        &["--listen", "127.0.0.1:0"],
    );
    command
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &base)
        .env("OTEL_SERVICE_NAME", "decisions-eu");
    let mut served = spawn(command, Stdio::null());
    let grant = r#"{"action": "grant_access", "target": "okta-admins", "context": {"system": "okta",
        "risk": "high", "environment": "production",
        "arguments": {"user_id": "alice-7q", "group": "okta-admins", "duration": "48h"}}}"#;
    let (status, body) = request(&served.addr, "POST", "/actions/evaluate", Some(KEY), grant);
    assert_eq!(status, 200, "{body}");
    let decision: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (status, _) = request(&served.addr, "POST", "/actions/evaluate", None, grant);
    assert_eq!(status, 401);

    // Spans still queued are flushed as the server stops.
    let pid = served.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(served.child.wait().unwrap().success());

    let spans = receiver.wait_for(|spans| spans.len() >= 2);
    let evaluations: Vec<_> = spans
        .iter()
        .filter(|s| s.name() == "POST /actions/evaluate")
        .collect();
    assert_eq!(evaluations.len(), 2, "{spans:?}");
    let decided = evaluations
        .iter()
        .find(|s| s.attr("http.response.status_code").as_deref() == Some("200"))
        .expect("the answered evaluation");
    assert_eq!(decided.span.kind, SpanKind::Server as i32);
    assert_eq!(decided.service_name.as_deref(), Some("decisions-eu"));
    assert_eq!(
        decided.attr("bighub.decision.mode").as_deref(),
        Some("review")
    );
    assert_eq!(
        decided.attr("bighub.request_id"),
        decision["request_id"].as_str().map(str::to_owned)
    );
    assert_eq!(
        decided.attr("gen_ai.tool.name").as_deref(),
        Some("grant_access")
    );
    assert!(
        decided
            .attr("bighub.policy.revision")
            .is_some_and(|r| r.len() == 64)
    );
    let refused = evaluations
        .iter()
        .find(|s| s.attr("http.response.status_code").as_deref() == Some("401"))
        .expect("the refused evaluation");
    assert!(refused.attr("bighub.decision.mode").is_none());
    for span in &spans {
        for value in span.attribute_values() {
            assert!(
                !value.contains("alice-7q") && !value.contains(KEY),
                "{value}"
            );
        }
    }
}
