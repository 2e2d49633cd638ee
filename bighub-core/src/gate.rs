//! The gate: from a [`Decision`] to a [`Verdict`].
//!
//! This module owns the voting rules: every signal in a decision casts a [`Vote`] and the
//! most restrictive vote wins. It does not read raw service answers (`normalize.rs` does)
//! and it runs no tools (the runtime in `bighub-openai` does).
//!
//! # Signals and their votes
//!
//! | signal | vote |
//! |---|---|
//! | `mode=autonomous`, `mode=constrained` | execute |
//! | `mode=review` | require approval |
//! | `mode=needs_context` | need context |
//! | `mode=blocked`, `mode=shadow`, `mode=dry_run`, `mode=none` (no mode) | block |
//! | any gating flag sent as something other than a JSON boolean (see below) | block, signal `<flag>=non-boolean` |
//! | `should_not_run` (raw `true`) | block |
//! | `needs_review` (raw `true`) | require approval |
//! | `needs_more_context` (raw `true`) | need context |
//! | `can_run=false` (raw `false`) | the most restrictive other non-execute vote, else block |
//! | `enforcement_mode=enforced/enforced_verdict=…` | `allowed`/`proceed` execute, `requires_approval` require approval, anything else or missing block |
//! | `enforcement_mode=review/recommendation=…` | `do_not_proceed` block, `proceed` execute, anything else require approval |
//! | `enforcement_mode=…` (not `enforced`, `review` or `advisory`) | block |
//! | `recommendation=…` (advisory, when enforcement is not `review`) | `do_not_proceed` block; `review_recommended` require approval when `requires_approval` or `human_review` is set, else execute; `proceed`, `proceed_with_caution` execute; unknown values do not vote |
//! | `result=…` | `allowed`, `limited` execute; `blocked`, `denied` block; `requires_approval` require approval; unknown values do not vote |
//! | `requires_approval` (`true`) | require approval |
//! | `allowed=true` / `allowed=false` | execute / like `can_run=false`: the most restrictive other non-execute vote, else block |
//!
//! The gating flags are `should_not_run`, `can_run`, `needs_review`, `needs_more_context`,
//! `allowed`, `requires_approval`, `human_review` and `dry_run`. Each counts only as a JSON
//! boolean: a string (`"true"`, `"false"`, `""`), a number (`0`, `1`), a list or an object in
//! one of them is a stop vote, because a service that sent a stop signal in the wrong type
//! must not be read as having sent none. JSON `null` counts as absent, the way services
//! serialize an unset optional.
//!
//! The mode always votes, so a call executes only when its decision's mode allows running
//! (`can_run`) *and* no other signal objects. An answer without a mode blocks, whatever its
//! legacy fields say. Decisions built by hand whose typed flags disagree with their mode
//! also get votes for the disagreeing flags (`decision.should_not_run`, ...), so an
//! inconsistent decision resolves restrictively too.
//!
//! Between the two pauses, [`Verdict::NeedsContext`] outranks [`Verdict::ApprovalRequired`]:
//! a reviewer should see the missing information, so it is gathered first.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Decision, Mode};

/// What to do with a decided call, ordered from least to most restrictive.
///
/// `Execute < ApprovalRequired < NeedsContext < Blocked`, so `max` picks the most
/// restrictive of two verdicts.
///
/// ```
/// use bighub_core::Verdict;
///
/// assert!(Verdict::Blocked > Verdict::NeedsContext);
/// assert_eq!(Verdict::Execute.max(Verdict::ApprovalRequired), Verdict::ApprovalRequired);
/// assert_eq!(Verdict::NeedsContext.to_string(), "needs_context");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Run it.
    Execute,
    /// Pause until a human approves it.
    ApprovalRequired,
    /// Ask for more context before deciding again.
    NeedsContext,
    /// Do not run it.
    Blocked,
}

impl Verdict {
    /// The wire name: `execute`, `approval_required`, `needs_context` or `blocked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Execute => "execute",
            Self::ApprovalRequired => "approval_required",
            Self::NeedsContext => "needs_context",
            Self::Blocked => "blocked",
        }
    }

    /// Whether the call may run now.
    pub fn is_execute(self) -> bool {
        self == Self::Execute
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One signal's vote, as returned by [`Decision::votes`].
///
/// ```
/// use bighub_core::{Decision, Verdict};
/// use serde_json::json;
///
/// let d = Decision::from_backend_response(&json!({"mode": "autonomous", "should_not_run": true}));
/// let blocking: Vec<String> = d
///     .votes()
///     .into_iter()
///     .filter(|v| v.verdict == Verdict::Blocked)
///     .map(|v| v.to_string())
///     .collect();
/// assert_eq!(blocking, ["should_not_run -> blocked"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    /// The signal, for example `mode=review`, `should_not_run`,
    /// `should_not_run=non-boolean` or `enforcement_mode=enforced/enforced_verdict=blocked`.
    pub signal: String,
    /// Its verdict.
    pub verdict: Verdict,
}

