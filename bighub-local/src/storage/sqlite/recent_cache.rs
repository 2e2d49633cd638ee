//! An in-memory copy of each action's recent decisions, so that deciding does not re-read
//! them from SQLite every time.
//!
//! This module owns the cache: per action and target, the newest decisions
//! (`{request_id, mode, at}`), the capped count of decisions (the precedents), and the
//! outcomes reported since the start of the 24-hour window at the time the entry was read
//! (the window only moves forward, so later reads filter these; a clock that went back
//! before that start makes the store read the entry again). The store fills an entry from
//! SQLite on a miss and updates it after each decision and outcome it commits. It does not
//! read or write SQLite itself.
//!
//! Exactness: another connection (the CLI, another process sharing the file) may write
//! decisions too. SQLite's `PRAGMA data_version` changes whenever another connection
//! commits, so the store checks it before each read and empties the cache when it moved.
//! This connection only inserts decisions and outcomes (never updates or deletes them), and
//! every insert goes through [`RecentCache::record`] or [`RecentCache::record_outcome`], so
//! a valid entry always equals what the queries would return.

use std::collections::HashMap;

use serde_json::json;

use crate::clock::format_rfc3339;
use crate::storage::history::{RecentEntry, RecentOutcome};

/// Entries kept before the cache starts over (a bound on memory, not on correctness).
const MAX_ENTRIES: usize = 4096;

/// The cache itself, valid for one `data_version` of the database.
#[derive(Debug, Default)]
pub(crate) struct RecentCache {
    /// By action, then by target (nested so that lookups borrow the names).
    entries: HashMap<String, HashMap<String, RecentEntry>>,
    len: usize,
    data_version: Option<i64>,
}

impl RecentCache {
    /// Empties the cache unless `data_version` is the one its entries were read at.
    pub(crate) fn validate(&mut self, data_version: i64) {
        if self.data_version != Some(data_version) {
            self.entries.clear();
            self.len = 0;
            self.data_version = Some(data_version);
        }
    }

    /// The entry for `action` on `target`, when cached.
    #[cfg(test)]
    pub(crate) fn get(&self, action: &str, target: &str) -> Option<&RecentEntry> {
        self.entries.get(action)?.get(target)
    }

    /// The entry for `action` on `target`, when cached, to prune its outcomes.
    pub(crate) fn get_mut(&mut self, action: &str, target: &str) -> Option<&mut RecentEntry> {
        self.entries.get_mut(action)?.get_mut(target)
    }

    /// Drops the entry (the store reads it again).
    pub(crate) fn forget(&mut self, action: &str, target: &str) {
        if let Some(targets) = self.entries.get_mut(action)
            && targets.remove(target).is_some()
        {
            self.len -= 1;
        }
    }

    /// Adds an outcome this connection committed. An action that is not cached stays
    /// uncached (its next read fills it).
    pub(crate) fn record_outcome(&mut self, action: &str, target: &str, outcome: RecentOutcome) {
        if let Some(entry) = self.get_mut(action, target)
            && outcome.created_at >= entry.outcomes_since
        {
            entry.outcomes.push(outcome);
        }
    }

    /// Caches what the store just read for `action` on `target`, and returns it.
    pub(crate) fn fill(
        &mut self,
        action: &str,
        target: &str,
        entry: RecentEntry,
    ) -> &mut RecentEntry {
        if self.len >= MAX_ENTRIES {
            self.entries.clear();
            self.len = 0;
        }
        let targets = self.entries.entry(action.to_owned()).or_default();
        match targets.entry(target.to_owned()) {
            std::collections::hash_map::Entry::Occupied(mut o) => {
                o.insert(entry);
                o.into_mut()
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                self.len += 1;
                v.insert(entry)
            }
        }
    }

    /// Adds a decision this connection committed: it takes its place by time (the queries
    /// order by `created_at` then insertion, newest first), and the count grows up to `cap`.
    /// An action that is not cached stays uncached (its next read fills it).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn record(
        &mut self,
        action: &str,
        target: &str,
        request_id: &str,
        mode: &str,
        created_at: i64,
        keep: usize,
        cap: i64,
    ) {
        let Some(entry) = self
            .entries
            .get_mut(action)
            .and_then(|targets| targets.get_mut(target))
        else {
            return;
        };
        // Newer than every row, or tied with the newest: a tie goes first (inserted last).
        let at = entry
            .recent
            .iter()
            .position(|(t, _)| *t <= created_at)
            .unwrap_or(entry.recent.len());
        entry.recent.insert(
            at,
            (
                created_at,
                json!({"request_id": request_id, "mode": mode, "at": format_rfc3339(created_at)}),
            ),
        );
        entry.recent.truncate(keep);
        entry.count = (entry.count + 1).min(cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_decision_goes_first_and_the_count_stops_at_the_cap() {
        let mut cache = RecentCache::default();
        cache.validate(1);
        cache.fill(
            "a",
            "t",
            RecentEntry {
                recent: vec![(20, json!("b")), (10, json!("a"))],
                count: 2,
                outcomes: Vec::new(),
                outcomes_since: 0,
            },
        );
        cache.record("a", "t", "c", "review", 20, 2, 3);
        let e = cache.get("a", "t").unwrap();
        assert_eq!(e.recent[0].1["request_id"], "c");
        assert_eq!(e.recent[1].1, json!("b"));
        assert_eq!(e.recent.len(), 2);
        assert_eq!(e.count, 3);
        cache.record("a", "t", "d", "review", 5, 2, 3);
        let e = cache.get("a", "t").unwrap();
        assert_eq!(
            e.recent[0].1["request_id"], "c",
            "an older row does not go first"
        );
        assert_eq!(e.count, 3);
    }

    #[test]
    fn another_connections_write_empties_it() {
        let mut cache = RecentCache::default();
        cache.validate(1);
        cache.fill(
            "a",
            "t",
            RecentEntry {
                recent: Vec::new(),
                count: 0,
                outcomes: Vec::new(),
                outcomes_since: 0,
            },
        );
        cache.validate(1);
        assert!(cache.get("a", "t").is_some());
        cache.validate(2);
        assert!(cache.get("a", "t").is_none());
    }
}
