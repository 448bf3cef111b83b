//! `/admin`: what the server runs (scripts) and what it owes (outbox).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use frontdesk_core::auth::Permission;
use serde_json::{Value, json};

use super::auth::Principal;
use super::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/scripts", get(list_scripts))
}

async fn list_scripts(State(state): State<AppState>, principal: Principal) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::Administer, "read the admin API")?;
    Ok(Json(json!({ "scripts": state.frontdesk.rules().statuses() })))
}
