//! Who is signed in: the session cookie, its server-side record, the CSRF
//! token derived from it, and the limits on failed sign-ins.
//!
//! The cookie holds a 256-bit random secret; the store keeps only its hash
//! (as with API tokens), so a copy of the data file cannot sign anyone in.
//! The CSRF token is an HMAC of the secret: only a page the server rendered
//! for this session knows it, and nothing extra is stored.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use frontdesk_core::auth::{Agent, Session, hash_secret};
use frontdesk_core::write::command::Command;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

use super::error::ConsoleError;
use crate::http::AppState;

/// The session cookie's name. The `__Host-` prefix (browsers then insist
/// on `Secure`, `Path=/` and no `Domain`) is used when cookies are secure.
const COOKIE: &str = "fd_session";
const SECURE_COOKIE: &str = "__Host-fd_session";

/// How sessions behave, from `[console]` in the config.
#[derive(Debug, Clone)]
pub struct SessionPolicy {
    /// A session not used for this long ends.
    pub idle: SignedDuration,
    /// A session ends this long after sign-in, used or not.
    pub absolute: SignedDuration,
    /// Mark the cookie `Secure` (the console is served over TLS, directly
    /// or behind a proxy).
    pub secure_cookies: bool,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: SignedDuration::from_hours(8),
            absolute: SignedDuration::from_hours(24 * 7),
            secure_cookies: false,
        }
    }
}

impl SessionPolicy {
    /// The cookie's name under this policy.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure_cookies { SECURE_COOKIE } else { COOKIE }
    }

    /// The `Set-Cookie` value that gives the browser `secret`.
    pub fn set_cookie(&self, secret: &str) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!(
            "{}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            self.cookie_name(),
            self.absolute.as_secs()
        )
    }

    /// The `Set-Cookie` value that makes the browser forget the session.
    pub fn clear_cookie(&self) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}", self.cookie_name())
    }

    /// Whether `session` has ended at `now`.
    pub fn expired(&self, session: &Session, now: Timestamp) -> bool {
        now >= session.expires_at || now.duration_since(session.last_seen_at) >= self.idle
    }
}

/// A signed-in agent, extracted from the session cookie. On pages a missing
/// or ended session redirects to `/login`; a state-changing request must
/// also carry the session's CSRF token.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The agent.
    pub agent: Agent,
    /// The session's stored hash.
    pub session_hash: String,
    /// The token state-changing requests must send (`X-CSRF-Token`).
    pub csrf: String,
}

/// Seen-at times are written at most this often per session: enough for
/// the idle expiry, without a write per request.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let policy = &state.console().sessions;
        let unauthenticated = || ConsoleError::SignIn { next: next_path(parts) };
        let secret = cookie(&parts.headers, policy.cookie_name()).ok_or_else(unauthenticated)?;
        let hash = hash_secret(secret);
        let session = state.frontdesk().session_by_hash(hash.clone()).await?.ok_or_else(unauthenticated)?;
        let now = state.frontdesk().clock().now();
        if policy.expired(&session, now) {
            state.frontdesk().submit(Command::EndSession { hash }).await?;
            return Err(unauthenticated());
        }
        let agent = match state.frontdesk().agent(session.agent.clone()).await? {
            Some(agent) if agent.active => agent,
            _ => return Err(unauthenticated()),
        };
        let csrf = csrf_token(secret);
        if changes_state(&parts.method) {
            check_csrf(&parts.headers, &csrf)?;
        }
        if now.duration_since(session.last_seen_at) >= TOUCH_EVERY {
            state.frontdesk().submit(Command::TouchSession { hash: hash.clone(), at: now }).await?;
        }
        Ok(SignedIn { agent, session_hash: hash, csrf })
    }
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Where to come back to after signing in: this page, for a page request.
fn next_path(parts: &Parts) -> Option<String> {
    let page = parts.method == Method::GET && !parts.headers.contains_key("hx-request");
    page.then(|| parts.uri.path_and_query().map_or("/".to_owned(), |p| p.as_str().to_owned()))
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The CSRF token of the session whose cookie holds `secret`.
pub fn csrf_token(secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"frontdesk console csrf v1");
    hex::encode(mac.finalize().into_bytes())
}

/// Refuses a state-changing request without the session's CSRF token, or
/// sent from another origin.
fn check_csrf(headers: &HeaderMap, expected: &str) -> Result<(), ConsoleError> {
    if !same_origin(headers) {
        return Err(ConsoleError::Csrf);
    }
    let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    // Both are hex of one length: compare without an early exit.
    let equal =
        sent.len() == expected.len() && sent.bytes().zip(expected.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0;
    if equal { Ok(()) } else { Err(ConsoleError::Csrf) }
}

/// Whether a browser request comes from a page of this origin: `Origin`
/// (or, failing that, `Sec-Fetch-Site`) says so when the browser sends it.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        return origin != "null" && origin_host.is_some() && origin_host == host;
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => true,
    }
}

