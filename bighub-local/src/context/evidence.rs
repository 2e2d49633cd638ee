//! Security evidence for a decision: the image a call deploys, and the newest scan of it.
//!
//! This module owns [`EvidenceLookup`]: which arguments name the deployed image, where
//! reports are found (an evidence directory, read again at each decision, then an HTTPS
//! endpoint asked by digest), and what one decision got from them: `input.evidence` as
//! the policy reads it and `decision_packet.evidence` as a reviewer reads it. It reads
//! report formats through `bighub_evidence`, and it decides nothing: the default
//! policy's evidence rules do.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bighub_core::ProposedAction;
use bighub_evidence::{Digest, EvidenceDir, Report, ScanSummary};
use serde_json::{Value, json};

use super::command::CommandProvider;
use super::fetch_error::{FetchError, one_line};
use super::http::HttpProvider;
use crate::error::LocalError;
use crate::outbound_url::{check_url, without_query};
use crate::redact::{redact_value, secret_args};

/// The argument names read for the deployed image when none are configured.
pub const DEFAULT_IMAGE_ARGS: [&str; 4] = ["image", "image_ref", "image_digest", "digest"];

/// What `{digest}` is replaced with while the URL's form is checked.
const DIGEST_MARK: &str = "bighub-evidence-digest";

/// Where the security evidence for a deploy is found, and which arguments name the image.
///
/// For each decision, the deployed image is the first argument named in
/// [`image_args`](Self::image_args) that holds text (the arguments as the policy sees
/// them), else the action's target when it is a reference with a digest
/// (`registry/app@sha256:...`). An action that names no image gets no `input.evidence`.
/// A reference by tag alone gets `{"digest": null, "required": true, "scan": null,
/// "error": "the image <ref> is not pinned by digest"}`. A reference with a digest is
/// looked up in the [`dir`](Self::dir) (read again at each decision, so a report written
/// by the pipeline counts at once; the newest scan of the digest wins), then over
/// [`http`](Self::http); a report found gives `scan` (its summary, aged at the
/// decision's time), none gives `"error": "no scan for <digest>"`.
///
/// ```
/// use bighub_local::context::EvidenceLookup;
///
/// let evidence = EvidenceLookup::new()
///     .dir("/var/lib/bighub/evidence")
///     .http("https://scans.example.com/by-digest/{digest}")
///     .unwrap()
///     .http_header_from_env("Authorization", "SCANS_TOKEN", "Bearer ")
///     .unwrap();
/// assert!(!format!("{evidence:?}").contains("Bearer"));
/// ```
#[derive(Debug, Clone)]
pub struct EvidenceLookup {
    dir: Option<PathBuf>,
    http: Option<Arc<HttpProvider>>,
    /// A program that prints the report (argv, with `{digest}` and `{image}` taken at
    /// each lookup), and how long it may run.
    command: Option<(Vec<String>, Duration)>,
    image_args: Vec<String>,
    max_age: Option<Duration>,
}

impl Default for EvidenceLookup {
    fn default() -> Self {
        Self {
            dir: None,
            http: None,
            command: None,
            image_args: DEFAULT_IMAGE_ARGS.iter().map(|s| (*s).to_owned()).collect(),
            max_age: None,
        }
    }
}

fn invalid(key: &str, message: impl Into<String>) -> LocalError {
    LocalError::ContextConfig {
        origin: "builder".into(),
        key: format!("evidence.{key}"),
        message: message.into(),
    }
}

