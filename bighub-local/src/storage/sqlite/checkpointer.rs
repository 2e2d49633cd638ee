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
//! A passive checkpoint alone never lets the log start over while decisions keep coming:
//! SQLite rewrites the log from its beginning only when every frame in it was copied, and
//! frames appended during the copy never are. The log then grows without end (a gigabyte
//! in seconds under load), and every commit lands on fresh file pages that the kernel must
//! allocate and zero (almost half of a commit's cost). So once the log holds more than
//! [`RESTART_FRAMES`], the thread follows its passive copy with a `RESTART` checkpoint: it
//! copies the few frames left and waits (briefly blocking the next commit) until the log
//! can start over. The store also caps the log's size on disk (`journal_size_limit`), well
//! above the size the log reaches in a cycle: a cap below it would cut the file back every
//! cycle, and every frame written past the cut would again land on fresh pages (under load
//! the log grows some 20 MB between two looks, so it peaks near 38 MB for a restart at
//! 17 MB). Per cycle, two commits take milliseconds: the one that waits, and the one that
//! syncs the restarted log's header.
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

/// Above this many frames (4 KiB pages) in the log, the thread makes the log start over.
/// At a handful of pages per decision that is once every seven hundred or so decisions.
pub(crate) const RESTART_FRAMES: i64 = 4096;

/// The size the log file is cut back to when it starts over (`journal_size_limit`): four
/// times the restart threshold, so that the file keeps the pages a cycle writes.
pub(crate) const LOG_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

// A frame is a 4 KiB page and its 24-byte header.
const _: () = assert!(LOG_SIZE_LIMIT >= 3 * RESTART_FRAMES * (4096 + 24));

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
        conn.busy_timeout(Duration::from_secs(5)).ok()?;
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
        cycle(conn, RESTART_FRAMES);
    }
}

/// One checkpoint: a passive copy, then a restart of the log when it holds more than
/// `restart_frames` frames. Returns how many frames the log held.
fn cycle(conn: &Connection, restart_frames: i64) -> Option<i64> {
    let frames = checkpoint(conn, "PASSIVE");
    if frames.is_some_and(|n| n > restart_frames) {
        checkpoint(conn, "RESTART");
    }
    frames
}

/// Runs a checkpoint in `mode`; the number of frames in the log, when it ran.
fn checkpoint(conn: &Connection, mode: &str) -> Option<i64> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        r.get::<_, i64>(1)
    })
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// Under a steady stream of commits, the log starts over (the frame count the
    /// checkpoints see falls back) instead of holding every frame ever written.
    #[test]
    fn the_log_starts_over_under_a_steady_stream_of_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer.pragma_update(None, "synchronous", "NORMAL").unwrap();
        writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        writer
            .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
            .unwrap();
        let checkpointer = Connection::open(&path).unwrap();
        checkpointer.busy_timeout(Duration::from_secs(5)).unwrap();

        // The writer commits until a checkpoint sees the log start over (its frame count
        // falls back). It gives up after far more checkpoint cycles than a working restart
        // needs, counted as cycles rather than commits, so that a checkpoint thread starved
        // of a core by other work gets its cycles all the same.
        const CYCLES: usize = 400;
        let restarted = Arc::new(AtomicBool::new(false));
        let cycles = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (seen_restart, cycles_run) = (restarted.clone(), cycles.clone());
        let thread = std::thread::spawn(move || {
            let mut seen: Vec<i64> = Vec::new();
            while !seen_restart.load(Ordering::Relaxed) {
                if let Some(frames) = cycle(&checkpointer, 64) {
                    if seen.last().is_some_and(|&last| frames < last) {
                        seen_restart.store(true, Ordering::Relaxed);
                    }
                    seen.push(frames);
                }
                cycles_run.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
            seen
        });
        let body = "x".repeat(3000);
        let mut commits = 0;
        while !restarted.load(Ordering::Relaxed) && cycles.load(Ordering::Relaxed) < CYCLES {
            writer
                .execute("INSERT INTO t (body) VALUES (?1)", [&body])
                .unwrap();
            commits += 1;
        }
        let started_over = restarted.load(Ordering::Relaxed);
        // Stops the checkpoint thread if the log never started over.
        restarted.store(true, Ordering::Relaxed);
        let seen = thread.join().unwrap();

        assert!(
            started_over,
            "the log only grew, to {:?} frames after {commits} commits and {CYCLES} checkpoint cycles",
            seen.last()
        );
    }
}
