//! The server's counters, and their Prometheus text exposition (`GET /metrics`).
//!
//! This module owns what is counted: decisions by mode, the latency of evaluations (a
//! histogram), requests by endpoint and status, connections open, refused and closed by
//! the server's timeouts, approval notifications sent, failed and dropped, and the
//! decision-log sink's records by what became of them. The
//! pending-approvals gauge is read from the backend off the scrape's path (`routes.rs`,
//! `probe.rs`), since other servers on the same store change it; it is printed with its
//! age.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bighub_local::decision_logs::{DecisionLogStats, DecisionLogs};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Counters shared by every request of one server.
#[derive(Debug, Default)]
pub struct Metrics {
    decisions: Mutex<BTreeMap<String, u64>>,
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Evaluations at or under each bound (not cumulative; summed when printed).
    latency: [AtomicU64; BUCKETS.len()],
    latency_over: AtomicU64,
    latency_sum_micros: AtomicU64,
    latency_count: AtomicU64,
    connections_open: AtomicU64,
    connections_refused: Mutex<BTreeMap<&'static str, u64>>,
    connections_closed: Mutex<BTreeMap<&'static str, u64>>,
    notifications_sent: AtomicU64,
    notifications_failed: AtomicU64,
    notifications_dropped: AtomicU64,
    shadow: crate::policy_metrics::ShadowCounts,
    /// The decision-log sink whose counts are shown, when there is one.
    decision_logs: Option<DecisionLogs>,
}

