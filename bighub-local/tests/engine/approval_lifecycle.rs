//! The approval lifecycle on both stores: expiry (on a clock the test moves), separation of
//! duties, two approvers, and approving a changed call (the better action, or edited
//! arguments the policy decides first).
//!
//! Every case runs on SQLite and, with `BIGHUB_TEST_DATABASE_URL`, on PostgreSQL (a schema
//! of its own per test; without the variable the PostgreSQL half says it was skipped,
//! except under `CI=true`, where it fails).

use std::time::Duration;

use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::{ApprovalResolution, ProposedAction, RiskLevel};
use bighub_local::clock::Clock;
use bighub_local::storage::ApprovalStatus;
use bighub_local::{AnswerOrigin, LocalEngine, LocalEngineBuilder, LocalError, RequestOrigin};
use serde_json::{Value, json};

/// 2026-12-24T00:00:00Z.
const CHRISTMAS_EVE_MS: i64 = 1_798_070_400_000;

/// A policy that blocks grants to `domain-admins` and asks two approvers for deploys.
const EXTRA_POLICY: &str = r#"
package bighub.ext
import rego.v1

findings contains {"rule": "no_domain_admins", "mode": "blocked",
                   "reason": "Nobody is granted domain-admins by an agent."} if {
    input.action.arguments.group == "domain-admins"
}

findings contains {"rule": "two_person_deploys", "mode": "review",
                   "reason": "Production deploys need two approvers.",
                   "approval": {"required_approvals": 2, "ttl_seconds": 3600}} if {
    input.action.name == "deploy_service"
}
"#;

/// The stores every case runs on: SQLite in memory, then PostgreSQL when configured (the
/// PostgreSQL store is a feature of the crate; the workspace's test run has it on).
fn builders() -> Vec<(&'static str, LocalEngineBuilder)> {
    #[allow(unused_mut)]
    let mut out = vec![("sqlite", LocalEngine::builder().in_memory())];
    #[cfg(feature = "postgres")]
    if let Some(url) = crate::postgres_store::database_url() {
        out.push((
            "postgres",
            LocalEngine::builder()
                .database_url(url)
                .database_schema(crate::postgres_store::fresh_schema()),
        ));
    }
    out
}

fn grant(duration: &str) -> ProposedAction {
    ProposedAction::new("grant_access")
        .arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": duration}))
        .system("okta")
        .risk(RiskLevel::High)
        .environment("production")
        .target("okta-admins")
        .actor("ops-agent")
}

fn deploy() -> ProposedAction {
    ProposedAction::new("deploy_service")
        .arguments(json!({"service": "payments-api", "version": "v42"}))
        .system("kubernetes")
        .risk(RiskLevel::High)
        .environment("production")
        .target("payments-api")
}

/// Decides `action` as the API key `agent-a` would through a decision server.
fn review_as_agent(engine: &LocalEngine, action: &ProposedAction) -> String {
    let origin = RequestOrigin {
        caller: Some("agent-a"),
        idempotency_key: None,
    };
    let d = engine.decide_as(action, origin).unwrap();
    assert_eq!(d.raw["mode"], "review", "{}", d.raw["reason"]);
    d.request_id.unwrap()
}

fn refusal(err: LocalError) -> ApprovalRefusal {
    match err {
        LocalError::Approval(ApprovalRefused { refusal, .. }) => refusal,
        other => panic!("expected an approval refusal, got {other:?}"),
    }
}

