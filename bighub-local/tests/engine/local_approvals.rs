//! Local approvals: resolved once, bound to the exact arguments, used at most once.

use bighub_core::approval::{ApprovalRefusal, ApprovalRefused};
use bighub_core::{ApprovalResolution, DecisionEngine, Error, Mode, ProposedAction, RiskLevel};
use bighub_local::LocalEngine;
use bighub_local::LocalError;
use bighub_local::storage::ApprovalStatus;
use serde_json::{Value, json};

fn grant_args() -> Value {
    json!({"user_id": "alice", "group": "okta-admins", "duration": "48h"})
}

fn grant() -> ProposedAction {
    ProposedAction::new("grant_access")
        .arguments(grant_args())
        .system("okta")
        .risk(RiskLevel::High)
        .environment("production")
        .target("okta-admins")
}

async fn review(engine: &LocalEngine) -> String {
    let d = engine.evaluate(&grant()).await.unwrap();
    assert_eq!(d.mode, Some(Mode::Review));
    d.request_id.as_deref().unwrap().to_owned()
}

#[tokio::test]
async fn a_review_creates_a_pending_approval_that_resolves_once() {
    let engine = LocalEngine::builder().in_memory().build().unwrap();
    let id = review(&engine).await;
    let pending = engine.pending_approvals().unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(engine.pending_approval_count().unwrap(), 1);
    assert_eq!(pending[0].request_id, id);
    assert_eq!(pending[0].status, ApprovalStatus::Pending);
    assert_eq!(
        pending[0].arguments_sha256,
        bighub_core::digest::canonical_sha256(&grant_args())
    );

    let mut yes = ApprovalResolution::approved(Some("2h would do, but ok".to_owned()));
    yes.resolved_by = Some("bob".to_owned());
    let record = engine.resolve_approval(&id, &yes).await.unwrap();
    assert_eq!(record["status"], "approved");
    assert_eq!(record["resolved_by"], "bob");
    assert_eq!(record["comment"], "2h would do, but ok");
    assert!(engine.pending_approvals().unwrap().is_empty());

    let again = engine
        .resolve_approval(&id, &ApprovalResolution::rejected(None))
        .await
        .unwrap_err();
    assert!(
        matches!(again, Error::Approval(ApprovalRefused { ref request_id, refusal: ApprovalRefusal::AlreadyResolved { ref resolution }, .. }) if *request_id == id && resolution == "approved"),
        "{again}"
    );
    let unknown = engine
        .resolve_approval("loc_unknown", &ApprovalResolution::approved(None))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, Error::Approval(ApprovalRefused { request_id: ref r, refusal: ApprovalRefusal::NotFound, .. }) if r == "loc_unknown"),
        "{unknown}"
    );
}

#[tokio::test]
async fn an_approval_is_bound_to_its_tool_and_arguments_and_used_once() {
    let engine = LocalEngine::builder().in_memory().build().unwrap();
    let id = review(&engine).await;

    // Not approved yet.
    assert!(matches!(
        engine.verify_approval(&id, "grant_access", &grant_args()),
        Err(LocalError::Approval(ApprovalRefused { refusal: ApprovalRefusal::NotApproved { ref status }, .. })) if status == "pending"
    ));
    assert!(matches!(
        engine.consume_approval(&id),
        Err(LocalError::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::NotApproved { .. },
            ..
        }))
    ));

    engine
        .resolve(&id, &ApprovalResolution::approved(None))
        .unwrap();

    // Key order does not matter; a changed value does.
    let reordered = json!({"duration": "48h", "group": "okta-admins", "user_id": "alice"});
    engine
        .verify_approval(&id, "grant_access", &reordered)
        .unwrap();
    assert!(matches!(
        engine.verify_approval(&id, "delete_user", &reordered),
        Err(LocalError::Approval(ApprovalRefused { refusal: ApprovalRefusal::ToolChanged { ref approved, ref requested }, .. }))
            if approved == "grant_access" && requested == "delete_user"
    ));
    let changed = json!({"user_id": "alice", "group": "okta-admins", "duration": "480h"});
    assert!(matches!(
        engine.verify_approval(&id, "grant_access", &changed),
        Err(LocalError::Approval(ApprovalRefused { request_id: ref r, refusal: ApprovalRefusal::ArgumentsChanged, .. })) if *r == id
    ));

    let used = engine.consume_approval(&id).unwrap();
    assert!(used.used);
    assert!(used.used_at.is_some());
    assert!(matches!(
        engine.consume_approval(&id),
        Err(LocalError::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::AlreadyUsed,
            ..
        }))
    ));
    assert!(matches!(
        engine.verify_approval(&id, "grant_access", &grant_args()),
        Err(LocalError::Approval(ApprovalRefused {
            refusal: ApprovalRefusal::AlreadyUsed,
            ..
        }))
    ));
}

#[tokio::test]
async fn a_rejected_approval_never_runs() {
    let engine = LocalEngine::builder().in_memory().build().unwrap();
    let id = review(&engine).await;
    engine
        .resolve(&id, &ApprovalResolution::rejected(Some("no".into())))
        .unwrap();
    assert_eq!(
        engine.approval(&id).unwrap().unwrap().status,
        ApprovalStatus::Rejected
    );
    assert!(matches!(
        engine.consume_approval(&id),
        Err(LocalError::Approval(ApprovalRefused { refusal: ApprovalRefusal::NotApproved { ref status }, .. })) if status == "rejected"
    ));
}

#[tokio::test]
async fn consumption_is_single_use_across_engines_sharing_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("decisions.db");
    let a = LocalEngine::builder().db_path(&db).build().unwrap();
    let b = LocalEngine::builder().db_path(&db).build().unwrap();
    let id = review(&a).await;
    b.resolve(&id, &ApprovalResolution::approved(None)).unwrap();
    let (ra, rb) = std::thread::scope(|s| {
        let ha = s.spawn(|| a.consume_approval(&id));
        let hb = s.spawn(|| b.consume_approval(&id));
        (ha.join().unwrap(), hb.join().unwrap())
    });
    assert_eq!(
        usize::from(ra.is_ok()) + usize::from(rb.is_ok()),
        1,
        "exactly one consumer wins: {ra:?} / {rb:?}"
    );
}

#[tokio::test]
async fn decisions_that_are_not_reviews_leave_no_approval() {
    let engine = LocalEngine::builder().in_memory().build().unwrap();
    let d = engine
        .evaluate(
            &ProposedAction::new("list_users")
                .system("okta")
                .risk(RiskLevel::Low),
        )
        .await
        .unwrap();
    assert!(
        engine
            .approval(d.request_id.as_deref().unwrap())
            .unwrap()
            .is_none()
    );
}