impl Metrics {
    /// Counts one decision of `mode`, made in `elapsed`.
    pub fn decision(&self, mode: &str, elapsed: Duration) {
        // Modes come from the engine, but bound their number anyway: a policy that
        // computes its mode must not grow the exposition without limit.
        let mode = match mode {
            "autonomous" | "constrained" | "review" | "blocked" | "needs_context" | "shadow"
            | "dry_run" => mode,
            _ => "other",
        };
        *lock(&self.decisions).entry(mode.to_owned()).or_default() += 1;
        let secs = elapsed.as_secs_f64();
        match BUCKETS.iter().position(|b| secs <= *b) {
            Some(i) => self.latency[i].fetch_add(1, Ordering::Relaxed),
            None => self.latency_over.fetch_add(1, Ordering::Relaxed),
        };
        self.latency_sum_micros.fetch_add(
            elapsed.as_micros().min(u128::from(u64::MAX)) as u64,
            Ordering::Relaxed,
        );
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts the shadow policy set's decision beside a decision made (its
    /// `decision_brain.shadow`), by agreement and deciding rule.
    pub(crate) fn shadow_decision(&self, shadow: &serde_json::Value) {
        self.shadow.count(shadow);
    }

    /// Counts one answered request.
    pub fn request(&self, endpoint: &'static str, status: u16) {
        *lock(&self.requests).entry((endpoint, status)).or_default() += 1;
    }

    /// Counts a connection accepted and served.
    pub(crate) fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a served connection gone, closed by the server for `reason` when given.
    pub(crate) fn connection_closed(&self, reason: Option<&'static str>) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
        if let Some(reason) = reason {
            *lock(&self.connections_closed).entry(reason).or_default() += 1;
        }
    }

    /// Counts a connection refused when accepted, for `reason`.
    pub(crate) fn connection_refused(&self, reason: &'static str) {
        *lock(&self.connections_refused).entry(reason).or_default() += 1;
    }

    /// Shows the counts of `logs` too.
    pub(crate) fn watch_decision_logs(&mut self, logs: DecisionLogs) {
        self.decision_logs = Some(logs);
    }

    /// Counts a notification its receiver accepted.
    pub(crate) fn notification_sent(&self) {
        self.notifications_sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a notification given up on (refused, or out of retries).
    pub(crate) fn notification_failed(&self) {
        self.notifications_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts `n` notifications dropped unsent (the queue full, events missed).
    pub(crate) fn notification_dropped(&self, n: u64) {
        self.notifications_dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// The Prometheus text format of every counter, with `pending` approvals when known:
    /// their number and how long ago the store was read.
    pub fn render(&self, pending: Option<(usize, Duration)>) -> String {
        let mut out = String::new();
        out.push_str("# HELP bighub_decisions_total Decisions made, by mode.\n");
        out.push_str("# TYPE bighub_decisions_total counter\n");
        for (mode, n) in lock(&self.decisions).iter() {
            let _ = writeln!(out, "bighub_decisions_total{{mode=\"{mode}\"}} {n}");
        }
        out.push_str(
            "# HELP bighub_decision_duration_seconds Time to decide an evaluation, store included.\n",
        );
        out.push_str("# TYPE bighub_decision_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(&self.latency) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "bighub_decision_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.latency_over.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "bighub_decision_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "bighub_decision_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "bighub_decision_duration_seconds_count {}",
            self.latency_count.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP bighub_http_requests_total Requests answered, by endpoint and status.\n",
        );
        out.push_str("# TYPE bighub_http_requests_total counter\n");
        for ((endpoint, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "bighub_http_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP bighub_connections_open Connections being served.\n");
        out.push_str("# TYPE bighub_connections_open gauge\n");
        let _ = writeln!(
            out,
            "bighub_connections_open {}",
            self.connections_open.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP bighub_connections_refused_total Connections refused when accepted, by limit.\n",
        );
        out.push_str("# TYPE bighub_connections_refused_total counter\n");
        for (reason, n) in lock(&self.connections_refused).iter() {
            let _ = writeln!(
                out,
                "bighub_connections_refused_total{{reason=\"{reason}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP bighub_connections_closed_total Connections the server closed, by timeout.\n",
        );
        out.push_str("# TYPE bighub_connections_closed_total counter\n");
        for (reason, n) in lock(&self.connections_closed).iter() {
            let _ = writeln!(
                out,
                "bighub_connections_closed_total{{reason=\"{reason}\"}} {n}"
            );
        }
        for (name, help, counter) in [
            (
                "bighub_notifications_sent_total",
                "Approval notifications their receiver accepted.",
                &self.notifications_sent,
            ),
            (
                "bighub_notifications_failed_total",
                "Approval notifications given up on: refused, or out of retries.",
                &self.notifications_failed,
            ),
            (
                "bighub_notifications_dropped_total",
                "Approval notifications dropped unsent: the queue was full.",
                &self.notifications_dropped,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", counter.load(Ordering::Relaxed));
        }
        self.shadow.render(&mut out);
        if let Some(logs) = &self.decision_logs {
            render_decision_logs(&mut out, &logs.stats());
        }
        if let Some((pending, age)) = pending {
            out.push_str("# HELP bighub_pending_approvals Approvals waiting for a human, as last read from the store.\n");
            out.push_str("# TYPE bighub_pending_approvals gauge\n");
            let _ = writeln!(out, "bighub_pending_approvals {pending}");
            out.push_str("# HELP bighub_pending_approvals_age_seconds How long ago bighub_pending_approvals was read from the store.\n");
            out.push_str("# TYPE bighub_pending_approvals_age_seconds gauge\n");
            let _ = writeln!(
                out,
                "bighub_pending_approvals_age_seconds {:.3}",
                age.as_secs_f64()
            );
        }
        out
    }
}

/// The decision-log sink's counts.
fn render_decision_logs(out: &mut String, stats: &DecisionLogStats) {
    out.push_str(
        "# HELP bighub_decision_log_records_total Decision-log records, by what became of them.\n",
    );
    out.push_str("# TYPE bighub_decision_log_records_total counter\n");
    for (result, n) in [
        ("sent", stats.sent),
        ("dropped_overflow", stats.dropped_overflow),
        ("dropped_rule", stats.dropped_rule),
        ("rejected", stats.rejected),
        ("abandoned", stats.abandoned),
    ] {
        let _ = writeln!(
            out,
            "bighub_decision_log_records_total{{result=\"{result}\"}} {n}"
        );
    }
    out.push_str("# HELP bighub_decision_log_failed_attempts_total Tries to send a batch of decision-log records that failed and were retried.\n");
    out.push_str("# TYPE bighub_decision_log_failed_attempts_total counter\n");
    let _ = writeln!(
        out,
        "bighub_decision_log_failed_attempts_total {}",
        stats.failed_attempts
    );
    out.push_str("# HELP bighub_decision_log_pending Decision-log records queued or being sent.\n");
    out.push_str("# TYPE bighub_decision_log_pending gauge\n");
    let _ = writeln!(out, "bighub_decision_log_pending {}", stats.pending);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.decision("review", Duration::from_millis(3));
        m.decision("autonomous", Duration::from_secs(10));
        m.decision("computed-mode", Duration::from_micros(10));
        let text = m.render(Some((1, Duration::from_millis(1500))));
        assert!(text.contains("bighub_decisions_total{mode=\"review\"} 1"));
        assert!(text.contains("bighub_decisions_total{mode=\"other\"} 1"));
        assert!(text.contains("bighub_decision_duration_seconds_bucket{le=\"0.005\"} 2"));
        assert!(text.contains("bighub_decision_duration_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("bighub_pending_approvals 1"));
        assert!(text.contains("bighub_pending_approvals_age_seconds 1.500"));
        assert!(text.contains("bighub_notifications_sent_total 0"));
    }
}
