//! Reading a raw decision-service answer into a [`Decision`].
//!
//! This module owns the tolerant, field-by-field reading of `/actions/evaluate` answers in
//! all their historical shapes: where each field may come from, in which order, and what is
//! ignored. It does not own the shape itself (`decision.rs`), the verdict (`gate.rs`) or
//! talking to the service (`bighub-remote`).
//!
//! Reading rules shared by every field:
//! - strings are trimmed, and an empty or whitespace-only string counts as absent;
//! - numbers may arrive as JSON numbers or numeric strings (`"0.78"`, `" 0.5 "`); anything
//!   else, including non-finite values such as `"NaN"` or `"inf"`, counts as absent;
//! - where a list is expected, a single item is accepted as a one-item list, and items of
//!   the wrong kind are dropped;
//! - inside the typed explanatory objects, a known field with the wrong type is dropped
//!   (it stays in `raw`) and unknown fields go to `extra`;
//! - the boolean flags (`dry_run`, `needs_more_context`, `human_review`,
//!   `requires_approval`, `allowed`, ...) count only as JSON booleans: `"true"`, `1` and
//!   the like never set a mode or a compatibility flag here (the gate counts them as a
//!   stop, see `gate.rs`);
//! - nothing panics and nothing fails: a non-object answer gives a decision with no mode.

use serde_json::{Map, Value};

use crate::decision::{
    ActionInterpretationLayer, AgentOperationalBody, Decision, Mode, OperationalIntent,
    ResponsibleActionSpace, SalientFactor,
};

/// Field names an object may use to name an action in prose, in order of preference.
const ACTION_TEXT_KEYS: [&str; 5] = ["better_action", "action", "description", "summary", "title"];

impl Mode {
    /// Parses a wire name or one of the service's aliases (trimmed, case-insensitive):
    /// `full`/`allowed` are autonomous, `limited`/`restricted`/`conditional` constrained,
    /// `denied`/`blocked` blocked and `review_required` review.
    ///
    /// ```
    /// use bighub_core::Mode;
    ///
    /// assert_eq!(Mode::parse_alias(" CONDITIONAL "), Some(Mode::Constrained));
    /// assert_eq!(Mode::parse_alias("needs_context"), Some(Mode::NeedsContext));
    /// assert_eq!(Mode::parse_alias("maybe"), None);
    /// ```
    pub fn parse_alias(s: &str) -> Option<Mode> {
        const TABLE: [(&str, Mode); 14] = [
            ("autonomous", Mode::Autonomous),
            ("constrained", Mode::Constrained),
            ("review", Mode::Review),
            ("blocked", Mode::Blocked),
            ("needs_context", Mode::NeedsContext),
            ("shadow", Mode::Shadow),
            ("dry_run", Mode::DryRun),
            ("full", Mode::Autonomous),
            ("allowed", Mode::Autonomous),
            ("limited", Mode::Constrained),
            ("restricted", Mode::Constrained),
            ("conditional", Mode::Constrained),
            ("denied", Mode::Blocked),
            ("review_required", Mode::Review),
        ];
        let s = s.trim();
        TABLE
            .iter()
            .find(|(name, _)| s.eq_ignore_ascii_case(name))
            .map(|&(_, mode)| mode)
    }
}

