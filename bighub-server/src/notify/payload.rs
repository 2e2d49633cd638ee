//! The body of one approval notification: the event as JSON for any receiver, and the same
//! event as a Slack incoming-webhook message (`text` and `blocks`) in the same object.
//!
//! This module owns what a notification says. Everything in the Slack fields that a model
//! or a client wrote (tool, action, target, reason, arguments, who answered and why) is
//! escaped (`slack_text.rs`); the plain JSON fields carry the values as the store holds
//! them, arguments already redacted. It does not sign or send (`signature.rs`,
//! `delivery.rs`).

use bighub_local::storage::ApprovalRecord;
use serde_json::{Value, json};

use super::slack_text::{ARGUMENTS_CHARS, FIELD_CHARS, escape};
use crate::approval_events::{ApprovalEvent, ApprovalEventKind};

/// The JSON body announcing `event`, as delivery `id`, linking to `link` when known.
pub(crate) fn body(event: &ApprovalEvent, id: &str, link: Option<&str>) -> Value {
    let a = &event.approval;
    let mut body = json!({
        "type": event.kind.as_str(),
        "id": id,
        "request_id": a.request_id,
        "tool": a.tool,
        "action": a.action,
        "target": a.target,
        "status": a.status,
        "reason": a.reason,
        "arguments": a.arguments,
        "arguments_sha256": a.arguments_sha256,
        "link": link,
        "created_at": a.created_at,
    });
    if event.kind == ApprovalEventKind::Answered {
        body["resolver"] = json!(a.resolver);
        body["comment"] = json!(a.comment);
        body["resolved_at"] = json!(a.resolved_at);
    }
    body["text"] = json!(summary(event.kind, a));
    body["blocks"] = blocks(event.kind, a, link);
    body
}

/// One line saying what happened, every value escaped.
fn summary(kind: ApprovalEventKind, a: &ApprovalRecord) -> String {
    let what = format!(
        "`{}` on `{}`",
        escape(&a.tool, FIELD_CHARS),
        escape(
            if a.target.is_empty() { "-" } else { &a.target },
            FIELD_CHARS
        )
    );
    match kind {
        ApprovalEventKind::Requested => format!("Approval requested: {what}"),
        ApprovalEventKind::Answered => format!(
            "Approval {}: {what} by {}",
            escape(a.status.as_str(), FIELD_CHARS),
            escape(a.resolver.as_deref().unwrap_or("unknown"), FIELD_CHARS)
        ),
        ApprovalEventKind::Expired => format!("Approval expired: {what}"),
    }
}

/// The Block Kit blocks: the summary with the approval's fields, its arguments, and the
/// buttons (approve and reject while it waits; the console's page when linked).
fn blocks(kind: ApprovalEventKind, a: &ApprovalRecord, link: Option<&str>) -> Value {
    let field = |name: &str, value: &str| json!({"type": "mrkdwn", "text": format!("*{name}*\n{}", escape(value, FIELD_CHARS))});
    let mut fields = vec![
        field("Tool", &a.tool),
        field("Action", &a.action),
        field("Target", if a.target.is_empty() { "-" } else { &a.target }),
        field("Status", a.status.as_str()),
        field("Request", &a.request_id),
    ];
    if let Some(reason) = &a.reason {
        fields.push(field("Reason", reason));
    }
    if kind == ApprovalEventKind::Answered {
        fields.push(field(
            "Answered by",
            a.resolver.as_deref().unwrap_or("unknown"),
        ));
        if let Some(comment) = &a.comment {
            fields.push(field("Comment", comment));
        }
    }
    let mut blocks = vec![json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": summary(kind, a)},
        "fields": fields,
    })];
    if let Some(arguments) = &a.arguments {
        let text = serde_json::to_string(arguments).unwrap_or_default();
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn",
                     "text": format!("*Arguments*\n```{}```", escape(&text, ARGUMENTS_CHARS))},
        }));
    }
    let mut buttons = Vec::new();
    if kind == ApprovalEventKind::Requested {
        buttons.push(json!({
            "type": "button", "action_id": "approve", "style": "primary",
            "text": {"type": "plain_text", "text": "Approve"},
            "value": a.request_id,
        }));
        buttons.push(json!({
            "type": "button", "action_id": "reject", "style": "danger",
            "text": {"type": "plain_text", "text": "Reject"},
            "value": a.request_id,
        }));
    }
    if let Some(link) = link {
        buttons.push(json!({
            "type": "button", "action_id": "open_console",
            "text": {"type": "plain_text", "text": "Open in console"},
            "url": link,
        }));
    }
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "block_id": "bighub_approval", "elements": buttons}));
    }
    Value::Array(blocks)
}
