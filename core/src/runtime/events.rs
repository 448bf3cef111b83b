//! The committed-event feed: after each durable commit the writer hands its
//! batch's events here, and every subscriber receives them in commit order.
//! Live console updates and the event feed read it. A subscriber that falls
//! more than [`BACKLOG`] batches behind is told it lagged (tokio's
//! `RecvError::Lagged`) and must re-read what it shows from the store.

use std::sync::Arc;

use tokio::sync::{Notify, broadcast};

use crate::domain::Event;
use crate::write::CommitListener;

/// Batches a slow subscriber may fall behind before it is told it lagged.
pub const BACKLOG: usize = 1024;

/// One durable commit's events, shared by every subscriber.
pub type Committed = Arc<[Event]>;

/// Hears the writer's commits: wakes the timer scheduler and publishes the
/// events to subscribers.
#[derive(Debug)]
pub(crate) struct CommitFeed {
    sender: broadcast::Sender<Committed>,
    /// Notified after every commit: it may have moved the next timer.
    pub timers_changed: Arc<Notify>,
}

impl CommitFeed {
    pub(crate) fn new() -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        Self { sender, timers_changed: Arc::new(Notify::new()) }
    }

    /// A new receiver of every commit from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Committed> {
        self.sender.subscribe()
    }
}

impl CommitListener for CommitFeed {
    fn wants_events(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    fn committed(&self, events: Vec<Event>) {
        self.timers_changed.notify_one();
        if !events.is_empty() {
            // No receiver left since `wants_events` is not an error.
            let _ = self.sender.send(events.into());
        }
    }
}
