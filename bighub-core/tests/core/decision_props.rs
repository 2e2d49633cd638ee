//! Properties over arbitrary JSON answers: normalising never panics, decisions round-trip
//! through serde, and the gate never executes what the decision says may not run.

use bighub_core::{Decision, Verdict};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Keys the normaliser and the gate read, so that generated objects hit their paths.
const KEYS: &[&str] = &[
    "mode",
    "execution_mode",
    "dry_run",
    "needs_more_context",
    "request_type",
    "human_review",
    "requires_approval",
    "result",
    "recommendation",
    "allowed",
    "can_run",
    "needs_review",
    "should_not_run",
    "enforcement_mode",
    "enforced_verdict",
    "better_action",
    "recommended_action",
    "decision_packet",
    "action_contract",
    "alternatives",
    "decision_intelligence",
    "rationale",
    "risk",
    "risk_score",
    "decision_runtime_spine",
    "decision",
    "request_id",
    "validation_id",
    "id",
    "reason",
    "decision_brain",
    "review_reason",
    "blocked_by",
    "reasoning_summary",
    "model_selection",
    "model_selection_reason",
    "responsible_action_space",
    "available",
    "constrained",
    "forbidden",
    "information_gathering",
    "salient_factors",
    "factor",
    "severity",
    "operational_intent",
    "declared",
    "inferred",
    "confidence",
    "mismatch",
    "agent_operational_body",
    "can_touch",
    "can_verify",
    "can_rollback",
    "cannot_observe",
    "requires_human",
    "action_interpretation_layer",
    "raw_action",
    "interpreted_action",
    "action_family",
    "action",
    "description",
    "summary",
    "title",
    "fail_mode",
    "error",
];

/// String values with a meaning somewhere.
const WORDS: &[&str] = &[
    "autonomous",
    "constrained",
    "review",
    "blocked",
    "needs_context",
    "shadow",
    "dry_run",
    "full",
    "allowed",
    "limited",
    "restricted",
    "conditional",
    "denied",
    "review_required",
    " Autonomous ",
    "CONDITIONAL",
    "proceed",
    "proceed_with_caution",
    "review_recommended",
    "do_not_proceed",
    "requires_approval",
    "enforced",
    "advisory",
    "clarification_needed",
    "needs_more_context",
    "closed",
    "open",
    "",
    "  ",
    "0.78",
    " 0.5 ",
    "NaN",
    "inf",
    "-1e400",
    "true",
    "false",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from), // non-finite becomes null
        (0.0f64..=1.0).prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        9 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => "[a-z_]{1,8}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Boolean keys the normaliser or the gate reads.
const FLAG_KEYS: &[&str] = &[
    "dry_run",
    "needs_more_context",
    "human_review",
    "requires_approval",
    "allowed",
    "can_run",
    "needs_review",
    "should_not_run",
];

/// String keys the normaliser or the gate reads.
const WORD_KEYS: &[&str] = &[
    "mode",
    "execution_mode",
    "result",
    "recommendation",
    "enforcement_mode",
    "enforced_verdict",
    "request_type",
];

/// One top-level entry: mostly a gating key with a meaningful value, sometimes anything.
fn entry() -> impl Strategy<Value = (String, Value)> {
    let flag = (
        prop::sample::select(FLAG_KEYS),
        prop_oneof![4 => any::<bool>().prop_map(Value::Bool), 1 => leaf()],
    );
    let word = (
        prop::sample::select(WORD_KEYS),
        prop_oneof![4 => prop::sample::select(WORDS).prop_map(Value::from), 1 => leaf()],
    );
    prop_oneof![
        2 => flag.prop_map(|(k, v)| (k.to_owned(), v)),
        4 => word.prop_map(|(k, v)| (k.to_owned(), v)),
        3 => (key(), json()),
    ]
}

/// A top-level answer: mostly objects of gating keys and known explanatory fields.
fn answer() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => json(),
        8 => prop::collection::vec(entry(), 0..10)
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
    ]
}

/// Any JSON value but a boolean or null: what a gating flag must never be read as "go" from.
fn non_boolean() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        (0.0f64..=1.0).prop_map(Value::from),
        prop::sample::select(WORDS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop::collection::vec(json(), 0..4).prop_map(Value::Array),
        prop::collection::vec((key(), json()), 0..4)
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
    ]
}

fn raw_flag(raw: &Value, key: &str) -> Option<bool> {
    raw.get(key).and_then(Value::as_bool)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn normalising_and_gating_any_json_holds_the_invariants(raw in answer()) {
        let d = Decision::from_backend_response(&raw);
        prop_assert_eq!(&d.raw, &raw);
        prop_assert_eq!(&Decision::from_backend_value(raw.clone()), &d);

        // serde round trip
        let back: Decision = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
        prop_assert_eq!(&back, &d);

        // flags are derived from the mode
        prop_assert_eq!(d.can_run, d.mode.is_some_and(|m| m.can_run()));

        // the verdict is the most restrictive vote
        let verdict = d.verdict();
        let votes = d.votes();
        prop_assert_eq!(Some(verdict), votes.iter().map(|v| v.verdict).max());

        // the gate never executes what may not run
        if verdict == Verdict::Execute {
            prop_assert!(d.can_run);
            prop_assert!(raw_flag(&raw, "should_not_run") != Some(true));
            prop_assert!(raw_flag(&raw, "needs_review") != Some(true));
            prop_assert!(raw_flag(&raw, "needs_more_context") != Some(true));
            prop_assert!(raw_flag(&raw, "can_run") != Some(false));
            prop_assert!(votes.iter().all(|v| v.verdict == Verdict::Execute));
        }

        // no optional text field is ever empty
        for text in [&d.request_id, &d.better_action, &d.reason, &d.recommendation,
                     &d.enforcement_mode, &d.result].into_iter().flatten() {
            prop_assert!(!text.trim().is_empty());
        }
        for risk in [d.risk, d.risk_score].into_iter().flatten() {
            prop_assert!(risk.is_finite());
        }
    }

    #[test]
    fn a_gating_flag_of_any_other_type_beside_an_autonomous_mode_never_executes(
        others in prop::collection::vec(entry(), 0..6),
        flag in prop::sample::select(FLAG_KEYS),
        value in non_boolean(),
    ) {
        let mut raw: Map<String, Value> = others.into_iter().collect();
        raw.insert("mode".into(), Value::from("autonomous"));
        raw.insert(flag.into(), value);
        let d = Decision::from_backend_value(Value::Object(raw));

        prop_assert_ne!(d.verdict(), Verdict::Execute);
        let signal = format!("{flag}=non-boolean");
        prop_assert!(
            d.votes().iter().any(|v| v.signal == signal && v.verdict == Verdict::Blocked),
            "no {} vote in {:?}", signal, d.votes()
        );
    }
}
