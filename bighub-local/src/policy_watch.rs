//! Watching policy files: a background thread that polls their digest and reloads.
//!
//! This module owns [`PolicyWatcher`], the handle of that thread. Polling a digest of the
//! files (names and contents) is simple and works the same on every platform and file
//! system, network mounts and Kubernetes ConfigMap volumes included. The thread stops
//! when the handle is dropped. It does not compile or swap sets (`policy_reload.rs`).

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::LocalError;
use crate::policy_reload::PolicySlot;

/// Polls the policy files of an engine and reloads its policy sets when they change;
/// stops when dropped. Made by [`LocalEngine::watch_policies`](crate::LocalEngine::watch_policies).
///
/// Each change is reloaded once: a set that fails its checks is reported (logged, and in
/// [`LocalEngine::policy_status`](crate::LocalEngine::policy_status)) and tried again at
/// the next change of its files.
#[derive(Debug)]
pub struct PolicyWatcher {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    interval: Duration,
}

impl PolicyWatcher {
    /// Starts polling `slots` every `interval`.
    pub(crate) fn start(
        slots: Vec<Arc<PolicySlot>>,
        interval: Duration,
    ) -> Result<Self, LocalError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let mut seen: Vec<String> = slots
            .iter()
            .map(|s| s.current().files_digest.clone())
            .collect();
        let thread = std::thread::Builder::new()
            .name("bighub-policy-watch".to_owned())
            .spawn(move || {
                loop {
                    match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => {}
                        // The handle was dropped (or stop was sent).
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    for (slot, seen) in slots.iter().zip(seen.iter_mut()) {
                        let now = slot.files_digest();
                        if now != *seen {
                            *seen = now;
                            // Logged and recorded by the slot; the set in force stays on error.
                            let _ = slot.reload();
                        }
                    }
                }
            })
            .map_err(|e| LocalError::Config(format!("cannot start the policy watcher: {e}")))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
            interval,
        })
    }

    /// How often the files are polled.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Stops polling and waits for a reload under way to finish.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for PolicyWatcher {
    fn drop(&mut self) {
        self.shut_down();
    }
}
