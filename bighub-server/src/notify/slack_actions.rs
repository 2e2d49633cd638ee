//! Slack interactivity: the Approve and Reject buttons of a notification, clicked in Slack,
//! answer the approval (`POST /slack/actions`).
//!
//! This module owns [`SlackActions`] (the signing secret and which Slack users may answer,
//! as which operator) and the handling of one request from Slack: its signature and age
//! are checked first (`X-Slack-Signature`, `X-Slack-Request-Timestamp`; refused with 401
//! and nothing changed), then the `block_actions` payload is read, the Slack user is mapped
//! to an operator, and the answer is applied through [`Backend::resolve_approval`] as the
//! caller `slack:<operator>`, exactly as `POST /approvals/{id}/resolve` would: the store
//! records the resolver, and the server announces the answer.
//!
//! Whatever else happens, Slack gets 200 with a short message for the person who clicked
//! (`response_type: ephemeral`): a user not on the list is told they may not answer (and
//! nothing changes), a second click is told the approval was already answered. When the
//! payload's `response_url` is Slack's (`https://hooks.slack.com/…`), the message is also
//! posted there, and a successful answer replaces the buttons of the original message.
//! The route itself (its 404 when no signing secret is configured, the body limit, no API
//! key) is `routes.rs`'s.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use bighub_core::ApprovalResolution;
use bighub_core::approval::ApprovalRefusal;
use serde_json::{Value, json};

use super::slack_text::{FIELD_CHARS, escape};
use super::{NotifyError, SigningSecret, signature};
use crate::backend::{Backend, BackendError, Caller};

/// The header carrying Slack's signature, `v0=<hex>`.
pub const SLACK_SIGNATURE_HEADER: &str = "x-slack-signature";
/// The header carrying the Unix time (seconds) Slack signed the request at.
pub const SLACK_TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// How far a request's timestamp may be from this server's clock, either way.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Who may answer approvals from Slack, and the secret Slack signs its requests with.
///
/// ```
/// use bighub_server::notify::{SigningSecret, SlackActions};
///
/// let secret = SigningSecret::new("8f742231b10e8888abcd99yyyzzz85a5").unwrap();
/// let mut slack = SlackActions::new(secret);
/// slack.allow("U0123ABC=alice").unwrap();
/// assert_eq!(slack.operator("U0123ABC"), Some("alice"));
/// assert_eq!(slack.operator("U999"), None);
/// assert!(slack.allow("alice").is_err());
/// assert!(!format!("{slack:?}").contains("8f742231"));
/// ```
#[derive(Clone)]
pub struct SlackActions {
    secret: SigningSecret,
    operators: BTreeMap<String, String>,
}

impl fmt::Debug for SlackActions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackActions")
            .field("secret", &self.secret)
            .field("operators", &self.operators)
            .finish()
    }
}

impl SlackActions {
    /// Requests signed with `signing_secret` (the Slack app's *Signing Secret*), answered
    /// by nobody until users are allowed.
    pub fn new(signing_secret: SigningSecret) -> Self {
        Self {
            secret: signing_secret,
            operators: BTreeMap::new(),
        }
    }

    /// Allows the Slack user of an entry `USERID=operator` (e.g. `U0123ABC=alice`).
    ///
    /// # Errors
    ///
    /// As [`allow_user`](Self::allow_user), or an entry without `=`.
    pub fn allow(&mut self, entry: &str) -> Result<(), NotifyError> {
        let Some((user, operator)) = entry.split_once('=') else {
            return Err(NotifyError::SlackUser {
                entry: entry.escape_debug().to_string(),
                reason: "expected USERID=operator, e.g. U0123ABC=alice".to_owned(),
            });
        };
        self.allow_user(user.trim(), operator.trim())
    }

    /// Allows the Slack user `user_id` to answer approvals as `operator` (recorded as the
    /// resolver `slack:<operator>`).
    ///
    /// # Errors
    ///
    /// A user id other than letters and digits, an operator name other than letters,
    /// digits, `-`, `_`, `.` and `@`, or a user listed twice.
    pub fn allow_user(&mut self, user_id: &str, operator: &str) -> Result<(), NotifyError> {
        let refuse = |reason: &str| NotifyError::SlackUser {
            entry: format!("{user_id}={operator}").escape_debug().to_string(),
            reason: reason.to_owned(),
        };
        if user_id.is_empty() || !user_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(refuse(
                "a Slack user id is letters and digits, e.g. U0123ABC",
            ));
        }
        if operator.is_empty()
            || operator.len() > 64
            || !operator
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
        {
            return Err(refuse(
                "an operator name is 1 to 64 letters, digits, -, _, . or @",
            ));
        }
        if self.operators.contains_key(user_id) {
            return Err(refuse("this Slack user is listed twice"));
        }
        self.operators
            .insert(user_id.to_owned(), operator.to_owned());
        Ok(())
    }

    /// The operator the Slack user `user_id` answers as, if allowed.
    pub fn operator(&self, user_id: &str) -> Option<&str> {
        self.operators.get(user_id).map(String::as_str)
    }
}

