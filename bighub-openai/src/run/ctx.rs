//! A run in progress ([`RunCtx`]) beside its frozen form, the paused [`RunState`]: the one
//! place either becomes the other ([`RunCtx::freeze`], [`RunState::thaw`]).
//!
//! This module owns what the loop carries from one round to the next and the per-run
//! request settings. It asks no model, decides nothing and runs nothing.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::approval::{ApprovalLoop, ApprovalPolicy};
use super::conversation::Conversation;
use super::model_response::{LlmResponse, McpToolList};
use super::recorded::RecordedCall;
use super::runner::RunIds;
use super::state::{RUN_STATE_VERSION, RunState};
use crate::{Error, ExecutionEvent};

/// The secret argument names of the tools that have any, by tool.
pub(crate) type SecretArgs = BTreeMap<String, Vec<String>>;

/// The per-run request settings.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    pub(crate) model: String,
    pub(crate) instructions: Option<String>,
    pub(crate) temperature: Option<f64>,
    pub(crate) extra: Map<String, Value>,
}

const MANAGED_FIELDS: [&str; 6] = [
    "model",
    "input",
    "tools",
    "store",
    "previous_response_id",
    "stream",
];

impl RunSettings {
    /// Refuses extra fields that the loop manages itself.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if let Some(field) = self
            .extra
            .keys()
            .find(|k| MANAGED_FIELDS.contains(&k.as_str()))
        {
            return Err(Error::Config(format!(
                "`{field}` is managed by the agent and cannot be set as an extra request field"
            )));
        }
        Ok(())
    }
}

/// A run in progress: what the loop carries from one round to the next. A paused run's
/// [`RunState`] is this, frozen.
pub(crate) struct RunCtx {
    pub(crate) settings: RunSettings,
    pub(crate) ids: RunIds,
    pub(crate) conversation: Conversation,
    /// Tool rounds played so far.
    pub(crate) round: u32,
    pub(crate) events: Vec<ExecutionEvent>,
    pub(crate) approvals: Vec<ApprovalLoop>,
    pub(crate) policy: ApprovalPolicy,
    /// The latest round's calls, in the model's order: those a paused run waits on, and
    /// the hosted MCP approvals the next response's `mcp_call`s may use.
    pub(crate) calls: Vec<RecordedCall>,
    /// The `mcp_list_tools` items of the run's responses.
    pub(crate) mcp_tool_lists: Vec<McpToolList>,
    /// The `mcp_approval_request` ids whose approval an `mcp_call` already used.
    pub(crate) used_mcp_approvals: Vec<String>,
}

impl RunCtx {
    /// A fresh run of `input`; `store` says whether the API stores its responses.
    pub(crate) fn new(
        input: Vec<Value>,
        settings: RunSettings,
        policy: ApprovalPolicy,
        store: bool,
    ) -> Result<Self, Error> {
        settings.check()?;
        Ok(Self {
            ids: RunIds::new(&settings.model),
            settings,
            conversation: Conversation::new(input, store),
            round: 0,
            events: Vec::new(),
            approvals: Vec::new(),
            policy,
            calls: Vec::new(),
            mcp_tool_lists: Vec::new(),
            used_mcp_approvals: Vec::new(),
        })
    }

    /// Whether a call of the latest round waits for an approval.
    pub(crate) fn is_paused(&self) -> bool {
        self.calls.iter().any(|c| c.pending)
    }

    /// The run, paused at its latest round, which `response` proposed.
    pub(crate) fn freeze(&self, response: &LlmResponse, secret_args: SecretArgs) -> RunState {
        RunState {
            version: RUN_STATE_VERSION,
            trace_id: self.ids.trace_id.clone(),
            model: self.settings.model.clone(),
            instructions: self.settings.instructions.clone(),
            temperature: self.settings.temperature,
            extra: self.settings.extra.clone(),
            round: self.round,
            conversation: self.conversation.clone(),
            response: response.clone(),
            calls: self.calls.clone(),
            events: self.events.clone(),
            approval_loops: self.approvals.clone(),
            secret_args,
            mcp_tool_lists: self.mcp_tool_lists.clone(),
            used_mcp_approvals: self.used_mcp_approvals.clone(),
            run_id: None,
        }
    }
}

