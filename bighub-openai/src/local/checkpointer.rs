//! Copying the write-ahead log back into the database file, off the decision path.
//!
//! This module owns the WAL checkpoints of a file-backed store. By default SQLite runs a
//! checkpoint inside whichever commit pushes the log past 1000 pages: that commit then
//! copies some 4 MB and syncs the file, turning one decision in a few hundred into one
//! that takes milliseconds. Instead the store switches automatic checkpoints off on its
//! connection and counts its commits; a background thread with its own connection looks at
//! the count every [`POLL`] and, once [`COMMITS_PER_CHECKPOINT`] commits have accumulated,
//! runs a `PASSIVE` checkpoint, which copies what no reader needs without blocking writers.
//!
//! The deciding thread never wakes the checkpoint thread: waking it made the woken thread
//! preempt the waker on its CPU, and the commit that asked for a checkpoint took ~0.7 ms
//! instead of ~0.05 ms (one decision in a hundred). Counting is one atomic add.
//!
//! The thread ends when the store is dropped. If it cannot open the file, the store keeps
//! SQLite's automatic checkpoints instead. It does not write rows; `store.rs` does.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use rusqlite::Connection;

/// How many commits accumulate before a checkpoint (a decision writes a handful of pages,
/// so the log stays around the size SQLite's default would keep).
pub(crate) const COMMITS_PER_CHECKPOINT: u32 = 100;

/// How often the thread looks at the commit count.
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// The handle the store keeps: counts commits; dropping it stops the thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    /// Commits since the last checkpoint, shared with the thread (which holds the only other
    /// reference while it runs).
    commits: Arc<AtomicU32>,
    /// Never sent on: dropping it tells the thread to stop.
    _stop: Sender<()>,
}

impl Checkpointer {
    /// Starts the thread for the database at `path`; `None` when it cannot (the caller
    /// then leaves automatic checkpoints on).
    pub(crate) fn start(path: &Path) -> Option<Self> {
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).ok()?;
        let commits = Arc::new(AtomicU32::new(0));
        let (stop, stopped) = mpsc::channel();
        let counted = commits.clone();
        std::thread::Builder::new()
            .name("bighub-checkpoint".to_owned())
            .spawn(move || run(&conn, &counted, &stopped))
            .ok()?;
        Some(Self {
            commits,
            _stop: stop,
        })
    }

    /// Notes one commit. Returns `false` when the thread is gone (the store then turns
    /// automatic checkpoints back on).
    pub(crate) fn committed(&mut self) -> bool {
        self.commits.fetch_add(1, Ordering::Relaxed);
        Arc::strong_count(&self.commits) > 1
    }
}

/// The thread: a checkpoint whenever enough commits accumulated, until the store drops its
/// handle.
fn run(conn: &Connection, commits: &AtomicU32, stopped: &Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(POLL) {
        if commits.load(Ordering::Relaxed) < COMMITS_PER_CHECKPOINT {
            continue;
        }
        commits.store(0, Ordering::Relaxed);
        // A checkpoint that fails (busy, I/O) is retried at a later poll; the log only
        // grows meanwhile, and SQLite still reads it correctly.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}