/// What Slack is answered.
pub(crate) struct SlackAnswer {
    pub(crate) status: StatusCode,
    /// The JSON body; none for a request acknowledged without a message.
    pub(crate) body: Option<Value>,
}

impl SlackAnswer {
    fn refused(detail: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            body: Some(json!({"detail": detail})),
        }
    }

    fn message(text: String) -> Self {
        Self {
            status: StatusCode::OK,
            body: Some(ephemeral(text)),
        }
    }
}

fn ephemeral(text: String) -> Value {
    json!({"response_type": "ephemeral", "replace_original": false, "text": text})
}

/// A button click read from a `block_actions` payload.
struct Click {
    user_id: String,
    approve: bool,
    request_id: String,
    response_url: Option<String>,
}

/// Answers one request to `/slack/actions`.
pub(crate) async fn answer(
    backend: Arc<dyn Backend>,
    slack: Arc<SlackActions>,
    headers: HeaderMap,
    body: Bytes,
) -> SlackAnswer {
    if let Err(why) = verify(&slack, &headers, &body, now()) {
        tracing::warn!(problem = why, "refused a request to /slack/actions");
        return SlackAnswer::refused("invalid Slack signature");
    }
    let click = match read_click(&body) {
        Ok(Some(click)) => click,
        // Another interaction (the console link's button, a type this server does not
        // handle): acknowledged, nothing to do.
        Ok(None) => {
            return SlackAnswer {
                status: StatusCode::OK,
                body: None,
            };
        }
        Err(why) => {
            tracing::info!(problem = why, "a signed Slack request was not understood");
            return SlackAnswer {
                status: StatusCode::BAD_REQUEST,
                body: Some(json!({"detail": why})),
            };
        }
    };
    let Some(operator) = slack.operator(&click.user_id) else {
        tracing::warn!(slack_user = ?click.user_id, request_id = ?click.request_id, "a Slack user not allowed to answer approvals clicked a button; nothing changed");
        let text = format!(
            "You are not allowed to answer approvals from Slack (user {}); nothing changed.",
            escape(&click.user_id, FIELD_CHARS)
        );
        follow_up(click.response_url.as_deref(), ephemeral(text.clone()));
        return SlackAnswer::message(text);
    };
    let caller = Caller {
        key_name: format!("slack:{operator}"),
        idempotency_key: None,
    };
    let (resolution, verb) = if click.approve {
        let mut r = ApprovalResolution::approved(format!("approved in Slack by {operator}"));
        r.resolved_by = Some(operator.to_owned());
        (r, "Approved")
    } else {
        let mut r = ApprovalResolution::rejected(format!("rejected in Slack by {operator}"));
        r.resolved_by = Some(operator.to_owned());
        (r, "Rejected")
    };
    let request = escape(&click.request_id, FIELD_CHARS);
    let answered = backend
        .resolve_approval(click.request_id.clone(), resolution, &caller)
        .await;
    let (text, update) = match &answered {
        Ok(record) => {
            tracing::info!(caller = ?caller.key_name, request_id = ?click.request_id, "approval resolved from Slack");
            let text = format!(
                "{verb} by {operator}: `{}` on `{}` (request {request}).",
                escape(record["tool"].as_str().unwrap_or("-"), FIELD_CHARS),
                escape(record["target"].as_str().unwrap_or("-"), FIELD_CHARS),
            );
            // The original message loses its buttons: it now says who answered.
            let update = json!({"replace_original": true, "text": text});
            (text, update)
        }
        Err(e) => {
            let text = refusal_text(e, &request);
            (text.clone(), ephemeral(text))
        }
    };
    if let Err(e) = &answered {
        tracing::info!(caller = ?caller.key_name, request_id = ?click.request_id, problem = ?e.to_string(), "an answer from Slack changed nothing");
    }
    follow_up(click.response_url.as_deref(), update);
    SlackAnswer::message(text)
}

/// What the person who clicked is told when their answer changed nothing; `request` is
/// the request id, escaped.
fn refusal_text(e: &BackendError, request: &str) -> String {
    match e {
        BackendError::Approval(refused) => match &refused.refusal {
            ApprovalRefusal::AlreadyResolved { resolution } => format!(
                "This approval (request {request}) was already {}; nothing changed.",
                escape(resolution, FIELD_CHARS)
            ),
            ApprovalRefusal::NotFound => {
                format!("No approval of request {request} exists here; nothing changed.")
            }
            other => format!(
                "This approval (request {request}) cannot be answered ({}); nothing changed.",
                escape(other.reason(), FIELD_CHARS)
            ),
        },
        _ => format!("The answer to request {request} could not be recorded; try again."),
    }
}

