//! The history of an action on a target, as every store reads it and the policy sees it.
//!
//! This module owns what a store reads for `input.history` (the newest decisions on an
//! action and target, how many there are, capped, and the outcomes in the 24-hour window:
//! a [`RecentEntry`]; the counts by dimension and window, the rate limits' counts and the
//! target's last outcomes: a [`HistoryRequest`] and the statements that read it, written
//! for either store's placeholders), the limits of those reads, and their summary for the
//! policy, so that SQLite and PostgreSQL report the same history from the same rows. It does not read a
//! database (each store does) or cache anything (the SQLite store's recent cache does).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value, json};

use bighub_core::ProposedAction;

use crate::clock::format_rfc3339;
use crate::config::PolicyConfig;
use crate::duration::format_duration;
use crate::history_config::{Dimension, MAX_COUNT};
use crate::input::History;

/// Milliseconds in the failure window the history reports.
pub(crate) const DAY_MS: i64 = 24 * 3600 * 1000;

/// Precedents are counted up to this many, so the count stays cheap on busy actions.
pub(crate) const MAX_PRECEDENTS: i64 = 1000;

/// How many recent decisions the policy sees.
pub(crate) const RECENT_DECISIONS: i64 = 5;

/// One action and target's recent decisions, as the history queries would return them.
#[derive(Debug, Clone)]
pub(crate) struct RecentEntry {
    /// Newest first: `(created_at ms, {request_id, mode, at})`.
    pub recent: Vec<(i64, Value)>,
    /// Decisions on this action and target, capped at the store's precedent cap.
    pub count: i64,
    /// Every outcome of this action on this target created at or after `outcomes_since`,
    /// in insertion order.
    pub outcomes: Vec<RecentOutcome>,
    /// The start of the window the outcomes were read for (ms).
    pub outcomes_since: i64,
}

/// One outcome row, as the history needs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecentOutcome {
    /// The row id (ties on `created_at` go to the higher id).
    pub id: i64,
    pub created_at: i64,
    pub status: String,
    pub request_id: Option<String>,
    pub description: Option<String>,
}

/// The history a policy sees, from the recent decisions and the outcomes in the window of
/// an action on a target; both stores read the same entry and summarise it here.
pub(crate) fn summarize(entry: &RecentEntry) -> (History, u64) {
    let recent_decisions = entry.recent.iter().map(|(_, v)| v.clone()).collect();
    let precedents = entry.count;

    // As `SELECT status, COUNT(*) ... GROUP BY status` returns them: sorted by status.
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    let mut last: Option<&RecentOutcome> = None;
    for o in &entry.outcomes {
        *counts.entry(o.status.as_str()).or_default() += 1;
        if o.status == "FAILURE" && last.is_none_or(|l| (o.created_at, o.id) > (l.created_at, l.id))
        {
            last = Some(o);
        }
    }
    let failures_24h = counts.get("FAILURE").map_or(0, |n| *n as u64);
    let outcomes_24h: Map<String, Value> = counts
        .into_iter()
        .map(|(s, n)| (s.to_owned(), json!(n)))
        .collect();
    let last_failure = last.map(|o| {
        json!({
            "request_id": o.request_id,
            "description": o.description,
            "at": format_rfc3339(o.created_at),
        })
    });
    (
        History {
            recent_decisions,
            outcomes_24h,
            failures_24h,
            last_failure,
            ..History::default()
        },
        precedents.max(0) as u64,
    )
}

/// Decisions and outcomes are counted up to this many per dimension and window, so that
/// the cost of a count never grows with the log (`capped` says when it was reached).
pub(crate) const COUNT_CAP: i64 = MAX_COUNT as i64;

/// How many outcomes on the target `last_outcomes` lists at most.
pub(crate) const LAST_OUTCOMES: usize = 20;

/// How many of the target's newest outcomes are read to find them.
pub(crate) const LAST_OUTCOMES_SCAN: i64 = 200;

/// One window the history counts over: its label in `input.history.windows` (`"1h"`)
/// and its length.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Window {
    pub label: String,
    pub ms: i64,
}

