//! The approvals console over HTTP: its security headers, sign-in and sessions, CSRF and
//! origin checks, the trusted proxy's identity header, and escaping of everything an agent
//! or a model controls. Run with `cargo test -p bighub-server --test server console`.

use std::sync::Arc;

use bighub_local::LocalEngine;
use bighub_local::storage::ApprovalStatus;
use bighub_server::console::{
    CONTENT_SECURITY_POLICY_VALUE, Console, ConsoleSettings, OperatorTokens, ProxyAuth, SessionKey,
};
use bighub_server::{LocalBackend, ServerConfig};
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::common::{self, TestServer};

const ANA: &str = "op_ana_0123456789abcdef";
const BEN: &str = "op_ben_0123456789abcdef";
const SECRET_PIN: &str = "pin-7788-do-not-show";

/// A server whose console lets `ana` and `ben` sign in with tokens, and believes
/// `X-Forwarded-Email` from `trusted` when given.
async fn console_server(trusted: Option<&str>) -> TestServer {
    console_server_on(LocalEngine::builder().in_memory().build().unwrap(), trusted).await
}

/// As [`console_server`], on `engine`'s store.
async fn console_server_on(engine: LocalEngine, trusted: Option<&str>) -> TestServer {
    let engine = Arc::new(engine);
    let backend = Arc::new(LocalBackend::new(engine.clone()));
    let mut settings = ConsoleSettings::new(SessionKey::random().unwrap());
    settings.tokens = OperatorTokens::parse(&format!("ana={ANA},ben={BEN}")).unwrap();
    settings.secure_cookies = false;
    if let Some(addr) = trusted {
        settings.proxy =
            Some(ProxyAuth::new("X-Forwarded-Email", vec![addr.parse().unwrap()]).unwrap());
    }
    let mut config: ServerConfig = common::config();
    config.console = Some(Console::new(backend.clone(), settings).unwrap());
    TestServer::with_backend(engine, backend, config).await
}

/// Form posts, url-encoded here (the tests' HTTP client is built without its form
/// feature).
trait FormOf {
    fn form_of<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self;
}

impl FormOf for reqwest::RequestBuilder {
    fn form_of<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self {
        let encode = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                        char::from(b).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k.as_ref()), encode(v.as_ref())))
            .collect::<Vec<_>>()
            .join("&");
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Asks for a review through the API (as agent A); answers its request id.
async fn review(server: &TestServer, user: &str, note: &str) -> String {
    let body = json!({"action": "grant_access", "target": "okta-admins", "actor": "access-bot",
        "context": {"system": "okta", "risk": "high", "environment": "production",
                    "session_id": "run-42", "secret_args": ["ticket_pin"],
                    "arguments": {"user_id": user, "group": "okta-admins", "duration": "48h",
                                  "note": note, "ticket_pin": SECRET_PIN}}});
    let (status, decision) = common::post(server, "/actions/evaluate", &body).await;
    assert_eq!(
        (status, decision["mode"].as_str()),
        (200, Some("review")),
        "{decision}"
    );
    decision["request_id"].as_str().unwrap().to_owned()
}

/// The value of the cookie `name` set by `response`.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// The hidden `csrf` field of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form token") + 19;
    html[at..at + 64].to_owned()
}

/// A signed-in operator: the session cookie and the session's form token.
struct Signed {
    cookie: String,
    csrf: String,
}