impl EvidenceLookup {
    /// No source yet; the image is read from [`DEFAULT_IMAGE_ARGS`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads reports and OpenVEX documents from every `.json` file under `path`, again
    /// at each decision that deploys an image (on a blocking thread; about 0.1 ms per
    /// report in a release build, so keep it to the reports of the images in use).
    pub fn dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.dir = Some(path.into());
        self
    }

    /// GETs a report from `url`, whose `{digest}` placeholder takes the deployed digest
    /// (`sha256:...`, percent-encoded), when the directory has none. The URL follows the
    /// `http` provider's rules: `https://`, or `http://` to this machine only; a 404 means
    /// no scan.
    pub fn http(mut self, url: &str) -> Result<Self, LocalError> {
        if !url.contains("{digest}") {
            return Err(invalid("http.url", "the URL has no `{digest}` placeholder"));
        }
        let marked = url.replace("{digest}", DIGEST_MARK);
        let provider = HttpProvider::new(&marked).map_err(|e| match e {
            LocalError::ContextConfig { message, .. } => invalid("http.url", message),
            other => other,
        })?;
        if !provider_reads_nothing(&provider) {
            return Err(invalid(
                "http.url",
                "the only placeholder an evidence URL takes is `{digest}`",
            ));
        }
        self.http = Some(Arc::new(provider));
        Ok(self)
    }

    /// Runs a program that prints the report of the deployed image (a scanner, such as
    /// `["trivy", "image", "--format", "json", "{image}"]`) when neither the directory nor
    /// the endpoint has one; no shell is involved. Each argument's `{digest}` takes the
    /// deployed digest and `{image}` the image reference, which is passed only when it is
    /// a plain reference (letters, digits and `.` `_` `-` `/` `:` `@`, not starting with
    /// `-`), so that a reference chosen by the model can never be read as an option. The
    /// program runs under the context providers' rules: killed at `timeout`, its output
    /// bounded, a failure recorded as a problem.
    pub fn command<I, S>(mut self, argv: I, timeout: Duration) -> Result<Self, LocalError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let argv: Vec<String> = argv.into_iter().map(Into::into).collect();
        CommandProvider::new(argv.clone()).map_err(|e| match e {
            LocalError::ContextConfig { message, .. } => invalid("command.argv", message),
            other => other,
        })?;
        if timeout.is_zero() {
            return Err(invalid("command.timeout", "must be longer than zero"));
        }
        self.command = Some((argv, timeout));
        Ok(self)
    }

    fn with_http(
        mut self,
        key: &str,
        change: impl FnOnce(HttpProvider) -> Result<HttpProvider, LocalError>,
    ) -> Result<Self, LocalError> {
        let Some(http) = self.http.take() else {
            return Err(invalid(key, "set `http` first"));
        };
        let http = Arc::try_unwrap(http).unwrap_or_else(|shared| (*shared).clone());
        self.http = Some(Arc::new(change(http)?));
        Ok(self)
    }

    /// Sends the header `name` with a fixed value on the [`http`](Self::http) request.
    pub fn http_header(self, name: &str, value: &str) -> Result<Self, LocalError> {
        self.with_http("http.headers", |h| h.header(name, value))
    }

    /// Sends the header `name` with `prefix` and the environment variable `var`, read at
    /// each request, on the [`http`](Self::http) request; its value is never logged.
    pub fn http_header_from_env(
        self,
        name: &str,
        var: &str,
        prefix: &str,
    ) -> Result<Self, LocalError> {
        self.with_http("http.headers", |h| h.header_from_env(name, var, prefix))
    }

    /// The longest the [`http`](Self::http) request may take (default 2 s).
    pub fn http_timeout(self, timeout: Duration) -> Result<Self, LocalError> {
        self.with_http("http.timeout", |h| Ok(h.timeout(timeout)))
    }

    /// Refuses [`http`](Self::http) answers larger than `max_bytes` (default 4 MiB).
    pub fn http_max_bytes(self, max_bytes: u64) -> Result<Self, LocalError> {
        self.with_http("http.max_bytes", |h| Ok(h.max_bytes(max_bytes)))
    }

    /// The argument names that hold the deployed image reference, first match wins.
    pub fn image_args<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.image_args = names.into_iter().map(Into::into).collect();
        self
    }

    /// The oldest scan a deploy may rely on: the engine gives it to the default policy as
    /// its `max_scan_age`.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// The oldest scan a deploy may rely on, when set.
    pub fn max_scan_age(&self) -> Option<Duration> {
        self.max_age
    }

    /// The image reference `action` deploys, if it names one.
    fn image_of(&self, action: &ProposedAction) -> Option<String> {
        let arguments = redact_value(&action.arguments, &secret_args(&action.context.metadata));
        for name in &self.image_args {
            if let Some(Value::String(s)) = arguments.get(name)
                && !s.trim().is_empty()
            {
                return Some(s.trim().to_owned());
            }
        }
        let target = action.target.as_deref()?.trim();
        Digest::from_reference(target)
            .is_ok()
            .then(|| target.to_owned())
    }

    /// What the evidence says for `action`; `None` when it deploys no image.
    pub(crate) async fn gather(&self, action: &ProposedAction) -> Option<Evidence> {
        let image = self.image_of(action)?;
        Some(self.lookup(image).await)
    }

    /// What a decision that cannot wait for a lookup gets for `action`: the image and
    /// its digest, no scan, and `not looked up: <reason>` (or the tag-only error).
    pub(crate) fn unfetched(&self, action: &ProposedAction, reason: &str) -> Option<Evidence> {
        let image = self.image_of(action)?;
        let digest = Digest::from_reference(&image).ok();
        let error = match digest {
            Some(_) => format!("not looked up: {reason}"),
            None => one_line(&format!("the image {image} is not pinned by digest")),
        };
        Some(Evidence {
            image,
            digest,
            found: None,
            error: Some(error),
            problems: Vec::new(),
        })
    }

    /// What the evidence says for the image `reference`.
    pub(crate) async fn lookup(&self, reference: String) -> Evidence {
        let mut evidence = Evidence {
            image: reference,
            digest: None,
            found: None,
            error: None,
            problems: Vec::new(),
        };
        let Ok(digest) = Digest::from_reference(&evidence.image) else {
            evidence.error = Some(one_line(&format!(
                "the image {} is not pinned by digest",
                evidence.image
            )));
            return evidence;
        };
        evidence.digest = Some(digest.clone());
        if let Some(dir) = &self.dir {
            let (found, problems) = from_dir(dir.clone(), digest.clone()).await;
            evidence.problems.extend(problems);
            evidence.found = found;
        }
        if evidence.found.is_none()
            && let Some(http) = &self.http
        {
            match from_http(http, &digest).await {
                Ok(found) => evidence.found = found,
                Err(problem) => evidence.problems.push(problem),
            }
        }
        if evidence.found.is_none()
            && let Some((argv, timeout)) = &self.command
        {
            match from_command(argv, *timeout, &evidence.image, &digest).await {
                Ok(found) => evidence.found = Some(found),
                Err(problem) => evidence.problems.push(problem),
            }
        }
        if evidence.found.is_none() {
            evidence.error = Some(format!("no scan for {digest}"));
        }
        evidence
    }
}

