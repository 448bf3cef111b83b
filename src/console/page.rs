//! The page shell every console page shares: head, top bar, the keyboard
//! shortcut help, and the security headers pages are sent with.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use frontdesk_core::auth::Role;
use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::session::SignedIn;

/// htmx settings: no `eval`, no inline style or script it would inject, so
/// the policy below can forbid both.
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"historyCacheSize":0,"selfRequestsOnly":true}"#;

/// Scripts and styles from this origin only, no inline code, no framing:
/// a hostile subject or body that slipped past escaping still cannot run.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What a page shows besides its content.
pub struct Shell<'a> {
    /// The `<title>`, before "· Frontdesk".
    pub title: &'a str,
    /// The signed-in agent, if any (the login page has none).
    pub me: Option<&'a SignedIn>,
    /// Whether the page follows the live feed.
    pub live: bool,
    /// The case the page shows, for live updates and presence.
    pub case: Option<u64>,
}

/// A whole page around `content`.
pub fn render(shell: &Shell<'_>, content: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=(HTMX_CONFIG);
                @if let Some(me) = shell.me { meta name="csrf-token" content=(me.csrf); }
                title { (shell.title) " · Frontdesk" }
                link rel="stylesheet" href=(assets::url("console.css"));
                script src=(assets::url("htmx.js")) defer {}
                script src=(assets::url("console.js")) defer {}
            }
            body data-me=[shell.me.map(|m| m.agent.name.as_str())]
                data-live=[shell.live.then_some("1")]
                data-case=[shell.case] {
                a.skip href="#main" { "Skip to content" }
                @if let Some(me) = shell.me { (top_bar(me)) }
                (content)
                @if shell.me.is_some() { (shortcut_help()) }
            }
        }
    };
    page_response(markup)
}

fn top_bar(me: &SignedIn) -> Markup {
    html! {
        header.top {
            a.brand href="/" { "Frontdesk" }
            nav aria-label="Main" {
                a href="/" { "Inbox" }
                @if me.agent.role != Role::Agent { a href="/reports" { "Reports" } a href="/macros" { "Macros" } }
                @if me.agent.role == Role::Admin { a href="/admin" { "Admin" } }
            }
            form action="/go" method="get" role="search" {
                label.skip for="goto" { "Go to case number" }
                input #goto type="search" name="case" placeholder="Case # ( / )" size="10" inputmode="numeric";
            }
            span #live .live.off role="status" aria-live="polite" { "connecting" }
            span.me { (me.agent.name) " · " (me.agent.role.as_str()) }
            button.link type="button" hx-post="/logout" { "Sign out" }
        }
    }
}

fn shortcut_help() -> Markup {
    const KEYS: &[(&str, &str)] = &[
        ("j / k", "next / previous case in the list"),
        ("Enter", "open the selected case"),
        ("n", "next case in the queue"),
        ("r", "reply to the customer"),
        ("i", "internal note"),
        ("Ctrl+Enter", "send"),
        ("s", "solve"),
        ("a", "assign to me"),
        ("m", "apply a macro (then Enter)"),
        ("/", "go to a case by number"),
        ("g i", "back to the inbox"),
        ("?", "this list"),
        ("Esc", "leave a field or close this"),
    ];
    html! {
        dialog #shortcuts .shortcuts aria-labelledby="shortcuts-title" {
            h2 #shortcuts-title { "Keyboard shortcuts" }
            table {
                @for (key, what) in KEYS { tr { td { kbd { (key) } } td { (what) } } }
            }
            form method="dialog" { button { "Close" } }
        }
    }
}

/// A rendered page or fragment with the console's security headers; never
/// cached, since it shows live data to one agent.
pub fn page_response(markup: Markup) -> Response {
    let mut response = markup.into_response();
    secure(&mut response);
    response
}

/// Adds the console's security headers to `response`.
pub fn secure(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
