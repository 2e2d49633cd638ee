//! Live updates: approvals requested and answered, as server-sent events.
//!
//! This module owns `GET /console/events`, which streams what the backend's
//! [`ApprovalEvents`](crate::approval_events::ApprovalEvents) hub publishes while the page
//! is open: an event named after what happened (`approval.requested`,
//! `approval.answered`, `approval.expired`) whose data is the approval's request id and
//! status only (the page then fetches the list it shows, rendered and escaped by the
//! server), and `resync` when the listener fell behind. The stream ends when the server
//! stops, and after an hour (the browser reconnects by itself).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream};
use serde_json::json;

use super::Shared;
use super::access;
use crate::approval_events::{ApprovalSubscription, Received};
use crate::connections::Stopping;

/// The longest a stream stays open.
const MAX_STREAM: Duration = Duration::from_secs(3600);

/// `GET /console/events`.
pub(crate) async fn stream(State(state): State<Shared>, request: Request) -> Response {
    let operator = match access::for_read(&state, request.headers(), request.extensions()) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let stopping = request.extensions().get::<Stopping>().cloned();
    let subscription = state.backend.events().subscribe();
    let sse = Sse::new(events(subscription, stopping)).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    );
    operator.with_cookie(sse.into_response())
}

/// The events of `subscription`, until the server stops or [`MAX_STREAM`] passes.
fn events(
    subscription: ApprovalSubscription,
    stopping: Option<Stopping>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let deadline = tokio::time::Instant::now() + MAX_STREAM;
    stream::unfold(
        (subscription, stopping),
        move |(mut subscription, mut stopping)| async move {
            let stop = async {
                match &mut stopping {
                    Some(Stopping(rx)) => {
                        if *rx.borrow() {
                            return;
                        }
                        let _ = rx.changed().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let received = tokio::select! {
                received = subscription.next() => received?,
                () = stop => return None,
                () = tokio::time::sleep_until(deadline) => return None,
            };
            let event = match received {
                Received::Event(e) => Event::default().event(e.kind.as_str()).data(
                    json!({
                        "request_id": e.approval.request_id,
                        "status": e.approval.status.as_str(),
                    })
                    .to_string(),
                ),
                Received::Missed(n) => Event::default()
                    .event("resync")
                    .data(json!({ "missed": n }).to_string()),
            };
            Some((Ok(event), (subscription, stopping)))
        },
    )
}