async fn sign_in(server: &TestServer, token: &str) -> Signed {
    let http = client();
    let form = http.get(server.url("/console/login")).send().await.unwrap();
    let login_cookie = cookie_pair(&set_cookie(&form, "bighub_console_login").unwrap());
    let csrf = csrf_of(&form.text().await.unwrap());
    let answer = http
        .post(server.url("/console/login"))
        .header("cookie", &login_cookie)
        .form_of(&[("csrf", csrf.as_str()), ("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let session = set_cookie(&answer, "bighub_console").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(attr), "{session}");
    }
    let cookie = cookie_pair(&session);
    let page = http
        .get(server.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csrf = csrf_of(&page.text().await.unwrap());
    Signed { cookie, csrf }
}

async fn get(server: &TestServer, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = client().get(server.url(path));
    if let Some(c) = cookie {
        request = request.header("cookie", c);
    }
    request.send().await.unwrap()
}

/// A refused post: what is wrong with it, its extra headers, its form.
type Attempt<'a> = (&'a str, Vec<(&'a str, String)>, Vec<(&'a str, &'a str)>);

fn status_of(server: &TestServer, id: &str) -> ApprovalStatus {
    server.engine.approval(id).unwrap().unwrap().status
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let server = console_server(None).await;
    let signed = sign_in(&server, ANA).await;
    let id = review(&server, "alice", "routine").await;
    for (path, cookie) in [
        ("/", None),
        ("/console/login", None),
        ("/", Some(signed.cookie.as_str())),
        (
            &*format!("/console/approvals/{id}"),
            Some(signed.cookie.as_str()),
        ),
        ("/console/decisions", Some(signed.cookie.as_str())),
        (
            &*format!("/console/decisions/{id}"),
            Some(signed.cookie.as_str()),
        ),
        ("/console/nothing-here", Some(signed.cookie.as_str())),
    ] {
        let response = get(&server, path, cookie).await;
        let h = response.headers();
        assert_eq!(
            h["content-security-policy"], CONTENT_SECURITY_POLICY_VALUE,
            "{path}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        let body = response.text().await.unwrap();
        // No inline script or style anywhere: the CSP would refuse them.
        assert!(
            !body.contains("<script>") && !body.contains("style="),
            "{path}"
        );
        assert!(!body.contains("<style"), "{path}");
    }
    let css = get(&server, "/console/assets/console.css", None).await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    let js = get(&server, "/console/assets/console.js", None).await;
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(js.headers()["x-content-type-options"], "nosniff");
    let js = js.text().await.unwrap();
    assert!(
        !js.contains("innerHTML"),
        "the script writes no HTML from text"
    );
    assert_eq!(
        get(&server, "/console/assets/other.js", None)
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn without_a_session_pages_redirect_and_posts_change_nothing() {
    let server = console_server(None).await;
    let id = review(&server, "alice", "routine").await;
    for path in [
        "/",
        &*format!("/console/approvals/{id}"),
        "/console/decisions",
    ] {
        let response = get(&server, path, None).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], "/console/login", "{path}");
    }
    for path in ["/console/approvals/fragment", "/console/events"] {
        assert_eq!(get(&server, path, None).await.status(), 401, "{path}");
    }
    // A forged or foreign session cookie is no session.
    let other = console_server(None).await;
    let foreign = sign_in(&other, ANA).await;
    for cookie in [
        foreign.cookie.as_str(),
        "bighub_console=00.00",
        "bighub_console=",
    ] {
        assert_eq!(
            get(&server, "/", Some(cookie)).await.status(),
            303,
            "{cookie}"
        );
    }
    for verb in ["approve", "reject"] {
        for cookie in [None, Some(foreign.cookie.as_str())] {
            let mut post = client()
                .post(server.url(&format!("/console/approvals/{id}/{verb}")))
                .form_of(&[("csrf", foreign.csrf.as_str()), ("comment", "ok")]);
            if let Some(c) = cookie {
                post = post.header("cookie", c);
            }
            let response = post.send().await.unwrap();
            assert_eq!(response.status(), 401, "{verb}");
        }
    }
    assert_eq!(status_of(&server, &id), ApprovalStatus::Pending);

    // The sign-in form itself needs its token, and a token of this server.
    let http = client();
    let bare = http
        .post(server.url("/console/login"))
        .form_of(&[("token", ANA)])
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 403);
    assert!(set_cookie(&bare, "bighub_console").is_none());
    let form = http.get(server.url("/console/login")).send().await.unwrap();
    let login_cookie = cookie_pair(&set_cookie(&form, "bighub_console_login").unwrap());
    let csrf = csrf_of(&form.text().await.unwrap());
    let wrong = http
        .post(server.url("/console/login"))
        .header("cookie", &login_cookie)
        .form_of(&[("csrf", csrf.as_str()), ("token", "op_nobody_0123456789")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(set_cookie(&wrong, "bighub_console").is_none());
    // An agent's API key is not an operator token.
    let agent = http
        .post(server.url("/console/login"))
        .header("cookie", &login_cookie)
        .form_of(&[("csrf", csrf.as_str()), ("token", common::KEY_A)])
        .send()
        .await
        .unwrap();
    assert_eq!(agent.status(), 401);
}

#[tokio::test]
async fn answers_need_the_session_form_token_and_the_same_origin() {
    let server = console_server(None).await;
    let ana = sign_in(&server, ANA).await;
    let ben = sign_in(&server, BEN).await;
    let id = review(&server, "alice", "routine").await;
    let path = format!("/console/approvals/{id}/approve");
    let host = server.addr();
    let attempts: Vec<Attempt<'_>> = vec![
        ("no token", vec![], vec![("comment", "ok")]),
        (
            "wrong token",
            vec![],
            vec![("csrf", "00"), ("comment", "ok")],
        ),
        (
            "another session's token",
            vec![],
            vec![("csrf", ben.csrf.as_str()), ("comment", "ok")],
        ),
        (
            "cross-site origin",
            vec![("origin", "https://evil.example".to_owned())],
            vec![("csrf", ana.csrf.as_str()), ("comment", "ok")],
        ),
        (
            "null origin",
            vec![("origin", "null".to_owned())],
            vec![("csrf", ana.csrf.as_str()), ("comment", "ok")],
        ),
        (
            "cross-site fetch",
            vec![("sec-fetch-site", "cross-site".to_owned())],
            vec![("csrf", ana.csrf.as_str()), ("comment", "ok")],
        ),
    ];
    for (what, headers, form) in attempts {
        for verb in ["approve", "reject"] {
            let mut request = client()
                .post(server.url(&format!("/console/approvals/{id}/{verb}")))
                .header("cookie", &ana.cookie)
                .form_of(&form);
            for (k, v) in &headers {
                request = request.header(*k, v);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 403, "{what} ({verb})");
            assert_eq!(status_of(&server, &id), ApprovalStatus::Pending, "{what}");
        }
    }
    // Signing out needs the token too.
    let out = client()
        .post(server.url("/console/logout"))
        .header("cookie", &ana.cookie)
        .form_of(&[("csrf", "00")])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 403);

    // The right token, from the console's own origin: approved, by console:ana.
    let approved = client()
        .post(server.url(&path))
        .header("cookie", &ana.cookie)
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
        .form_of(&[
            ("csrf", ana.csrf.as_str()),
            ("comment", "fine for the incident"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 303);
    assert_eq!(
        approved.headers()["location"],
        format!("/console/approvals/{id}?done=approved")
    );
    let record = server.engine.approval(&id).unwrap().unwrap();
    assert_eq!(record.status, ApprovalStatus::Approved);
    assert_eq!(record.resolver.as_deref(), Some("console:ana"));
    assert_eq!(record.comment.as_deref(), Some("fine for the incident"));
    // A second answer is the store's refusal, shown on the page; nothing changes.
    let again = client()
        .post(server.url(&format!("/console/approvals/{id}/reject")))
        .header("cookie", &ben.cookie)
        .form_of(&[("csrf", ben.csrf.as_str()), ("comment", "no")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains("already approved"));
    assert_eq!(status_of(&server, &id), ApprovalStatus::Approved);
    let page = get(
        &server,
        &format!("/console/approvals/{id}"),
        Some(&ana.cookie),
    )
    .await;
    let html = page.text().await.unwrap();
    assert!(html.contains("console:ana") && !html.contains("id=\"approve-form\""));

    // Signing out clears the cookie.
    let out = client()
        .post(server.url("/console/logout"))
        .header("cookie", &ana.cookie)
        .form_of(&[("csrf", ana.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(
        set_cookie(&out, "bighub_console")
            .unwrap()
            .contains("Max-Age=0")
    );
    let unknown = get(&server, "/console/approvals/loc_nothing", Some(&ben.cookie)).await;
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn the_proxy_header_is_believed_from_a_trusted_address_only() {
    let trusting = console_server(Some("127.0.0.1")).await;
    let id = review(&trusting, "alice", "routine").await;
    let page = client()
        .get(trusting.url("/"))
        .header("x-forwarded-email", "ana@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let cookie = cookie_pair(&set_cookie(&page, "bighub_console").unwrap());
    let html = page.text().await.unwrap();
    assert!(html.contains("ana@example.com"));
    let csrf = csrf_of(&html);
    // A post from the proxy without the page's token changes nothing.
    let forged = client()
        .post(trusting.url(&format!("/console/approvals/{id}/reject")))
        .header("x-forwarded-email", "ana@example.com")
        .form_of(&[("comment", "no")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(status_of(&trusting, &id), ApprovalStatus::Pending);
    let rejected = client()
        .post(trusting.url(&format!("/console/approvals/{id}/reject")))
        .header("x-forwarded-email", "ana@example.com")
        .header("cookie", &cookie)
        .form_of(&[("csrf", csrf.as_str()), ("comment", "use the 2h grant")])
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 303);
    let record = trusting.engine.approval(&id).unwrap().unwrap();
    assert_eq!(
        (record.status, record.resolver.as_deref()),
        (ApprovalStatus::Rejected, Some("console:ana@example.com"))
    );

    // A server that trusts another address ignores the header from this one.
    let other = console_server(Some("10.9.9.9")).await;
    let id = review(&other, "alice", "routine").await;
    let page = client()
        .get(other.url("/"))
        .header("x-forwarded-email", "ana@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert!(set_cookie(&page, "bighub_console").is_none());
    let post = client()
        .post(other.url(&format!("/console/approvals/{id}/approve")))
        .header("x-forwarded-email", "ana@example.com")
        .form_of(&[("comment", "ok")])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 401);
    assert_eq!(status_of(&other, &id), ApprovalStatus::Pending);
}

#[tokio::test]
async fn model_controlled_text_is_escaped_and_secrets_never_shown() {
    let server = console_server(None).await;
    let ana = sign_in(&server, ANA).await;
    let script = "<script>alert(1)</script>";
    let img = "<img src=x onerror=alert(1)>";
    let id = review(&server, script, img).await;
    let pages = [
        "/".to_owned(),
        "/console/approvals/fragment".to_owned(),
        format!("/console/approvals/{id}"),
        "/console/decisions".to_owned(),
        format!("/console/decisions/{id}"),
    ];
    for path in &pages {
        let response = get(&server, path, Some(&ana.cookie)).await;
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(
            !html.contains(script) && !html.contains("<img"),
            "{path}: {html}"
        );
        assert!(!html.contains(SECRET_PIN), "{path}");
        if path.contains("approvals/loc") || path.contains("decisions/loc") {
            assert!(
                html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
                "{path}"
            );
            assert!(
                html.contains("&#60;img src=x onerror=alert(1)&#62;"),
                "{path}"
            );
            assert!(html.contains("[REDACTED]"), "{path}");
        }
    }
    // What the approval page explains.
    let html = get(
        &server,
        &format!("/console/approvals/{id}"),
        Some(&ana.cookie),
    )
    .await
    .text()
    .await
    .unwrap();
    for shown in [
        "privilege grants longer than 2h need a human review",
        "Grant scoped okta-admins access to",
        "excessive_duration",
        "Constrained",
        "duration &#60;= 2h",
        "run-42",
        "access-bot",
        "agent-a",
        "production",
    ] {
        assert!(html.contains(shown), "{shown}");
    }
    // The decision log filters.
    let review_only = get(
        &server,
        "/console/decisions?mode=review&tool=grant_access",
        Some(&ana.cookie),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(review_only.contains(&id));
    let none = get(
        &server,
        "/console/decisions?mode=blocked",
        Some(&ana.cookie),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(!none.contains(&id) && none.contains("No decision matches"));
    let bad = get(
        &server,
        "/console/decisions?from=%3Cb%3Eyesterday",
        Some(&ana.cookie),
    )
    .await;
    assert_eq!(bad.status(), 422);
    assert!(!bad.text().await.unwrap().contains("<b>"));
}

#[tokio::test]
async fn the_log_pages_newest_first() {
    let server = console_server(None).await;
    let ana = sign_in(&server, ANA).await;
    let mut ids = Vec::new();
    for i in 0..55 {
        ids.push(review(&server, &format!("user{i}"), "routine").await);
    }
    let first = get(
        &server,
        "/console/decisions?tool=grant_access",
        Some(&ana.cookie),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(first.contains(&ids[54]) && first.contains(&ids[5]) && !first.contains(&ids[4]));
    let at = first
        .find("id=\"older\"")
        .expect("a link to older decisions");
    let href_at = first[..at].rfind("href=\"").unwrap() + 6;
    let href = first[href_at..at]
        .trim_end_matches("\" ")
        .replace("&#38;", "&");
    assert!(
        href.starts_with("/console/decisions?tool=grant_access&after="),
        "{href}"
    );
    let older = get(&server, &href, Some(&ana.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(older.contains(&ids[4]) && older.contains(&ids[0]) && !older.contains(&ids[5]));
    assert!(!older.contains("id=\"older\""));
}

#[tokio::test]
async fn without_a_console_its_paths_are_not_found_and_the_api_is_unchanged() {
    let server = TestServer::start(LocalEngine::builder().in_memory().build().unwrap()).await;
    for path in [
        "/",
        "/console/login",
        "/console/decisions",
        "/console/events",
    ] {
        let response = get(&server, path, None).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"detail": "Not Found"}));
    }
    let id = review(&server, "alice", "routine").await;
    let (status, _) = common::post(
        &server,
        &format!("/approvals/{id}/resolve"),
        &json!({"resolution": "approved"}),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn events_name_each_new_approval_and_end_when_the_server_stops() {
    let server = console_server(None).await;
    let ana = sign_in(&server, ANA).await;
    let mut events = get(&server, "/console/events", Some(&ana.cookie)).await;
    assert_eq!(events.status(), 200);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    assert_eq!(
        events.headers()["content-security-policy"],
        CONTENT_SECURITY_POLICY_VALUE
    );
    let id = review(&server, "alice", "<b>note</b>").await;
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains(&id) {
        let chunk = tokio::time::timeout_at(deadline, events.chunk())
            .await
            .expect("an event within 10s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: approval.requested"), "{seen}");
    // Only the id and status travel: the page fetches what it shows, escaped.
    assert!(
        !seen.contains("note") && !seen.contains(SECRET_PIN),
        "{seen}"
    );
    // A stream open does not hold the graceful stop.
    tokio::time::timeout(std::time::Duration::from_secs(10), server.stop())
        .await
        .expect("the server stops with an event stream open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_reads_and_answers_on_postgres() {
    let Some(url) = common::database_url() else {
        return;
    };
    let engine = common::pg_engine(&url, &common::fresh_schema());
    let server = console_server_on(engine, None).await;
    let ana = sign_in(&server, ANA).await;
    let id = review(&server, "alice", "<script>alert(1)</script>").await;
    for path in [
        "/".to_owned(),
        format!("/console/approvals/{id}"),
        "/console/decisions?mode=review".to_owned(),
        format!("/console/decisions/{id}"),
    ] {
        let response = get(&server, &path, Some(&ana.cookie)).await;
        assert_eq!(response.status(), 200, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(&id), "{path}");
        assert!(
            !html.contains("<script>alert") && !html.contains(SECRET_PIN),
            "{path}"
        );
    }
    let answer = client()
        .post(server.url(&format!("/console/approvals/{id}/reject")))
        .header("cookie", &ana.cookie)
        .form_of(&[("csrf", ana.csrf.as_str()), ("comment", "use the 2h grant")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let record = server.engine.approval(&id).unwrap().unwrap();
    assert_eq!(
        (
            record.status,
            record.resolver.as_deref(),
            record.comment.as_deref()
        ),
        (
            ApprovalStatus::Rejected,
            Some("console:ana"),
            Some("use the 2h grant")
        )
    );
}
