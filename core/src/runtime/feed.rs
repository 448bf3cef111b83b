//! The event feed: every event in commit order from a cursor, optionally
//! only some types, and a wait for the next commit when nothing is there
//! yet. A consumer that keeps the cursor of each answer sees every event
//! once: the feed reads committed events from the store, whose ids grow in
//! commit order, so a restart of either side loses and repeats nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use crate::domain::{Event, EventId};
use crate::runtime::reads::ReadError;
use crate::runtime::service::Frontdesk;

/// Events read at most to answer one request when a type filter matches
/// few of them: the answer then carries the cursor of the last one read, so
/// the consumer goes on from there.
pub const SCAN_BUDGET: usize = 10_000;

/// What the feed answers.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    /// Matching events, in commit order.
    pub events: Vec<Event>,
    /// Where the next request starts: the last event read, matching or not
    /// (`after` itself when none was read).
    pub cursor: Option<EventId>,
    /// Whether more events were there already.
    pub more: bool,
}

/// Which events the feed answers with.
#[derive(Debug, Clone, Default)]
pub struct FeedFilter {
    /// Only these types (see [`crate::domain::EventBody::KINDS`]); all when empty.
    pub types: BTreeSet<String>,
}

impl FeedFilter {
    fn matches(&self, event: &Event) -> bool {
        self.types.is_empty() || self.types.contains(event.body.kind())
    }
}

impl Frontdesk {
    /// Up to `limit` events after `after` that pass `filter`.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn events_after(
        &self,
        after: Option<EventId>,
        filter: FeedFilter,
        limit: usize,
    ) -> Result<FeedPage, ReadError> {
        self.scan(move |store| {
            let mut page = FeedPage { events: Vec::new(), cursor: after, more: false };
            let mut read = 0;
            // Unfiltered, a page is exactly what is asked for; filtered, most
            // events read are passed over, so read many at once.
            let chunk_size = if filter.types.is_empty() { limit.max(1) } else { limit.max(500) };
            loop {
                let chunk = store.events_after(page.cursor, chunk_size)?;
                let count = chunk.items.len();
                for (index, event) in chunk.items.into_iter().enumerate() {
                    read += 1;
                    page.cursor = Some(event.id);
                    if filter.matches(&event) {
                        page.events.push(event);
                    }
                    if page.events.len() == limit || read == SCAN_BUDGET {
                        page.more = index + 1 < count || chunk.next.is_some();
                        return Ok(page);
                    }
                }
                if chunk.next.is_none() {
                    return Ok(page);
                }
            }
        })
        .await
    }

    /// As [`Frontdesk::events_after`], but when nothing matches yet, waits
    /// up to `wait` for a commit that brings a matching event (long-poll).
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn wait_for_events(
        &self,
        after: Option<EventId>,
        filter: FeedFilter,
        limit: usize,
        wait: Duration,
    ) -> Result<FeedPage, ReadError> {
        // Subscribed before reading, so a commit between the read and the
        // wait is not missed.
        let mut commits = self.subscribe();
        let page = self.events_after(after, filter.clone(), limit).await?;
        if !page.events.is_empty() || page.more || wait.is_zero() {
            return Ok(page);
        }
        let deadline = tokio::time::Instant::now() + wait;
        let cursor = page.cursor;
        loop {
            match tokio::time::timeout_at(deadline, commits.recv()).await {
                Err(_) => return Ok(page),
                // The store is the truth: read it again rather than trust the batch.
                Ok(Ok(batch)) if batch.iter().any(|e| filter.matches(e) && Some(e.id) > cursor) => break,
                Ok(Ok(_)) => {}
                Ok(Err(RecvError::Lagged(_))) => break,
                Ok(Err(RecvError::Closed)) => return Ok(page),
            }
        }
        self.events_after(cursor, filter, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, CustomerId, EventBody};

    #[test]
    fn a_filter_matches_by_type_and_an_empty_one_matches_all() {
        let event = Event {
            id: EventId::new(1),
            case_id: None,
            customer_id: CustomerId::new(1),
            at: "2026-03-02T09:00:00Z".parse().unwrap(),
            actor: Actor::System,
            caused_by: None,
            body: EventBody::NoteAdded { body: "n".into() },
        };
        assert!(FeedFilter::default().matches(&event));
        let notes = FeedFilter { types: ["note_added".to_owned()].into() };
        assert!(notes.matches(&event));
        let replies = FeedFilter { types: ["reply_sent".to_owned()].into() };
        assert!(!replies.matches(&event));
    }
}
