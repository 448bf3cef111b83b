//! The agent console: pages rendered on the server (maud, escaped by
//! construction), htmx for partial updates, Server-Sent Events for live
//! ones, every file compiled into the binary. It uses the same door to
//! the core as the API; people sign in with a password and a session
//! cookie instead of a bearer token.
//!
//! Pages: `/` (inbox, with saved views: [`views`]), `/cases/{id}`,
//! `/customers/{id}`, `/reports` and `/macros` (leads), `/admin` (admins),
//! `/login`.
//! Fragments and the feed live under `/console/`; files under `/assets/`.

mod admin;
mod assets;
mod case_page;
mod customer_page;
mod error;
mod format;
mod inbox;
mod live;
mod login;
mod macros_page;
mod page;
mod presence;
mod reports;
/// Sessions: the cookie, CSRF and sign-in limits.
pub mod session;
mod views;

use axum::Router;
use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::sync::watch;

pub use page::CONTENT_SECURITY_POLICY;
pub use session::SessionPolicy;

use crate::http::AppState;

/// What the console keeps between requests.
#[derive(Debug)]
pub struct ConsoleState {
    /// How sessions behave.
    pub sessions: SessionPolicy,
    /// Failed sign-ins, for the limits.
    pub sign_ins: session::SignInLimiter,
    /// Who is on which case.
    pub presence: presence::Presence,
    /// Set when the server stops, so live feeds end and shutdown does not
    /// wait on open pages.
    closing: watch::Sender<bool>,
    /// The live hub's output, once the first page has connected.
    changes: std::sync::OnceLock<tokio::sync::broadcast::Sender<std::sync::Arc<live::Changed>>>,
}

impl ConsoleState {
    /// State for sessions under `sessions`.
    pub fn new(sessions: SessionPolicy) -> Self {
        Self {
            sessions,
            sign_ins: session::SignInLimiter::default(),
            presence: presence::Presence::default(),
            closing: watch::channel(false).0,
            changes: std::sync::OnceLock::new(),
        }
    }

    /// The hub's change lists; the first caller starts the hub on the
    /// commit feed `subscribe` gives.
    fn changes(
        &self,
        subscribe: impl FnOnce() -> tokio::sync::broadcast::Receiver<frontdesk_core::runtime::Committed>,
    ) -> tokio::sync::broadcast::Receiver<std::sync::Arc<live::Changed>> {
        self.changes
            .get_or_init(|| {
                let (out, _) = tokio::sync::broadcast::channel(64);
                tokio::spawn(live::hub(subscribe(), out.clone(), self.closing()));
                out
            })
            .subscribe()
    }

    /// Ends every live feed: the server is stopping.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }
}

impl Default for ConsoleState {
    fn default() -> Self {
        Self::new(SessionPolicy::default())
    }
}

/// The console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(inbox::page))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/next", get(inbox::next))
        .route("/views", post(views::create))
        .route("/views/{id}/rename", post(views::rename))
        .route("/views/{id}/delete", post(views::delete))
        .route("/go", get(go))
        .route("/cases/{id}", get(case_page::page))
        .route("/cases/{id}/messages", post(case_page::post_message))
        .route("/cases/{id}/update", post(case_page::update))
        .route("/customers/{id}", get(customer_page::page))
        .route("/reports", get(reports::page))
        .route("/macros", get(macros_page::page).post(macros_page::save))
        .route("/macros/{name}/delete", post(macros_page::delete))
        .route("/cases/{id}/macros", post(macros_page::apply))
        .route("/admin", get(admin::page))
        .route("/admin/agents", post(admin::create_agent))
        .route("/admin/tokens", post(admin::create_token))
        .route("/admin/tokens/{name}/revoke", post(admin::revoke_token))
        .route("/admin/outbox/{id}/retry", post(admin::retry_outbox))
        .route("/admin/simulate", post(admin::simulate))
        .route("/console/inbox", get(inbox::fragment))
        .route("/console/live", get(live::feed))
        .route("/console/cases/{id}/head", get(case_page::head_fragment))
        .route("/console/cases/{id}/events", get(case_page::events_fragment))
        .route("/console/cases/{id}/properties", get(case_page::properties_fragment))
        .route("/console/cases/{id}/presence", post(presence::report))
        .route("/assets/{file}", get(assets::serve))
}

#[derive(Debug, Deserialize)]
struct GoQuery {
    case: Option<String>,
}

/// `GET /go?case=N`: the "go to case" box.
async fn go(_me: session::SignedIn, Query(query): Query<GoQuery>) -> Response {
    let number = query.case.as_deref().map(|c| c.trim().trim_start_matches('#')).and_then(|c| c.parse::<u64>().ok());
    match number {
        Some(n) => Redirect::to(&format!("/cases/{n}")).into_response(),
        None => Redirect::to("/").into_response(),
    }
}
