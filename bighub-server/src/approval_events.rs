//! Approval events: what happens to approvals as this server sees it, for whoever listens
//! (the console's live updates, outgoing notifications).
//!
//! This module owns [`ApprovalEvents`], the hub a [`LocalBackend`](crate::LocalBackend)
//! publishes to, and [`ApprovalEvent`]. An event is published by the server that made
//! the change: a review decision it recorded (`requested`), an answer it recorded
//! (`answered`, whoever answered: an agent's key, an operator in the console, a Slack user),
//! an approval whose time ran out (`expired`). Several servers on one store each publish
//! their own changes. The hub keeps no history: a listener hears what happens after it
//! subscribes, and one that falls behind by more than the hub's capacity is told how many
//! it missed. It does not deliver anything anywhere itself.

use std::fmt;

use bighub_local::storage::ApprovalRecord;
use tokio::sync::broadcast;

/// How many events a slow listener may fall behind before it misses some.
const CAPACITY: usize = 1024;

/// What happened to an approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApprovalEventKind {
    /// A review decision opened it: it waits for a person.
    Requested,
    /// Someone answered it (approved, rejected, or one approval of several needed).
    Answered,
    /// Its time ran out before it was answered.
    Expired,
}

impl ApprovalEventKind {
    /// The event's name (`approval.requested`, `approval.answered`, `approval.expired`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "approval.requested",
            Self::Answered => "approval.answered",
            Self::Expired => "approval.expired",
        }
    }
}

impl fmt::Display for ApprovalEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change to one approval, with the approval as it stood right after.
///
/// The record holds the call's arguments as the store keeps them: the tool's secret
/// arguments redacted.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApprovalEvent {
    /// What happened.
    pub kind: ApprovalEventKind,
    /// The approval, after the change.
    pub approval: ApprovalRecord,
}

/// The hub approval events are published to; cheap to clone (clones share it).
///
/// ```
/// use bighub_server::approval_events::ApprovalEvents;
///
/// let events = ApprovalEvents::default();
/// let subscription = events.subscribe();
/// # drop(subscription);
/// ```
#[derive(Clone)]
pub struct ApprovalEvents {
    tx: broadcast::Sender<ApprovalEvent>,
}

impl Default for ApprovalEvents {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl fmt::Debug for ApprovalEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApprovalEvents")
            .field("listeners", &self.tx.receiver_count())
            .finish()
    }
}

impl ApprovalEvents {
    /// Listens from now on.
    pub fn subscribe(&self) -> ApprovalSubscription {
        ApprovalSubscription {
            rx: self.tx.subscribe(),
        }
    }

    /// Publishes `kind` for `approval`; nobody listening is not an error.
    pub fn publish(&self, kind: ApprovalEventKind, approval: ApprovalRecord) {
        let _ = self.tx.send(ApprovalEvent { kind, approval });
    }
}

/// What a listener receives next.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Received {
    /// The next event.
    Event(Box<ApprovalEvent>),
    /// The listener fell behind and missed this many events; the next call goes on with
    /// the oldest event still held.
    Missed(u64),
}

/// One listener of [`ApprovalEvents`].
#[derive(Debug)]
pub struct ApprovalSubscription {
    rx: broadcast::Receiver<ApprovalEvent>,
}

impl ApprovalSubscription {
    /// Waits for the next event; `None` once the hub is gone.
    pub async fn next(&mut self) -> Option<Received> {
        match self.rx.recv().await {
            Ok(event) => Some(Received::Event(Box::new(event))),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(Received::Missed(n)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}