/// Whether `image` may be handed to a program as one argument: a plain reference, never
/// an option.
fn plain_reference(image: &str) -> bool {
    !image.starts_with('-')
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@'))
}

/// The report a program prints for `digest`; a report that is not a scan of `digest` is
/// not used, and is a problem.
async fn from_command(
    argv: &[String],
    timeout: Duration,
    image: &str,
    digest: &Digest,
) -> Result<Found, String> {
    let program = argv.first().map_or("", String::as_str);
    let problem = |message: String| one_line(&format!("{program}: {message}"));
    if argv.iter().any(|a| a.contains("{image}")) && !plain_reference(image) {
        return Err(problem(format!(
            "not run: the image reference {image} is not a plain reference"
        )));
    }
    let digest_text = digest.to_string();
    let argv: Vec<String> = argv
        .iter()
        .map(|a| {
            a.replace("{digest}", &digest_text)
                .replace("{image}", image)
        })
        .collect();
    let command = CommandProvider::new(argv)
        .map_err(|e| problem(e.to_string()))?
        .timeout(timeout);
    let document = command.run().await.map_err(|e| problem(e.to_string()))?;
    let body = serde_json::to_vec(&document).map_err(|e| problem(e.to_string()))?;
    let report = Report::parse(&body).map_err(|e| problem(e.to_string()))?;
    if !report.is_scan {
        return Err(problem("the document is not a vulnerability scan".into()));
    }
    if !report.is_about(digest) {
        return Err(problem(format!("the report is not about {digest}")));
    }
    Ok(Found {
        source: "command",
        report: program.to_owned(),
        summary: report.summary(digest, &[], jiff::Timestamp::now()),
    })
}

