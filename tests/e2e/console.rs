//! The agent console in a real browser (issue 19): Chromium over WebDriver
//! ([`crate::browser`]) against the real binary ([`crate::harness::Server`]).

use crate::browser::{Browser, CTRL_ENTER};
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

/// What scenarios do with a page, on a page the test writes itself: type,
/// click, keys on the body and in a field, read back, fail with context.
#[test]
fn browser_page_helpers() {
    let Some(browser) = Browser::start() else { return };
    let mut page = browser.session();
    page.goto("about:blank");
    page.js(r#"
        document.body.innerHTML = '<input id="name"><textarea id="reply"></textarea>'
            + '<button id="go" data-state="idle">Go</button><p id="out"></p><p id="keys"></p>';
        const out = document.getElementById('out');
        document.getElementById('go').onclick = e => {
            e.target.dataset.state = 'done';
            out.textContent = 'hello ' + document.getElementById('name').value;
        };
        document.addEventListener('keydown', e => {
            if (e.target === document.body) document.getElementById('keys').textContent += e.key;
        });
        document.getElementById('reply').addEventListener('keydown', e => {
            if (e.key === 'Enter' && e.ctrlKey) out.textContent = 'sent ' + e.target.value;
        });
    "#);

    page.fill("#name", "Ann");
    page.click("#go");
    assert_eq!(page.wait_for_text("#out", "hello"), "hello Ann");
    assert_eq!(page.attribute("#go", "data-state").as_deref(), Some("done"));
    assert_eq!(page.attribute("#go", "title"), None);
    assert_eq!(page.value("#name"), "Ann");

    page.blur();
    page.press("r");
    page.press("?");
    page.wait_for_text("#keys", "r?");

    page.fill("#reply", "On our way.");
    page.press(CTRL_ENTER);
    page.wait_for_text("#out", "sent On our way.");
    assert_eq!(page.text("#out"), "sent On our way.");
    assert_eq!(page.texts("p"), ["sent On our way.", "r?"]);
    assert_eq!(page.count("textarea"), 1);

    let shot = workdir();
    page.screenshot(&shot.path().join("page.png"));
    let png = std::fs::read(shot.path().join("page.png")).expect("screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    page.timeout = std::time::Duration::from_millis(200);
    let failure = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| page.wait_for("#missing")))
        .expect_err("no #missing on the page");
    let message = failure.downcast_ref::<String>().expect("panic message");
    assert!(message.contains("#missing") && message.contains("at about:blank"), "{message}");
    assert!(message.contains("HTML:") && message.contains(r#"<button id="go""#), "{message}");
}
