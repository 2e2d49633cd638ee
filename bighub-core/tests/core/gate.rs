//! The gate: every voting rule, the precedence between verdicts, and the explanations.

use bighub_core::gate::Vote;
use bighub_core::{Decision, Mode, Verdict};
use serde_json::{Value, json};

use Verdict::{ApprovalRequired, Blocked, Execute, NeedsContext};

fn gate(v: Value) -> Verdict {
    let d = Decision::from_backend_response(&v);
    let verdict = d.verdict();
    // verdict() and votes() implement the same rules.
    let max = d.votes().iter().map(|v| v.verdict).max().unwrap();
    assert_eq!(verdict, max, "verdict is the most restrictive vote for {v}");
    verdict
}

fn votes(v: Value) -> Vec<(String, Verdict)> {
    Decision::from_backend_response(&v)
        .votes()
        .into_iter()
        .map(|Vote { signal, verdict }| (signal, verdict))
        .collect()
}

fn vote(signal: &str, verdict: Verdict) -> (String, Verdict) {
    (signal.to_owned(), verdict)
}

// --- Verdict ---------------------------------------------------------------------------

#[test]
fn verdict_names_and_order() {
    let all = [Execute, ApprovalRequired, NeedsContext, Blocked];
    let names: Vec<_> = all.iter().map(|v| v.as_str()).collect();
    assert_eq!(
        names,
        ["execute", "approval_required", "needs_context", "blocked"]
    );
    for v in all {
        assert_eq!(v.to_string(), v.as_str());
        assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        assert_eq!(v.is_execute(), v == Execute);
    }
    let mut sorted = [Blocked, Execute, NeedsContext, ApprovalRequired];
    sorted.sort();
    assert_eq!(sorted, all, "ordered by restrictiveness");
}

// --- mode ------------------------------------------------------------------------------

#[test]
fn mode_votes() {
    for (mode, verdict) in [
        ("autonomous", Execute),
        ("constrained", Execute),
        ("review", ApprovalRequired),
        ("needs_context", NeedsContext),
        ("blocked", Blocked),
        ("shadow", Blocked),
        ("dry_run", Blocked),
    ] {
        assert_eq!(gate(json!({ "mode": mode })), verdict, "{mode}");
        assert_eq!(
            votes(json!({ "mode": mode })),
            [vote(&format!("mode={mode}"), verdict)]
        );
    }
}

#[test]
fn no_usable_signal_blocks() {
    for raw in [
        json!({}),
        json!(null),
        json!("autonomous"),
        json!({"mode": "unheard_of"}),
        json!({"recommendation": "maybe"}),
        json!({"risk": 0.01, "reason": "looks fine"}),
        // can_run: true alone is not a mode
        json!({"can_run": true}),
    ] {
        assert_eq!(gate(raw.clone()), Blocked, "{raw}");
    }
    assert_eq!(votes(json!({})), [vote("mode=none", Blocked)]);
}

#[test]
fn legacy_enforced_answers_with_only_a_verdict_follow_it() {
    // An enforced verdict alone is a usable signal: it sets the mode and votes the same way.
    assert_eq!(
        votes(json!({"enforcement_mode": "enforced", "enforced_verdict": "allowed"})),
        [
            vote("mode=autonomous", Execute),
            vote(
                "enforcement_mode=enforced/enforced_verdict=allowed",
                Execute
            )
        ]
    );
    assert_eq!(
        gate(json!({"enforcement_mode": "enforced", "enforced_verdict": "requires_approval"})),
        ApprovalRequired
    );
    assert_eq!(
        gate(json!({"enforcement_mode": "enforced", "enforced_verdict": "nonsense"})),
        Blocked
    );
    assert_eq!(gate(json!({"enforcement_mode": "enforced"})), Blocked);
}

// --- explicit flags --------------------------------------------------------------------

#[test]
fn explicit_flags_override_an_autonomous_mode() {
    assert_eq!(
        gate(json!({"mode": "autonomous", "should_not_run": true})),
        Blocked
    );
    assert_eq!(
        gate(json!({"mode": "autonomous", "needs_review": true})),
        ApprovalRequired
    );
    assert_eq!(
        gate(json!({"mode": "constrained", "needs_more_context": true})),
        NeedsContext
    );
    assert_eq!(
        gate(json!({"mode": "autonomous", "can_run": false})),
        Blocked
    );
    assert_eq!(
        votes(json!({"mode": "autonomous", "should_not_run": true})),
        [
            vote("mode=autonomous", Execute),
            vote("should_not_run", Blocked)
        ]
    );
}

