//! Context providers: what is true now (open incidents, change freezes, sync windows, a
//! status page), fetched for each decision, cached, bounded, and recorded with it.
//!
//! This module owns the [`ContextProvider`] trait, the built-in kinds ([`FileProvider`],
//! [`HttpProvider`], [`CommandProvider`]), their registry and cache
//! ([`ContextProviders`]), the configuration file, and what one decision got from them
//! ([`ContextSnapshot`]). It does not decide: the engine hands the snapshot to the policy
//! as `input.context`, and the policy's rules read it. Reading a document into a declared
//! [`Shape`] lives in `shape.rs`.
//!
//! # Configuration
//!
//! One file (JSON, or TOML when its name ends in `.toml`), given to
//! [`LocalEngineBuilder::context_file`](crate::LocalEngineBuilder::context_file), the
//! `BIGHUB_CONTEXT` environment variable, or `bighub serve --config`:
//!
//! ```json
//! {"providers": [
//!   {"name": "freezes", "kind": "file", "path": "freezes.json", "shape": "freeze_calendar"},
//!   {"name": "pagerduty", "kind": "http",
//!    "url": "https://api.pagerduty.com/incidents?statuses[]=triggered&service_ids[]={target}",
//!    "headers": {"Authorization": {"env": "PAGERDUTY_TOKEN", "prefix": "Token token="},
//!                "Accept": "application/vnd.pagerduty+json;version=2"},
//!    "shape": "pagerduty_incidents", "timeout": "1500ms", "ttl": "60s",
//!    "key": ["target"], "on_failure": "fail_closed"},
//!   {"name": "sync_windows", "kind": "command",
//!    "argv": ["argocd", "proj", "get", "payments", "-o", "json"],
//!    "shape": "argocd_sync_windows", "timeout": "3s", "ttl": "5m"}
//! ]}
//! ```
//!
//! | key | kinds | default | meaning |
//! |---|---|---|---|
//! | `name` | all | required | the policy reads `input.context.<name>`; letters, digits, `_`, `-` |
//! | `kind` | all | required | `file`, `http` or `command` |
//! | `shape` | all | none | `pagerduty_incidents`, `statuspage_summary`, `argocd_sync_windows` or `freeze_calendar`: the document is read into the form the default policy's rules read; without one the policy gets the document as fetched |
//! | `timeout` | all | `"2s"` | the longest the provider may take (`"500ms"`, `"2s"`, `"1m"`, or whole seconds) |
//! | `ttl` | all | `"30s"`; `"0s"` for `file` | how long an answer is reused for actions with the same key |
//! | `key` | all | `[]` | the action's fields whose values select a cache entry: `tool`, `action`, `system`, `environment`, `target`, `actor`, `domain`, `risk`; an `http` URL's placeholders are always part of it |
//! | `on_failure` | all | `"absent"` | `absent`: the policy decides, seeing the error; `fail_closed`: the call is blocked |
//! | `path` | `file` | required | a JSON file; relative to the configuration file's directory |
//! | `url` | `http` | required | `https://`, or `http://` to `localhost`, `127.0.0.1` or `::1` only; `{field}` takes the action's field, percent-encoded (an action without it fails the fetch) |
//! | `headers` | `http` | `{}` | header name to a value: text, or `{"env": "VARIABLE", "prefix"?: "..."}` read from the environment at each fetch |
//! | `argv` | `command` | required | the program and its arguments; no shell |
//! | `max_bytes` | all | 4 MiB | the largest document read |
//!
//! A key that is not in this table is [`LocalError::ContextConfig`](crate::LocalError::ContextConfig),
//! naming the file, the key and the closest known one:
//!
//! ```text
//! invalid context configuration in context.json: providers[1].urll: unknown key; did you mean `url`?
//! ```
//!
//! # Security evidence
//!
//! The same file may say where security reports are found (see [`EvidenceLookup`]):
//!
//! ```json
//! {"providers": [],
//!  "evidence": {"dir": "evidence/", "image_args": ["image", "image_ref"], "max_age": "24h",
//!               "http": {"url": "https://scans.example.com/by-digest/{digest}",
//!                        "headers": {"Authorization": {"env": "SCANS_TOKEN", "prefix": "Bearer "}},
//!                        "timeout": "2s"}}}
//! ```
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `dir` | none | a directory of reports (Trivy, Grype, CycloneDX, SPDX, Syft JSON) and OpenVEX documents, read again at each decision; relative to the configuration file's directory |
//! | `http` | none | `url` with a `{digest}` placeholder, `headers`, `timeout` (`"2s"`), `max_bytes` (4 MiB), as for an `http` provider; asked when `dir` has no scan; a 404 means none |
//! | `command` | none | `argv` (a program and its arguments, no shell; `{digest}` takes the deployed digest, `{image}` the reference when it is a plain one) and `timeout` (`"2s"`): a scanner that prints the report, such as `["trivy", "image", "--format", "json", "{image}"]`; run when neither `dir` nor `http` has a scan, killed at its timeout |
//! | `image_args` | `["image", "image_ref", "image_digest", "digest"]` | the arguments that may hold the deployed image reference, first match wins; else the action's target when it is a reference with a digest |
//! | `max_age` | the policy's `max_scan_age` | the oldest scan a deploy may rely on: given to the default policy as `max_scan_age` (configuration given to the engine's builder wins) |
//!
//! A call that names no image gets no `input.evidence`. Otherwise the policy reads
//! `input.evidence = {"digest", "required": true, "scan", "error"}`: `scan` is the newest
//! scan of the digest (its summary, aged at the decision's time), or null with `error`
//! (`the image <ref> is not pinned by digest`, `no scan for <digest>`). The decision
//! records in `decision_packet.evidence` the image, the digest, where the scan came from
//! (`source`: `dir` or `http`; `report`: the file, or the URL without its query), the
//! scanner, `generated_at`, and the reports that could not be read (`problems`).
//!
//! # Kinds
//!
//! - `file` reads a JSON document, again whenever the file's modification time or length
//!   changes (an unchanged file costs one `stat` per decision).
//! - `http` GETs a JSON document. Header values (literal, or read from the environment)
//!   are never logged, never in `Debug`, never in an error, the input, the store or the
//!   decision. Redirects are not followed; a status other than 2xx is an error naming
//!   it.
//! - `command` runs a program with its arguments (no shell), standard input empty, and
//!   reads standard output as JSON. A non-zero exit is an error with the first line of
//!   standard error, escaped; a program still running at the timeout is killed and
//!   reaped.
//!
//! Your own: implement [`ContextProvider`] and [`register`](ContextProviders::register) it.
//!
//! # Fetching, caching, failing
//!
//! For each decision every provider runs concurrently, each bounded by its timeout, so a
//! decision waits at most the longest one. An answer is reused for the provider's `ttl`
//! for actions whose `key` fields have the same values; a failure is reused for at most
//! one second ([`FAILURE_TTL`]), so a storm of decisions does not hammer an endpoint that
//! is down and a recovered one is asked again promptly. Decisions that need an entry
//! while it is being fetched wait for that fetch instead of starting their own.
//!
//! A provider that fails (times out, errs, answers a document that does not fit its
//! shape) is handled by its `on_failure`:
//!
//! - `absent` (the default): the policy sees `input.context.<name>.error` (one line,
//!   escaped), `data: null`, and the name in `input.context_failed`, and decides.
//! - `fail_closed`: the policy is not asked; the call is `blocked` by the rule
//!   `context_unavailable`, with a reason naming the provider and its error. The decision
//!   is recorded like any other.
//!
//! The policy sees, for each provider:
//!
//! ```json
//! {"kind": "http", "shape": "pagerduty_incidents", "data": {"incidents": []}, "error": null,
//!  "fetched_at": "2026-12-07T10:00:00.000Z", "age_seconds": 12.5, "sha256": "9f2c…"}
//! ```
//!
//! The async decision paths ([`DecisionEngine::evaluate`](bighub_core::DecisionEngine::evaluate)
//! on [`LocalEngine`](crate::LocalEngine), the decision server) gather the context before
//! deciding. The synchronous [`LocalEngine::decide`](crate::LocalEngine::decide) cannot
//! wait for a fetch: it decides with every provider failed with the error
//! `not fetched: synchronous decide`, so `fail_closed` providers block the call and the
//! policy sees the others as absent. Gather first and call
//! [`LocalEngine::decide_in_context`](crate::LocalEngine::decide_in_context) to decide
//! synchronously on fetched context.
//!
//! # What is recorded
//!
//! The decision's `decision_packet.input` holds `input.context` as the policy saw it, and
//! `decision_packet.context` names each provider with `fetched_at`, `age_seconds`, the
//! `sha256` of the canonical JSON of the document fetched, and `error`: a reviewer sees
//! what the decision was made on. `bighub policy replay` decides recorded calls on the
//! context recorded with them (a `fail_closed` provider that failed then blocks the
//! replayed call too), unless given `--fresh-context`.

mod cache;
mod command;
mod config_file;
mod evidence;
mod fetch_error;
mod file;
mod http;
mod provider;
mod providers;
pub(crate) mod shape;
mod snapshot;
mod template;

pub use command::CommandProvider;
pub use evidence::{DEFAULT_IMAGE_ARGS, EvidenceLookup};
pub use fetch_error::FetchError;
pub use file::FileProvider;
pub use http::HttpProvider;
pub use provider::{
    ContextProvider, DEFAULT_TIMEOUT, DEFAULT_TTL, FAILURE_TTL, OnFailure, ProviderOptions,
};
pub use providers::ContextProviders;
pub use shape::Shape;
pub use snapshot::ContextSnapshot;
pub use template::ActionField;

pub(crate) use snapshot::Prepared;
