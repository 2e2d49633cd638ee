//! Copying the write-ahead log back into the database file, off the decision path.
//!
//! This module owns the WAL checkpoints of a file-backed store. By default SQLite runs a
//! checkpoint inside whichever commit pushes the log past 1000 pages: that commit then
//! copies some 4 MB and syncs the file, turning one decision in a few hundred into one
//! that takes milliseconds. Instead the store switches automatic checkpoints off on its
//! connection and, every [`COMMITS_PER_CHECKPOINT`] commits, asks a background thread with
//! its own connection for a `PASSIVE` checkpoint, which copies what no reader needs without
//! blocking writers. The thread ends when the store is dropped. If it cannot open the file,
//! the store keeps SQLite's automatic checkpoints instead.
//!
//! It does not write rows; `store.rs` does.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};

use rusqlite::Connection;

/// How many commits pass between two checkpoint requests (a decision writes a handful of
/// pages, so the log stays around the size SQLite's default would keep).
pub(crate) const COMMITS_PER_CHECKPOINT: u32 = 100;

/// The handle the store keeps: counts commits and wakes the thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    wake: SyncSender<()>,
    commits: u32,
}

impl Checkpointer {
    /// Starts the thread for the database at `path`; `None` when it cannot (the caller
    /// then leaves automatic checkpoints on).
    pub(crate) fn start(path: &Path) -> Option<Self> {
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).ok()?;
        // One pending request is enough: a checkpoint catches up with every commit before it.
        let (wake, requests) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("bighub-checkpoint".to_owned())
            .spawn(move || run(&conn, &requests))
            .ok()?;
        Some(Self { wake, commits: 0 })
    }

    /// Notes one commit; every [`COMMITS_PER_CHECKPOINT`] commits, requests a checkpoint.
    /// Returns `false` when the thread is gone (the store then turns automatic checkpoints
    /// back on).
    pub(crate) fn committed(&mut self) -> bool {
        self.commits += 1;
        if self.commits < COMMITS_PER_CHECKPOINT {
            return true;
        }
        self.commits = 0;
        // Full: a checkpoint is already pending, and it will include this commit.
        !matches!(self.wake.try_send(()), Err(TrySendError::Disconnected(())))
    }
}

/// The thread: one checkpoint per request, until the store drops its sender.
fn run(conn: &Connection, requests: &Receiver<()>) {
    while requests.recv().is_ok() {
        // A checkpoint that fails (busy, I/O) is retried at the next request; the log only
        // grows meanwhile, and SQLite still reads it correctly.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}
