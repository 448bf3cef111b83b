//! `GET /console/live`: the live feed of a console page, as Server-Sent
//! Events. `cases` names the cases a commit changed (the page re-reads
//! what it shows of them), `presence` who is on the page's case. A burst
//! of commits becomes one message per [`COALESCE`], so a busy server costs
//! each console a few small messages a second, not one per write.

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

/// The page's messages: a task per page reads the commit feed and the
/// presence updates and hands messages to the response stream; it ends when
/// the page goes (the stream is dropped) or the server stops.
fn events(state: &AppState, case: Option<u64>) -> impl Stream<Item = Result<SseEvent, Infallible>> + use<> {
    let mut commits = state.frontdesk().subscribe();
    let mut presence = state.console().presence.subscribe();
    let mut closing = state.console().closing();
    let (tx, rx) = tokio::sync::mpsc::channel::<SseEvent>(16);
    // Who is on the case already: a page that connects after the others
    // reported learns of them at once, not at their next report.
    let present = case.map(|c| state.console().presence.on_case(c));
    tokio::spawn(async move {
        if let Some(on_case) = present.filter(|p| !p.agents.is_empty()) {
            let data = serde_json::to_string(&on_case).unwrap_or_default();
            if tx.send(SseEvent::default().event("presence").data(data)).await.is_err() {
                return;
            }
        }
        loop {
            let mut changed = BTreeSet::new();
            tokio::select! {
                batch = commits.recv() => if !gather(batch, &mut changed) { return },
                update = presence.recv() => match update {
                    Ok(on_case) if Some(on_case.case) == case => {
                        let data = serde_json::to_string(&on_case).unwrap_or_default();
                        if tx.send(SseEvent::default().event("presence").data(data)).await.is_err() { return; }
                        continue;
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                },
                () = tx.closed() => return,
                _ = closing.changed() => return,
            }
            // Gather what else commits in the coalescing window.
            let window = tokio::time::sleep(COALESCE);
            tokio::pin!(window);
            loop {
                tokio::select! {
                    () = &mut window => break,
                    batch = commits.recv() => if !gather(batch, &mut changed) { return },
                }
            }
            if changed.is_empty() {
                continue;
            }
            let data = serde_json::to_string(&changed).unwrap_or_default();
            if tx.send(SseEvent::default().event("cases").data(data)).await.is_err() {
                return;
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|event| (Ok(event), rx)) })
}

/// Adds the cases of a received batch to `changed` (`*`, all of them, when
/// the page fell behind); `false` when the feed has closed.
fn gather(batch: Result<frontdesk_core::runtime::Committed, RecvError>, changed: &mut BTreeSet<String>) -> bool {
    match batch {
        Ok(events) => changed.extend(events.iter().filter_map(|e| e.case_id).map(|id| id.to_string())),
        Err(RecvError::Lagged(_)) => {
            changed.insert("*".to_owned());
        }
        Err(RecvError::Closed) => return false,
    }
    true
}
