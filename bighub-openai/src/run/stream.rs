//! A streamed run: the model's Responses API stream is relayed as it arrives, and each tool
//! call's decision is requested as soon as its arguments are complete, while the model goes
//! on, so decision latency overlaps generation. Once the response completes, the round is
//! played exactly as in a run that is not streamed (`driver.rs`), and the conversation goes on.
//!
//! The run lives in a task that feeds a bounded channel; dropping the [`RunStream`] aborts
//! the task, so nothing runs after the drop (no tool starts, no further request is sent).
//! A resumed run streams through the same [`RunStream`] (`resume.rs` gives it its task).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, Stream, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::approval::ApprovalPolicy;
use super::call::FunctionCall;
use super::ctx::{RunCtx, RunSettings};
use super::driver::Step;
use super::hosted_mcp::mcp_approval_event;
use super::model_response::ModelResponse;
use super::prepared::PreparedCall;
use super::runner::{RunIds, Runner};
use super::spans;
use super::stream_event::StreamEvent;
use crate::Error;
use crate::provider::{ModelStream, Provider};

/// How many events may wait in the channel before the run waits for the reader.
const CHANNEL_CAPACITY: usize = 64;

/// The events of a streamed run: a [`Stream`] of `Result<StreamEvent, Error>`.
///
/// The run starts when the stream is first polled, and stops when it is dropped. The
/// last item is a [`StreamEvent::FinalResponse`], or an error.
#[must_use = "a run stream does nothing until it is polled"]
pub struct RunStream {
    state: StreamState,
}

enum StreamState {
    NotStarted(Task),
    Running {
        rx: mpsc::Receiver<Result<StreamEvent, Error>>,
        task: JoinHandle<()>,
    },
    Done,
}

/// What the stream's task does once started: it feeds the channel, and sends the last item
/// (the final response or an error) itself.
type Task = Box<dyn FnOnce(Sender) -> BoxFuture<'static, ()> + Send>;

impl std::fmt::Debug for RunStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            StreamState::NotStarted(_) => "not started",
            StreamState::Running { .. } => "running",
            StreamState::Done => "done",
        };
        f.debug_struct("RunStream").field("state", &state).finish()
    }
}

impl RunStream {
    /// A streamed fresh run.
    pub(crate) fn start(
        inner: &Arc<Runner>,
        input: Vec<Value>,
        settings: RunSettings,
        policy: ApprovalPolicy,
    ) -> Self {
        let inner = Arc::clone(inner);
        Self::spawn(move |tx| {
            Box::pin(async move {
                let mut ctx = match inner.new_run(input, settings, policy) {
                    Ok(ctx) => ctx,
                    Err(error) => {
                        let _ = tx.send(Err(error)).await;
                        return;
                    }
                };
                let span = inner.run_span(&ctx);
                let outcome = inner
                    .stream_rounds(&mut ctx, &tx)
                    .instrument(span.clone())
                    .await;
                if matches!(outcome, Err(Error::Cancelled)) {
                    return;
                }
                if let Err(error) = &outcome {
                    spans::record_error(&span, error);
                }
                let mut last = inner.finish(ctx, outcome);
                // A durable agent's paused run is saved before its final response is sent.
                if let Some(durable) = &inner.durable
                    && let Ok(result) = &mut last
                    && let Err(error) = durable.save_paused(result).await
                {
                    last = Err(error);
                }
                let last = last.map(|response| StreamEvent::FinalResponse { response });
                let _ = tx.send(last).await;
            })
        })
    }

    /// A stream whose events `task` produces, started on the first poll.
    pub(crate) fn spawn(
        task: impl FnOnce(Sender) -> BoxFuture<'static, ()> + Send + 'static,
    ) -> Self {
        Self {
            state: StreamState::NotStarted(Box::new(task)),
        }
    }
}

impl Stream for RunStream {
    type Item = Result<StreamEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let StreamState::NotStarted(_) = &this.state {
            let StreamState::NotStarted(start) =
                std::mem::replace(&mut this.state, StreamState::Done)
            else {
                unreachable!("checked above")
            };
            let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
            let task = tokio::spawn(start(tx));
            this.state = StreamState::Running { rx, task };
        }
        match &mut this.state {
            StreamState::Running { rx, .. } => match rx.poll_recv(cx) {
                Poll::Ready(None) => {
                    this.state = StreamState::Done;
                    Poll::Ready(None)
                }
                other => other,
            },
            _ => Poll::Ready(None),
        }
    }
}

impl Drop for RunStream {
    fn drop(&mut self) {
        if let StreamState::Running { task, .. } = &self.state {
            task.abort();
        }
    }
}