/// The decisions a rate limit counts: those with the call's value of `per` in the window,
/// narrowed by the limit's filters (compared lower-cased; `environments` any of them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LimitCounter<'a> {
    pub name: String,
    pub window_ms: i64,
    pub per: Dimension,
    /// The call's value of `per`; `None` counts nothing.
    pub per_value: Option<&'a str>,
    pub actor: Option<String>,
    pub system: Option<String>,
    pub action: Option<String>,
    pub environments: Vec<String>,
}

/// What a store reads for one call's `input.history`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HistoryRequest<'a> {
    /// The action's name, and its target (`""` when none): the existing per-action history.
    pub action: &'a str,
    pub target: &'a str,
    pub now_ms: i64,
    /// The call's value of each dimension (`None` when it has none).
    pub dimensions: [(Dimension, Option<&'a str>); 4],
    /// Shortest first.
    pub windows: Vec<Window>,
    pub limits: Vec<LimitCounter<'a>>,
}

impl<'a> HistoryRequest<'a> {
    /// What the store reads for `input.history` when deciding `action` (named `name`) at
    /// `now_ms` under `config`: its windows, and one counter per rate limit.
    pub(crate) fn for_call(
        config: &'a PolicyConfig,
        action: &'a ProposedAction,
        name: &'a str,
        now_ms: i64,
    ) -> Self {
        let ms = |d: &Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self {
            action: name,
            target: action.target.as_deref().unwrap_or(""),
            now_ms,
            dimensions: Dimension::ALL.map(|d| (d, d.value(action, name))),
            windows: config
                .history_windows
                .iter()
                .map(|w| Window {
                    label: format_duration(w.as_secs()),
                    ms: ms(w),
                })
                .collect(),
            limits: config
                .rate_limits
                .iter()
                .map(|l| LimitCounter {
                    name: l.name.clone(),
                    window_ms: ms(&l.window),
                    per: l.per,
                    per_value: l.per.value(action, name),
                    actor: l.actor.clone(),
                    system: l.system.clone(),
                    action: l.action.clone(),
                    environments: l.environments(&config.production_environments),
                })
                .collect(),
        }
    }
}

/// A statement's parameter, bound by each store in its own way.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param<'a> {
    Text(Option<&'a str>),
    Int(i64),
}

/// How a store writes the `n`th (from 1) parameter: `?n` for SQLite, `$n` for PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholders {
    Sqlite,
    Postgres,
}

impl Placeholders {
    fn at(self, n: usize) -> String {
        match self {
            Self::Sqlite => format!("?{n}"),
            Self::Postgres => format!("${n}"),
        }
    }
}

/// A statement and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Statement<'a> {
    pub sql: String,
    pub params: Vec<Param<'a>>,
}

/// One row of a counting statement: which count (`part`), the mode or status, and the
/// count in each window (one for a limit).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CountRow {
    pub part: String,
    pub key: String,
    pub counts: Vec<i64>,
}

/// One outcome on the target, as `last_outcomes` reads it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TargetOutcome {
    pub id: i64,
    pub action: String,
    pub status: String,
    pub request_id: Option<String>,
    pub created_at: i64,
}

/// The statement counting decisions (by mode) and outcomes (by status) of each dimension's
/// value in each window, in one round trip; `None` without windows.
///
/// Each count reads at most [`COUNT_CAP`] rows, the newest first, through an index on
/// (dimension, time): a window whose count reached the cap is `capped`, and a shorter
/// window's count is exact while it stays below it (the newest rows are read first).
/// Rows: `part` (`decisions.actor`, `outcomes.target`, ...), `key`, then one count per
/// window.
pub(crate) fn window_counts<'a>(
    request: &HistoryRequest<'a>,
    style: Placeholders,
) -> Option<Statement<'a>> {
    let n = request.windows.len();
    if n == 0 {
        return None;
    }
    // 1..=4 the dimensions' values, then each window's start, the widest start, the cap.
    let p = |i: usize| style.at(i);
    let mut arms = Vec::new();
    for (table, key) in [("decisions", "mode"), ("outcomes", "status")] {
        for (i, (dim, _)) in request.dimensions.iter().enumerate() {
            let sums: Vec<String> = (0..n)
                .map(|w| {
                    format!(
                        "SUM(CASE WHEN created_at >= {} THEN 1 ELSE 0 END)",
                        p(5 + w)
                    )
                })
                .collect();
            arms.push(format!(
                "SELECT '{table}.{dim}' AS part, {key} AS k, {sums} FROM (SELECT {key}, \
                 created_at FROM {table} WHERE {dim} = {value} AND created_at >= {since} \
                 ORDER BY created_at DESC LIMIT {cap}) AS {table}_{dim} GROUP BY {key}",
                dim = dim.as_str(),
                sums = sums.join(", "),
                value = p(1 + i),
                since = p(5 + n),
                cap = p(6 + n),
            ));
        }
    }
    Some(Statement {
        sql: arms.join("\nUNION ALL\n"),
        params: window_count_params(request),
    })
}

