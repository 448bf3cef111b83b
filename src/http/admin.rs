//! `/admin`: what the server runs (scripts, plugins) and what it owes (outbox).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use frontdesk_core::auth::Permission;
use frontdesk_core::duration::parse_duration;
use frontdesk_core::rules::RulesHost;
use frontdesk_core::rules::simulate::SimulationReport;
use frontdesk_core::write::command::Command;
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
        .route("/admin/outbox/{id}/retry", post(retry_outbox))
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

/// Sends a failed outbox item again.
async fn retry_outbox(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::Administer, "retry outbox work")?;
    let id: u64 = id.parse().map_err(|_| ApiError::NotFound(format!("no outbox item {id:?}")))?;
    state.frontdesk.submit(Command::RetryOutbox { id }).await?;
    tracing::info!(outbox_id = id, by = %principal.name, "outbox item retried");
    Ok(Json(json!({ "id": id, "status": "pending" })))
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
    json: ApiJson<SimulateBody>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::Administer, "read the admin API")?;
    let (body, _) = json.parse()?;
    let report = simulate(&state, &body.since, body.scripts.as_ref()).await?;
    Ok(Json(json!(report)))
}

/// Replays the cases created in the last `since` (`30d`, `12h`) through the
/// running rules, or through `scripts` (file name -> source) instead.
///
/// # Errors
/// A bad duration, a bad file name, candidate scripts that do not compile
/// (with file, line and column), storage failures.
pub async fn simulate(
    state: &AppState,
    since: &str,
    scripts: Option<&BTreeMap<String, String>>,
) -> Result<SimulationReport, ApiError> {
    let seconds = parse_duration(since).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    let now = state.frontdesk.clock().now();
    let since = now
        .checked_sub(SignedDuration::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX)))
        .unwrap_or(Timestamp::MIN);
    let host = match scripts {
        None => state.frontdesk.rules().clone(),
        Some(sources) => candidate_rules(state, sources, now)?,
    };
    Ok(state.frontdesk.simulate(host, since, MAX_SIMULATED_CASES).await?)
}

/// A rule set of `sources` alone, refused unless every file compiles.
fn candidate_rules(
    state: &AppState,
    sources: &BTreeMap<String, String>,
    now: Timestamp,
) -> Result<Arc<RulesHost>, ApiError> {
    let candidate = RulesHost::new(state.frontdesk.rules().limits().clone());
    for (name, source) in sources {
        if !name.ends_with(".rhai") || name.contains('/') {
            return Err(ApiError::InvalidBody(format!("script name {name:?} must be a file name ending in .rhai")));
        }
        candidate.update(name, Some(source), now);
    }
    let broken: Vec<String> = candidate
        .statuses()
        .into_iter()
        .filter_map(|s| {
            s.compile_error
                .as_ref()
                .map(|e| format!("{}:{}:{}: {}", s.file, e.line.unwrap_or(0), e.column.unwrap_or(0), e.message))
        })
        .collect();
    if !broken.is_empty() {
        return Err(ApiError::InvalidBody(format!("candidate scripts do not compile: {}", broken.join("; "))));
    }
    Ok(Arc::new(candidate))
}

async fn list_scripts(State(state): State<AppState>, principal: Principal) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::Administer, "read the admin API")?;
    Ok(Json(json!({ "scripts": state.frontdesk.rules().statuses() })))
}