impl RunState {
    /// The run this state froze, going on under `policy`, with the response that proposed
    /// its paused round and the secret arguments it was paused with.
    ///
    /// Each call's kind is read from the model's own item in the conversation: the state
    /// stores it there once, and a state may have been edited, so that item is what a
    /// resumed call is bound to.
    pub(crate) fn thaw(
        self,
        policy: ApprovalPolicy,
    ) -> Result<(RunCtx, LlmResponse, SecretArgs), Error> {
        self.check_version()?;
        let Self {
            trace_id,
            model,
            instructions,
            temperature,
            extra,
            round,
            conversation,
            response,
            mut calls,
            events,
            approval_loops,
            secret_args,
            mcp_tool_lists,
            used_mcp_approvals,
            ..
        } = self;
        let settings = RunSettings {
            model,
            instructions,
            temperature,
            extra,
        };
        settings.check()?;
        for recorded in &mut calls {
            if let Some(own) = conversation.call(&recorded.call.call_id) {
                recorded.call.kind = own.kind;
            }
        }
        let ctx = RunCtx {
            ids: RunIds {
                trace_id,
                model: settings.model.clone(),
            },
            settings,
            conversation,
            round,
            events,
            approvals: approval_loops,
            policy,
            calls,
            mcp_tool_lists,
            used_mcp_approvals,
        };
        Ok((ctx, response, secret_args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::call::CallKind;
    use serde_json::json;

    fn event(tool: &str, call_id: &str, status: &str) -> Value {
        json!({
            "tool": tool, "call_id": call_id, "status": status, "decision": null,
            "arguments": {"service": "api"}, "output": null, "error": null,
            "event_id": format!("ev_{call_id}"), "trace_id": "trace_1", "request_id": null,
            "seq": 0, "recommendation": null, "risk_score": null, "enforcement_mode": null
        })
    }

    /// A paused run as version 2 of the format writes it: a hosted MCP approval request
    /// and a function call.
    fn saved_state() -> Value {
        json!({
            "version": 2,
            "trace_id": "trace_1",
            "model": "gpt-test",
            "round": 1,
            "conversation": {
                "store": false,
                "items": [
                    {"role": "user", "content": "deploy"},
                    {"type": "mcp_approval_request", "id": "mcpr_1", "server_label": "ops",
                     "name": "deploy", "arguments": "{\"service\":\"api\"}"},
                    {"type": "function_call", "call_id": "call_1", "name": "restart",
                     "arguments": "{\"service\":\"api\"}"}
                ],
                "fresh": [],
                "previous_response_id": "resp_1"
            },
            "response": {"response_id": "resp_1", "output_text": "", "output": []},
            "calls": [
                {"call_id": "mcpr_1", "tool": "deploy", "raw_arguments": "{\"service\":\"api\"}",
                 "arguments_sha256": "d1", "event": event("deploy", "mcpr_1", "approved"),
                 "pending": false},
                {"call_id": "call_1", "tool": "restart", "raw_arguments": "{\"service\":\"api\"}",
                 "arguments_sha256": "d2", "event": event("restart", "call_1", "approval_required"),
                 "pending": true, "decided_hints": {"mcp": "fingerprint"}}
            ],
            "events": [event("deploy", "mcpr_1", "approved")],
            "used_mcp_approvals": ["mcpr_0"]
        })
    }

    #[test]
    fn a_saved_state_reads_back_unchanged_and_thaws_with_each_call_kind() {
        let saved = saved_state();
        let state = RunState::from_json(&saved.to_string()).unwrap();
        assert_eq!(serde_json::to_value(&state).unwrap(), saved);

        let (ctx, response, secret_args) = state.thaw(ApprovalPolicy::Report).unwrap();
        assert_eq!(response.response_id, "resp_1");
        assert!(secret_args.is_empty());
        assert!(ctx.is_paused());
        assert_eq!(
            ctx.calls[0].call.kind,
            CallKind::HostedMcpApproval {
                server_label: "ops".to_owned()
            }
        );
        assert_eq!(ctx.calls[1].call.kind, CallKind::Function);
        assert_eq!(ctx.calls[1].digest, "d2");

        let state = ctx.freeze(&response, secret_args);
        assert_eq!(serde_json::to_value(&state).unwrap(), saved);
    }
}