/// The parameters of [`window_counts`]' statement.
fn window_count_params<'a>(request: &HistoryRequest<'a>) -> Vec<Param<'a>> {
    let mut params: Vec<Param<'a>> = request
        .dimensions
        .iter()
        .map(|(_, v)| Param::Text(*v))
        .collect();
    params.extend(
        request
            .windows
            .iter()
            .map(|w| Param::Int(request.now_ms.saturating_sub(w.ms))),
    );
    let widest = request.windows.iter().map(|w| w.ms).max().unwrap_or(0);
    params.push(Param::Int(request.now_ms.saturating_sub(widest)));
    params.push(Param::Int(COUNT_CAP));
    params
}

/// The statement counting, for each rate limit, the decisions of the call's value of its
/// `per` dimension in its window that its filters select, by mode (at most [`COUNT_CAP`]
/// each); `None` without limits. Rows: `part` (the limit's position), `key` (the mode),
/// one count.
pub(crate) fn limit_counts<'a>(
    request: &'a HistoryRequest<'a>,
    style: Placeholders,
) -> Option<Statement<'a>> {
    if request.limits.is_empty() {
        return None;
    }
    let mut params: Vec<Param<'a>> = Vec::new();
    let next = |params: &mut Vec<Param<'a>>, p: Param<'a>| {
        params.push(p);
        style.at(params.len())
    };
    let mut arms = Vec::new();
    for (i, l) in request.limits.iter().enumerate() {
        let mut cond = vec![
            format!(
                "{} = {}",
                l.per.as_str(),
                next(&mut params, Param::Text(l.per_value))
            ),
            format!(
                "created_at >= {}",
                next(
                    &mut params,
                    Param::Int(request.now_ms.saturating_sub(l.window_ms))
                )
            ),
        ];
        for (column, value) in [
            ("actor", &l.actor),
            ("system", &l.system),
            ("action", &l.action),
        ] {
            if let Some(v) = value {
                cond.push(format!(
                    "lower({column}) = {}",
                    next(&mut params, Param::Text(Some(v.as_str())))
                ));
            }
        }
        if !l.environments.is_empty() {
            let names: Vec<String> = l
                .environments
                .iter()
                .map(|e| next(&mut params, Param::Text(Some(e.as_str()))))
                .collect();
            cond.push(format!("lower(environment) IN ({})", names.join(", ")));
        }
        let cap = next(&mut params, Param::Int(COUNT_CAP));
        arms.push(format!(
            "SELECT '{i}' AS part, mode AS k, COUNT(*) FROM (SELECT mode FROM decisions WHERE {} \
             ORDER BY created_at DESC LIMIT {cap}) AS limit_{i} GROUP BY mode",
            cond.join(" AND ")
        ));
    }
    Some(Statement {
        sql: arms.join("\nUNION ALL\n"),
        params,
    })
}

/// The statement reading the target's newest outcomes, any action (at most
/// [`LAST_OUTCOMES_SCAN`]); `None` when the call has no target. Columns: id, action,
/// status, request_id, created_at.
pub(crate) fn target_outcomes<'a>(
    request: &HistoryRequest<'a>,
    style: Placeholders,
) -> Option<Statement<'a>> {
    let target = request
        .dimensions
        .iter()
        .find(|(d, _)| *d == Dimension::Target)
        .and_then(|(_, v)| *v)?;
    Some(Statement {
        sql: format!(
            "SELECT id, action, status, request_id, created_at FROM outcomes WHERE target = {} \
             ORDER BY created_at DESC LIMIT {}",
            style.at(1),
            style.at(2)
        ),
        params: vec![Param::Text(Some(target)), Param::Int(LAST_OUTCOMES_SCAN)],
    })
}