pub(crate) type Sender = mpsc::Sender<Result<StreamEvent, Error>>;

/// Sends one event; fails when the reader is gone (the task is being aborted anyway).
pub(crate) async fn emit(tx: &Sender, event: StreamEvent) -> Result<(), Error> {
    tx.send(Ok(event)).await.map_err(|_| Error::Cancelled)
}

/// A function call announced by `response.output_item.added`.
struct Announced {
    call_id: String,
    name: String,
}

fn text(raw: &Value, key: &str) -> String {
    raw.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn index(raw: &Value) -> u32 {
    raw.get("output_index")
        .and_then(Value::as_u64)
        .and_then(|i| u32::try_from(i).ok())
        .unwrap_or_default()
}

impl Runner {
    pub(crate) async fn stream_rounds(
        self: &Arc<Self>,
        ctx: &mut RunCtx,
        tx: &Sender,
    ) -> Result<Step, Error> {
        let provider = self.provider()?;
        let run_span = tracing::Span::current();
        loop {
            let chat = spans::chat(&ctx.settings.model);
            let streamed = self
                .stream_response(provider, ctx, tx, &run_span)
                .instrument(chat.clone())
                .await;
            match &streamed {
                Ok((response, _)) => spans::record_response(&chat, &response.raw),
                Err(error) => spans::record_error(&chat, error),
            }
            drop(chat);
            let (response, early) = streamed?;
            let before = ctx.events.len();
            let step = self.after_response(ctx, &response, early).await;
            // The round's calls were answered only when the loop goes on.
            let answered = matches!(step, Ok(Step::Continue));
            for event in ctx.events[before.min(ctx.events.len())..].iter().cloned() {
                let answer = ctx
                    .calls
                    .iter()
                    .find(|c| answered && c.event.event_id == event.event_id)
                    .and_then(mcp_approval_event);
                emit(tx, StreamEvent::ExecutionEvent { event }).await?;
                if let Some(answer) = answer {
                    emit(tx, answer).await?;
                }
            }
            match step? {
                Step::Continue => {}
                done => return Ok(done),
            }
        }
    }

    /// One streamed model request, relayed until its response completes, with the calls
    /// decided on the way (their decisions belong to the run, `run_span`, not to the
    /// request).
    async fn stream_response(
        &self,
        provider: &Provider,
        ctx: &RunCtx,
        tx: &Sender,
        run_span: &tracing::Span,
    ) -> Result<(ModelResponse, Vec<PreparedCall>), Error> {
        let request = self.request_body(&ctx.conversation, &ctx.settings, true);
        let mut sse = match provider.create_stream(&request).await {
            Err(error) if self.learn_plain_model(&error, &ctx.settings.model) => {
                let request = self.request_body(&ctx.conversation, &ctx.settings, true);
                provider.create_stream(&request).await?
            }
            other => other?,
        };
        self.relay(&mut sse, &ctx.ids, tx, run_span).await
    }

    /// Relays one response's stream and decides its calls as their arguments complete;
    /// returns the completed response (read by the same lenient reader as a non-streamed
    /// answer) and the calls prepared on the way.
    async fn relay(
        &self,
        sse: &mut ModelStream,
        ids: &RunIds,
        tx: &Sender,
        run_span: &tracing::Span,
    ) -> Result<(ModelResponse, Vec<PreparedCall>), Error> {
        let mut announced: HashMap<String, Announced> = HashMap::new();
        let mut deciding: FuturesUnordered<BoxFuture<'_, PreparedCall>> = FuturesUnordered::new();
        let mut decided: Vec<PreparedCall> = Vec::new();
        let mut completed = None;
        while completed.is_none() {
            tokio::select! {
                Some(prepared) = deciding.next(), if !deciding.is_empty() => {
                    self.decision_landed(prepared, &mut decided, tx).await?;
                }
                item = sse.next() => {
                    let raw = match item {
                        Some(Ok(raw)) => raw,
                        Some(Err(error)) => {
                            return Err(Error::Provider { attempts: 1, source: error.into() });
                        }
                        None => {
                            return Err(Error::ProviderResponse(
                                "the response stream ended before `response.completed`".to_owned(),
                            ));
                        }
                    };
                    let kind = raw.get("type").and_then(Value::as_str).unwrap_or_default();
                    match kind {
                        "response.output_item.added" => {
                            let item = raw.get("item").cloned().unwrap_or(Value::Null);
                            if item["type"] == "function_call"
                                && let (Some(item_id), Some(call_id), Some(name)) =
                                    (item["id"].as_str(), item["call_id"].as_str(), item["name"].as_str())
                            {
                                announced.insert(item_id.to_owned(), Announced {
                                    call_id: call_id.to_owned(),
                                    name: name.to_owned(),
                                });
                            }
                            emit(tx, StreamEvent::OutputItemAdded { item, output_index: index(&raw) }).await?;
                        }
                        "response.output_text.delta" => {
                            emit(tx, StreamEvent::LlmDelta { delta: text(&raw, "delta"), item_id: text(&raw, "item_id"), output_index: index(&raw) }).await?;
                        }
                        "response.output_text.done" => {
                            emit(tx, StreamEvent::LlmTextDone { text: text(&raw, "text"), item_id: text(&raw, "item_id"), output_index: index(&raw) }).await?;
                        }
                        "response.refusal.delta" => {
                            emit(tx, StreamEvent::RefusalDelta { delta: text(&raw, "delta"), item_id: text(&raw, "item_id") }).await?;
                        }
                        "response.function_call_arguments.delta" => {
                            let item_id = text(&raw, "item_id");
                            let call_id = announced.get(&item_id).map(|a| a.call_id.clone());
                            emit(tx, StreamEvent::FunctionCallArgsDelta { delta: text(&raw, "delta"), item_id, call_id, output_index: index(&raw) }).await?;
                        }
                        "response.function_call_arguments.done" => {
                            let item_id = text(&raw, "item_id");
                            let arguments = text(&raw, "arguments");
                            let known = announced.get(&item_id);
                            let name = raw.get("name").and_then(Value::as_str).map(str::to_owned)
                                .or_else(|| known.map(|a| a.name.clone()))
                                .unwrap_or_default();
                            let call_id = known.map(|a| a.call_id.clone());
                            if let Some(call_id) = &call_id {
                                // Decide now, while the model goes on; used only if the
                                // completed response holds exactly this call.
                                let call = FunctionCall::function(name.clone(), call_id.clone(), arguments.clone());
                                deciding.push(Box::pin(self.prepare(call, ids).instrument(run_span.clone())));
                            }
                            emit(tx, StreamEvent::FunctionCallArgsDone { name, arguments, item_id, call_id, output_index: index(&raw) }).await?;
                        }
                        "response.completed" => {
                            let raw_response = raw.get("response").cloned().unwrap_or(Value::Null);
                            emit(tx, StreamEvent::ResponseDone { response: raw_response.clone() }).await?;
                            completed = Some(ModelResponse::from_raw(raw_response)?);
                        }
                        "response.failed" | "response.incomplete" | "response.cancelled" => {
                            let raw_response = raw.get("response").cloned().unwrap_or_else(|| raw.clone());
                            emit(tx, StreamEvent::ResponseFailed { response: raw_response.clone() }).await?;
                            // The event names the end even when its response is partial.
                            let ended = ModelResponse::from_raw(raw_response.clone()).ok();
                            let status = ended.as_ref()
                                .map(|e| e.status.clone())
                                .filter(|s| s != "completed")
                                .unwrap_or_else(|| kind.trim_start_matches("response.").to_owned());
                            return Err(Error::ResponseNotCompleted {
                                response_id: text(&raw_response, "id"),
                                status,
                                reason: ended.map_or_else(|| "no details".to_owned(), |e| e.end_reason()),
                            });
                        }
                        "error" => {
                            let why = failure_text(&raw);
                            emit(tx, StreamEvent::ResponseFailed { response: raw.clone() }).await?;
                            return Err(Error::ProviderResponse(why));
                        }
                        _ => {}
                    }
                }
            }
        }
        // The response is complete; the last decisions may still be on their way.
        while let Some(prepared) = deciding.next().await {
            self.decision_landed(prepared, &mut decided, tx).await?;
        }
        let response = completed.ok_or_else(|| {
            // The loop above ends only once the response completed.
            Error::Internal("the response stream was left without its response".to_owned())
        })?;
        Ok((response, decided))
    }

    async fn decision_landed(
        &self,
        prepared: PreparedCall,
        decided: &mut Vec<PreparedCall>,
        tx: &Sender,
    ) -> Result<(), Error> {
        if let Some(d) = prepared.decided() {
            emit(
                tx,
                StreamEvent::Decision {
                    tool: prepared.call.name.clone(),
                    call_id: prepared.call.call_id.clone(),
                    verdict: d.verdict,
                    decision: Box::new(d.decision.clone()),
                },
            )
            .await?;
        }
        decided.push(prepared);
        Ok(())
    }
}

/// A one-line reason for an `error` event.
fn failure_text(raw: &Value) -> String {
    let message = raw["message"].as_str().unwrap_or("no details");
    match raw["code"].as_str() {
        Some(code) => format!("the model's response stream failed: {code}: {message}"),
        None => format!("the model's response stream failed: {message}"),
    }
}
