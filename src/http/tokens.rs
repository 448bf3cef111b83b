//! `/tokens`: admins create API tokens; the secret is shown once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use frontdesk_core::auth::{Permission, Role, generate_secret};
use frontdesk_core::write::command::{Command, Outcome};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Principal;
use super::customers::unexpected;
use super::extract::ApiJson;
use super::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/tokens", post(create_token))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    name: String,
    role: Role,
}

async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body, _): ApiJson<TokenBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(Permission::ManageTokens, "create tokens")?;
    let secret = generate_secret();
    let token = body.role.token(&body.name, &secret, state.frontdesk.clock().now());
    match state.frontdesk.submit(Command::CreateToken(token)).await? {
        Outcome::Token(token) => Ok((
            StatusCode::CREATED,
            Json(json!({ "name": token.name, "role": token.role, "token": secret, "created_at": token.created_at })),
        )),
        other => Err(unexpected(other)),
    }
}