#[test]
fn false_flags_do_not_vote() {
    let raw = json!({"mode": "autonomous", "should_not_run": false, "needs_review": false,
                     "needs_more_context": false, "can_run": true});
    assert_eq!(gate(raw.clone()), Execute, "{raw}");
    assert_eq!(votes(raw).len(), 1);
}

// --- gating flags in the wrong type ----------------------------------------------------

/// Every field the gate reads as a boolean.
const GATING_FLAGS: [&str; 8] = [
    "should_not_run",
    "can_run",
    "needs_review",
    "needs_more_context",
    "allowed",
    "requires_approval",
    "human_review",
    "dry_run",
];

/// `{"mode": "autonomous", flag: value}`: runnable but for the flag.
fn autonomous_with(flag: &str, value: Value) -> Value {
    json!({"mode": "autonomous", flag: value})
}

/// Asserts that `flag` sent as `value` blocks, with its own `<flag>=non-boolean` vote.
fn assert_non_boolean_blocks(flag: &str, value: Value) {
    let raw = autonomous_with(flag, value);
    assert_eq!(gate(raw.clone()), Blocked, "{raw}");
    assert!(
        votes(raw.clone()).contains(&vote(&format!("{flag}=non-boolean"), Blocked)),
        "{raw}: {:?}",
        votes(raw.clone())
    );
}

#[test]
fn a_stop_signal_sent_as_a_string_blocks() {
    assert_non_boolean_blocks("should_not_run", json!("true"));
    assert_eq!(
        votes(autonomous_with("should_not_run", json!("true"))),
        [
            vote("mode=autonomous", Execute),
            vote("should_not_run=non-boolean", Blocked)
        ]
    );
    let d = Decision::from_backend_response(&autonomous_with("should_not_run", json!("true")));
    let explained: Vec<String> = d.votes().iter().map(ToString::to_string).collect();
    assert_eq!(
        explained,
        [
            "mode=autonomous -> execute",
            "should_not_run=non-boolean -> blocked"
        ]
    );
}

#[test]
fn can_run_sent_as_a_string_blocks() {
    // Neither spelling is a go: only `true` may let a call run.
    assert_non_boolean_blocks("can_run", json!("false"));
    assert_non_boolean_blocks("can_run", json!("true"));
}

#[test]
fn needs_review_sent_as_a_string_blocks() {
    assert_non_boolean_blocks("needs_review", json!("true"));
}

#[test]
fn needs_more_context_sent_as_a_string_blocks() {
    assert_non_boolean_blocks("needs_more_context", json!("true"));
}

#[test]
fn allowed_sent_as_a_string_blocks() {
    assert_non_boolean_blocks("allowed", json!("false"));
    assert_non_boolean_blocks("allowed", json!("true"));
}

#[test]
fn requires_approval_sent_as_a_string_blocks() {
    assert_non_boolean_blocks("requires_approval", json!("true"));
}

#[test]
fn human_review_sent_as_a_string_blocks() {
    assert_non_boolean_blocks("human_review", json!("true"));
}

#[test]
fn dry_run_sent_as_a_string_blocks() {
    assert_non_boolean_blocks("dry_run", json!("true"));
}

#[test]
fn gating_flags_sent_as_numbers_lists_objects_or_empty_strings_block_but_null_is_absent() {
    for flag in GATING_FLAGS {
        for value in [
            json!(0),
            json!(1),
            json!(0.5),
            json!(""),
            json!("false"),
            json!([]),
            json!([true]),
            json!({}),
            json!({"value": false}),
        ] {
            assert_non_boolean_blocks(flag, value);
        }
        // Services serialize unset optionals as null: that is no signal at all.
        let unset = autonomous_with(flag, Value::Null);
        assert_eq!(
            votes(unset.clone()),
            [vote("mode=autonomous", Execute)],
            "{unset}"
        );
    }
}

