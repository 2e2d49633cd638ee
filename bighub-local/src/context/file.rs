//! The `file` kind: a JSON document on disk, read again when it changes.
//!
//! This module owns reading the file and remembering what it last read, keyed by the
//! file's modification time and length, so that an unchanged file costs one `stat` per
//! fetch. It does not cache across decisions (the registry does, for the provider's TTL).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use bighub_core::ProposedAction;
use serde_json::Value;

use super::fetch_error::FetchError;
use super::provider::ContextProvider;

/// The largest file read by default.
pub(crate) const DEFAULT_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// What the file held when last read, and how to tell whether it changed since.
#[derive(Debug)]
struct LastRead {
    modified: Option<SystemTime>,
    len: u64,
    document: Arc<Value>,
}

/// A JSON document in a file: freeze calendars, on-call rotations, anything a job
/// writes. The file is read again when its modification time or length changes.
///
/// ```
/// use bighub_local::context::FileProvider;
///
/// let freezes = FileProvider::new("/etc/bighub/freezes.json");
/// # let _ = freezes;
/// ```
#[derive(Debug)]
pub struct FileProvider {
    path: PathBuf,
    max_bytes: u64,
    last: Mutex<Option<LastRead>>,
}

impl FileProvider {
    /// Reads `path` (at most 4 MiB).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            max_bytes: DEFAULT_MAX_BYTES,
            last: Mutex::new(None),
        }
    }

    /// Refuses files larger than `max_bytes`.
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    fn io_error(&self, e: &std::io::Error) -> FetchError {
        FetchError::Io {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// The document last read, when the file has not changed since.
    fn unchanged(&self, modified: Option<SystemTime>, len: u64) -> Option<Arc<Value>> {
        let last = self.last.lock().ok()?;
        last.as_ref()
            .filter(|l| modified.is_some() && l.modified == modified && l.len == len)
            .map(|l| l.document.clone())
    }
}

#[async_trait]
impl ContextProvider for FileProvider {
    fn kind(&self) -> &str {
        "file"
    }

    async fn fetch(&self, _: &ProposedAction) -> Result<Value, FetchError> {
        let meta = tokio::fs::metadata(&self.path)
            .await
            .map_err(|e| self.io_error(&e))?;
        let modified = meta.modified().ok();
        if let Some(document) = self.unchanged(modified, meta.len()) {
            return Ok((*document).clone());
        }
        if meta.len() > self.max_bytes {
            return Err(FetchError::TooLarge(self.max_bytes));
        }
        let bytes = tokio::fs::read(&self.path)
            .await
            .map_err(|e| self.io_error(&e))?;
        if bytes.len() as u64 > self.max_bytes {
            return Err(FetchError::TooLarge(self.max_bytes));
        }
        let document: Value =
            serde_json::from_slice(&bytes).map_err(|e| FetchError::Json(e.to_string()))?;
        // What was read is remembered under the length read, so a file that grew while
        // being read is read again next time.
        if let Ok(mut last) = self.last.lock() {
            *last = Some(LastRead {
                modified,
                len: bytes.len() as u64,
                document: Arc::new(document.clone()),
            });
        }
        Ok(document)
    }
}