impl fmt::Display for Vote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.signal, self.verdict)
    }
}

/// A signal, borrowed from the decision so that [`Decision::verdict`] never allocates.
#[derive(Debug, Clone, Copy)]
enum Signal<'a> {
    Mode(Option<Mode>),
    /// A typed flag that disagrees with the mode (hand-built decisions only).
    TypedFlag(&'static str),
    RawFlag(&'static str),
    /// A gating flag whose value is neither a boolean nor null.
    NonBoolean(&'static str),
    Enforced(Option<&'a str>),
    EnforcementReview(Option<&'a str>),
    UnknownEnforcement(&'a str),
    Recommendation(&'a str),
    ReviewRecommendedWithApproval,
    Result(&'a str),
    RequiresApproval,
    Allowed(bool),
}

impl fmt::Display for Signal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mode(Some(mode)) => write!(f, "mode={mode}"),
            Self::Mode(None) => f.write_str("mode=none"),
            Self::TypedFlag(name) => write!(f, "decision.{name}"),
            Self::RawFlag(name) => f.write_str(name),
            Self::NonBoolean(name) => write!(f, "{name}=non-boolean"),
            Self::Enforced(v) => write!(
                f,
                "enforcement_mode=enforced/enforced_verdict={}",
                v.unwrap_or("missing")
            ),
            Self::EnforcementReview(r) => write!(
                f,
                "enforcement_mode=review/recommendation={}",
                r.unwrap_or("missing")
            ),
            Self::UnknownEnforcement(m) => write!(f, "enforcement_mode={m}"),
            Self::Recommendation(r) => write!(f, "recommendation={r}"),
            Self::ReviewRecommendedWithApproval => {
                f.write_str("recommendation=review_recommended/requires_approval")
            }
            Self::Result(r) => write!(f, "result={r}"),
            Self::RequiresApproval => f.write_str("requires_approval"),
            Self::Allowed(a) => write!(f, "allowed={a}"),
        }
    }
}

impl Decision {
    /// The gate's verdict: the most restrictive of all [`votes`](Decision::votes).
    ///
    /// A call executes only when the decision's mode allows running and no other signal
    /// (explicit flags, legacy fields) objects; an answer without a usable mode blocks.
    /// This never allocates.
    ///
    /// ```
    /// use bighub_core::{Decision, Verdict};
    /// use serde_json::json;
    ///
    /// let run = Decision::from_backend_response(&json!({"mode": "constrained", "risk": 0.2}));
    /// assert_eq!(run.verdict(), Verdict::Execute);
    ///
    /// // The service says "autonomous" but also sends an explicit stop flag: the flag wins.
    /// let contradictory = Decision::from_backend_response(&json!({
    ///     "mode": "autonomous",
    ///     "should_not_run": true
    /// }));
    /// assert_eq!(contradictory.verdict(), Verdict::Blocked);
    ///
    /// // A stop flag sent in the wrong type still stops.
    /// let stringly = Decision::from_backend_response(&json!({
    ///     "mode": "autonomous",
    ///     "should_not_run": "true"
    /// }));
    /// assert_eq!(stringly.verdict(), Verdict::Blocked);
    ///
    /// // Legacy enforced answers follow their enforced verdict.
    /// let legacy = Decision::from_backend_response(&json!({
    ///     "allowed": true,
    ///     "enforcement_mode": "enforced",
    ///     "enforced_verdict": "requires_approval"
    /// }));
    /// assert_eq!(legacy.verdict(), Verdict::ApprovalRequired);
    ///
    /// // Nothing usable: block.
    /// assert_eq!(Decision::from_backend_response(&json!({})).verdict(), Verdict::Blocked);
    /// ```
    pub fn verdict(&self) -> Verdict {
        let mut verdict = Verdict::Execute;
        cast_votes(self, |_, v| verdict = verdict.max(v));
        verdict
    }

    /// Every signal's vote, in a stable order (mode first, legacy fields last), so a caller
    /// can explain a verdict. [`verdict`](Decision::verdict) is their maximum.
    ///
    /// ```
    /// use bighub_core::gate::Vote;
    /// use bighub_core::{Decision, Verdict};
    /// use serde_json::json;
    ///
    /// let d = Decision::from_backend_response(&json!({
    ///     "mode": "review",
    ///     "enforcement_mode": "enforced",
    ///     "enforced_verdict": "blocked"
    /// }));
    /// assert_eq!(
    ///     d.votes(),
    ///     [
    ///         Vote { signal: "mode=review".into(), verdict: Verdict::ApprovalRequired },
    ///         Vote {
    ///             signal: "enforcement_mode=enforced/enforced_verdict=blocked".into(),
    ///             verdict: Verdict::Blocked,
    ///         },
    ///     ]
    /// );
    /// assert_eq!(d.verdict(), Verdict::Blocked);
    /// ```
    pub fn votes(&self) -> Vec<Vote> {
        let mut votes = Vec::new();
        cast_votes(self, |signal, verdict| {
            votes.push(Vote {
                signal: signal.to_string(),
                verdict,
            })
        });
        votes
    }
}

/// Casts every vote of `d` into `vote`. The single source of the rules for both
/// [`Decision::verdict`] and [`Decision::votes`].
fn cast_votes<'a>(d: &'a Decision, mut vote: impl FnMut(Signal<'a>, Verdict)) {
    // Tracks the most restrictive non-execute vote so far, for `can_run=false`.
    let mut worst_pause: Option<Verdict> = None;
    let mut cast = |signal: Signal<'a>, verdict: Verdict| {
        if verdict != Verdict::Execute {
            worst_pause = Some(worst_pause.map_or(verdict, |w| w.max(verdict)));
        }
        vote(signal, verdict);
    };

    mode_vote(d, &mut cast);
    typed_flag_votes(d, &mut cast);
    let raw = d.raw.as_object();
    let raw_can_run_false = raw_flag_votes(raw, &mut cast);
    legacy_votes(d, raw, &mut cast);

    // `can_run: false` and `allowed: false` only say "not now"; another pause (review,
    // context) may be the reason, in which case they agree with that pause. Alone, they block.
    let not_now = worst_pause.unwrap_or(Verdict::Blocked);
    if raw_can_run_false {
        vote(Signal::RawFlag("can_run=false"), not_now);
    }
    if d.allowed == Some(false) {
        vote(Signal::Allowed(false), not_now);
    }
}

fn mode_vote<'a>(d: &'a Decision, cast: &mut impl FnMut(Signal<'a>, Verdict)) {
    let verdict = match d.mode {
        Some(Mode::Autonomous | Mode::Constrained) => Verdict::Execute,
        Some(Mode::Review) => Verdict::ApprovalRequired,
        Some(Mode::NeedsContext) => Verdict::NeedsContext,
        Some(Mode::Blocked | Mode::Shadow | Mode::DryRun) | None => Verdict::Blocked,
    };
    cast(Signal::Mode(d.mode), verdict);
}

/// Votes for typed flags that disagree with the mode. Normalised decisions never
/// disagree; hand-built ones may, and must not execute because of it.
fn typed_flag_votes<'a>(d: &'a Decision, cast: &mut impl FnMut(Signal<'a>, Verdict)) {
    let mode = d.mode;
    if d.should_not_run && mode != Some(Mode::Blocked) {
        cast(Signal::TypedFlag("should_not_run"), Verdict::Blocked);
    }
    if d.needs_review && mode != Some(Mode::Review) {
        cast(Signal::TypedFlag("needs_review"), Verdict::ApprovalRequired);
    }
    if d.needs_more_context && mode != Some(Mode::NeedsContext) {
        cast(
            Signal::TypedFlag("needs_more_context"),
            Verdict::NeedsContext,
        );
    }
    if !d.can_run && mode.is_some_and(Mode::can_run) {
        cast(Signal::TypedFlag("can_run=false"), Verdict::Blocked);
    }
}

/// The raw fields that only count as JSON booleans; any other non-null value stops the call.
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

/// Votes for the explicit flags the service sent, and against flags sent in another type;
/// returns whether it sent `can_run: false` (voted last, once every other pause is known).
fn raw_flag_votes<'a>(
    raw: Option<&'a serde_json::Map<String, Value>>,
    cast: &mut impl FnMut(Signal<'a>, Verdict),
) -> bool {
    let Some(raw) = raw else { return false };
    let flag = |key: &str| raw.get(key).and_then(Value::as_bool);
    if flag("should_not_run") == Some(true) {
        cast(Signal::RawFlag("should_not_run"), Verdict::Blocked);
    }
    if flag("needs_review") == Some(true) {
        cast(Signal::RawFlag("needs_review"), Verdict::ApprovalRequired);
    }
    if flag("needs_more_context") == Some(true) {
        cast(Signal::RawFlag("needs_more_context"), Verdict::NeedsContext);
    }
    for key in GATING_FLAGS {
        if raw
            .get(key)
            .is_some_and(|v| !v.is_boolean() && !v.is_null())
        {
            cast(Signal::NonBoolean(key), Verdict::Blocked);
        }
    }
    flag("can_run") == Some(false)
}

fn legacy_votes<'a>(
    d: &'a Decision,
    raw: Option<&'a serde_json::Map<String, Value>>,
    cast: &mut impl FnMut(Signal<'a>, Verdict),
) {
    let raw_str = |key: &str| raw.and_then(|r| r.get(key)).and_then(trimmed_str);
    let recommendation = d.recommendation.as_deref().and_then(non_empty);
    let requires_approval = d.requires_approval == Some(true);
    let human_review = raw
        .and_then(|r| r.get("human_review"))
        .and_then(Value::as_bool)
        == Some(true);

    let enforcement = d.enforcement_mode.as_deref().and_then(non_empty);
    let review_enforced = enforcement.is_some_and(|m| m.eq_ignore_ascii_case("review"));
    match enforcement {
        Some(m) if m.eq_ignore_ascii_case("enforced") => {
            let ev = raw_str("enforced_verdict");
            let verdict = match ev {
                Some(v) if is_any(v, &["allowed", "proceed"]) => Verdict::Execute,
                Some(v) if v.eq_ignore_ascii_case("requires_approval") => Verdict::ApprovalRequired,
                _ => Verdict::Blocked,
            };
            cast(Signal::Enforced(ev), verdict);
        }
        Some(_) if review_enforced => {
            let verdict = match recommendation {
                Some(r) if r.eq_ignore_ascii_case("do_not_proceed") => Verdict::Blocked,
                Some(r) if r.eq_ignore_ascii_case("proceed") => Verdict::Execute,
                _ => Verdict::ApprovalRequired,
            };
            cast(Signal::EnforcementReview(recommendation), verdict);
        }
        Some(m) if m.eq_ignore_ascii_case("advisory") => {}
        Some(m) => cast(Signal::UnknownEnforcement(m), Verdict::Blocked),
        None => {}
    }

    // Under review enforcement the recommendation has already voted above.
    if let Some(r) = recommendation.filter(|_| !review_enforced) {
        if r.eq_ignore_ascii_case("do_not_proceed") {
            cast(Signal::Recommendation(r), Verdict::Blocked);
        } else if r.eq_ignore_ascii_case("review_recommended") {
            if requires_approval || human_review {
                cast(
                    Signal::ReviewRecommendedWithApproval,
                    Verdict::ApprovalRequired,
                );
            } else {
                cast(Signal::Recommendation(r), Verdict::Execute);
            }
        } else if is_any(r, &["proceed", "proceed_with_caution"]) {
            cast(Signal::Recommendation(r), Verdict::Execute);
        }
    }

    let result = d.result.as_deref().and_then(non_empty);
    let result_requires_approval =
        result.is_some_and(|r| r.eq_ignore_ascii_case("requires_approval"));
    if let Some(r) = result {
        let verdict = if is_any(r, &["allowed", "limited"]) {
            Some(Verdict::Execute)
        } else if is_any(r, &["blocked", "denied"]) {
            Some(Verdict::Blocked)
        } else if result_requires_approval {
            Some(Verdict::ApprovalRequired)
        } else {
            None
        };
        if let Some(verdict) = verdict {
            cast(Signal::Result(r), verdict);
        }
    }
    if requires_approval {
        cast(Signal::RequiresApproval, Verdict::ApprovalRequired);
    }
    // `allowed: false` is voted last, with `can_run: false` (see `cast_votes`).
    if d.allowed == Some(true) {
        cast(Signal::Allowed(true), Verdict::Execute);
    }
}

fn trimmed_str(v: &Value) -> Option<&str> {
    v.as_str().and_then(non_empty)
}

fn non_empty(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

fn is_any(s: &str, options: &[&str]) -> bool {
    options.iter().any(|o| s.eq_ignore_ascii_case(o))
}