#[test]
fn a_non_boolean_flag_outranks_every_pause() {
    // The flag is a stop, not "not now": it blocks a review or a context request too.
    assert_eq!(
        gate(json!({"mode": "review", "needs_more_context": "yes"})),
        Blocked
    );
    assert_eq!(
        gate(json!({"mode": "needs_context", "requires_approval": 1})),
        Blocked
    );
    // And `can_run: false` sent beside it agrees with the stop.
    assert_eq!(
        votes(json!({"mode": "review", "human_review": "true", "can_run": false}))
            .last()
            .cloned(),
        Some(vote("can_run=false", Blocked))
    );
}

#[test]
fn can_run_false_agrees_with_another_pause_or_blocks() {
    assert_eq!(
        votes(json!({"mode": "review", "can_run": false})),
        [
            vote("mode=review", ApprovalRequired),
            vote("can_run=false", ApprovalRequired)
        ]
    );
    assert_eq!(
        gate(json!({"mode": "review", "can_run": false})),
        ApprovalRequired
    );
    assert_eq!(
        gate(json!({"mode": "needs_context", "can_run": false})),
        NeedsContext
    );
    assert_eq!(
        votes(json!({"mode": "needs_context", "needs_review": true, "can_run": false}))
            .last()
            .cloned(),
        Some(vote("can_run=false", NeedsContext)),
        "agrees with the most restrictive pause"
    );
    assert_eq!(
        votes(json!({"mode": "constrained", "can_run": false})),
        [
            vote("mode=constrained", Execute),
            vote("can_run=false", Blocked)
        ]
    );
}

#[test]
fn needs_context_outranks_approval_required() {
    assert_eq!(
        gate(json!({"mode": "review", "needs_more_context": true})),
        NeedsContext
    );
    assert_eq!(
        gate(json!({"mode": "needs_context", "needs_review": true})),
        NeedsContext
    );
    assert_eq!(
        gate(json!({"needs_more_context": true, "needs_review": true, "should_not_run": true})),
        Blocked
    );
}

#[test]
fn typed_flags_that_disagree_with_the_mode_vote() {
    let mut d = Decision::default();
    d.set_mode(Some(Mode::Autonomous));
    assert_eq!(d.verdict(), Execute);

    let mut stop = d.clone();
    stop.should_not_run = true;
    assert_eq!(stop.verdict(), Blocked);
    assert!(stop.votes().contains(&Vote {
        signal: "decision.should_not_run".into(),
        verdict: Blocked
    }));

    let mut review = d.clone();
    review.needs_review = true;
    assert_eq!(review.verdict(), ApprovalRequired);

    let mut context = d.clone();
    context.needs_more_context = true;
    assert_eq!(context.verdict(), NeedsContext);

    let mut cannot = d.clone();
    cannot.can_run = false;
    assert_eq!(cannot.verdict(), Blocked);
    assert_eq!(cannot.votes()[1].signal, "decision.can_run=false");
}

// --- legacy: enforcement_mode ----------------------------------------------------------

fn enforced(verdict: Value) -> Value {
    json!({"mode": "autonomous", "enforcement_mode": "enforced", "enforced_verdict": verdict})
}

#[test]
fn enforced_mode_follows_enforced_verdict() {
    assert_eq!(gate(enforced(json!("allowed"))), Execute);
    assert_eq!(gate(enforced(json!("proceed"))), Execute);
    assert_eq!(gate(enforced(json!(" Proceed "))), Execute);
    assert_eq!(gate(enforced(json!("requires_approval"))), ApprovalRequired);
    assert_eq!(gate(enforced(json!("blocked"))), Blocked);
    assert_eq!(gate(enforced(json!("whatever"))), Blocked);
    assert_eq!(gate(enforced(json!(""))), Blocked);
    assert_eq!(gate(enforced(json!(true))), Blocked);
    assert_eq!(
        gate(json!({"mode": "autonomous", "enforcement_mode": "ENFORCED"})),
        Blocked
    );
    assert_eq!(
        votes(enforced(json!("blocked")))[1],
        vote(
            "enforcement_mode=enforced/enforced_verdict=blocked",
            Blocked
        )
    );
    assert_eq!(
        votes(json!({"mode": "autonomous", "enforcement_mode": "enforced"}))[1],
        vote(
            "enforcement_mode=enforced/enforced_verdict=missing",
            Blocked
        )
    );
}

