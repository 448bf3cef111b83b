//! `GET /events`: every event in commit order from a cursor, for
//! integrators who mirror everything (a warehouse, a CRM). Keep the
//! `next_cursor` of each answer and ask again from it: nothing is missed or
//! repeated, across restarts of either side. `wait=N` long-polls: with
//! nothing new, the answer comes when a matching event is committed or
//! after N seconds.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use frontdesk_core::auth::Permission;
use frontdesk_core::domain::{EventBody, EventId};
use frontdesk_core::runtime::FeedFilter;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Principal;
use super::extract::{ApiQuery, decode_cursor, encode_cursor, page_limit};
use super::{ApiError, AppState};

/// Longest long-poll, in seconds: under common proxies' idle timeouts.
const MAX_WAIT_SECS: u64 = 30;

pub fn routes() -> Router<AppState> {
    Router::new().route("/events", get(feed))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    /// A `next_cursor` from an earlier answer; from the first event without.
    after: Option<String>,
    /// Comma-separated event types.
    types: Option<String>,
    limit: Option<usize>,
    /// Seconds to wait for an event when there is none yet.
    wait: Option<u64>,
}

fn types(text: Option<&str>) -> Result<BTreeSet<String>, ApiError> {
    let mut types = BTreeSet::new();
    for kind in text.unwrap_or_default().split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if !EventBody::KINDS.contains(&kind) {
            return Err(ApiError::InvalidQuery(format!(
                "unknown event type {kind:?}; known: {}",
                EventBody::KINDS.join(", ")
            )));
        }
        types.insert(kind.to_owned());
    }
    Ok(types)
}

async fn feed(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ReadCases, "read the event feed")?;
    principal.require(Permission::ReadCustomers, "read the event feed")?;
    let after = query.after.as_deref().map(decode_cursor).transpose()?.map(EventId::new);
    let filter = FeedFilter { types: types(query.types.as_deref())? };
    let limit = page_limit(query.limit, 100, 1000)?;
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::InvalidQuery(format!("wait must be 0-{MAX_WAIT_SECS} seconds")));
    }
    // Answered before the server's request timeout would cut it off.
    let wait = Duration::from_secs(wait).min(state.long_poll);
    let page = state.frontdesk.wait_for_events(after, filter, limit, wait).await?;
    Ok(Json(json!({
        "events": page.events,
        "next_cursor": page.cursor.map(|id| encode_cursor(id.get())),
        "more": page.more,
    })))
}