impl Decision {
    /// Normalises a raw `/actions/evaluate` answer (or any engine's answer in the same
    /// shape) into a typed decision. Never panics, whatever the JSON.
    ///
    /// **Mode**, first match wins: `dry_run: true` → dry run; `needs_more_context: true`
    /// or `request_type` `clarification_needed`/`needs_more_context` → needs context;
    /// `human_review: true`, `requires_approval: true`, `result: "requires_approval"` or
    /// `recommendation: "review_recommended"` → review; the explicit `execution_mode`
    /// (else `mode`) when it is a known mode or alias ([`Mode::parse_alias`]); then the
    /// legacy fields: `recommendation: "do_not_proceed"`, `result` `blocked`/`denied` or
    /// `allowed: false` → blocked; `recommendation: "proceed_with_caution"` or
    /// `result: "limited"` → constrained; `recommendation: "proceed"`,
    /// `result: "allowed"` or `allowed: true` → autonomous; otherwise no mode.
    ///
    /// **Flags** follow the mode ([`Decision::set_mode`]): `can_run` for autonomous and
    /// constrained, `needs_review` for review, `needs_more_context` for needs context,
    /// `should_not_run` for blocked. Shadow, dry run and no mode set none of them: nothing
    /// may run, but nothing is asked of the caller either; the gate blocks them.
    ///
    /// **`better_action`**: the first present of `better_action`, `recommended_action`,
    /// `decision_packet.better_action`, `decision_packet.action_contract.better_action`,
    /// then the first usable item of `decision_intelligence.alternatives`, then of
    /// `decision_packet.alternatives`. A string is used as is (trimmed); an object gives
    /// its first non-empty string among `better_action`, `action`, `description`,
    /// `summary`, `title`, else its compact JSON; an empty object, or any other JSON type,
    /// counts as absent.
    ///
    /// **`risk`**: `risk`, `risk_score`, then `decision_runtime_spine.decision.risk_score`.
    /// **`request_id`**: `request_id`, `validation_id`, `id` (strings or integers).
    /// **`reason`**: `reason`; then `decision_brain.review_reason`, `review_reason`,
    /// `blocked_by` (a list of strings is joined with `", "`); then
    /// `decision_brain.reasoning_summary`, `decision_intelligence.rationale`,
    /// `reasoning_summary`; then `model_selection.reason`, `model_selection_reason`.
    ///
    /// The compatibility fields are read from the keys of the same name, and the whole
    /// answer is kept in `raw`.
    ///
    /// ```
    /// use bighub_core::{Decision, Mode, Verdict};
    /// use serde_json::json;
    ///
    /// let d = Decision::from_backend_response(&json!({
    ///     "validation_id": "VAL_42",
    ///     "mode": "Limited",
    ///     "risk_score": "0.35",
    ///     "recommended_action": {"action": "Deploy to one canary pod first"},
    ///     "salient_factors": {"factor": "weak_verifier_coverage", "severity": "caution"}
    /// }));
    /// assert_eq!(d.request_id.as_deref(), Some("VAL_42"));
    /// assert_eq!(d.mode, Some(Mode::Constrained));
    /// assert!(d.can_run);
    /// assert_eq!(d.risk, Some(0.35));
    /// assert_eq!(d.better_action.as_deref(), Some("Deploy to one canary pod first"));
    /// assert_eq!(d.salient_factors[0].factor.as_deref(), Some("weak_verifier_coverage"));
    /// assert_eq!(d.verdict(), Verdict::Execute);
    ///
    /// // Not an object: kept, but nothing to act on.
    /// let odd = Decision::from_backend_response(&json!(["not", "a", "decision"]));
    /// assert_eq!(odd.mode, None);
    /// assert_eq!(odd.verdict(), Verdict::Blocked);
    /// ```
    pub fn from_backend_response(raw: &Value) -> Decision {
        let mut d = read(raw);
        d.raw = raw.clone();
        d
    }

    /// Like [`from_backend_response`](Decision::from_backend_response), taking the answer
    /// by value so that `raw` is moved in rather than copied.
    ///
    /// ```
    /// use bighub_core::{Decision, Verdict};
    /// use serde_json::json;
    ///
    /// let body = json!({"request_id": "req_1", "mode": "blocked", "reason": "change freeze"});
    /// let d = Decision::from_backend_value(body.clone());
    /// assert_eq!(d, Decision::from_backend_response(&body));
    /// assert_eq!(d.verdict(), Verdict::Blocked);
    /// ```
    pub fn from_backend_value(raw: Value) -> Decision {
        let mut d = read(&raw);
        d.raw = raw;
        d
    }

    /// Sets `mode` and the four flags that derive from it (`can_run`, `needs_review`,
    /// `needs_more_context`, `should_not_run`), keeping them consistent.
    ///
    /// ```
    /// use bighub_core::{Decision, Mode};
    ///
    /// let mut d = Decision::default();
    /// d.set_mode(Some(Mode::Review));
    /// assert!(d.needs_review && !d.can_run);
    /// ```
    pub fn set_mode(&mut self, mode: Option<Mode>) {
        self.mode = mode;
        self.can_run = mode.is_some_and(Mode::can_run);
        self.needs_review = mode == Some(Mode::Review);
        self.needs_more_context = mode == Some(Mode::NeedsContext);
        self.should_not_run = mode == Some(Mode::Blocked);
    }
}

