//! `/metrics`: service metrics over a time range.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use frontdesk_core::auth::Permission;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Principal;
use super::extract::ApiQuery;
use super::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(get_metrics))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    from: Option<String>,
    to: Option<String>,
}

fn parse_time(name: &str, value: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    value
        .map(|v| v.parse().map_err(|e| ApiError::InvalidQuery(format!("{name}={v:?} is not an RFC 3339 time: {e}"))))
        .transpose()
}

/// Default range: the 30 days up to now.
const DEFAULT_RANGE: SignedDuration = SignedDuration::from_hours(30 * 24);

async fn get_metrics(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(range): ApiQuery<Range>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ReadMetrics, "read metrics")?;
    let now = state.frontdesk.clock().now();
    let to = parse_time("to", range.to.as_deref())?.unwrap_or(now);
    let from = match parse_time("from", range.from.as_deref())? {
        Some(from) => from,
        None => to.checked_sub(DEFAULT_RANGE).unwrap_or(Timestamp::MIN),
    };
    if from >= to {
        return Err(ApiError::InvalidQuery("from must be before to".into()));
    }
    Ok(Json(json!(state.frontdesk.service_metrics(from, to).await?)))
}
