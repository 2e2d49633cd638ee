//! The `command` kind: run a program (no shell) and read its standard output as JSON.
//!
//! This module owns starting the program, bounding what it prints, and stopping it: a
//! program still running at the timeout, or whose fetch is abandoned, is killed and
//! reaped. It does not cache (the registry does).

use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use bighub_core::ProposedAction;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};

use super::fetch_error::{FetchError, first_line};
use super::provider::{ContextProvider, DEFAULT_TIMEOUT};
use crate::error::LocalError;

/// The largest standard output read by default.
pub(crate) const DEFAULT_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// What is kept of standard error: enough for its first line.
const STDERR_BYTES: u64 = 64 * 1024;

/// Runs a program with arguments (no shell: nothing in them is interpreted) and reads
/// its standard output as a JSON document. Standard input is empty; the environment is
/// the engine's. A non-zero exit is an error with the first line of standard error,
/// escaped; a program still running at the timeout is killed.
///
/// ```
/// use bighub_local::context::CommandProvider;
///
/// let windows = CommandProvider::new(["argocd", "proj", "get", "payments", "-o", "json"]).unwrap();
/// # let _ = windows;
/// ```
#[derive(Debug, Clone)]
pub struct CommandProvider {
    argv: Vec<String>,
    timeout: Duration,
    max_bytes: u64,
}

impl CommandProvider {
    /// Runs `argv[0]` with the rest as its arguments; an empty list or an empty program
    /// name is [`LocalError::ContextConfig`].
    pub fn new<I, S>(argv: I) -> Result<Self, LocalError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let argv: Vec<String> = argv.into_iter().map(Into::into).collect();
        if argv.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(LocalError::ContextConfig {
                origin: "builder".into(),
                key: "argv".into(),
                message: "names no program: give a list such as [\"program\", \"arg\"]".into(),
            });
        }
        Ok(Self {
            argv,
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
        })
    }

    /// Kills the program after `timeout` (set it to the provider's timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Refuses (and kills) a program that prints more than `max_bytes`.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    fn program(&self) -> &str {
        &self.argv[0]
    }
}

/// A running program that is killed, and reaped, when its fetch ends without it having
/// exited: at the timeout, or when the fetch is dropped.
struct Running(Option<Child>);

impl Running {
    /// Kills the program and waits for it to be gone.
    async fn kill(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill().await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.start_kill();
            // Reaped off this path, so that no zombie is left behind.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _ = child.wait().await;
                });
            }
        }
    }
}

async fn read_bounded(stream: Option<impl AsyncRead + Unpin>, limit: u64) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let Some(stream) = stream else {
        return (out, false);
    };
    let mut bounded = stream.take(limit + 1);
    let _ = bounded.read_to_end(&mut out).await;
    let over = out.len() as u64 > limit;
    out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    (out, over)
}

#[async_trait]
impl ContextProvider for CommandProvider {
    fn kind(&self) -> &str {
        "command"
    }

    async fn fetch(&self, _: &ProposedAction) -> Result<Value, FetchError> {
        self.run().await
    }
}

impl CommandProvider {
    /// Runs the program once, within the timeout, and reads its standard output as JSON.
    pub(crate) async fn run(&self) -> Result<Value, FetchError> {
        let mut child = Command::new(self.program())
            .args(&self.argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| FetchError::Spawn {
                program: self.program().to_owned(),
                message: e.to_string(),
            })?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let mut running = Running(Some(child));
        let run = async {
            let ((out, over), (err, _)) = tokio::join!(
                read_bounded(stdout, self.max_bytes),
                read_bounded(stderr, STDERR_BYTES)
            );
            if over {
                return Err(FetchError::TooLarge(self.max_bytes));
            }
            let status = match running.0.as_mut() {
                Some(child) => child.wait().await,
                None => return Err(FetchError::Other("the program was already stopped".into())),
            };
            Ok((out, err, status))
        };
        let (out, err, status) = match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => {
                running.kill().await;
                return Err(e);
            }
            Err(_) => {
                running.kill().await;
                return Err(FetchError::Timeout(self.timeout));
            }
        };
        let status = status.map_err(|e| FetchError::Spawn {
            program: self.program().to_owned(),
            message: e.to_string(),
        });
        // It has exited: nothing to kill.
        running.0 = None;
        let status = status?;
        if !status.success() {
            return Err(FetchError::Exit {
                program: self.program().to_owned(),
                status: exit_status(&status),
                stderr: first_line(&String::from_utf8_lossy(&err)),
            });
        }
        serde_json::from_slice(&out).map_err(|e| FetchError::Json(e.to_string()))
    }
}

fn exit_status(status: &std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("signal {signal}");
        }
    }
    "an unknown status".to_owned()
}
