//! What a person sees of the decision log: the filters as typed, the rows of a page, and
//! one decision whole.
//!
//! This module owns reading the log page's query string into a [`DecisionQuery`] (times
//! in UTC: an RFC 3339 timestamp, the form's `YYYY-MM-DDTHH:MM`, or a date), writing the
//! next page's URL (every value percent-encoded), and turning records into text for the
//! templates, which escape it.

use bighub_local::storage::{DecisionDetail, DecisionQuery, DecisionRecord};

use super::approval_view::{ApprovalView, pretty, risk_class};

/// Rows on one page of the log.
pub(crate) const PAGE_SIZE: usize = 50;

/// The modes one can filter by.
pub(crate) const MODES: [&str; 7] = [
    "autonomous",
    "constrained",
    "review",
    "blocked",
    "needs_context",
    "shadow",
    "dry_run",
];

/// The log page's filters, as typed (shown back in the form).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filters {
    pub(crate) tool: String,
    pub(crate) mode: String,
    pub(crate) actor: String,
    pub(crate) system: String,
    pub(crate) environment: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) after: String,
}

impl Filters {
    /// The filters of a query string's decoded pairs; unknown names are ignored.
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut f = Self::default();
        for (name, value) in pairs {
            let value = value.trim().to_owned();
            match name.as_str() {
                "tool" => f.tool = value,
                "mode" => f.mode = value,
                "actor" => f.actor = value,
                "system" => f.system = value,
                "environment" => f.environment = value,
                "from" => f.from = value,
                "to" => f.to = value,
                "after" => f.after = value,
                _ => {}
            }
        }
        f
    }

    /// The store's query, or what is wrong with a filter.
    pub(crate) fn query(&self) -> Result<DecisionQuery, String> {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let after = match self.after.as_str() {
            "" => None,
            text => Some(
                text.parse()
                    .map_err(|_| "the page link is not valid; start again from the newest")?,
            ),
        };
        Ok(DecisionQuery {
            tool: some(&self.tool),
            mode: some(&self.mode),
            actor: some(&self.actor),
            system: some(&self.system),
            environment: some(&self.environment),
            from_ms: time_ms("from", &self.from)?,
            to_ms: time_ms("to", &self.to)?,
            after,
            limit: PAGE_SIZE,
        })
    }

    /// The log page's URL with these filters, starting after `after`.
    pub(crate) fn url_after(&self, after: &str) -> String {
        let pairs = [
            ("tool", &self.tool),
            ("mode", &self.mode),
            ("actor", &self.actor),
            ("system", &self.system),
            ("environment", &self.environment),
            ("from", &self.from),
            ("to", &self.to),
        ];
        let mut query: Vec<String> = pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", percent_encode(v)))
            .collect();
        query.push(format!("after={}", percent_encode(after)));
        format!("/console/decisions?{}", query.join("&"))
    }
}

/// A filter's time in unix milliseconds (UTC), `None` when empty.
fn time_ms(name: &str, text: &str) -> Result<Option<i64>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    // The browser's date-time field sends a local time without seconds or zone: read as UTC.
    let full = match text.len() {
        16 if text.as_bytes()[10] == b'T' => format!("{text}:00Z"),
        19 if text.as_bytes()[10] == b'T' => format!("{text}Z"),
        _ => text.to_owned(),
    };
    bighub_local::clock::parse_timestamp(&full)
        .map(|s| Some(s.saturating_mul(1000)))
        .map_err(|_| format!("`{name}` is not a time: use 2026-12-07T09:30 (UTC), an RFC 3339 timestamp or a date"))
}

/// Percent-encodes everything but unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One row of the log.
#[derive(Debug, Clone)]
pub(crate) struct DecisionRow {
    pub(crate) request_id: String,
    pub(crate) created_at: String,
    pub(crate) tool: String,
    pub(crate) action: String,
    pub(crate) target: String,
    pub(crate) mode: String,
    pub(crate) risk_score: String,
    pub(crate) risk_class: &'static str,
    pub(crate) actor: String,
    pub(crate) system: String,
    pub(crate) environment: String,
    pub(crate) outcomes: String,
}

impl DecisionRow {
    pub(crate) fn new(r: &DecisionRecord) -> Self {
        Self {
            request_id: r.request_id.clone(),
            created_at: r.created_at.clone(),
            tool: r.tool.clone(),
            action: r.action.clone(),
            target: r.target.clone(),
            mode: r.mode.clone(),
            risk_score: r.risk_score.map(|s| format!("{s:.2}")).unwrap_or_default(),
            risk_class: risk_class(r.risk_score),
            actor: r.actor.clone(),
            system: r.system.clone().unwrap_or_default(),
            environment: r.environment.clone().unwrap_or_default(),
            outcomes: r
                .outcomes
                .iter()
                .map(|o| o.status.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// One outcome reported for a decision.
#[derive(Debug, Clone)]
pub(crate) struct OutcomeLine {
    pub(crate) status: String,
    pub(crate) description: String,
    pub(crate) created_at: String,
}

/// One decision whole.
#[derive(Debug, Clone)]
pub(crate) struct DecisionView {
    pub(crate) row: DecisionRow,
    pub(crate) reason: String,
    pub(crate) caller: String,
    pub(crate) arguments: String,
    pub(crate) outcomes: Vec<OutcomeLine>,
    pub(crate) approval: Option<ApprovalView>,
    /// The whole decision as answered, pretty-printed.
    pub(crate) json: String,
}

impl DecisionView {
    pub(crate) fn new(detail: &DecisionDetail) -> Self {
        let r = &detail.record;
        Self {
            row: DecisionRow::new(r),
            reason: r.reason.clone().unwrap_or_default(),
            caller: r.caller.clone().unwrap_or_default(),
            arguments: pretty(&r.arguments),
            outcomes: r
                .outcomes
                .iter()
                .map(|o| OutcomeLine {
                    status: o.status.clone(),
                    description: o.description.clone().unwrap_or_default(),
                    created_at: o.created_at.clone(),
                })
                .collect(),
            approval: detail
                .approval
                .as_ref()
                .map(|a| ApprovalView::new(a, Some(detail))),
            json: pretty(&detail.decision),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn filters_become_a_query() {
        let f = Filters::from_pairs(&pairs(&[
            ("tool", "grant_access"),
            ("mode", ""),
            ("from", "2026-12-07T09:30"),
            ("to", "2026-12-08"),
            ("after", "42"),
        ]));
        let q = f.query().unwrap();
        assert_eq!(q.tool.as_deref(), Some("grant_access"));
        assert_eq!(q.mode, None);
        assert_eq!(q.from_ms, Some(1_796_635_800_000));
        assert_eq!(q.to_ms, Some(1_796_688_000_000));
        assert_eq!(q.after.map(|c| c.to_string()).as_deref(), Some("42"));
        let bad = Filters::from_pairs(&pairs(&[("from", "yesterday")]));
        assert!(bad.query().unwrap_err().contains("`from` is not a time"));
    }

    #[test]
    fn the_next_page_url_encodes_every_value() {
        let f = Filters::from_pairs(&pairs(&[("actor", "a&b=c d\"<"), ("after", "x")]));
        assert_eq!(
            f.url_after("17"),
            "/console/decisions?actor=a%26b%3Dc%20d%22%3C&after=17"
        );
    }
}