fn provider_reads_nothing(provider: &HttpProvider) -> bool {
    use super::provider::ContextProvider;
    provider.reads().is_empty()
}

/// A scan found: the report it came from, and where.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    /// `dir`, `http` or `command`.
    source: &'static str,
    /// The report's file, relative to the directory, the URL without its query, or the
    /// program that printed it.
    report: String,
    summary: ScanSummary,
}

/// What the evidence gave for one decision.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Evidence {
    image: String,
    digest: Option<Digest>,
    found: Option<Found>,
    error: Option<String>,
    /// Reports that could not be read or used, one escaped line each.
    problems: Vec<String>,
}

impl Evidence {
    /// `input.evidence` at `now_ms`: the scan's age is counted to the decision's time.
    pub(crate) fn input(&self, now_ms: i64) -> Value {
        let scan = self.found.as_ref().map(|f| {
            let mut summary = f.summary.clone();
            summary.age_seconds = summary
                .generated_at
                .as_deref()
                .and_then(|at| at.parse::<jiff::Timestamp>().ok())
                .map(|at| now_ms.div_euclid(1000) - at.as_second());
            summary
        });
        json!({
            "digest": self.digest,
            "required": true,
            "scan": scan,
            "error": self.error,
        })
    }

    /// `decision_packet.evidence`: what the decision used, and what could not be read.
    pub(crate) fn packet(&self) -> Value {
        let found = self.found.as_ref();
        json!({
            "image": self.image,
            "digest": self.digest,
            "source": found.map(|f| f.source),
            "report": found.map(|f| &f.report),
            "scanner": found.map(|f| &f.summary.scanner),
            "format": found.map(|f| f.summary.format),
            "generated_at": found.and_then(|f| f.summary.generated_at.as_ref()),
            "error": self.error,
            "problems": self.problems,
        })
    }
}

/// The newest scan of `digest` in `dir`, read on a blocking thread, and the files that
/// could not be read.
async fn from_dir(dir: PathBuf, digest: Digest) -> (Option<Found>, Vec<String>) {
    let read = tokio::task::spawn_blocking(move || scan_dir(&dir, &digest)).await;
    read.unwrap_or_else(|_| {
        (
            None,
            vec!["reading the evidence directory failed unexpectedly".to_owned()],
        )
    })
}

fn scan_dir(dir: &Path, digest: &Digest) -> (Option<Found>, Vec<String>) {
    let now = jiff::Timestamp::now();
    let evidence = match EvidenceDir::open(dir) {
        Ok(evidence) => evidence,
        Err(e) => return (None, vec![one_line(&e.to_string())]),
    };
    let problems = evidence
        .problems()
        .iter()
        .map(|e| one_line(&e.to_string()))
        .collect();
    let found = evidence.newest_scan(digest).map(|(path, report)| Found {
        source: "dir",
        report: path
            .strip_prefix(dir)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned(),
        summary: report.summary(digest, evidence.vex(), now),
    });
    (found, problems)
}

/// The report the endpoint has for `digest`: `Ok(None)` on 404; a report that is not a
/// scan of `digest` is not used, and is a problem.
async fn from_http(http: &HttpProvider, digest: &Digest) -> Result<Option<Found>, String> {
    let text = digest.to_string().replace(':', "%3A");
    let url = http.url_text().replace(DIGEST_MARK, &text);
    let shown = without_query(&url);
    let problem = |message: String| one_line(&format!("{shown}: {message}"));
    let url = check_url(&url).map_err(problem)?;
    let body = match http.get(url).await {
        Ok(body) => body,
        Err(FetchError::Status(404)) => return Ok(None),
        Err(e) => return Err(problem(e.to_string())),
    };
    let report = Report::parse(&body).map_err(|e| problem(e.to_string()))?;
    if !report.is_scan {
        return Err(problem("the document is not a vulnerability scan".into()));
    }
    if !report.is_about(digest) {
        return Err(problem(format!("the report is not about {digest}")));
    }
    Ok(Some(Found {
        source: "http",
        report: shown,
        summary: report.summary(digest, &[], jiff::Timestamp::now()),
    }))
}