/// Everything but `raw`, which the callers set (copied or moved).
fn read(raw: &Value) -> Decision {
    let Some(o) = raw.as_object() else {
        return Decision::default();
    };
    let mut d = Decision {
        request_id: ["request_id", "validation_id", "id"]
            .iter()
            .find_map(|k| o.get(*k).and_then(id_text)),
        better_action: better_action(o),
        risk: [
            o.get("risk"),
            o.get("risk_score"),
            path(o, &["decision_runtime_spine", "decision", "risk_score"]),
        ]
        .into_iter()
        .find_map(|v| v.and_then(number)),
        reason: reason(o),
        responsible_action_space: o
            .get("responsible_action_space")
            .and_then(Value::as_object)
            .map(action_space)
            .unwrap_or_default(),
        salient_factors: items(o.get("salient_factors"))
            .filter_map(Value::as_object)
            .map(salient_factor)
            .collect(),
        operational_intent: object(o, "operational_intent").map(operational_intent),
        agent_operational_body: object(o, "agent_operational_body").map(operational_body),
        action_interpretation_layer: object(o, "action_interpretation_layer")
            .map(interpretation_layer),
        recommendation: string(o, "recommendation"),
        risk_score: o.get("risk_score").and_then(number),
        enforcement_mode: string(o, "enforcement_mode"),
        allowed: o.get("allowed").and_then(Value::as_bool),
        result: string(o, "result"),
        requires_approval: o.get("requires_approval").and_then(Value::as_bool),
        ..Decision::default()
    };
    d.set_mode(derive_mode(o));
    d
}

fn derive_mode(o: &Map<String, Value>) -> Option<Mode> {
    let is_true = |k: &str| o.get(k).and_then(Value::as_bool) == Some(true);
    let text = |k: &str| o.get(k).and_then(trimmed);
    let is = |k: &str, options: &[&str]| {
        text(k).is_some_and(|s| options.iter().any(|opt| s.eq_ignore_ascii_case(opt)))
    };

    if is_true("dry_run") {
        return Some(Mode::DryRun);
    }
    if is_true("needs_more_context")
        || is(
            "request_type",
            &["clarification_needed", "needs_more_context"],
        )
    {
        return Some(Mode::NeedsContext);
    }
    if is_true("human_review")
        || is_true("requires_approval")
        || is("result", &["requires_approval"])
        || is("recommendation", &["review_recommended"])
    {
        return Some(Mode::Review);
    }
    // `execution_mode` wins over `mode` whenever it is present, even when unknown.
    if let Some(mode) = text("execution_mode")
        .or_else(|| text("mode"))
        .and_then(Mode::parse_alias)
    {
        return Some(mode);
    }
    let allowed = o.get("allowed").and_then(Value::as_bool);
    if is("recommendation", &["do_not_proceed"])
        || is("result", &["blocked", "denied"])
        || allowed == Some(false)
    {
        return Some(Mode::Blocked);
    }
    if is("recommendation", &["proceed_with_caution"]) || is("result", &["limited"]) {
        return Some(Mode::Constrained);
    }
    if is("recommendation", &["proceed"]) || is("result", &["allowed"]) || allowed == Some(true) {
        return Some(Mode::Autonomous);
    }
    // A legacy enforced answer may carry nothing but its verdict; the gate follows that
    // verdict, so the mode must too, or an enforced "allowed" could never run.
    if is("enforcement_mode", &["enforced"]) {
        return Some(if is("enforced_verdict", &["allowed", "proceed"]) {
            Mode::Autonomous
        } else if is("enforced_verdict", &["requires_approval"]) {
            Mode::Review
        } else {
            Mode::Blocked
        });
    }
    None
}

fn better_action(o: &Map<String, Value>) -> Option<String> {
    let direct = [
        o.get("better_action"),
        o.get("recommended_action"),
        path(o, &["decision_packet", "better_action"]),
        path(o, &["decision_packet", "action_contract", "better_action"]),
    ];
    direct
        .into_iter()
        .find_map(|v| v.and_then(action_text))
        .or_else(|| {
            [
                path(o, &["decision_intelligence", "alternatives"]),
                path(o, &["decision_packet", "alternatives"]),
            ]
            .into_iter()
            .find_map(|list| items(list).find_map(action_text))
        })
}

fn reason(o: &Map<String, Value>) -> Option<String> {
    [
        o.get("reason"),
        path(o, &["decision_brain", "review_reason"]),
        o.get("review_reason"),
        o.get("blocked_by"),
        path(o, &["decision_brain", "reasoning_summary"]),
        path(o, &["decision_intelligence", "rationale"]),
        o.get("reasoning_summary"),
        path(o, &["model_selection", "reason"]),
        o.get("model_selection_reason"),
    ]
    .into_iter()
    .find_map(|v| v.and_then(reason_text))
}

