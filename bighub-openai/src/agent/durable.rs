//! A durable agent's public face: resuming answered runs now, or in the background.
//!
//! This module owns [`BighubOpenAI::resume_answered`], [`BighubOpenAI::serve_resumptions`]
//! and the [`Resumptions`] handle that stops the background task. Saving paused runs and
//! resuming each claimed run live in [`run`](crate::run) (`run_store.rs`, `durable.rs`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::BighubOpenAI;
use crate::{Error, RunResult};

/// One run [`resume_answered`](BighubOpenAI::resume_answered) resumed: its run id and how
/// it went (finished, paused again on new approvals, or failed).
pub type ResumedRun = (String, Result<RunResult, Error>);

impl BighubOpenAI {
    /// Resumes every paused run of the agent's run store whose approvals are all answered,
    /// each exactly once across every process polling the store, and returns how each went
    /// (run id, result).
    ///
    /// Each run is claimed with a lease, resumed with the answers of the engine's approval
    /// records (approved or rejected, with the reviewer's comment; a rejected call is not
    /// run and the model is told why), then completed in the store: finished, failed, or
    /// paused again on new approvals. A process that dies while resuming leaves the run to
    /// be claimed again when its lease expires; an approved call runs at most once even
    /// then, since its approval is consumed when it runs.
    ///
    /// A call of a tool with secret arguments runs only in the process that paused the run
    /// (the values never reach the store); resumed elsewhere, it is not run and the model
    /// is told to call the tool again, so that the call is decided anew.
    ///
    /// A run whose resume stopped before anything ran for a reason that may pass (the
    /// engine could not be reached) is listed with its error and left to its lease: a
    /// later pass claims it again. A run waiting on an approval in any status other than
    /// approved or rejected is not resumed yet (and not listed).
    ///
    /// An error means the store could not be asked; an agent built without
    /// [`durable`](crate::BighubOpenAIBuilder::durable) answers [`Error::Config`].
    ///
    /// ```no_run
    /// # async fn demo(agent: bighub_openai::BighubOpenAI) -> Result<(), bighub_openai::Error> {
    /// for (run_id, outcome) in agent.resume_answered().await? {
    ///     match outcome {
    ///         Ok(result) if result.is_paused() => println!("{run_id} waits again"),
    ///         Ok(result) => println!("{run_id}: {}", result.output_text()),
    ///         Err(error) => eprintln!("{run_id} failed: {error}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn resume_answered(&self) -> Result<Vec<ResumedRun>, Error> {
        self.inner.resume_answered().await
    }

    /// Resumes answered runs in the background: a pass at once, then one every `interval`,
    /// calling `on_resumed(run_id, result)` for each run a pass resumed. Needs a Tokio
    /// runtime. Returns the handle that stops it ([`Resumptions::stop`], or drop it).
    ///
    /// A pass that cannot reach the store is logged and the next one tries again.
    ///
    /// ```no_run
    /// # async fn demo(agent: bighub_openai::BighubOpenAI) {
    /// use std::time::Duration;
    ///
    /// let resumptions = agent.serve_resumptions(Duration::from_secs(5), |run_id, outcome| {
    ///     match outcome {
    ///         Ok(result) => println!("{run_id}: {}", result.output_text()),
    ///         Err(error) => eprintln!("{run_id} failed: {error}"),
    ///     }
    /// });
    /// // ... the agent serves other requests meanwhile ...
    /// resumptions.stop().await;
    /// # }
    /// ```
    pub fn serve_resumptions<F>(&self, interval: Duration, on_resumed: F) -> Resumptions
    where
        F: Fn(String, Result<RunResult, Error>) + Send + Sync + 'static,
    {
        let agent = self.clone();
        let on_resumed = Arc::new(on_resumed);
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            loop {
                match agent.resume_answered().await {
                    Ok(done) => {
                        for (run_id, outcome) in done {
                            on_resumed(run_id, outcome);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(error = ?error.to_string(), "resuming answered runs failed; trying again later")
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    // Stopped, or the handle was dropped.
                    _ = &mut stopped => return,
                }
            }
        });
        Resumptions {
            stop: Some(stop),
            task: Some(task),
        }
    }
}

/// The background task of [`BighubOpenAI::serve_resumptions`]. Dropping it stops the task
/// after the pass in progress; [`stop`](Self::stop) also waits for that pass to end.
#[must_use = "dropping the handle stops the resumptions"]
pub struct Resumptions {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Resumptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resumptions")
            .field(
                "running",
                &self.task.as_ref().is_some_and(|t| !t.is_finished()),
            )
            .finish()
    }
}

impl Resumptions {
    /// Stops the task and waits for the pass in progress, if any, to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(error) = task.await
            && error.is_panic()
        {
            tracing::warn!("the resumption task panicked");
        }
    }
}

impl Drop for Resumptions {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
