//! Reading raw service answers into decisions: every normalisation rule.

use bighub_core::{Decision, Mode};
use serde_json::{Value, json};

fn norm(v: Value) -> Decision {
    Decision::from_backend_response(&v)
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("../fixtures/argocd_sync_review.json")).unwrap()
}

// --- whole answers ---------------------------------------------------------------------

#[test]
fn rich_fixture_is_read_field_by_field() {
    let raw = fixture();
    let d = Decision::from_backend_response(&raw);

    assert_eq!(d.request_id.as_deref(), Some("dec_7f3a91"));
    // human_review / requires_approval come before the explicit mode.
    assert_eq!(d.mode, Some(Mode::Review));
    assert!(d.needs_review && !d.can_run && !d.should_not_run && !d.needs_more_context);
    assert_eq!(d.risk, Some(0.74));
    assert_eq!(
        d.reason.as_deref(),
        Some("Syncing payments-api to production during an open incident needs a reviewer.")
    );
    assert_eq!(
        d.better_action.as_deref(),
        Some("argocd app sync payments-api without --prune after the incident closes")
    );

    let space = &d.responsible_action_space;
    assert!(space.available.is_empty());
    assert_eq!(
        space.constrained.len(),
        1,
        "single object accepted as a list"
    );
    assert_eq!(space.constrained[0]["action"], "sync without prune");
    assert_eq!(space.forbidden.len(), 1, "non-object items dropped");
    assert_eq!(
        space.information_gathering[0]["action"],
        "argocd app diff payments-api"
    );

    assert_eq!(d.salient_factors.len(), 2, "the string item is dropped");
    let first = &d.salient_factors[0];
    assert_eq!(first.factor.as_deref(), Some("active_incident"));
    assert_eq!(first.severity.as_deref(), Some("critical"));
    assert_eq!(first.reason.as_deref(), Some("INC-2211 is open"));
    assert_eq!(first.extra["evidence"], json!({"incident": "INC-2211"}));
    let second = &d.salient_factors[1];
    assert_eq!(
        second.factor, None,
        "a numeric factor is the wrong type and is dropped"
    );
    assert!(!second.extra.contains_key("factor"));
    assert_eq!(second.severity.as_deref(), Some("warn"));

    let intent = d.operational_intent.as_ref().unwrap();
    assert_eq!(
        intent.declared.as_deref(),
        Some("deploy the latest payments-api")
    );
    assert_eq!(
        intent.inferred.as_deref(),
        Some("deploy and delete drifted resources")
    );
    assert_eq!(intent.confidence, Some(0.81));
    assert_eq!(intent.mismatch, Some(true));
    assert_eq!(intent.extra["source"], "diff");

    let body = d.agent_operational_body.as_ref().unwrap();
    assert_eq!(body.can_touch, ["argocd", "kubernetes"]);
    assert_eq!(
        body.can_verify,
        ["argocd app wait"],
        "single string accepted as a list"
    );
    assert_eq!(
        body.can_rollback,
        ["argocd app rollback"],
        "non-strings and empties dropped"
    );
    assert!(body.cannot_observe.is_empty());
    assert_eq!(body.requires_human, ["incident commander sign-off"]);
    assert_eq!(body.extra["owner"], "platform");

    let layer = d.action_interpretation_layer.as_ref().unwrap();
    assert_eq!(
        layer.raw_action.as_deref(),
        Some(r#"{"tool":"argocd_sync","args":{"app":"payments-api","prune":true}}"#),
        "an object without a prose field is kept as compact JSON"
    );
    assert_eq!(
        layer.interpreted_action.as_deref(),
        Some("production deploy with deletions")
    );
    assert_eq!(layer.action_family.as_deref(), Some("deployment"));
    assert_eq!(layer.extra["blast_radius"], "service");

    assert_eq!(d.decision_packet().unwrap()["system"], "argocd");
    assert_eq!(
        d.decision_brain().unwrap()["review_reason"],
        "Open incident INC-2211 touches payments-api."
    );

    assert_eq!(d.recommendation.as_deref(), Some("review_recommended"));
    assert_eq!(d.risk_score, Some(0.74));
    assert_eq!(d.enforcement_mode.as_deref(), Some("review"));
    assert_eq!(d.allowed, Some(false));
    assert_eq!(d.result.as_deref(), Some("requires_approval"));
    assert_eq!(d.requires_approval, Some(true));
    assert_eq!(d.raw, raw, "raw kept whole");
}

#[test]
fn non_object_answers_keep_raw_and_have_no_mode() {
    for raw in [
        Value::Null,
        json!(true),
        json!(3.5),
        json!("autonomous"),
        json!([{"mode": "autonomous"}]),
    ] {
        let d = Decision::from_backend_response(&raw);
        assert_eq!(d.mode, None, "{raw}");
        assert!(!d.can_run && !d.needs_review && !d.needs_more_context && !d.should_not_run);
        assert_eq!(d.request_id, None);
        assert!(d.responsible_action_space.is_empty());
        assert_eq!(d.raw, raw);
    }
}

#[test]
fn empty_object_has_nothing_but_all_four_groups() {
    let d = norm(json!({}));
    assert_eq!(d.mode, None);
    let v = serde_json::to_value(&d.responsible_action_space).unwrap();
    assert_eq!(
        v,
        json!({"available": [], "constrained": [], "forbidden": [], "information_gathering": []})
    );
}

// --- mode ------------------------------------------------------------------------------

fn mode_of(v: Value) -> Option<Mode> {
    norm(v).mode
}

#[test]
fn explicit_modes_are_read_trimmed_and_case_insensitive() {
    for (text, mode) in [
        ("autonomous", Mode::Autonomous),
        ("constrained", Mode::Constrained),
        ("review", Mode::Review),
        ("blocked", Mode::Blocked),
        ("needs_context", Mode::NeedsContext),
        ("shadow", Mode::Shadow),
        ("dry_run", Mode::DryRun),
        ("  Autonomous\n", Mode::Autonomous),
        ("NEEDS_CONTEXT", Mode::NeedsContext),
    ] {
        assert_eq!(
            mode_of(json!({ "mode": text })),
            Some(mode),
            "mode {text:?}"
        );
        assert_eq!(
            mode_of(json!({ "execution_mode": text })),
            Some(mode),
            "execution_mode {text:?}"
        );
    }
}

#[test]
fn alias_table() {
    for (alias, mode) in [
        ("full", Mode::Autonomous),
        ("allowed", Mode::Autonomous),
        ("limited", Mode::Constrained),
        ("restricted", Mode::Constrained),
        ("conditional", Mode::Constrained),
        ("CONDITIONAL", Mode::Constrained),
        ("denied", Mode::Blocked),
        ("blocked", Mode::Blocked),
        ("review_required", Mode::Review),
    ] {
        assert_eq!(mode_of(json!({ "mode": alias })), Some(mode), "{alias}");
        assert_eq!(Mode::parse_alias(alias), Some(mode));
    }
    assert_eq!(Mode::parse_alias("proceed"), None);
    assert_eq!(mode_of(json!({"mode": "sometimes"})), None);
}

#[test]
fn execution_mode_wins_over_mode() {
    assert_eq!(
        mode_of(json!({"execution_mode": "blocked", "mode": "autonomous"})),
        Some(Mode::Blocked)
    );
    // An empty execution_mode counts as absent, so `mode` is used.
    assert_eq!(
        mode_of(json!({"execution_mode": "  ", "mode": "constrained"})),
        Some(Mode::Constrained)
    );
    // A present but unknown execution_mode is not replaced by `mode`; legacy fields decide.
    assert_eq!(
        mode_of(json!({"execution_mode": "turbo", "mode": "autonomous"})),
        None
    );
    assert_eq!(
        mode_of(json!({"execution_mode": "turbo", "mode": "autonomous", "allowed": false})),
        Some(Mode::Blocked)
    );
    // Non-string modes are ignored.
    assert_eq!(mode_of(json!({"mode": 1})), None);
}

#[test]
fn dry_run_comes_first() {
    assert_eq!(
        mode_of(json!({
            "dry_run": true,
            "needs_more_context": true,
            "human_review": true,
            "mode": "autonomous"
        })),
        Some(Mode::DryRun)
    );
    assert_eq!(
        mode_of(json!({"dry_run": "true", "mode": "autonomous"})),
        Some(Mode::Autonomous)
    );
    assert_eq!(
        mode_of(json!({"dry_run": false, "mode": "review"})),
        Some(Mode::Review)
    );
}

#[test]
fn needs_context_comes_before_review_and_explicit_mode() {
    assert_eq!(
        mode_of(json!({"needs_more_context": true, "human_review": true, "mode": "autonomous"})),
        Some(Mode::NeedsContext)
    );
    for request_type in [
        "clarification_needed",
        "needs_more_context",
        " Clarification_Needed ",
    ] {
        assert_eq!(
            mode_of(json!({"request_type": request_type, "requires_approval": true})),
            Some(Mode::NeedsContext),
            "{request_type}"
        );
    }
    assert_eq!(
        mode_of(json!({"request_type": "evaluation", "mode": "review"})),
        Some(Mode::Review)
    );
}

#[test]
fn review_signals_come_before_explicit_mode() {
    for extra in [
        json!({"human_review": true}),
        json!({"requires_approval": true}),
        json!({"result": "requires_approval"}),
        json!({"result": " REQUIRES_APPROVAL "}),
        json!({"recommendation": "review_recommended"}),
    ] {
        let mut raw = json!({"mode": "autonomous", "allowed": true});
        raw.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        assert_eq!(mode_of(raw.clone()), Some(Mode::Review), "{raw}");
    }
    // `false` review flags do not count.
    assert_eq!(
        mode_of(json!({"human_review": false, "requires_approval": false, "mode": "autonomous"})),
        Some(Mode::Autonomous)
    );
}

#[test]
fn explicit_mode_comes_before_legacy_fields() {
    assert_eq!(
        mode_of(
            json!({"mode": "autonomous", "recommendation": "do_not_proceed", "allowed": false})
        ),
        Some(Mode::Autonomous)
    );
}

#[test]
fn legacy_blocked_signals() {
    for raw in [
        json!({"recommendation": "do_not_proceed"}),
        json!({"result": "blocked"}),
        json!({"result": "Denied"}),
        json!({"allowed": false}),
        // blocked outranks the milder legacy signals
        json!({"allowed": false, "recommendation": "proceed"}),
        json!({"result": "denied", "recommendation": "proceed_with_caution"}),
    ] {
        assert_eq!(mode_of(raw.clone()), Some(Mode::Blocked), "{raw}");
    }
}

#[test]
fn legacy_constrained_signals() {
    for raw in [
        json!({"recommendation": "proceed_with_caution"}),
        json!({"result": "limited"}),
        json!({"result": "limited", "allowed": true}),
        json!({"recommendation": "proceed_with_caution", "allowed": true}),
    ] {
        assert_eq!(mode_of(raw.clone()), Some(Mode::Constrained), "{raw}");
    }
}

#[test]
fn legacy_autonomous_signals() {
    for raw in [
        json!({"recommendation": "proceed"}),
        json!({"result": "allowed"}),
        json!({"allowed": true}),
        json!({"recommendation": " PROCEED "}),
    ] {
        assert_eq!(mode_of(raw.clone()), Some(Mode::Autonomous), "{raw}");
    }
}

#[test]
fn a_legacy_enforced_verdict_is_the_last_mode_source() {
    for (verdict, mode) in [
        ("allowed", Mode::Autonomous),
        ("proceed", Mode::Autonomous),
        ("requires_approval", Mode::Review),
        ("denied", Mode::Blocked),
    ] {
        let raw = json!({"enforcement_mode": "enforced", "enforced_verdict": verdict});
        assert_eq!(mode_of(raw), Some(mode), "{verdict}");
    }
    assert_eq!(
        mode_of(json!({"enforcement_mode": "enforced"})),
        Some(Mode::Blocked)
    );
    // Earlier sources still win.
    let raw = json!({"result": "requires_approval", "enforcement_mode": "enforced", "enforced_verdict": "allowed"});
    assert_eq!(mode_of(raw), Some(Mode::Review));
}

#[test]
fn no_usable_signal_gives_no_mode() {
    for raw in [
        json!({}),
        json!({"recommendation": "maybe", "result": "pending"}),
        json!({"allowed": "yes"}),
        json!({"enforcement_mode": "advisory", "enforced_verdict": "allowed"}),
    ] {
        assert_eq!(mode_of(raw.clone()), None, "{raw}");
    }
}

#[test]
fn flags_follow_the_mode() {
    let flags = |d: &Decision| {
        (
            d.can_run,
            d.needs_review,
            d.needs_more_context,
            d.should_not_run,
        )
    };
    for (mode, expected) in [
        ("autonomous", (true, false, false, false)),
        ("constrained", (true, false, false, false)),
        ("review", (false, true, false, false)),
        ("needs_context", (false, false, true, false)),
        ("blocked", (false, false, false, true)),
        ("shadow", (false, false, false, false)),
        ("dry_run", (false, false, false, false)),
    ] {
        assert_eq!(flags(&norm(json!({ "mode": mode }))), expected, "{mode}");
    }
    assert_eq!(flags(&norm(json!({}))), (false, false, false, false));
    // Flags the service sent are not copied: they come from the mode.
    let d = norm(json!({"mode": "autonomous", "should_not_run": true, "can_run": false}));
    assert_eq!(flags(&d), (true, false, false, false));
}

// --- better_action ---------------------------------------------------------------------

fn better(v: Value) -> Option<String> {
    norm(v).better_action
}

#[test]
fn better_action_source_order() {
    let full = json!({
        "better_action": "a",
        "recommended_action": "b",
        "decision_packet": {
            "better_action": "c",
            "action_contract": {"better_action": "d"},
            "alternatives": ["f"]
        },
        "decision_intelligence": {"alternatives": ["e"]}
    });
    assert_eq!(better(full.clone()).as_deref(), Some("a"));

    let mut v = full;
    let o = v.as_object_mut().unwrap();
    o.insert("better_action".into(), json!("   "));
    assert_eq!(
        better(v.clone()).as_deref(),
        Some("b"),
        "empty string counts as absent"
    );
    v.as_object_mut().unwrap().remove("recommended_action");
    assert_eq!(better(v.clone()).as_deref(), Some("c"));
    v["decision_packet"]
        .as_object_mut()
        .unwrap()
        .remove("better_action");
    assert_eq!(better(v.clone()).as_deref(), Some("d"));
    v["decision_packet"]
        .as_object_mut()
        .unwrap()
        .remove("action_contract");
    assert_eq!(better(v.clone()).as_deref(), Some("e"));
    v.as_object_mut().unwrap().remove("decision_intelligence");
    assert_eq!(better(v.clone()).as_deref(), Some("f"));
    v["decision_packet"]
        .as_object_mut()
        .unwrap()
        .remove("alternatives");
    assert_eq!(better(v), None);
}

#[test]
fn better_action_from_objects() {
    assert_eq!(
        better(json!({"better_action": {"action": "rotate only the CI key", "why": "scope"}}))
            .as_deref(),
        Some("rotate only the CI key")
    );
    assert_eq!(
        better(json!({"better_action": {"title": "t", "description": "d"}})).as_deref(),
        Some("d"),
        "description is preferred over title"
    );
    assert_eq!(
        better(json!({"better_action": {"summary": "s", "title": "t"}})).as_deref(),
        Some("s")
    );
    assert_eq!(
        better(json!({"better_action": {"action": "", "title": "fallback title"}})).as_deref(),
        Some("fallback title")
    );
    assert_eq!(
        better(json!({"better_action": {"steps": [1, 2]}})).as_deref(),
        Some(r#"{"steps":[1,2]}"#)
    );
    assert_eq!(
        better(json!({"better_action": {}, "recommended_action": "x"})).as_deref(),
        Some("x")
    );
    assert_eq!(
        better(json!({"better_action": 42, "recommended_action": ["x"]})),
        None
    );
}

#[test]
fn better_action_from_alternatives() {
    assert_eq!(
        better(json!({"decision_intelligence": {"alternatives": [
            {"action": "scale to 3 replicas", "rationale": "r"},
            {"action": "second"}
        ]}}))
        .as_deref(),
        Some("scale to 3 replicas")
    );
    // A single alternative object stands for a one-item list.
    assert_eq!(
        better(json!({"decision_intelligence": {"alternatives": {"action": "only one"}}}))
            .as_deref(),
        Some("only one")
    );
    // Unusable leading items are skipped; an empty intelligence list falls to the packet.
    assert_eq!(
        better(json!({"decision_intelligence": {"alternatives": [null, "", "usable"]}})).as_deref(),
        Some("usable")
    );
    assert_eq!(
        better(json!({
            "decision_intelligence": {"alternatives": []},
            "decision_packet": {"alternatives": [{"action": "from packet"}]}
        }))
        .as_deref(),
        Some("from packet")
    );
}

// --- risk ------------------------------------------------------------------------------

#[test]
fn risk_sources_and_string_numbers() {
    assert_eq!(
        norm(json!({"risk": 0.9, "risk_score": 0.1})).risk,
        Some(0.9)
    );
    assert_eq!(norm(json!({"risk_score": 0.1})).risk, Some(0.1));
    assert_eq!(
        norm(json!({"decision_runtime_spine": {"decision": {"risk_score": 0.66}}})).risk,
        Some(0.66)
    );
    assert_eq!(norm(json!({"risk": "0.78"})).risk, Some(0.78));
    assert_eq!(norm(json!({"risk": " 0.5 "})).risk, Some(0.5));
    assert_eq!(norm(json!({"risk": 1})).risk, Some(1.0));
    for bad in [
        json!("NaN"),
        json!("inf"),
        json!("-infinity"),
        json!("high"),
        json!(""),
        json!(true),
        json!([0.2]),
    ] {
        assert_eq!(norm(json!({ "risk": bad })).risk, None, "{bad}");
        assert_eq!(
            norm(json!({"risk": bad, "risk_score": "0.25"})).risk,
            Some(0.25),
            "unusable risk falls through to risk_score"
        );
    }
    assert_eq!(norm(json!({"risk_score": "0.4"})).risk_score, Some(0.4));
    assert_eq!(norm(json!({"risk_score": "nan"})).risk_score, None);
    assert_eq!(
        norm(json!({"risk": 0.4})).risk_score,
        None,
        "risk_score only from its own key"
    );
}

// --- request_id ------------------------------------------------------------------------

#[test]
fn request_id_sources_and_empty_strings() {
    assert_eq!(
        norm(json!({"request_id": "r", "validation_id": "v", "id": "i"}))
            .request_id
            .as_deref(),
        Some("r")
    );
    assert_eq!(
        norm(json!({"request_id": "", "validation_id": "v"}))
            .request_id
            .as_deref(),
        Some("v")
    );
    assert_eq!(
        norm(json!({"request_id": "  ", "validation_id": "\t", "id": "i"}))
            .request_id
            .as_deref(),
        Some("i")
    );
    assert_eq!(
        norm(json!({"request_id": null, "id": " x1 "}))
            .request_id
            .as_deref(),
        Some("x1")
    );
    assert_eq!(
        norm(json!({"id": 1234})).request_id.as_deref(),
        Some("1234")
    );
    assert_eq!(norm(json!({"request_id": "", "id": ""})).request_id, None);
    assert_eq!(
        norm(json!({"request_id": {"x": 1}, "id": 1.5})).request_id,
        None
    );
}

// --- reason ----------------------------------------------------------------------------

#[test]
fn reason_source_order() {
    let keys: [(&str, Value); 9] = [
        ("reason", json!({"reason": "1"})),
        (
            "decision_brain.review_reason",
            json!({"decision_brain": {"review_reason": "2"}}),
        ),
        ("review_reason", json!({"review_reason": "3"})),
        ("blocked_by", json!({"blocked_by": "4"})),
        (
            "decision_brain.reasoning_summary",
            json!({"decision_brain": {"reasoning_summary": "5"}}),
        ),
        (
            "decision_intelligence.rationale",
            json!({"decision_intelligence": {"rationale": "6"}}),
        ),
        ("reasoning_summary", json!({"reasoning_summary": "7"})),
        (
            "model_selection.reason",
            json!({"model_selection": {"reason": "8"}}),
        ),
        (
            "model_selection_reason",
            json!({"model_selection_reason": "9"}),
        ),
    ];
    // For each source, merge it with every later source: it must win.
    for (i, (name, _)) in keys.iter().enumerate() {
        let mut merged = json!({});
        for (_, v) in &keys[i..] {
            merge(&mut merged, v);
        }
        assert_eq!(
            norm(merged).reason.as_deref(),
            Some(&*(i + 1).to_string()),
            "{name}"
        );
    }
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

#[test]
fn reason_skips_empty_and_joins_lists() {
    assert_eq!(
        norm(json!({"reason": "", "decision_brain": {"review_reason": "  "}, "review_reason": "real"}))
            .reason
            .as_deref(),
        Some("real")
    );
    assert_eq!(
        norm(json!({"blocked_by": ["prod-freeze", "", "no-admin-grants"]}))
            .reason
            .as_deref(),
        Some("prod-freeze, no-admin-grants")
    );
    assert_eq!(norm(json!({"reason": 3, "blocked_by": []})).reason, None);
}

// --- explanatory fields ----------------------------------------------------------------

#[test]
fn action_space_tolerates_shapes() {
    let d = norm(json!({"responsible_action_space": {
        "available": {"action": "read logs"},
        "constrained": [1, {"action": "deploy canary"}, null, "x"],
        "forbidden": "not a list",
        "extra_group": [{"action": "ignored"}]
    }}));
    let s = &d.responsible_action_space;
    assert_eq!(s.available.len(), 1);
    assert_eq!(s.constrained.len(), 1);
    assert_eq!(s.constrained[0]["action"], "deploy canary");
    assert!(s.forbidden.is_empty());
    assert!(s.information_gathering.is_empty());

    assert!(
        norm(json!({"responsible_action_space": ["x"]}))
            .responsible_action_space
            .is_empty()
    );
}

#[test]
fn salient_factors_tolerate_shapes() {
    assert_eq!(
        norm(json!({"salient_factors": {"factor": "rollback_unavailable"}})).salient_factors[0]
            .factor
            .as_deref(),
        Some("rollback_unavailable")
    );
    assert!(
        norm(json!({"salient_factors": "high_blast_radius"}))
            .salient_factors
            .is_empty()
    );
    assert!(
        norm(json!({"salient_factors": [1, "two", null, []]}))
            .salient_factors
            .is_empty()
    );
    let f = &norm(json!({"salient_factors": [{"factor": " ", "severity": ["x"], "weight": 2}]}))
        .salient_factors[0];
    assert_eq!((f.factor.as_ref(), f.severity.as_ref()), (None, None));
    assert_eq!(f.extra.len(), 1);
    assert_eq!(f.extra["weight"], 2);
}

#[test]
fn typed_objects_are_lenient_field_by_field() {
    let d = norm(json!({
        "operational_intent": {"declared": 5, "inferred": "revoke all tokens", "confidence": "high", "mismatch": "yes"},
        "agent_operational_body": {"can_touch": "okta", "can_verify": {"x": 1}, "requires_human": [true, "approve"]},
        "action_interpretation_layer": {"raw_action": "okta.grant(admin)", "action_family": ["x"]}
    }));
    let intent = d.operational_intent.unwrap();
    assert_eq!(intent.declared, None);
    assert_eq!(intent.inferred.as_deref(), Some("revoke all tokens"));
    assert_eq!((intent.confidence, intent.mismatch), (None, None));
    assert!(
        intent.extra.is_empty(),
        "wrong-typed known fields do not leak into extra"
    );

    let body = d.agent_operational_body.unwrap();
    assert_eq!(body.can_touch, ["okta"]);
    assert!(body.can_verify.is_empty());
    assert_eq!(body.requires_human, ["approve"]);

    let layer = d.action_interpretation_layer.unwrap();
    assert_eq!(layer.raw_action.as_deref(), Some("okta.grant(admin)"));
    assert_eq!(layer.action_family, None);
}

#[test]
fn non_object_explanatory_fields_are_absent() {
    let d = norm(json!({
        "operational_intent": "deploy",
        "agent_operational_body": [],
        "action_interpretation_layer": null,
        "decision_packet": "packet",
        "decision_brain": [{"x": 1}]
    }));
    assert!(d.operational_intent.is_none());
    assert!(d.agent_operational_body.is_none());
    assert!(d.action_interpretation_layer.is_none());
    assert!(d.decision_packet().is_none());
    assert!(d.decision_brain().is_none());
}

// --- compatibility fields --------------------------------------------------------------

#[test]
fn compatibility_fields_are_typed() {
    let d = norm(json!({
        "recommendation": "  proceed_with_caution ",
        "risk_score": " 0.3",
        "enforcement_mode": "advisory",
        "allowed": true,
        "result": "limited",
        "requires_approval": false
    }));
    assert_eq!(d.recommendation.as_deref(), Some("proceed_with_caution"));
    assert_eq!(d.risk_score, Some(0.3));
    assert_eq!(d.enforcement_mode.as_deref(), Some("advisory"));
    assert_eq!(d.allowed, Some(true));
    assert_eq!(d.result.as_deref(), Some("limited"));
    assert_eq!(d.requires_approval, Some(false));

    let d = norm(json!({
        "recommendation": "",
        "risk_score": "n/a",
        "enforcement_mode": " ",
        "allowed": "false",
        "result": 0,
        "requires_approval": "true"
    }));
    assert_eq!(
        (
            d.recommendation,
            d.risk_score,
            d.enforcement_mode,
            d.allowed,
            d.result,
            d.requires_approval
        ),
        (None, None, None, None, None, None)
    );
}

// --- serde -----------------------------------------------------------------------------

#[test]
fn serde_round_trip_of_rich_decisions() {
    let answers = [
        fixture(),
        json!({"mode": "constrained", "risk": 0.2, "salient_factors": {"factor": "x", "n": [1, 2]}}),
        json!({"dry_run": true, "operational_intent": {"confidence": 1, "mismatch": false}}),
        json!("not an object"),
    ];
    for raw in answers {
        let d = Decision::from_backend_response(&raw);
        let back: Decision = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        // And through text, as a stored decision would travel.
        let text = serde_json::to_string(&d).unwrap();
        let back: Decision = serde_json::from_str(&text).unwrap();
        assert_eq!(back.mode, d.mode);
        assert_eq!(back.raw, d.raw);
        assert_eq!(back.salient_factors, d.salient_factors);
    }
}

#[test]
fn packet_and_brain_are_read_from_raw_and_serialized_only_there() {
    let d = Decision::from_backend_response(&fixture());
    let v = serde_json::to_value(&d).unwrap();
    // Kept once, inside `raw`, not beside it.
    assert!(v.get("decision_packet").is_none() && v.get("decision_brain").is_none());
    assert_eq!(d.decision_packet(), v["raw"]["decision_packet"].as_object());
    // A decision serialized when the two were fields of their own still reads back.
    let mut older = v.clone();
    older["decision_packet"] = v["raw"]["decision_packet"].clone();
    older["decision_brain"] = v["raw"]["decision_brain"].clone();
    let back: Decision = serde_json::from_value(older).unwrap();
    assert_eq!(back, d);
    assert_eq!(
        back.decision_brain().unwrap()["review_reason"],
        "Open incident INC-2211 touches payments-api."
    );
}

#[test]
fn serialized_decision_uses_wire_names() {
    let v = serde_json::to_value(norm(json!({"mode": "needs_context"}))).unwrap();
    assert_eq!(v["mode"], "needs_context");
    assert_eq!(v["needs_more_context"], true);
    assert_eq!(v["raw"], json!({"mode": "needs_context"}));
}
