//! `GET /console/live`: the live feed of a console page, as Server-Sent
//! Events. `cases` says what changed that the page shows: `["*"]` to an
//! inbox (its counts may have moved: it re-reads its region), the page's
//! own case id to a case page, and nothing to a case page whose case did
//! not change; `presence` who is on the page's case. One hub task turns the
//! commits of each [`COALESCE`] window into one set for all pages, and
//! tells inboxes at most every [`INBOX_EVERY`], so a busy server costs each
//! console a tiny message a second or so, not work or bytes per write.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::error::ConsoleError;
use super::session::SignedIn;
use crate::http::AppState;

/// The shortest gap between two `cases` messages to one page.
pub const COALESCE: Duration = Duration::from_millis(200);

/// The shortest gap between two messages to an inbox.
pub const INBOX_EVERY: Duration = Duration::from_secs(1);

/// The live feed's query string.
#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    /// The case the page shows, for presence.
    case: Option<u64>,
}

/// `GET /console/live`.
pub async fn feed(
    State(state): State<AppState>,
    _me: SignedIn,
    Query(query): Query<LiveQuery>,
) -> Result<Response, ConsoleError> {
    let stream = events(&state, query.case);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

/// The cases that changed in one coalescing window.
#[derive(Debug, Default)]
pub struct Changed {
    /// The hub fell behind the commits: anything may have changed.
    all: bool,
    cases: BTreeSet<u64>,
    /// Whether inboxes are told (see [`INBOX_EVERY`]).
    inbox: bool,
}

impl Changed {
    /// Whether any case changed.
    fn touched(&self) -> bool {
        self.all || !self.cases.is_empty()
    }

    /// What a page showing `case` (an inbox when `None`) is told, if anything.
    fn message_for(&self, case: Option<u64>) -> Option<String> {
        match case {
            None if self.inbox => Some(r#"["*"]"#.to_owned()),
            None => None,
            Some(_) if self.all => Some(r#"["*"]"#.to_owned()),
            Some(id) if self.cases.contains(&id) => Some(format!("[{id}]")),
            Some(_) => None,
        }
    }
}

/// The page's messages: what of the hub's changes concerns it and the
/// presence updates of its case, read straight from the hub by the
/// response stream itself (one wake-up per message, no task of its own);
/// it ends when the page goes (the stream is dropped) or the server stops.
fn events(state: &AppState, case: Option<u64>) -> impl Stream<Item = Result<SseEvent, Infallible>> + use<> {
    let console = state.console();
    // Who is on the case already: a page that connects after the others
    // reported learns of them at once, not at their next report.
    let first = case
        .map(|c| console.presence.on_case(c))
        .filter(|p| !p.agents.is_empty())
        .map(|on_case| SseEvent::default().event("presence").data(serde_json::to_string(&on_case).unwrap_or_default()));
    let feed = PageFeed {
        first,
        case,
        changes: console.changes(|| state.frontdesk().subscribe()),
        presence: console.presence.subscribe(),
        closing: console.closing(),
    };
    futures_util::stream::unfold(feed, |mut feed| async move { feed.next().await.map(|event| (Ok(event), feed)) })
}

/// One page's subscriptions.
struct PageFeed {
    /// Sent before anything else.
    first: Option<SseEvent>,
    /// The case the page shows, if it shows one.
    case: Option<u64>,
    changes: tokio::sync::broadcast::Receiver<std::sync::Arc<Changed>>,
    presence: tokio::sync::broadcast::Receiver<super::presence::OnCase>,
    closing: tokio::sync::watch::Receiver<bool>,
}

impl PageFeed {
    /// The next message for the page; `None` when the feed ends.
    async fn next(&mut self) -> Option<SseEvent> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        loop {
            tokio::select! {
                changed = self.changes.recv() => match changed {
                    Ok(changed) => match changed.message_for(self.case) {
                        Some(data) => return Some(SseEvent::default().event("cases").data(data)),
                        None => continue,
                    },
                    // Fell behind: the page re-reads everything.
                    Err(RecvError::Lagged(_)) => return Some(SseEvent::default().event("cases").data(r#"["*"]"#)),
                    Err(RecvError::Closed) => return None,
                },
                update = self.presence.recv() => match update {
                    Ok(on_case) if Some(on_case.case) == self.case => {
                        let data = serde_json::to_string(&on_case).unwrap_or_default();
                        return Some(SseEvent::default().event("presence").data(data));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                },
                _ = self.closing.changed() => return None,
            }
        }
    }
}

/// The hub: one task for the whole server reads the commit feed and, at
/// most once per [`COALESCE`], tells the pages what changed: case pages
/// whose case changed at once, inboxes at most once per [`INBOX_EVERY`]
/// (an inbox re-reads its whole region, so under a steady stream of writes
/// one refresh a second is what an agent can see anyway). Pages then cost a
/// wake-up or two a second each, whatever the write rate.
pub async fn hub(
    mut commits: tokio::sync::broadcast::Receiver<frontdesk_core::runtime::Committed>,
    out: tokio::sync::broadcast::Sender<std::sync::Arc<Changed>>,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let mut inbox_due = tokio::time::Instant::now();
    let mut inbox_pending = false;
    loop {
        let mut changed = Changed::default();
        tokio::select! {
            batch = commits.recv() => if !gather(batch, &mut changed) { return },
            // Changes held back from the inboxes are sent when their turn comes.
            () = tokio::time::sleep_until(inbox_due), if inbox_pending => {}
            _ = closing.changed() => return,
        }
        if changed.touched() {
            let window = tokio::time::sleep(COALESCE);
            tokio::pin!(window);
            loop {
                tokio::select! {
                    () = &mut window => break,
                    batch = commits.recv() => if !gather(batch, &mut changed) { return },
                }
            }
        }
        inbox_pending |= changed.touched();
        let now = tokio::time::Instant::now();
        if inbox_pending && now >= inbox_due {
            changed.inbox = true;
            inbox_pending = false;
            inbox_due = now + INBOX_EVERY;
        }
        if changed.inbox || changed.touched() {
            // No page listening is fine.
            let _ = out.send(std::sync::Arc::new(changed));
        }
    }
}

/// Adds the cases of a received batch to `changed` (all of them when the
/// hub fell behind); `false` when the feed has closed.
fn gather(batch: Result<frontdesk_core::runtime::Committed, RecvError>, changed: &mut Changed) -> bool {
    match batch {
        Ok(events) => changed.cases.extend(events.iter().filter_map(|e| e.case_id).map(|id| id.get())),
        Err(RecvError::Lagged(_)) => changed.all = true,
        Err(RecvError::Closed) => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inbox_hears_of_every_change_and_a_case_page_only_of_its_own() {
        let changed = Changed { all: false, cases: [3, 7].into(), inbox: true };
        assert_eq!(changed.message_for(None).as_deref(), Some(r#"["*"]"#));
        assert_eq!(changed.message_for(Some(7)).as_deref(), Some("[7]"));
        assert_eq!(changed.message_for(Some(8)), None);
        let held_back = Changed { inbox: false, ..changed };
        assert_eq!(held_back.message_for(None), None, "an inbox waits for its turn");
        assert_eq!(held_back.message_for(Some(7)).as_deref(), Some("[7]"), "a case page does not");
        let behind = Changed { all: true, cases: BTreeSet::new(), inbox: false };
        assert_eq!(behind.message_for(Some(8)).as_deref(), Some(r#"["*"]"#));
    }
}