fn action_space(o: &Map<String, Value>) -> ResponsibleActionSpace {
    let group = |key: &str| {
        items(o.get(key))
            .filter_map(Value::as_object)
            .cloned()
            .collect()
    };
    ResponsibleActionSpace {
        available: group("available"),
        constrained: group("constrained"),
        forbidden: group("forbidden"),
        information_gathering: group("information_gathering"),
    }
}

/// Splits an object into its known fields (taken out) and the rest (`extra`).
struct Fields<'a> {
    source: &'a Map<String, Value>,
    known: &'static [&'static str],
}

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.source.get(key)
    }

    fn extra(&self) -> Map<String, Value> {
        self.source
            .iter()
            .filter(|(k, _)| !self.known.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn salient_factor(o: &Map<String, Value>) -> SalientFactor {
    let f = Fields {
        source: o,
        known: &["factor", "severity", "reason"],
    };
    SalientFactor {
        factor: f.get("factor").and_then(owned_text),
        severity: f.get("severity").and_then(owned_text),
        reason: f.get("reason").and_then(owned_text),
        extra: f.extra(),
    }
}

fn operational_intent(o: &Map<String, Value>) -> OperationalIntent {
    let f = Fields {
        source: o,
        known: &["declared", "inferred", "confidence", "mismatch"],
    };
    OperationalIntent {
        declared: f.get("declared").and_then(owned_text),
        inferred: f.get("inferred").and_then(owned_text),
        confidence: f.get("confidence").and_then(number),
        mismatch: f.get("mismatch").and_then(Value::as_bool),
        extra: f.extra(),
    }
}

fn operational_body(o: &Map<String, Value>) -> AgentOperationalBody {
    let f = Fields {
        source: o,
        known: &[
            "can_touch",
            "can_verify",
            "can_rollback",
            "cannot_observe",
            "requires_human",
        ],
    };
    let list = |key: &str| -> Vec<String> { items(f.get(key)).filter_map(owned_text).collect() };
    AgentOperationalBody {
        can_touch: list("can_touch"),
        can_verify: list("can_verify"),
        can_rollback: list("can_rollback"),
        cannot_observe: list("cannot_observe"),
        requires_human: list("requires_human"),
        extra: f.extra(),
    }
}

fn interpretation_layer(o: &Map<String, Value>) -> ActionInterpretationLayer {
    let f = Fields {
        source: o,
        known: &["raw_action", "interpreted_action", "action_family"],
    };
    ActionInterpretationLayer {
        raw_action: f.get("raw_action").and_then(action_text),
        interpreted_action: f.get("interpreted_action").and_then(action_text),
        action_family: f.get("action_family").and_then(owned_text),
        extra: f.extra(),
    }
}

// --- small readers -------------------------------------------------------------------

/// Follows a path of object keys.
fn path<'a>(o: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    let (first, rest) = keys.split_first()?;
    rest.iter()
        .try_fold(o.get(*first)?, |v, k| v.as_object()?.get(*k))
}

fn object<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    o.get(key).and_then(Value::as_object)
}

/// A list's items, a single non-null value as a one-item list, or nothing.
fn items(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    let slice: &[Value] = match v {
        None | Some(Value::Null) => &[],
        Some(Value::Array(list)) => list,
        Some(single) => std::slice::from_ref(single),
    };
    slice.iter()
}

fn trimmed(v: &Value) -> Option<&str> {
    let s = v.as_str()?.trim();
    (!s.is_empty()).then_some(s)
}

fn owned_text(v: &Value) -> Option<String> {
    trimmed(v).map(str::to_owned)
}

fn string(o: &Map<String, Value>, key: &str) -> Option<String> {
    o.get(key).and_then(owned_text)
}

/// An identifier: a non-empty string or an integer.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => owned_text(v),
    }
}

/// A finite number, from a JSON number or a numeric string.
fn number(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// Prose naming an action: a string, or an object's meaningful field, else its JSON.
fn action_text(v: &Value) -> Option<String> {
    match v {
        Value::String(_) => owned_text(v),
        Value::Object(o) if o.is_empty() => None,
        Value::Object(o) => ACTION_TEXT_KEYS
            .iter()
            .find_map(|k| o.get(*k).and_then(owned_text))
            .or_else(|| Some(v.to_string())),
        _ => None,
    }
}

/// A reason: a string, or a list of strings joined with `", "`.
fn reason_text(v: &Value) -> Option<String> {
    match v {
        Value::Array(list) => {
            let parts: Vec<&str> = list.iter().filter_map(trimmed).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        _ => owned_text(v),
    }
}
