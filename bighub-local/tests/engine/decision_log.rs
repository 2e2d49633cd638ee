//! The decision log read by people: filtered pages of decisions, newest first, and one
//! decision whole, from the SQLite store and from PostgreSQL alike.

use bighub_core::{OutcomeReport, OutcomeStatus, ProposedAction, RiskLevel};
use bighub_local::LocalEngine;
use bighub_local::storage::{DecisionCursor, DecisionQuery};
use serde_json::json;

fn grant(user: &str) -> ProposedAction {
    let mut action = ProposedAction::new("grant_access")
        .arguments(json!({"user_id": user, "group": "okta-admins", "duration": "48h"}))
        .system("okta")
        .risk(RiskLevel::High)
        .environment("production")
        .target("okta-admins")
        .actor("access-bot");
    action.context.session_id = Some("run-7".into());
    action
}

fn restart(env: &str) -> ProposedAction {
    ProposedAction::new("restart_service")
        .arguments(json!({"service": "payments-api"}))
        .system("kubernetes")
        .risk(RiskLevel::Medium)
        .environment(env)
        .target("payments-api")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn ids(engine: &LocalEngine, query: &DecisionQuery) -> Vec<String> {
    engine
        .decision_log(query)
        .unwrap()
        .decisions
        .into_iter()
        .map(|d| d.request_id)
        .collect()
}

/// The same checks on any store: filters, order, pages, time range, one decision whole.
fn check_log(engine: &LocalEngine) {
    let start = now_ms();
    let mut made = Vec::new();
    for (i, action) in [
        grant("alice"),
        restart("staging"),
        grant("bob"),
        restart("production"),
        restart("staging"),
    ]
    .iter()
    .enumerate()
    {
        let d = engine.decide(action).unwrap();
        made.push(d.request_id.unwrap());
        if i == 1 {
            let mut r = OutcomeReport::new(OutcomeStatus::Failure);
            r.request_id = Some(made[1].clone());
            r.description = Some("pod crash-looped".into());
            engine.record_outcome(&r).unwrap();
        }
    }
    let newest_first: Vec<String> = made.iter().rev().cloned().collect();
    let all = DecisionQuery::default();
    assert_eq!(ids(engine, &all), newest_first);

    let by = |f: fn(&mut DecisionQuery)| {
        let mut q = DecisionQuery::default();
        f(&mut q);
        ids(engine, &q)
    };
    assert_eq!(
        by(|q| q.tool = Some("grant_access".into())),
        [made[2].clone(), made[0].clone()]
    );
    assert_eq!(
        by(|q| q.mode = Some("review".into())),
        [made[2].clone(), made[0].clone()]
    );
    assert_eq!(
        by(|q| q.actor = Some("access-bot".into())),
        [made[2].clone(), made[0].clone()]
    );
    assert_eq!(by(|q| q.system = Some("kubernetes".into())).len(), 3);
    assert_eq!(
        by(|q| {
            q.system = Some("kubernetes".into());
            q.environment = Some("staging".into());
        }),
        [made[4].clone(), made[1].clone()]
    );
    assert!(by(|q| q.tool = Some("nothing".into())).is_empty());

    // Pages of two: 2 + 2 + 1, each continuing where the last stopped.
    let mut seen = Vec::new();
    let mut query = DecisionQuery {
        limit: 2,
        ..DecisionQuery::default()
    };
    let mut pages = 0;
    loop {
        let page = engine.decision_log(&query).unwrap();
        pages += 1;
        seen.extend(page.decisions.into_iter().map(|d| d.request_id));
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    assert_eq!((pages, seen), (3, newest_first.clone()));

    // Time range: everything is inside [start, now + 1s), nothing before start.
    let end = now_ms() + 1000;
    let range = DecisionQuery {
        from_ms: Some(start),
        to_ms: Some(end),
        ..DecisionQuery::default()
    };
    assert_eq!(ids(engine, &range), newest_first);
    let before = DecisionQuery {
        to_ms: Some(start - 60_000),
        ..DecisionQuery::default()
    };
    assert!(ids(engine, &before).is_empty());
    let later = DecisionQuery {
        from_ms: Some(end + 60_000),
        ..DecisionQuery::default()
    };
    assert!(ids(engine, &later).is_empty());

    // Rows carry their actor and outcomes.
    let log = engine.decision_log(&all).unwrap();
    let restarted = log
        .decisions
        .iter()
        .find(|d| d.request_id == made[1])
        .unwrap();
    assert_eq!(restarted.outcomes.len(), 1);
    assert_eq!(restarted.outcomes[0].status, "FAILURE");
    assert_eq!(log.decisions[4].actor, "access-bot");

    // One decision whole: the answer with its packet, and its approval with its history.
    let detail = engine.decision_detail(&made[0]).unwrap().unwrap();
    assert_eq!(detail.record.tool, "grant_access");
    assert_eq!(detail.decision["request_id"], made[0].as_str());
    assert_eq!(
        detail.decision["decision_packet"]["input"]["action"]["context"]["session_id"],
        "run-7"
    );
    let approval = detail.approval.unwrap();
    assert_eq!(approval.status.as_str(), "pending");
    engine
        .resolve_as(
            &made[0],
            &bighub_core::ApprovalResolution::rejected("too long".to_owned()),
            "console:ana",
        )
        .unwrap();
    let approval = engine
        .decision_detail(&made[0])
        .unwrap()
        .unwrap()
        .approval
        .unwrap();
    assert_eq!(approval.status.as_str(), "rejected");
    assert_eq!(approval.resolver.as_deref(), Some("console:ana"));
    assert_eq!(approval.comment.as_deref(), Some("too long"));
    let detail = engine.decision_detail(&made[1]).unwrap().unwrap();
    assert!(detail.approval.is_none());
    assert_eq!(detail.record.outcomes.len(), 1);
    assert!(engine.decision_detail("loc_nothing").unwrap().is_none());

    // A cursor past the oldest decision reads an empty last page.
    let tail = DecisionQuery {
        after: Some("0".parse::<DecisionCursor>().unwrap()),
        ..DecisionQuery::default()
    };
    let page = engine.decision_log(&tail).unwrap();
    assert!(page.decisions.is_empty() && page.next.is_none());
}

#[test]
fn the_sqlite_store_pages_and_filters_its_log() {
    check_log(&LocalEngine::builder().in_memory().build().unwrap());
}

#[test]
fn a_sqlite_file_read_by_another_engine_has_the_same_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.db");
    let writer = LocalEngine::builder().db_path(&path).build().unwrap();
    let id = writer.decide(&grant("carol")).unwrap().request_id.unwrap();
    let reader = LocalEngine::builder().db_path(&path).build().unwrap();
    let detail = reader.decision_detail(&id).unwrap().unwrap();
    assert_eq!(detail.record.arguments["user_id"], "carol");
    assert_eq!(ids(&reader, &DecisionQuery::default()), [id]);
}

#[cfg(feature = "postgres")]
#[test]
fn the_postgres_store_pages_and_filters_its_log() {
    let Some(url) = crate::postgres_store::database_url() else {
        return;
    };
    let engine = LocalEngine::builder()
        .database_url(url)
        .database_schema(crate::postgres_store::fresh_schema())
        .build()
        .unwrap();
    check_log(&engine);
}
