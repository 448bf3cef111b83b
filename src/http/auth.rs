//! Bearer-token authentication and role checks.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use frontdesk_core::Actor;
use frontdesk_core::auth::{ApiToken, Permission, Role, hash_secret};
use frontdesk_core::write::command::Command;
use jiff::{SignedDuration, Timestamp};

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
        let now = state.frontdesk.clock().now();
        let known = match state.known_tokens.get(&hash, now) {
            Lookup::Known(known) => known,
            Lookup::Expired => return Err(ApiError::Unauthorized("token expired")),
            Lookup::Unknown(generation) => {
                let token = state
                    .frontdesk
                    .token_by_hash(hash.clone())
                    .await?
                    .ok_or(ApiError::Unauthorized("invalid token"))?;
                if token.revoked_at.is_some() {
                    return Err(ApiError::Unauthorized("token revoked"));
                }
                if !token.usable_at(now) {
                    return Err(ApiError::Unauthorized("token expired"));
                }
                state.known_tokens.insert(hash.clone(), &token, generation, now)
            }
        };
        if known.touch {
            touch_in_background(state, hash, now);
        }
        Ok(known.principal)
    }
}

/// Records a token's use without holding up its request: a lost touch only
/// makes `last_used_at` a minute older.
fn touch_in_background(state: &AppState, hash: String, at: Timestamp) {
    let frontdesk = state.frontdesk.clone();
    tokio::spawn(async move {
        if let Err(e) = frontdesk.submit(Command::TouchToken { hash, at }).await {
            tracing::debug!(error = %e, "token use not recorded");
        }
    });
}

/// How often a token's `last_used_at` is written: at most once a minute, so
/// that a busy integration costs no write per request.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

/// Tokens already found in the store, by secret hash, so that a request
/// authenticates without a read transaction. A revoke on this node clears
/// its entries ([`KnownTokens::forget`]) and bumps a generation, so that a
/// lookup that read the store before the revoke cannot put the token back.
/// Only usable tokens are kept, so the map holds at most the tokens admins
/// created, whatever secrets callers send.
#[derive(Debug, Default)]
pub struct KnownTokens {
    entries: RwLock<HashMap<String, Known>>,
    generation: AtomicU64,
}

#[derive(Debug, Clone)]
struct Known {
    principal: Principal,
    expires_at: Option<Timestamp>,
    touched_at: Timestamp,
}

/// A cached token, and whether this request should record its use.
struct Found {
    principal: Principal,
    touch: bool,
}

enum Lookup {
    Known(Found),
    Expired,
    /// Not cached; the generation to insert under.
    Unknown(u64),
}

impl KnownTokens {
    fn get(&self, hash: &str, now: Timestamp) -> Lookup {
        let generation = self.generation.load(Ordering::Acquire);
        let cached = self.entries.read().unwrap_or_else(|e| e.into_inner()).get(hash).cloned();
        let Some(known) = cached else { return Lookup::Unknown(generation) };
        if known.expires_at.is_some_and(|end| now >= end) {
            self.entries.write().unwrap_or_else(|e| e.into_inner()).remove(hash);
            return Lookup::Expired;
        }
        let touch = now.duration_since(known.touched_at) >= TOUCH_EVERY;
        if touch && let Some(entry) = self.entries.write().unwrap_or_else(|e| e.into_inner()).get_mut(hash) {
            entry.touched_at = now;
        }
        Lookup::Known(Found { principal: known.principal, touch })
    }

    /// Caches `token` unless a revoke happened since `generation` was read.
    /// Its use is recorded now if the store's record is over a minute old.
    fn insert(&self, hash: String, token: &ApiToken, generation: u64, now: Timestamp) -> Found {
        let principal = Principal { name: token.name.clone(), role: token.role };
        let touched_at = match token.last_used_at {
            Some(seen) if now.duration_since(seen) < TOUCH_EVERY => seen,
            _ => now,
        };
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            entries.insert(hash, Known { principal: principal.clone(), expires_at: token.expires_at, touched_at });
        }
        Found { principal, touch: touched_at == now }
    }

    /// Drops the cached entries of the token `name` (after a revoke).
    pub fn forget(&self, name: &str) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, known| known.principal.name != name);
    }
}
