//! `/tokens`: admins create API tokens (the secret is shown once), list them
//! with their last use, and revoke them. A revoked token is refused from the
//! next request on.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use frontdesk_core::auth::{ApiToken, Permission, Role, generate_secret};
use frontdesk_core::write::command::{Command, Outcome};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Principal;
use super::customers::unexpected;
use super::extract::ApiJson;
use super::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/tokens", post(create_token).get(list_tokens)).route("/tokens/{name}", delete(revoke_token))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    name: String,
    role: Role,
    /// When it stops working (RFC 3339); none means it works until revoked.
    #[serde(default)]
    expires_at: Option<Timestamp>,
}

/// A token as listed: everything but its hash.
pub fn token_json(token: &ApiToken) -> Value {
    json!({
        "name": token.name,
        "role": token.role,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    })
}

/// Creates a token for `role` named `name`, and returns it with its secret.
///
/// # Errors
/// An expiry in the past, or the core's refusal (a taken or invalid name).
pub async fn create(
    state: &AppState,
    name: &str,
    role: Role,
    expires_at: Option<Timestamp>,
) -> Result<(ApiToken, String), ApiError> {
    let now = state.frontdesk.clock().now();
    if expires_at.is_some_and(|end| end <= now) {
        return Err(ApiError::InvalidBody("expires_at must be in the future".into()));
    }
    let secret = generate_secret();
    let mut token = role.token(name, &secret, now);
    token.expires_at = expires_at;
    match state.frontdesk.submit(Command::CreateToken(token)).await? {
        Outcome::Token(token) => Ok((token, secret)),
        other => Err(unexpected(other)),
    }
}

/// Revokes the token `name` and forgets it on this node at once.
///
/// # Errors
/// The core's refusal (no such token) or a storage failure.
pub async fn revoke(state: &AppState, name: &str) -> Result<ApiToken, ApiError> {
    let outcome = state.frontdesk.submit(Command::RevokeToken { name: name.to_owned() }).await;
    // Forget even on failure: a cache entry is cheap to reload, a stale one is not.
    state.known_tokens.forget(name);
    match outcome? {
        Outcome::Token(token) => Ok(token),
        other => Err(unexpected(other)),
    }
}

async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    json: ApiJson<TokenBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(Permission::ManageTokens, "create tokens")?;
    let (body, _) = json.parse()?;
    let (token, secret) = create(&state, &body.name, body.role, body.expires_at).await?;
    let mut answer = token_json(&token);
    answer["token"] = Value::String(secret);
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Every token, oldest first, revoked ones included.
async fn list_tokens(State(state): State<AppState>, principal: Principal) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ManageTokens, "list tokens")?;
    let tokens = state.frontdesk.tokens().await?;
    Ok(Json(json!({ "tokens": tokens.iter().map(token_json).collect::<Vec<_>>() })))
}

async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ManageTokens, "revoke tokens")?;
    let token = revoke(&state, &name).await?;
    tracing::info!(token = %token.name, by = %principal.name, "token revoked");
    Ok(Json(token_json(&token)))
}
