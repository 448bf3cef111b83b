//! Signing in and out. A sign-in checks the password (argon2id, on the
//! blocking pool), starts a new server-side session with a fresh id (any
//! session the browser had is ended: no fixation), and sets the cookie.
//! Failures are limited per account and per address.

use std::net::SocketAddr;
use std::sync::LazyLock;

use axum::Extension;
use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use frontdesk_core::auth::password::{hash_password, verify_password};
use frontdesk_core::auth::{Session, generate_secret, hash_secret};
use frontdesk_core::write::command::{Command, Outcome};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::ConsoleError;
use super::page::{self, Shell};
use super::session::{cookie, same_origin};
use crate::http::AppState;

/// `?next=`: the page to return to after signing in.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `GET /login`.
pub async fn form(Query(query): Query<LoginQuery>) -> Response {
    login_page(StatusCode::OK, query.next.as_deref(), None, "")
}

fn login_page(status: StatusCode, next: Option<&str>, problem: Option<&str>, account: &str) -> Response {
    let next = next.filter(|n| safe_next(n));
    let content: Markup = html! {
        main #main .login {
            h1 { "Frontdesk" }
            p { "Sign in to the agent console." }
            @if let Some(problem) = problem { div.alert.bad role="alert" { (problem) } }
            form method="post" action="/login" {
                @if let Some(next) = next { input type="hidden" name="next" value=(next); }
                label for="account" { "Email or agent name" }
                input #account name="account" type="text" autocomplete="username" required value=(account) autofocus;
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
                button.primary type="submit" { "Sign in" }
            }
        }
    };
    let mut response = page::render(&Shell { title: "Sign in", me: None, live: false, case: None }, content);
    *response.status_mut() = status;
    response
}

/// A place to return to after signing in: a path on this server only, so
/// the login page cannot be used to send an agent elsewhere.
fn safe_next(next: &str) -> bool {
    next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && !next.chars().any(char::is_control)
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    account: String,
    password: String,
    next: Option<String>,
}

/// Checked when the account does not exist, so that an unknown account
/// takes as long to refuse as a wrong password.
static DECOY: LazyLock<String> =
    LazyLock::new(|| hash_password("decoy password, never matches").expect("hashing a fixed password"));

/// `POST /login`.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<LoginForm>,
) -> Result<Response, ConsoleError> {
    // A page of another site must not sign the browser into an account of
    // the attacker's (login CSRF).
    if !same_origin(&headers) {
        return Err(ConsoleError::Csrf);
    }
    let account = form.account.trim().to_lowercase();
    let address = peer.map_or_else(|| "unknown".to_owned(), |Extension(ConnectInfo(a))| a.ip().to_string());
    let limiter = &state.console().sign_ins;
    if let Some(wait) = limiter.wait(&account, &address) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let mut response = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            form.next.as_deref(),
            Some(&format!("Too many failed sign-ins. Try again in {minutes} minute(s).")),
            &form.account,
        );
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        return Ok(response);
    }
    let agent = if account.contains('@') {
        state.frontdesk().agent_by_email(account.clone()).await?
    } else {
        state.frontdesk().agent(account.clone()).await?
    };
    let phc = agent.as_ref().map_or_else(|| DECOY.clone(), |a| a.password_hash.clone());
    let password = form.password;
    let matches = tokio::task::spawn_blocking(move || verify_password(&phc, &password)).await.unwrap_or(false);
    let agent = match agent {
        Some(agent) if matches && agent.active => agent,
        _ => {
            limiter.failed(&account, &address);
            tracing::info!(account = %account, %address, "failed sign-in");
            return Ok(login_page(
                StatusCode::UNAUTHORIZED,
                form.next.as_deref(),
                Some("That email or name and password do not match an active agent."),
                &form.account,
            ));
        }
    };
    limiter.succeeded(&account);
    let policy = &state.console().sessions;
    if let Some(old) = cookie(&headers, policy.cookie_name()) {
        state.frontdesk().submit(Command::EndSession { hash: hash_secret(old) }).await?;
    }
    let secret = generate_secret();
    let now = state.frontdesk().clock().now();
    let session = Session {
        hash: hash_secret(&secret),
        agent: agent.name.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + policy.absolute,
    };
    match state.frontdesk().submit(Command::StartSession(session)).await? {
        Outcome::Session(_) => {}
        other => return Err(ConsoleError::BadRequest(format!("unexpected answer to a sign-in: {other:?}"))),
    }
    tracing::info!(agent = %agent.name, "signed in");
    let target = form.next.filter(|n| safe_next(n)).unwrap_or_else(|| "/".to_owned());
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response();
    if let Ok(value) = HeaderValue::from_str(&policy.set_cookie(&secret)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    page::secure(&mut response);
    Ok(response)
}

/// `POST /logout`: ends the session on the server, not only in the browser.
pub async fn logout(State(state): State<AppState>, me: super::session::SignedIn) -> Result<Response, ConsoleError> {
    state.frontdesk().submit(Command::EndSession { hash: me.session_hash }).await?;
    tracing::info!(agent = %me.agent.name, "signed out");
    let policy = &state.console().sessions;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy.clear_cookie()) {
        headers.insert(header::SET_COOKIE, value);
    }
    headers.insert("hx-redirect", HeaderValue::from_static("/login"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn sign_in_returns_only_to_local_paths() {
        assert!(safe_next("/cases/4?x=1"));
        for hostile in ["//evil.example", "https://evil.example", "/\\evil.example", "evil", "/a\nb"] {
            assert!(!safe_next(hostile), "{hostile}");
        }
    }
}
