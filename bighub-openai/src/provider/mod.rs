//! The model provider: the OpenAI Responses API through async-openai, with our own retry
//! policy, timeout and circuit breaker.
//!
//! async-openai's default client retries on its own; we install its plain reqwest service
//! instead, so that `provider_max_retries` is the only retry budget and every attempt is
//! visible to the circuit breaker. This module sends requests and returns the API's JSON as
//! it came; it does not build requests nor read responses (a run does both), and it knows
//! nothing of tools or decisions.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::ReqwestService;
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

mod circuit_breaker;

use crate::error::{Error, ProviderError};
use circuit_breaker::CircuitBreaker;

/// Retry and resilience settings for calls to the model provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSettings {
    /// How long the provider may stay silent (default 30 s): to connect, and between two reads
    /// of an answer. A long answer that keeps streaming is never cut; one that stops is.
    pub timeout: Duration,
    /// Retries after the first attempt, for 429 / 5xx / timeouts / connection errors (default 2).
    pub max_retries: u32,
    /// First backoff delay (default 250 ms); doubles per retry.
    pub backoff: Duration,
    /// Largest backoff delay (default 2 s).
    pub max_backoff: Duration,
    /// Open the circuit after this many consecutive failed attempts (0 = no breaker).
    pub circuit_breaker_failures: u32,
    /// How long an open circuit stays open (default 30 s).
    pub circuit_breaker_reset: Duration,
    /// Most requests to the provider in flight at once, per agent (default 64); more wait
    /// for a free connection. A streamed answer holds its connection until it ends.
    pub max_concurrent_requests: usize,
    /// Accept a plain `http://` base URL to a host other than this machine (default false).
    /// Only for a trusted gateway on a private network: the API key travels unencrypted.
    pub allow_insecure_http: bool,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_retries: 2,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(2),
            circuit_breaker_failures: 0,
            circuit_breaker_reset: Duration::from_secs(30),
            max_concurrent_requests: 64,
            allow_insecure_http: false,
        }
    }
}

