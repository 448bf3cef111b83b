//! The HTTP API (`/api/v1`): one module per resource. Handlers parse and
//! authorize, build a core `Command` or call the store's read side, and map
//! results to JSON; they never touch redb.

pub mod admin;
pub mod agents;
pub(crate) mod auth;
pub mod case_body;
pub(crate) mod cases;
mod channels;
mod customers;
mod error;
mod events;
mod extract;
pub(crate) mod macros;
mod metrics;
mod rendered;
pub mod tokens;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::routing::get;
use frontdesk_core::case_ref::CaseRefKey;
use frontdesk_core::plugins::PluginHost;
use frontdesk_core::runtime::Frontdesk;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::{ApiError, submit_status_and_code};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    frontdesk: Arc<Frontdesk>,
    plugins: Arc<PluginHost>,
    case_refs: CaseRefKey,
    max_body_bytes: usize,
    known_tokens: Arc<auth::KnownTokens>,
    rendered: Arc<rendered::RenderedCases>,
    console: Arc<crate::console::ConsoleState>,
    /// The longest a long-poll holds a request: under the request timeout.
    long_poll: Duration,
}

impl AppState {
    /// State over a running core and its plugins; bodies over
    /// `max_body_bytes` get 413.
    pub fn new(
        frontdesk: Arc<Frontdesk>,
        plugins: Arc<PluginHost>,
        case_refs: CaseRefKey,
        max_body_bytes: usize,
    ) -> Self {
        Self {
            frontdesk,
            plugins,
            case_refs,
            max_body_bytes,
            known_tokens: Arc::default(),
            rendered: Arc::default(),
            console: Arc::default(),
            long_poll: Duration::from_secs(25),
        }
    }

    /// The same state with the console's sessions under `policy`.
    pub fn with_sessions(mut self, policy: crate::console::SessionPolicy) -> Self {
        self.console = Arc::new(crate::console::ConsoleState::new(policy));
        self
    }

    /// The plugins.
    pub fn plugins(&self) -> &PluginHost {
        &self.plugins
    }

    /// The core.
    pub fn frontdesk(&self) -> &Frontdesk {
        &self.frontdesk
    }

    /// The console's state.
    pub fn console(&self) -> &crate::console::ConsoleState {
        &self.console
    }

    /// The console's state, to keep beyond the router (to end live feeds).
    pub fn console_handle(&self) -> Arc<crate::console::ConsoleState> {
        self.console.clone()
    }
}

/// The whole API.
pub fn router(mut state: AppState, request_timeout: Duration) -> Router {
    state.long_poll = request_timeout.saturating_sub(Duration::from_secs(1));
    let max_body_bytes = state.max_body_bytes;
    let api = Router::new()
        .merge(cases::routes())
        .merge(customers::routes())
        .merge(channels::routes())
        .merge(tokens::routes())
        .merge(macros::routes())
        .merge(events::routes())
        .merge(agents::routes())
        .merge(metrics::routes())
        .merge(admin::routes())
        .merge(views::routes());
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api)
        .merge(crate::console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    with_middleware(routes, max_body_bytes, request_timeout)
}

/// What every request passes through before its handler: the body limit
/// (413), the request timeout (503) and a tracing span. Public so that the
/// HTTP floor bench (`examples/http_floor.rs`) measures the same stack.
pub fn with_middleware(routes: Router, max_body_bytes: usize, request_timeout: Duration) -> Router {
    routes
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(max_body_bytes, reject_oversized))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, request_timeout))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
}

/// A span per request, carrying the case id when the path names one (handlers
/// that create a case record it once known).
fn request_span(request: &Request) -> tracing::Span {
    let path = request.uri().path();
    let case_id = path
        .strip_prefix("/api/v1/cases/")
        .or_else(|| path.strip_prefix("/cases/"))
        .or_else(|| path.strip_prefix("/console/cases/"))
        .and_then(|rest| rest.split('/').next())
        .filter(|s| !s.is_empty());
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %path,
        case.id = case_id.map(tracing::field::display).unwrap_or(tracing::field::display("")),
    )
}

/// Most of an oversized body read (and dropped) before answering 413.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;
/// Longest time spent draining an oversized body.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Answers 413 to a declared oversized body, after reading (a bounded part of)
/// it: a client still sending would otherwise get a connection reset instead
/// of the answer.
async fn reject_oversized(
    axum::extract::State(limit): axum::extract::State<usize>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_none_or(|n| n <= limit as u64) {
        return next.run(request).await;
    }
    let mut body = request.into_body();
    let mut drained = 0usize;
    let drain = async {
        use http_body_util::BodyExt;
        while drained <= DRAIN_LIMIT {
            match body.frame().await {
                Some(Ok(frame)) => drained += frame.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
    let mut response = axum::response::IntoResponse::into_response(ApiError::PayloadTooLarge(limit));
    response.headers_mut().insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    response
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
