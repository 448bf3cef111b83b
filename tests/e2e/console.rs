//! The agent console in a real browser (issue 19): Chromium over WebDriver
//! ([`crate::browser`]) against the real binary ([`crate::harness::Server`]).

use crate::browser::Browser;
use crate::harness::{Server, workdir};

/// The harness itself: a browser reaches the server and reads what it shows.
#[test]
fn browser_smoke() {
    let Some(browser) = Browser::start() else { return };
    let dir = workdir();
    let server = Server::start(dir.path());
    let page = browser.session();

    page.goto(&format!("{}/healthz", server.base));

    assert_eq!(page.url(), format!("{}/healthz", server.base));
    let text = page.wait_for_text("body", "status");
    let health: serde_json::Value = serde_json::from_str(text.trim()).expect("healthz shows JSON");
    assert_eq!(health, serde_json::json!({"status": "ok"}));
}

/// Two sessions are two agents: a cookie one of them holds is not the other's.
#[test]
fn browser_sessions_have_separate_cookie_jars() {
    let Some(browser) = Browser::start() else { return };
    let dir = workdir();
    let server = Server::start(dir.path());
    let (ann, bob) = (browser.session(), browser.session());
    let url = format!("{}/healthz", server.base);
    ann.goto(&url);
    bob.goto(&url);

    ann.js("document.cookie = 'agent=ann; path=/; SameSite=Strict'");
    ann.refresh();
    bob.refresh();

    let cookie = ann.cookie("agent").expect("ann's cookie");
    assert_eq!((cookie.value.as_str(), cookie.same_site.as_deref(), cookie.http_only), ("ann", Some("Strict"), false));
    assert_eq!(ann.js("return document.cookie"), "agent=ann");
    assert_eq!(bob.cookies(), vec![]);
    assert_eq!(bob.js("return document.cookie"), "");
}