pub(crate) struct Provider {
    client: Client<OpenAIConfig>,
    settings: ProviderSettings,
    breaker: Option<CircuitBreaker>,
    base_url: String,
    connections: Arc<Semaphore>,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The async-openai config holds the API key: never print it.
        f.debug_struct("Provider")
            .field("base_url", &self.base_url)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The server-sent events of a streamed response, as raw JSON.
pub(crate) type ModelStream = BoxStream<'static, Result<Value, OpenAIError>>;

impl Provider {
    pub(crate) fn new(
        api_key: &str,
        base_url: &str,
        settings: ProviderSettings,
    ) -> Result<Self, Error> {
        check_base_url(base_url, settings.allow_insecure_http)?;
        let http = reqwest::Client::builder()
            // Not a total deadline: reasoning models may think, and stream, for minutes.
            .connect_timeout(settings.timeout)
            .read_timeout(settings.timeout)
            .pool_max_idle_per_host(settings.max_concurrent_requests)
            .build()
            .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))?;
        let config = OpenAIConfig::new()
            .with_api_key(api_key)
            .with_api_base(base_url);
        let client = Client::with_config(config).with_http_service(ReqwestService::new(http));
        let breaker = (settings.circuit_breaker_failures > 0).then(|| {
            CircuitBreaker::new(
                settings.circuit_breaker_failures,
                settings.circuit_breaker_reset,
            )
        });
        Ok(Self {
            client,
            connections: Arc::new(Semaphore::new(settings.max_concurrent_requests.max(1))),
            settings,
            breaker,
            base_url: base_url.to_owned(),
        })
    }

    /// Waits for a free connection slot.
    async fn connection(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.connections)
            .acquire_owned()
            .await
            .expect("the provider's semaphore is never closed")
    }

    /// `POST /responses`, retried per the settings.
    pub(crate) async fn create(&self, request: &Value) -> Result<Value, Error> {
        self.with_retries("openai.responses.create", || async {
            let _connection = self.connection().await;
            self.client.responses().create_byot(request).await
        })
        .await
    }

    /// `GET /responses/{id}`: a background response's current state.
    pub(crate) async fn retrieve(&self, response_id: &str) -> Result<Value, Error> {
        self.with_retries("openai.responses.retrieve", || async {
            let _connection = self.connection().await;
            self.client.responses().retrieve_byot(response_id).await
        })
        .await
    }

    /// `POST /responses` with `stream: true` (the body must say so): the server-sent events,
    /// as raw JSON. Failures before the first event are retried per the settings; once an
    /// event has arrived, a failure is the caller's (the stream cannot be replayed).
    pub(crate) async fn create_stream(&self, request: &Value) -> Result<ModelStream, Error> {
        let (first, rest, connection) = self
            .with_retries("openai.responses.create_stream", || async {
                let connection = self.connection().await;
                let mut stream = self
                    .client
                    .responses()
                    .create_stream_byot::<_, Value>(request)
                    .await?;
                match stream.next().await {
                    Some(Ok(first)) => Ok((first, stream, connection)),
                    Some(Err(error)) => Err(error),
                    None => Err(OpenAIError::StreamError(Box::new(
                        async_openai::error::StreamError::EventStream(
                            "the stream ended before its first event".to_owned(),
                        ),
                    ))),
                }
            })
            .await?;
        // The stream holds its connection slot until it is dropped.
        let rest = rest.map(move |event| {
            let _held = &connection;
            event
        });
        Ok(Box::pin(stream::once(async { Ok(first) }).chain(rest)))
    }

    /// Runs `attempt` until it succeeds, a failure is not retryable, the retries are spent,
    /// or the circuit opens; every attempt is counted by the circuit breaker.
    async fn with_retries<T, F, Fut>(&self, name: &'static str, mut attempt: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OpenAIError>>,
    {
        let mut attempts: u32 = 0;
        loop {
            if let Some(breaker) = &self.breaker
                && let Err(retry_in) = breaker.check()
            {
                return Err(Error::CircuitOpen { retry_in });
            }
            attempts += 1;
            let span = tracing::debug_span!("openai.request", name, attempt = attempts);
            match attempt().instrument(span).await {
                Ok(value) => {
                    if let Some(breaker) = &self.breaker {
                        breaker.record_success();
                    }
                    return Ok(value);
                }
                Err(error) => {
                    let retryable = is_retryable(&error);
                    let opened =
                        retryable && self.breaker.as_ref().is_some_and(|b| b.record_failure());
                    if !retryable || opened || attempts > self.settings.max_retries {
                        return Err(Error::Provider {
                            attempts,
                            source: error.into(),
                        });
                    }
                    let delay = self.backoff(attempts);
                    tracing::warn!(name, attempt = attempts, ?delay, error = %bighub_core::escape::escape(&error.to_string()), "model provider call failed; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        bighub_core::backoff::Backoff::new(self.settings.backoff, self.settings.max_backoff)
            .delay(attempt.saturating_sub(1))
    }
}

impl From<OpenAIError> for ProviderError {
    fn from(error: OpenAIError) -> Self {
        match error {
            OpenAIError::ApiError(api) => ProviderError::api(
                api.status_code.as_u16(),
                api.api_error.r#type.as_deref(),
                api.api_error.param.as_deref(),
                api.api_error.code.as_deref(),
                api.api_error.message,
            ),
            // The whole chain: "error sending request" alone never says "connection refused".
            other => ProviderError::transport(bighub_core::escape::error_chain(&other)),
        }
    }
}

/// `https://`, or `http://` only to this machine unless `allow_insecure_http`: the API key
/// goes with every request.
fn check_base_url(base_url: &str, allow_insecure_http: bool) -> Result<(), Error> {
    let url = reqwest::Url::parse(base_url).map_err(|e| {
        Error::Config(format!(
            "the OpenAI base URL {base_url:?} is not a URL: {e}"
        ))
    })?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(&url) => Ok(()),
        "http" => Err(Error::Config(format!(
            "the OpenAI base URL {base_url:?} uses plain http to a host other than this machine, so the API key would travel unencrypted; use https, or allow_insecure_provider_http(true) for a trusted gateway"
        ))),
        other => Err(Error::Config(format!(
            "the OpenAI base URL {base_url:?} has the scheme `{other}`; use https"
        ))),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    url.host_str()
        .is_some_and(bighub_core::loopback::is_loopback_host)
}

/// 429 (except an exhausted quota), 5xx, timeouts and connection failures may succeed later.
fn is_retryable(error: &OpenAIError) -> bool {
    match error {
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            (status == 429 && api.api_error.r#type.as_deref() != Some("insufficient_quota"))
                || status == 408
                || status >= 500
        }
        OpenAIError::Reqwest(e) => {
            e.is_timeout() || e.is_connect() || e.is_request() || e.is_body()
        }
        OpenAIError::StreamError(_) => true,
        _ => false,
    }
}
