//! The registry of context providers, and gathering their documents for a decision.
//!
//! This module owns [`ContextProviders`]: providers registered by name with their
//! options, run concurrently for a decision, each bounded by its timeout and served from
//! the cache while its answer is fresh. It does not decide (the engine does, on the
//! [`ContextSnapshot`] gathered) and does not read configuration files
//! (`config_file.rs` does, in [`ContextProviders::from_file`]).

use std::fmt;
use std::sync::Arc;

use bighub_core::ProposedAction;
use futures::FutureExt;
use serde_json::{Map, Value};

use super::cache::{Cache, Fetched};
use super::evidence::EvidenceLookup;
use super::fetch_error::FetchError;
use super::provider::{ContextProvider, OnFailure, ProviderOptions};
use super::snapshot::{ContextSnapshot, Entry};
use super::template::{ActionField, cache_key};
use crate::clock::now_millis;
use crate::error::LocalError;
use bighub_core::digest::canonical_sha256;

/// The longest provider name.
const MAX_NAME: usize = 64;

#[derive(Clone)]
struct Registered {
    name: String,
    provider: Arc<dyn ContextProvider>,
    options: ProviderOptions,
    /// The configured key and the fields the provider reads, sorted.
    key: Vec<ActionField>,
}

#[derive(Default)]
struct Inner {
    providers: Vec<Registered>,
    cache: Arc<Cache>,
    evidence: Option<EvidenceLookup>,
}

/// The context providers a decision is made with, by name.
///
/// For each decision, every provider runs concurrently, bounded by its timeout (so a
/// decision waits at most the longest of them); an answer is reused for its TTL for
/// actions with the same key, a failure for at most a second; decisions that need the
/// same entry while it is being fetched share that one fetch. Cloning shares the
/// providers and their cache.
///
/// ```
/// use std::time::Duration;
/// use bighub_local::context::{ContextProviders, FileProvider, OnFailure, ProviderOptions};
///
/// let mut options = ProviderOptions::default();
/// options.ttl = Duration::ZERO;
/// options.on_failure = OnFailure::FailClosed;
/// let providers = ContextProviders::new()
///     .register("freezes", FileProvider::new("/etc/bighub/freezes.json"), options)
///     .unwrap();
/// assert_eq!(providers.names(), ["freezes"]);
/// ```
#[derive(Clone, Default)]
pub struct ContextProviders {
    inner: Arc<Inner>,
}

impl fmt::Debug for ContextProviders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_map();
        for r in &self.inner.providers {
            list.entry(&r.name, &(&r.provider, &r.options));
        }
        if let Some(evidence) = &self.inner.evidence {
            list.entry(&"evidence", evidence);
        }
        list.finish()
    }
}

impl ContextProviders {
    /// No providers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `provider` under `name` (letters, digits, `_` and `-`; the policy reads
    /// `input.context.<name>`). A name taken, or options that cannot be honoured (a zero
    /// timeout), is [`LocalError::ContextConfig`].
    pub fn register(
        self,
        name: impl Into<String>,
        provider: impl ContextProvider,
        options: ProviderOptions,
    ) -> Result<Self, LocalError> {
        self.register_shared(name, Arc::new(provider), options)
    }

    /// [`register`](Self::register) for a provider already shared.
    pub fn register_shared(
        self,
        name: impl Into<String>,
        provider: Arc<dyn ContextProvider>,
        options: ProviderOptions,
    ) -> Result<Self, LocalError> {
        let name = name.into();
        let invalid = |message: String| LocalError::ContextConfig {
            origin: "builder".into(),
            key: format!("providers.{name}"),
            message,
        };
        check_name(&name).map_err(invalid)?;
        if self.inner.providers.iter().any(|r| r.name == name) {
            return Err(invalid(
                "a provider of this name is already registered".into(),
            ));
        }
        if options.timeout.is_zero() {
            return Err(invalid("the timeout must be longer than zero".into()));
        }
        let mut key = options.key.clone();
        key.extend(provider.reads());
        key.sort();
        key.dedup();
        let mut providers = self.inner.providers.clone();
        providers.push(Registered {
            name,
            provider,
            options,
            key,
        });
        Ok(Self {
            inner: Arc::new(Inner {
                providers,
                cache: Arc::default(),
                evidence: self.inner.evidence.clone(),
            }),
        })
    }

    /// Looks up security evidence for each decision with `lookup`: the policy reads it as
    /// `input.evidence` (see [`EvidenceLookup`]).
    pub fn evidence(self, lookup: EvidenceLookup) -> Self {
        Self {
            inner: Arc::new(Inner {
                providers: self.inner.providers.clone(),
                cache: Arc::default(),
                evidence: Some(lookup),
            }),
        }
    }

    /// The evidence lookup, when one is configured.
    pub fn evidence_lookup(&self) -> Option<&EvidenceLookup> {
        self.inner.evidence.as_ref()
    }

    /// These providers and `other`'s (a name in both, or an evidence lookup in both, is
    /// [`LocalError::ContextConfig`]).
    pub fn merge(self, other: ContextProviders) -> Result<Self, LocalError> {
        let mut out = self;
        for r in &other.inner.providers {
            out = out.register_shared(r.name.clone(), r.provider.clone(), r.options.clone())?;
        }
        if let Some(evidence) = &other.inner.evidence {
            if out.inner.evidence.is_some() {
                return Err(LocalError::ContextConfig {
                    origin: "builder".into(),
                    key: "evidence".into(),
                    message: "an evidence lookup is configured twice".into(),
                });
            }
            out = out.evidence(evidence.clone());
        }
        Ok(out)
    }

