//! Extractors that answer bad input in the API's error format instead of
//! axum's plain-text rejections.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::{ApiError, AppState};

/// A JSON body of type `T`, read but not yet judged: a handler checks the
/// caller's role first and then calls [`ApiJson::parse`], so a caller who
/// may not use a route is told 403 whatever its body holds, never what the
/// body lacks.
pub struct ApiJson<T> {
    body: Result<Bytes, ApiError>,
    parsed: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> ApiJson<T> {
    /// The body as `T`, with its raw bytes (for idempotency fingerprints).
    ///
    /// # Errors
    /// 415 for a body that is not JSON, 413 for one over the limit, 400 for
    /// malformed JSON or a body of the wrong shape.
    pub fn parse(self) -> Result<(T, Bytes), ApiError> {
        let bytes = self.body?;
        let value = serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => ApiError::InvalidBody(e.to_string()),
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => ApiError::MalformedJson(e.to_string()),
        })?;
        Ok((value, bytes))
    }
}

impl<T> FromRequest<AppState> for ApiJson<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ApiJson { body: read_json(request, state).await, parsed: PhantomData })
    }
}

/// The bytes of a JSON body within the size limit.
async fn read_json(request: Request, state: &AppState) -> Result<Bytes, ApiError> {
    let is_json = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        });
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let limit = state.max_body_bytes;
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(limit)
        } else {
            ApiError::InvalidBody(rejection.body_text())
        }
    })
}

/// Query parameters of type `T`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::InvalidQuery(e.body_text()))
    }
}

/// Parses an id from a path segment; anything that is not an id names no
/// resource, so it is a 404.
pub fn parse_id<I: std::str::FromStr>(what: &str, raw: &str) -> Result<I, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound(format!("{what} {raw} not found")))
}

/// Encodes a page cursor. Opaque to clients: its form may change.
pub fn encode_cursor(id: u64) -> String {
    format!("c{id:x}")
}

/// Decodes a page cursor.
pub fn decode_cursor(cursor: &str) -> Result<u64, ApiError> {
    cursor
        .strip_prefix('c')
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| ApiError::InvalidQuery(format!("invalid cursor {cursor:?}")))
}

/// Checks a page size: default `default`, at most `max`.
pub fn page_limit(limit: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::InvalidQuery(format!("limit must be 1-{max}, got {n}"))),
    }
}
