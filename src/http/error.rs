//! API errors: `{"error": {"code", "message"}}` with the status codes of
//! DESIGN.md. Server errors are logged with their cause and answered with a
//! generic message; internals never reach the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use frontdesk_core::plugins::CallError;
use frontdesk_core::runtime::{ReadError, SubmitError};
use frontdesk_core::write::Refusal;
use serde_json::json;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `malformed_json`: the body is not JSON.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// 400 `invalid_body`: JSON of the wrong shape (types, unknown fields, enum values).
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    /// 400 `invalid_query`: bad query parameters.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// 401 `unauthorized`: no or unknown token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 403 `forbidden`: the token's role may not do this.
    #[error("a token with role {role} may not {action}")]
    Forbidden {
        /// The caller's role.
        role: &'static str,
        /// What was attempted.
        action: &'static str,
    },
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 405 `method_not_allowed`.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// 413 `payload_too_large`.
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// 415 `unsupported_media_type`.
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    /// Refused or failed command.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// Failed read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// 500 `internal`: a bug (an answer a handler did not expect).
    #[error("{0}")]
    Internal(String),
    /// 401 `bad_signature`: a channel webhook without a valid signature.
    #[error("{0}")]
    BadSignature(String),
    /// A plugin call that did not give a result.
    #[error(transparent)]
    Plugin(#[from] CallError),
    /// 503 `not_ready`: something the request needs is not there.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    /// The HTTP status it is answered with (the console answers with the same).
    pub fn status(&self) -> StatusCode {
        self.status_and_code().0
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::InvalidBody(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
            ApiError::InvalidQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::Read(_) | ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::BadSignature(_) => (StatusCode::UNAUTHORIZED, "bad_signature"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            ApiError::Plugin(e) => match e {
                CallError::NotFound(_) | CallError::WrongKind { .. } => (StatusCode::NOT_FOUND, "not_found"),
                CallError::Reported { .. } => (StatusCode::BAD_REQUEST, "plugin_rejected"),
                CallError::InputRefused(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
                CallError::Failed { .. } => (StatusCode::BAD_GATEWAY, "plugin_failed"),
                CallError::CircuitOpen(_) | CallError::Busy(_) | CallError::Disabled(_) => {
                    (StatusCode::SERVICE_UNAVAILABLE, "plugin_unavailable")
                }
            },
            ApiError::Submit(e) => submit_status_and_code(e),
        }
    }
}

/// The status and code of a command the core did not commit.
pub fn submit_status_and_code(e: &SubmitError) -> (StatusCode, &'static str) {
    match e {
        SubmitError::CaseNotFound(_) | SubmitError::CustomerNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
        SubmitError::Refused(refusal) => match refusal {
            Refusal::Transition(_) => (StatusCode::CONFLICT, "illegal_transition"),
            Refusal::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_input"),
            Refusal::IdentityConflict { .. } => (StatusCode::CONFLICT, "identity_conflict"),
            Refusal::IdempotencyKeyReused => (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
            Refusal::TokenNameTaken(_) => (StatusCode::CONFLICT, "conflict"),
            Refusal::MacroNameTaken(_) => (StatusCode::CONFLICT, "conflict"),
            Refusal::MacroNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Refusal::ReassignNotAllowed { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            Refusal::TokenNotFound(_) | Refusal::OutboxItemNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Refusal::OutboxItemNotFailed { .. } => (StatusCode::CONFLICT, "not_failed"),
            Refusal::AssigneeChanged { .. } => (StatusCode::CONFLICT, "assignee_changed"),
            Refusal::AgentExists(_) => (StatusCode::CONFLICT, "agent_exists"),
            Refusal::EmailTaken(_) => (StatusCode::CONFLICT, "email_taken"),
            Refusal::AgentNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Refusal::UnknownAgent(_) => (StatusCode::BAD_REQUEST, "unknown_agent"),
            Refusal::AgentInactive(_) => (StatusCode::FORBIDDEN, "agent_inactive"),
            Refusal::InvalidAgent(_) => (StatusCode::BAD_REQUEST, "invalid_input"),
            Refusal::ViewNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Refusal::ViewNameTaken(_) => (StatusCode::CONFLICT, "view_name_taken"),
            Refusal::ViewForbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
        },
        SubmitError::InFlight => (StatusCode::CONFLICT, "idempotency_in_flight"),
        SubmitError::Overloaded => (StatusCode::TOO_MANY_REQUESTS, "overloaded"),
        SubmitError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
        SubmitError::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        ApiError::Submit(SubmitError::Refused(refusal))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        // A plugin's failure is the plugin's, not ours: say what it was.
        let tell = status == StatusCode::SERVICE_UNAVAILABLE || matches!(self, ApiError::Plugin(_));
        let message = if status.is_server_error() && !tell {
            tracing::error!(error = ?self, "request failed");
            "internal error".to_owned()
        } else {
            tracing::debug!(%code, error = %self, "request refused");
            self.to_string()
        };
        let mut response = (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