/// `input.history.windows`: per window label, per dimension, `{decisions, by_mode,
/// outcomes, capped}`, or `null` for a dimension the call has no value of.
pub(crate) fn summarize_windows(
    request: &HistoryRequest<'_>,
    rows: &[CountRow],
) -> Map<String, Value> {
    let mut out = Map::new();
    for (w, window) in request.windows.iter().enumerate() {
        let mut dims = Map::new();
        for (dim, value) in &request.dimensions {
            if value.is_none() {
                dims.insert(dim.as_str().to_owned(), Value::Null);
                continue;
            }
            let tally = |table: &str| {
                let part = format!("{table}.{}", dim.as_str());
                let mut by: BTreeMap<&str, i64> = BTreeMap::new();
                for r in rows.iter().filter(|r| r.part == part) {
                    let n = r.counts.get(w).copied().unwrap_or(0);
                    if n > 0 {
                        *by.entry(r.key.as_str()).or_default() += n;
                    }
                }
                let total: i64 = by.values().sum();
                let map: Map<String, Value> = by
                    .into_iter()
                    .map(|(k, n)| (k.to_owned(), json!(n)))
                    .collect();
                (total, map)
            };
            let (decisions, by_mode) = tally("decisions");
            let (outcomes_total, outcomes) = tally("outcomes");
            dims.insert(
                dim.as_str().to_owned(),
                json!({
                    "decisions": decisions,
                    "by_mode": by_mode,
                    "outcomes": outcomes,
                    "capped": decisions >= COUNT_CAP || outcomes_total >= COUNT_CAP,
                }),
            );
        }
        out.insert(window.label.clone(), Value::Object(dims));
    }
    out
}

/// `input.history.rate_limits`: per limit name, `{decisions, by_mode, capped, window}`, or
/// `null` when the call has no value of the limit's `per` dimension.
pub(crate) fn summarize_limits(
    request: &HistoryRequest<'_>,
    rows: &[CountRow],
) -> Map<String, Value> {
    let mut out = Map::new();
    for (i, l) in request.limits.iter().enumerate() {
        if l.per_value.is_none() {
            out.insert(l.name.clone(), Value::Null);
            continue;
        }
        let part = i.to_string();
        let mut by: BTreeMap<&str, i64> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.part == part) {
            *by.entry(r.key.as_str()).or_default() += r.counts.first().copied().unwrap_or(0);
        }
        let total: i64 = by.values().sum();
        let by_mode: Map<String, Value> = by
            .into_iter()
            .map(|(k, n)| (k.to_owned(), json!(n)))
            .collect();
        out.insert(
            l.name.clone(),
            json!({
                "decisions": total,
                "by_mode": by_mode,
                "capped": total >= COUNT_CAP,
                "per": l.per.as_str(),
                "per_value": l.per_value,
            }),
        );
    }
    out
}

/// `input.history.last_outcomes`: the newest outcome of each action and status on the
/// target, newest first, at most [`LAST_OUTCOMES`]:
/// `{status, action, request_id, at, at_unix}`.
pub(crate) fn summarize_last_outcomes(mut rows: Vec<TargetOutcome>) -> Vec<Value> {
    rows.sort_by_key(|o| std::cmp::Reverse((o.created_at, o.id)));
    let mut seen = std::collections::BTreeSet::new();
    rows.into_iter()
        .filter(|o| seen.insert((o.action.clone(), o.status.clone())))
        .take(LAST_OUTCOMES)
        .map(|o| {
            json!({
                "status": o.status,
                "action": o.action,
                "request_id": o.request_id,
                "at": format_rfc3339(o.created_at),
                "at_unix": o.created_at.div_euclid(1000),
            })
        })
        .collect()
}

/// Completes a history with what the [`HistoryRequest`]'s statements read: the window
/// counts, the rate limits' counts and the target's last outcomes.
pub(crate) fn add_counts(
    history: &mut History,
    request: &HistoryRequest<'_>,
    window_rows: &[CountRow],
    limit_rows: &[CountRow],
    outcomes: Vec<TargetOutcome>,
) {
    history.windows = summarize_windows(request, window_rows);
    history.rate_limits = summarize_limits(request, limit_rows);
    history.last_outcomes = summarize_last_outcomes(outcomes);
}