fn origin(resolver: &str) -> AnswerOrigin<'_> {
    AnswerOrigin {
        resolver,
        separate_approver: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_approval_expires_and_is_never_a_rejection() {
    for (store, builder) in builders() {
        let clock = Clock::manual(CHRISTMAS_EVE_MS);
        let engine = builder.clock(clock.clone()).build().unwrap();
        let swept = review_as_agent(&engine, &grant("48h"));
        let answered = review_as_agent(&engine, &grant("72h"));
        let record = engine.approval(&swept).unwrap().unwrap();
        assert_eq!(
            record.expires_at.as_deref(),
            Some("2026-12-25T00:00:00.000Z"),
            "{store}: 24h by default"
        );
        assert_eq!(record.requester.as_deref(), Some("agent-a"));
        assert_eq!(record.actor.as_deref(), Some("ops-agent"));
        let decided = engine.recent_decisions(1).unwrap();
        assert_eq!(decided.len(), 1);

        clock.advance(Duration::from_secs(23 * 3600));
        assert_eq!(engine.pending_approval_count().unwrap(), 2, "{store}");
        clock.advance(Duration::from_secs(3600));
        assert_eq!(engine.pending_approval_count().unwrap(), 0, "{store}");
        assert!(engine.pending_approvals().unwrap().is_empty(), "{store}");

        // Answering an expired approval marks it expired and refuses, whoever answers.
        let err = engine
            .resolve_as(
                &answered,
                &ApprovalResolution::approved(None),
                "console:bob",
            )
            .unwrap_err();
        assert_eq!(refusal(err), ApprovalRefusal::Expired, "{store}");
        let record = engine.approval(&answered).unwrap().unwrap();
        assert_eq!(record.status, ApprovalStatus::Expired, "{store}");
        assert_eq!(record.resolver, None, "{store}: nobody rejected it");

        // The sweep marks the other one and answers it once.
        let expired = engine.expire_due_approvals(100).unwrap();
        assert_eq!(expired.len(), 1, "{store}");
        assert_eq!(expired[0].request_id, swept);
        assert_eq!(expired[0].status, ApprovalStatus::Expired);
        assert!(engine.expire_due_approvals(100).unwrap().is_empty());

        // An expired approval cannot be claimed either.
        let err = engine.claim(&swept, &grant("48h")).unwrap_err();
        assert_eq!(refusal(err), ApprovalRefusal::Expired, "{store}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_shortens_the_time_and_asks_for_two_distinct_approvers() {
    for (store, builder) in builders() {
        let clock = Clock::manual(CHRISTMAS_EVE_MS);
        let engine = builder
            .clock(clock.clone())
            .policy("extra.rego", EXTRA_POLICY)
            .build()
            .unwrap();
        let id = review_as_agent(&engine, &deploy());
        let decision = &engine.recent_decisions(1).unwrap()[0];
        assert_eq!(decision.request_id, id);
        let record = engine.approval(&id).unwrap().unwrap();
        assert_eq!(record.required_approvals, 2, "{store}");
        assert_eq!(
            record.expires_at.as_deref(),
            Some("2026-12-24T01:00:00.000Z"),
            "{store}: the finding's hour"
        );

        let first = engine
            .resolve_as(
                &id,
                &ApprovalResolution::approved(Some("lgtm".into())),
                "console:alice",
            )
            .unwrap();
        assert_eq!(first.status, ApprovalStatus::Pending, "{store}: one of two");
        assert_eq!(first.approvers.len(), 1);
        assert_eq!(first.approvers[0].name, "console:alice");
        assert_eq!(first.approvers[0].comment.as_deref(), Some("lgtm"));
        // The same person again, through another door, does not count twice.
        let err = engine
            .resolve_as(&id, &ApprovalResolution::approved(None), "slack:Alice")
            .unwrap_err();
        assert!(
            matches!(refusal(err), ApprovalRefusal::AlreadyApprovedBy { .. }),
            "{store}"
        );
        assert!(
            engine.claim(&id, &deploy()).is_err(),
            "{store}: not yet approved"
        );

        let second = engine
            .resolve_as(&id, &ApprovalResolution::approved(None), "operator:bob")
            .unwrap();
        assert_eq!(second.status, ApprovalStatus::Approved, "{store}");
        assert_eq!(second.approvers.len(), 2);
        assert_eq!(second.resolver.as_deref(), Some("operator:bob"));
        let used = engine.claim(&id, &deploy()).unwrap();
        assert_eq!(used.status, ApprovalStatus::Used, "{store}");

        // One rejection is enough, and anyone may give it.
        let other = review_as_agent(&engine, &deploy());
        let rejected = engine
            .resolve_as(
                &other,
                &ApprovalResolution::rejected(Some("not today".into())),
                "agent-a",
            )
            .unwrap();
        assert_eq!(rejected.status, ApprovalStatus::Rejected, "{store}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_requester_cannot_approve_where_a_separate_approver_is_required() {
    for (store, builder) in builders() {
        let separate = json!({"separate_approver_in_production": ["privilege_escalation"]});
        let engine = builder.config(separate).build().unwrap();
        let id = review_as_agent(&engine, &grant("48h"));
        let decision = &engine.recent_decisions(1).unwrap()[0];
        assert_eq!(decision.request_id, id);
        assert!(engine.approval(&id).unwrap().unwrap().separate_approver);

        // The agent's own key, the actor it acts as, and an in-process answer are all the
        // requester.
        for who in ["agent-a", "console:ops-agent"] {
            let err = engine
                .resolve_as(&id, &ApprovalResolution::approved(None), who)
                .unwrap_err();
            assert!(
                matches!(
                    refusal(err),
                    ApprovalRefusal::SeparateApproverRequired { .. }
                ),
                "{store}: {who}"
            );
        }
        let in_process = review_in_process(&engine);
        let err = engine
            .resolve(&in_process, &ApprovalResolution::approved(None))
            .unwrap_err();
        assert!(
            matches!(
                refusal(err),
                ApprovalRefusal::SeparateApproverRequired { .. }
            ),
            "{store}"
        );
        assert_eq!(
            engine.approval(&id).unwrap().unwrap().status,
            ApprovalStatus::Pending,
            "{store}: a refused answer changes nothing"
        );
        let approved = engine
            .answer(
                &id,
                &ApprovalResolution::approved(None),
                origin("console:bob"),
            )
            .await
            .unwrap();
        assert_eq!(approved.status, ApprovalStatus::Approved, "{store}");
        assert_eq!(approved.resolver.as_deref(), Some("console:bob"));
    }
}

fn review_in_process(engine: &LocalEngine) -> String {
    let d = engine.decide(&grant("48h")).unwrap();
    d.request_id.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_requester_still_approves_where_no_separate_approver_is_required() {
    for (store, builder) in builders() {
        let engine = builder.build().unwrap();
        let id = review_as_agent(&engine, &grant("48h"));
        let record = engine
            .resolve_as(&id, &ApprovalResolution::approved(None), "agent-a")
            .unwrap();
        assert_eq!(record.status, ApprovalStatus::Approved, "{store}");
        let inline = review_in_process(&engine);
        let record = engine
            .resolve(&inline, &ApprovalResolution::approved(None))
            .unwrap();
        assert_eq!(record.status, ApprovalStatus::Approved, "{store}");

        // A server that requires a separate approver for every answer refuses the agent's
        // own key, whatever the decision says.
        let strict = review_as_agent(&engine, &grant("48h"));
        let server = AnswerOrigin {
            resolver: "agent-a",
            separate_approver: true,
        };
        let err = engine
            .answer(&strict, &ApprovalResolution::approved(None), server)
            .await
            .unwrap_err();
        assert!(
            matches!(
                refusal(err),
                ApprovalRefusal::SeparateApproverRequired { .. }
            ),
            "{store}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_better_action_is_approved_and_bound_in_one_step() {
    for (store, builder) in builders() {
        let engine = builder.build().unwrap();
        let id = review_as_agent(&engine, &grant("48h"));
        let better = ApprovalResolution::approved(None).with_better_action();
        let preview = engine
            .preview_change(&id, &better, &Default::default())
            .unwrap()
            .unwrap();
        assert_eq!(preview.arguments["duration"], "2h", "{store}");
        // Still a production admin grant: reviewed, which this approval answers.
        assert_eq!(preview.decision.raw["mode"], "review", "{store}");
        assert_eq!(
            engine.approval(&id).unwrap().unwrap().status,
            ApprovalStatus::Pending,
            "{store}: a preview records nothing"
        );

        let record = engine
            .answer(&id, &better, origin("console:bob"))
            .await
            .unwrap();
        assert_eq!(record.status, ApprovalStatus::Approved, "{store}");
        let args = record.arguments.clone().unwrap();
        assert_eq!(
            args,
            json!({"user_id": "alice", "group": "okta-admins", "duration": "2h"})
        );
        let change = record.change.clone().unwrap();
        assert_eq!(change["kind"], "better_action");
        assert_eq!(change["original_arguments"]["duration"], "48h");
        assert!(
            change["reason"]
                .as_str()
                .unwrap()
                .contains("2h instead of 48h"),
            "{change}"
        );
        assert_eq!(change["mode"], "review");

        // Only the changed call may run under it, once.
        let err = engine.claim(&id, &grant("48h")).unwrap_err();
        assert_eq!(refusal(err), ApprovalRefusal::ArgumentsChanged, "{store}");
        let used = engine.claim(&id, &grant("2h")).unwrap();
        assert_eq!(used.status, ApprovalStatus::Used, "{store}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_the_policy_blocks_is_refused_and_changes_nothing() {
    for (store, builder) in builders() {
        let engine = builder.policy("extra.rego", EXTRA_POLICY).build().unwrap();
        let id = review_as_agent(&engine, &grant("48h"));
        let edited = ApprovalResolution::approved(Some("use the bigger group".into()))
            .with_arguments(
                json!({"user_id": "alice", "group": "domain-admins", "duration": "1h"}),
            );
        let err = engine
            .answer(&id, &edited, origin("console:bob"))
            .await
            .unwrap_err();
        match refusal(err) {
            ApprovalRefusal::EditRefused { mode, reason } => {
                assert_eq!(mode, "blocked", "{store}");
                assert!(reason.contains("domain-admins"), "{reason}");
            }
            other => panic!("{store}: {other:?}"),
        }
        let record = engine.approval(&id).unwrap().unwrap();
        assert_eq!(record.status, ApprovalStatus::Pending, "{store}");
        assert_eq!(record.arguments.unwrap()["duration"], "48h");

        // An edit the policy lets run binds the edited call.
        let ok = ApprovalResolution::approved(Some("an hour is plenty".into()))
            .with_arguments(json!({"user_id": "alice", "group": "okta-admins", "duration": "1h"}));
        let record = engine
            .answer(&id, &ok, origin("console:bob"))
            .await
            .unwrap();
        assert_eq!(record.status, ApprovalStatus::Approved, "{store}");
        let change = record.change.unwrap();
        assert_eq!(change["kind"], "edited");
        assert_eq!(change["reason"], "an hour is plenty");
        assert!(engine.claim(&id, &grant("1h")).is_ok(), "{store}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_keeps_secrets_out_of_reach() {
    for (store, builder) in builders() {
        let engine = builder.build().unwrap();
        let mut rotate = ProposedAction::new("rotate_credential")
            .arguments(json!({"key_id": "k1", "otp": "123456", "api_token": "s3cr3t"}))
            .system("vault")
            .risk(RiskLevel::Critical)
            .environment("production")
            .target("payments-db");
        rotate
            .context
            .metadata
            .insert("secret_args".into(), json!(["otp"]));
        let id = review_as_agent(&engine, &rotate);
        let stored = engine.approval(&id).unwrap().unwrap().arguments.unwrap();
        assert_eq!(stored["otp"], "[REDACTED]", "{store}");
        assert_eq!(stored["api_token"], "[REDACTED]", "{store}");

        let set_secret = ApprovalResolution::approved(None)
            .with_arguments(json!({"key_id": "k2", "otp": "000000", "api_token": "[REDACTED]"}));
        let err = engine
            .answer(&id, &set_secret, origin("console:bob"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, LocalError::InvalidInput { field, .. } if field == "arguments.otp"),
            "{store}: {err:?}"
        );
        let fine = ApprovalResolution::approved(None)
            .with_arguments(json!({"key_id": "k2", "otp": "[REDACTED]", "api_token": "typed"}));
        let record = engine
            .answer(&id, &fine, origin("console:bob"))
            .await
            .unwrap();
        let bound: Value = record.arguments.unwrap();
        assert_eq!(bound["key_id"], "k2");
        assert_eq!(bound["api_token"], "[REDACTED]", "{store}: re-redacted");
        assert!(!record.change.unwrap().to_string().contains("s3cr3t"));
    }
}