#[test]
fn review_enforcement_reads_the_recommendation() {
    let review = |rec: Value| json!({"mode": "autonomous", "enforcement_mode": "review", "recommendation": rec});
    // proceed -> autonomous mode, so the whole answer executes
    assert_eq!(gate(review(json!("proceed"))), Execute);
    assert_eq!(gate(review(json!("do_not_proceed"))), Blocked);
    assert_eq!(
        gate(review(json!("proceed_with_caution"))),
        ApprovalRequired
    );
    assert_eq!(gate(review(json!("review_recommended"))), ApprovalRequired);
    assert_eq!(gate(review(json!("something_new"))), ApprovalRequired);
    assert_eq!(gate(review(json!(null))), ApprovalRequired);
    assert_eq!(
        votes(review(json!("proceed_with_caution"))),
        [
            vote("mode=autonomous", Execute),
            vote(
                "enforcement_mode=review/recommendation=proceed_with_caution",
                ApprovalRequired
            )
        ],
        "the recommendation votes once, under review enforcement"
    );
    assert_eq!(
        votes(review(json!(null)))[1],
        vote(
            "enforcement_mode=review/recommendation=missing",
            ApprovalRequired
        )
    );
}

#[test]
fn advisory_or_missing_enforcement_does_not_vote_but_unknown_blocks() {
    assert_eq!(
        votes(json!({"mode": "autonomous", "enforcement_mode": "advisory"})),
        [vote("mode=autonomous", Execute)]
    );
    assert_eq!(
        gate(json!({"mode": "autonomous", "enforcement_mode": "  "})),
        Execute
    );
    assert_eq!(
        votes(json!({"mode": "autonomous", "enforcement_mode": "strict"}))[1],
        vote("enforcement_mode=strict", Blocked)
    );
}

// --- legacy: advisory recommendation ---------------------------------------------------

#[test]
fn advisory_recommendation_votes() {
    assert_eq!(
        votes(json!({"mode": "autonomous", "recommendation": "do_not_proceed"})),
        [
            vote("mode=autonomous", Execute),
            vote("recommendation=do_not_proceed", Blocked)
        ]
    );
    assert_eq!(
        votes(json!({"mode": "autonomous", "recommendation": "proceed"}))[1],
        vote("recommendation=proceed", Execute)
    );
    assert_eq!(
        votes(json!({"mode": "constrained", "recommendation": "proceed_with_caution"}))[1],
        vote("recommendation=proceed_with_caution", Execute)
    );
    assert_eq!(
        votes(json!({"mode": "autonomous", "recommendation": "hmm"})).len(),
        1
    );
}

#[test]
fn review_recommended_requires_approval_when_flagged() {
    for flag in ["requires_approval", "human_review"] {
        let raw = json!({"recommendation": "review_recommended", flag: true});
        assert!(
            votes(raw.clone()).contains(&vote(
                "recommendation=review_recommended/requires_approval",
                ApprovalRequired
            )),
            "{raw}"
        );
        assert_eq!(gate(raw), ApprovalRequired);
    }
    // Without a flag the advisory vote is execute, but the mode (review) still pauses.
    assert_eq!(
        votes(json!({"recommendation": "review_recommended"})),
        [
            vote("mode=review", ApprovalRequired),
            vote("recommendation=review_recommended", Execute)
        ]
    );
}

// --- legacy: result, requires_approval, allowed ----------------------------------------

#[test]
fn result_votes() {
    for (result, verdict) in [
        ("allowed", Execute),
        ("limited", Execute),
        ("blocked", Blocked),
        ("denied", Blocked),
        ("requires_approval", ApprovalRequired),
    ] {
        let raw = json!({"execution_mode": "autonomous", "result": result});
        assert!(
            votes(raw.clone()).contains(&vote(&format!("result={result}"), verdict)),
            "{result}"
        );
    }
    assert_eq!(
        gate(json!({"mode": "autonomous", "result": "denied"})),
        Blocked
    );
    assert_eq!(
        votes(json!({"mode": "autonomous", "result": "pending"})).len(),
        1
    );
}

