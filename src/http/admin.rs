//! `/admin`: what the server runs (scripts, plugins) and what it owes (outbox).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use frontdesk_core::auth::Permission;
use frontdesk_core::duration::parse_duration;
use frontdesk_core::rules::RulesHost;
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Principal;
use super::extract::ApiJson;
use super::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/scripts", get(list_scripts))
        .route("/admin/scripts/simulate", post(simulate_scripts))
        .route("/admin/plugins", get(list_plugins))
        .route("/admin/outbox", get(list_outbox))
}

/// Every plugin: loaded or refused, with status, call counts and last error.
async fn list_plugins(State(state): State<AppState>, principal: Principal) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::Administer, "read the admin API")?;
    Ok(Json(json!({ "plugins": state.plugins.statuses() })))
}

/// Most outbox items listed.
const OUTBOX_LIST_LIMIT: usize = 1000;

/// Outbound work not yet done: pending (with attempts and next try) and failed.
async fn list_outbox(State(state): State<AppState>, principal: Principal) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::Administer, "read the admin API")?;
    Ok(Json(json!(state.frontdesk.outbox(OUTBOX_LIST_LIMIT).await?)))
}

/// Most cases one simulation replays.
pub const MAX_SIMULATED_CASES: usize = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimulateBody {
    /// How far back: `30d`, `12h`.
    since: String,
    /// A candidate rule set (file name -> source); default: the running one.
    #[serde(default)]
    scripts: Option<BTreeMap<String, String>>,
}

async fn simulate_scripts(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body, _): ApiJson<SimulateBody>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::Administer, "read the admin API")?;
    let seconds = parse_duration(&body.since).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    let now = state.frontdesk.clock().now();
    let since = now
        .checked_sub(SignedDuration::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX)))
        .unwrap_or(Timestamp::MIN);
    let host = match &body.scripts {
        None => state.frontdesk.rules().clone(),
        Some(sources) => {
            let candidate = RulesHost::new(state.frontdesk.rules().limits().clone());
            for (name, source) in sources {
                if !name.ends_with(".rhai") || name.contains('/') {
                    return Err(ApiError::InvalidBody(format!(
                        "script name {name:?} must be a file name ending in .rhai"
                    )));
                }
                candidate.update(name, Some(source), now);
            }
            let broken: Vec<_> = candidate.statuses().into_iter().filter(|s| s.compile_error.is_some()).collect();
            if !broken.is_empty() {
                let detail: Vec<String> = broken
                    .iter()
                    .filter_map(|s| {
                        s.compile_error.as_ref().map(|e| {
                            format!("{}:{}:{}: {}", s.file, e.line.unwrap_or(0), e.column.unwrap_or(0), e.message)
                        })
                    })
                    .collect();
                return Err(ApiError::InvalidBody(format!("candidate scripts do not compile: {}", detail.join("; "))));
            }
            Arc::new(candidate)
        }
    };
    let report = state.frontdesk.simulate(host, since, MAX_SIMULATED_CASES).await?;
    Ok(Json(json!(report)))
}

async fn list_scripts(State(state): State<AppState>, principal: Principal) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::Administer, "read the admin API")?;
    Ok(Json(json!({ "scripts": state.frontdesk.rules().statuses() })))
}