/// Whether the request is Slack's, signed within the allowed skew of `now`.
fn verify(
    slack: &SlackActions,
    headers: &HeaderMap,
    body: &[u8],
    now: u64,
) -> Result<(), &'static str> {
    let timestamp = headers
        .get(SLACK_TIMESTAMP_HEADER)
        .ok_or("no X-Slack-Request-Timestamp")?
        .as_bytes();
    let signature = headers
        .get(SLACK_SIGNATURE_HEADER)
        .ok_or("no X-Slack-Signature")?
        .as_bytes();
    let sent = std::str::from_utf8(timestamp)
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or("an unreadable X-Slack-Request-Timestamp")?;
    if sent.abs_diff(now) > MAX_CLOCK_SKEW.as_secs() {
        return Err("a timestamp more than 5 minutes from this server's clock");
    }
    if !signature::slack_signature_matches(&slack.secret, timestamp, body, signature) {
        return Err("a signature that does not match");
    }
    Ok(())
}

/// The click in a form body `payload=<JSON>`; `None` when it is not an approve or reject
/// button of a `block_actions` payload.
fn read_click(body: &[u8]) -> Result<Option<Click>, &'static str> {
    let form = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8")?;
    let payload = crate::routes::query_pairs(form)
        .into_iter()
        .find_map(|(name, value)| (name == "payload").then_some(value))
        .ok_or("no payload field in the form body")?;
    let payload: Value = serde_json::from_str(&payload).map_err(|_| "the payload is not JSON")?;
    if payload["type"] != "block_actions" {
        return Ok(None);
    }
    let action = &payload["actions"][0];
    let approve = match action["action_id"].as_str() {
        Some("approve") => true,
        Some("reject") => false,
        _ => return Ok(None),
    };
    let user_id = payload["user"]["id"]
        .as_str()
        .filter(|u| !u.is_empty())
        .ok_or("the payload names no user")?;
    let request_id = action["value"]
        .as_str()
        .filter(|v| !v.is_empty() && v.len() <= 1024)
        .ok_or("the button carries no request id")?;
    Ok(Some(Click {
        user_id: user_id.to_owned(),
        approve,
        request_id: request_id.to_owned(),
        response_url: payload["response_url"].as_str().map(str::to_owned),
    }))
}

/// Posts `message` to `response_url` in the background, when it is Slack's own.
fn follow_up(response_url: Option<&str>, message: Value) {
    let Some(url) = response_url.and_then(|u| reqwest::Url::parse(u).ok()) else {
        return;
    };
    if url.scheme() != "https" || url.host_str() != Some("hooks.slack.com") {
        return;
    }
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "cannot answer Slack's response_url");
                return;
            }
        };
        match client.post(url).json(&message).send().await {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => {
                tracing::warn!(
                    status = r.status().as_u16(),
                    "Slack's response_url refused the message"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), "cannot answer Slack's response_url");
            }
        }
    });
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(payload: &Value) -> Vec<u8> {
        let text = payload.to_string();
        let mut out = String::from("payload=");
        for b in text.bytes() {
            if b.is_ascii_alphanumeric() {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out.into_bytes()
    }

    #[test]
    fn clicks_are_read_from_block_actions_only() {
        let click = |action_id: &str| {
            json!({"type": "block_actions", "user": {"id": "U1", "username": "a"},
                   "actions": [{"action_id": action_id, "value": "req-1"}]})
        };
        let c = read_click(&form(&click("approve"))).unwrap().unwrap();
        assert!(c.approve && c.user_id == "U1" && c.request_id == "req-1");
        assert!(
            !read_click(&form(&click("reject")))
                .unwrap()
                .unwrap()
                .approve
        );
        assert!(read_click(&form(&click("open_console"))).unwrap().is_none());
        assert!(
            read_click(&form(&json!({"type": "view_submission"})))
                .unwrap()
                .is_none()
        );
        assert!(read_click(b"payload=not-json").is_err());
        assert!(read_click(b"other=1").is_err());
    }

    #[test]
    fn operators_are_checked() {
        let mut s = SlackActions::new(SigningSecret::new("0123456789abcdef").unwrap());
        s.allow(" U1 = alice ").unwrap();
        assert_eq!(s.operator("U1"), Some("alice"));
        assert!(s.allow("U1=bob").is_err());
        assert!(s.allow("U2=bob smith").is_err());
        assert!(s.allow("U-2=bob").is_err());
    }
}