/// Failed sign-ins allowed per account, and per client address, in a window.
const ACCOUNT_FAILURES: usize = 5;
const ADDRESS_FAILURES: usize = 20;
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Recent failed sign-ins by account and by address. Kept in memory: an
/// attacker cannot outrun it by restarting the server, and a node of a
/// cluster limits what reaches it.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl SignInLimiter {
    /// How long `account` from `address` must wait before trying again, if
    /// either has failed too often lately.
    pub fn wait(&self, account: &str, address: &str) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let mut wait = None;
        for (key, limit) in
            [(format!("account:{account}"), ACCOUNT_FAILURES), (format!("address:{address}"), ADDRESS_FAILURES)]
        {
            if let Some(times) = failures.get_mut(&key) {
                times.retain(|t| now.duration_since(*t) < WINDOW);
                if times.len() >= limit {
                    let until = times[times.len() - limit] + WINDOW;
                    wait = wait.max(Some(until.saturating_duration_since(now)));
                }
            }
        }
        wait
    }

    /// Records a failed sign-in.
    pub fn failed(&self, account: &str, address: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > 100_000 {
            // Bounded memory under a spray of made-up accounts.
            let now = Instant::now();
            failures.retain(|_, times| times.last().is_some_and(|t| now.duration_since(*t) < WINDOW));
        }
        let now = Instant::now();
        failures.entry(format!("account:{account}")).or_default().push(now);
        failures.entry(format!("address:{address}")).or_default().push(now);
    }

    /// Forgets an account's failures after it signs in.
    pub fn succeeded(&self, account: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&format!("account:{account}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_http_only_strict_and_secure_when_asked() {
        let plain = SessionPolicy::default().set_cookie("s3cret");
        assert!(
            plain.starts_with("fd_session=s3cret;") && plain.contains("HttpOnly") && plain.contains("SameSite=Strict")
        );
        assert!(!plain.contains("Secure"));
        let tls = SessionPolicy { secure_cookies: true, ..SessionPolicy::default() }.set_cookie("s3cret");
        assert!(tls.starts_with("__Host-fd_session=s3cret;") && tls.ends_with("; Secure"));
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let policy = SessionPolicy::default();
        let start: Timestamp = "2026-03-02T09:00:00Z".parse().unwrap();
        let session = Session {
            hash: "h".into(),
            agent: "sam".into(),
            created_at: start,
            last_seen_at: start,
            expires_at: start + policy.absolute,
        };
        assert!(!policy.expired(&session, start + SignedDuration::from_hours(7)));
        assert!(policy.expired(&session, start + SignedDuration::from_hours(8)));
        let busy = Session { last_seen_at: start + SignedDuration::from_hours(24 * 7 - 1), ..session };
        assert!(policy.expired(&busy, start + SignedDuration::from_hours(24 * 7)));
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_must_match() {
        let (a, b) = (csrf_token("one"), csrf_token("two"));
        assert_ne!(a, b);
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(check_csrf(&headers, &a).is_err());
        headers.insert("x-csrf-token", b.parse().unwrap());
        assert!(check_csrf(&headers, &a).is_err());
        headers.insert("x-csrf-token", a.parse().unwrap());
        assert!(check_csrf(&headers, &a).is_ok());
        headers.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(check_csrf(&headers, &a).is_err(), "another origin is refused even with the token");
        headers.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(check_csrf(&headers, &a).is_ok());
    }

    #[test]
    fn repeated_failures_lock_the_account_then_the_address() {
        let limiter = SignInLimiter::default();
        for _ in 0..ACCOUNT_FAILURES {
            assert!(limiter.wait("sam", "10.0.0.1").is_none());
            limiter.failed("sam", "10.0.0.1");
        }
        assert!(limiter.wait("sam", "10.0.0.2").is_some(), "the account is locked from anywhere");
        assert!(limiter.wait("sue", "10.0.0.2").is_none());
        for i in 0..ADDRESS_FAILURES {
            limiter.failed(&format!("guess{i}"), "10.0.0.9");
        }
        assert!(limiter.wait("sue", "10.0.0.9").is_some(), "the address is locked for every account");
        limiter.succeeded("sam");
        assert!(limiter.wait("sam", "10.0.0.2").is_none());
    }
}
