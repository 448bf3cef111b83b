//! Bearer-token authentication and role checks.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use frontdesk_core::Actor;
use frontdesk_core::auth::{Permission, Role, hash_secret};

use super::{ApiError, AppState};

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Token name.
    pub name: String,
    /// Token role.
    pub role: Role,
}

impl Principal {
    /// Refuses with 403 unless the role allows `permission`.
    pub fn require(&self, permission: Permission, action: &'static str) -> Result<(), ApiError> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden { role: self.role.as_str(), action })
        }
    }

    /// The actor recorded on what this caller does.
    pub fn actor(&self) -> Actor {
        self.role.actor(&self.name)
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(ApiError::Unauthorized("missing bearer token"))?;
        let secret = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(ApiError::Unauthorized("expected Authorization: Bearer <token>"))?;
        let hash = hash_secret(secret);
        if let Some(known) = state.known_tokens.get(&hash) {
            return Ok(known);
        }
        let token =
            state.frontdesk.token_by_hash(hash.clone()).await?.ok_or(ApiError::Unauthorized("invalid token"))?;
        let principal = Principal { name: token.name, role: token.role };
        state.known_tokens.insert(hash, principal.clone());
        Ok(principal)
    }
}

/// Tokens already found in the store, by secret hash, so that a request
/// authenticates without a read transaction. A stored token never changes and
/// is never deleted (there is no revoke), so an entry cannot go stale; a
/// revoke would have to clear it. Only tokens that exist are kept, so the map
/// holds at most the tokens admins created, whatever secrets callers send.
#[derive(Debug, Default)]
pub struct KnownTokens(RwLock<HashMap<String, Principal>>);

impl KnownTokens {
    fn get(&self, hash: &str) -> Option<Principal> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).get(hash).cloned()
    }

    fn insert(&self, hash: String, principal: Principal) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).insert(hash, principal);
    }
}
