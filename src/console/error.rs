//! What a console request can fail with, answered as a page or a fragment
//! (never JSON), with the same status codes as the API.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use frontdesk_core::runtime::{ReadError, SubmitError};
use maud::html;

use super::page;

/// A console failure.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session, or it ended: pages go to `/login` (and back to `next`).
    #[error("sign in first")]
    SignIn {
        /// The page to return to.
        next: Option<String>,
    },
    /// A state-changing request without this session's CSRF token.
    #[error("this request did not come from a Frontdesk page; reload the page and try again")]
    Csrf,
    /// The agent's role may not do this.
    #[error("your role may not {0}")]
    Forbidden(&'static str),
    /// No such case, customer or page.
    #[error("{0}")]
    NotFound(String),
    /// Input the console cannot use.
    #[error("{0}")]
    BadRequest(String),
    /// The core refused or could not take a command.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// A read failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// What the API the console shares code with answered.
    #[error(transparent)]
    Api(#[from] crate::http::ApiError),
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if let ConsoleError::SignIn { next } = &self {
            let target = match next {
                Some(next) if next != "/" => format!("/login?next={}", urlencode(next)),
                _ => "/login".to_owned(),
            };
            return match next {
                Some(_) => (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response(),
                // An htmx request or a post: htmx follows `HX-Redirect`.
                None => {
                    let mut response = StatusCode::UNAUTHORIZED.into_response();
                    if let Ok(value) = HeaderValue::from_str(&target) {
                        response.headers_mut().insert("hx-redirect", value);
                    }
                    response
                }
            };
        }
        let status = match &self {
            ConsoleError::SignIn { .. } => StatusCode::UNAUTHORIZED,
            ConsoleError::Csrf | ConsoleError::Forbidden(_) => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::Submit(e) => crate::http::submit_status_and_code(e).0,
            ConsoleError::Read(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ConsoleError::Api(e) => e.status(),
        };
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "console request failed");
            "Something went wrong on the server; nothing was changed. Try again.".to_owned()
        } else {
            self.to_string()
        };
        let mut response = (status, html! { div.alert.bad role="alert" { (message) } }).into_response();
        page::secure(&mut response);
        response
    }
}

/// `text` percent-encoded for a query string value.
pub fn urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