#[test]
fn allowed_and_requires_approval_votes() {
    assert_eq!(gate(json!({"allowed": true})), Execute);
    assert_eq!(
        votes(json!({"allowed": true})),
        [
            vote("mode=autonomous", Execute),
            vote("allowed=true", Execute)
        ]
    );
    assert_eq!(gate(json!({"allowed": false})), Blocked);
    assert_eq!(
        gate(json!({"mode": "autonomous", "allowed": false})),
        Blocked
    );
    assert_eq!(
        votes(json!({"mode": "autonomous", "requires_approval": true})),
        [
            // requires_approval: true makes the mode review before the explicit mode
            vote("mode=review", ApprovalRequired),
            vote("requires_approval", ApprovalRequired)
        ]
    );
}

#[test]
fn allowed_false_pending_approval_is_a_pause_not_a_block() {
    let raw = json!({"allowed": false, "result": "requires_approval"});
    assert_eq!(
        votes(raw.clone()),
        [
            vote("mode=review", ApprovalRequired),
            vote("result=requires_approval", ApprovalRequired),
            vote("allowed=false", ApprovalRequired)
        ]
    );
    assert_eq!(gate(raw), ApprovalRequired);
    assert_eq!(
        gate(json!({"allowed": false, "requires_approval": true})),
        ApprovalRequired
    );
}

#[test]
fn allowed_false_agrees_with_the_pause_that_explains_it() {
    let needs_context =
        json!({"mode": "needs_context", "needs_more_context": true, "allowed": false});
    assert_eq!(gate(needs_context), NeedsContext);
    assert_eq!(
        gate(json!({"mode": "review", "allowed": false})),
        ApprovalRequired
    );
    // Alone, or against a runnable mode, it blocks.
    assert_eq!(gate(json!({"allowed": false})), Blocked);
    assert_eq!(
        gate(json!({"mode": "autonomous", "allowed": false})),
        Blocked
    );
}

#[test]
fn the_fixture_pauses_for_review() {
    let raw: Value =
        serde_json::from_str(include_str!("../fixtures/argocd_sync_review.json")).unwrap();
    let d = Decision::from_backend_response(&raw);
    assert_eq!(d.verdict(), ApprovalRequired);
    let signals: Vec<String> = d.votes().into_iter().map(|v| v.to_string()).collect();
    assert_eq!(
        signals,
        [
            "mode=review -> approval_required",
            "needs_review -> approval_required",
            "enforcement_mode=review/recommendation=review_recommended -> approval_required",
            "result=requires_approval -> approval_required",
            "requires_approval -> approval_required",
            "can_run=false -> approval_required",
            "allowed=false -> approval_required",
        ]
    );
}

// --- contradictions resolve restrictively ----------------------------------------------

#[test]
fn contradictions_resolve_restrictively() {
    for (raw, expected) in [
        (json!({"mode": "autonomous", "allowed": false}), Blocked),
        (json!({"mode": "autonomous", "result": "blocked"}), Blocked),
        (json!({"allowed": true, "result": "denied"}), Blocked),
        (
            json!({"allowed": true, "result": "requires_approval"}),
            ApprovalRequired,
        ),
        (
            json!({"mode": "autonomous", "recommendation": "do_not_proceed",
                "enforcement_mode": "enforced", "enforced_verdict": "allowed"}),
            Blocked,
        ),
        (
            json!({"mode": "blocked", "enforcement_mode": "enforced", "enforced_verdict": "allowed"}),
            Blocked,
        ),
        (
            json!({"mode": "review", "enforcement_mode": "review", "recommendation": "proceed"}),
            ApprovalRequired,
        ),
        (
            json!({"execution_mode": "shadow", "allowed": true, "recommendation": "proceed"}),
            Blocked,
        ),
        (json!({"dry_run": true, "mode": "autonomous"}), Blocked),
    ] {
        assert_eq!(gate(raw.clone()), expected, "{raw}");
    }
}

#[test]
fn execute_needs_every_vote_to_agree() {
    let raw = json!({
        "mode": "constrained",
        "can_run": true,
        "enforcement_mode": "enforced",
        "enforced_verdict": "proceed",
        "recommendation": "proceed_with_caution",
        "result": "limited",
        "allowed": true
    });
    let vs = votes(raw.clone());
    assert_eq!(vs.len(), 5);
    assert!(vs.iter().all(|(_, v)| *v == Execute));
    assert_eq!(gate(raw), Execute);
}