    /// Whether there are no providers and no evidence lookup: nothing to gather.
    pub fn is_empty(&self) -> bool {
        self.inner.providers.is_empty() && self.inner.evidence.is_none()
    }

    /// The providers' names, in the order they were registered.
    pub fn names(&self) -> Vec<&str> {
        self.inner
            .providers
            .iter()
            .map(|r| r.name.as_str())
            .collect()
    }

    /// Fetches (or reuses) every provider's document for `action`, concurrently, and
    /// looks up the evidence for the image it deploys; returns once each has answered or
    /// timed out. Needs a Tokio runtime (with its timer).
    pub async fn gather(&self, action: &ProposedAction) -> ContextSnapshot {
        let evidence = async {
            match &self.inner.evidence {
                Some(lookup) => lookup.gather(action).await,
                None => None,
            }
        };
        let (mut snapshot, evidence) = futures::join!(self.gather_providers(action), evidence);
        snapshot.evidence = evidence;
        snapshot
    }

    /// What the evidence lookup gives for the image `reference` (`registry/app@sha256:...`,
    /// or a tag): `input.evidence` as a policy would see it at `now_ms` and
    /// `decision_packet.evidence`, as `{"evidence": ..., "record": ...}`; `None` when no
    /// lookup is configured. For `bighub context check --image`.
    pub async fn check_image(&self, reference: &str, now_ms: i64) -> Option<Value> {
        let lookup = self.inner.evidence.as_ref()?;
        let evidence = lookup.lookup(reference.trim().to_owned()).await;
        Some(serde_json::json!({"evidence": evidence.input(now_ms), "record": evidence.packet()}))
    }

    async fn gather_providers(&self, action: &ProposedAction) -> ContextSnapshot {
        let lookups = self.inner.providers.iter().enumerate().map(|(i, r)| {
            let cache = &self.inner.cache;
            async move {
                let key = (i, cache_key(&r.key, action));
                let fetched = cache
                    .get(key, r.options.ttl, now_millis, || {
                        fetch(
                            r.name.clone(),
                            r.provider.clone(),
                            action.clone(),
                            r.options.timeout,
                        )
                        .boxed()
                    })
                    .await;
                entry(r, fetched)
            }
        });
        ContextSnapshot {
            entries: futures::future::join_all(lookups).await,
            evidence: None,
        }
    }

    /// A snapshot in which no provider was fetched, each failed with
    /// [`FetchError::NotFetched`]`(reason)`: what a decision that cannot wait for
    /// fetches is made on (the `fail_closed` providers block it).
    pub fn unfetched(&self, reason: &str) -> ContextSnapshot {
        let at = now_millis();
        let fetched = Arc::new(Fetched::failed(FetchError::NotFetched(reason.into()), at));
        ContextSnapshot {
            entries: self
                .inner
                .providers
                .iter()
                .map(|r| entry(r, fetched.clone()))
                .collect(),
            evidence: None,
        }
    }

    /// [`unfetched`](Self::unfetched), with the evidence for `action` not looked up
    /// either: a call that deploys an image is decided without its scan.
    pub(crate) fn unfetched_for(&self, action: &ProposedAction, reason: &str) -> ContextSnapshot {
        let mut snapshot = self.unfetched(reason);
        snapshot.evidence = self
            .inner
            .evidence
            .as_ref()
            .and_then(|lookup| lookup.unfetched(action, reason));
        snapshot
    }

    /// The `fail_closed` providers whose entry in a recorded `input.context` holds an
    /// error, with it: a replayed decision is blocked as the live one would be.
    pub(crate) fn blocked_by_recorded(
        &self,
        context: &Map<String, Value>,
    ) -> Vec<(String, String)> {
        self.inner
            .providers
            .iter()
            .filter(|r| r.options.on_failure == OnFailure::FailClosed)
            .filter_map(|r| {
                let error = context.get(&r.name)?.get("error")?.as_str()?;
                Some((r.name.clone(), error.to_owned()))
            })
            .collect()
    }
}

// `Shape`'s derives are `shape.rs`'s own: cloning works whether or not it is `Copy`.
#[allow(clippy::clone_on_copy)]
fn entry(r: &Registered, fetched: Arc<Fetched>) -> Entry {
    Entry {
        name: r.name.clone(),
        kind: r.provider.kind().to_owned(),
        shape: r.options.shape.clone(),
        on_failure: r.options.on_failure,
        fetched,
    }
}

/// One fetch, bounded by `timeout`.
async fn fetch(
    name: String,
    provider: Arc<dyn ContextProvider>,
    action: ProposedAction,
    timeout: std::time::Duration,
) -> Fetched {
    let result = match tokio::time::timeout(timeout, provider.fetch(&action)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout(timeout)),
    };
    let at = now_millis();
    match result {
        Ok(document) => {
            tracing::debug!(provider = %name, kind = provider.kind(), "context fetched");
            Fetched {
                sha256: Some(canonical_sha256(&document)),
                result: Ok(Arc::new(document)),
                fetched_at_ms: at,
            }
        }
        Err(error) => {
            tracing::warn!(provider = %name, kind = provider.kind(), error = %error.one_line(), "context provider failed");
            Fetched::failed(error, at)
        }
    }
}

/// A provider name the policy can read as `input.context.<name>`.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!("a provider's name has 1 to {MAX_NAME} characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("a provider's name has only letters, digits, `_` and `-`".into());
    }
    Ok(())
}
