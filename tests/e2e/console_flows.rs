//! An agent's day in the console, in a real browser against the real
//! binary: sign in, save a view, a new case appears without a reload (and
//! in the saved view's count), open it, reply
//! with the keyboard, the SLA is met, a second agent is seen on the case,
//! a reply to a changed case asks first, hostile text stays text, and a
//! request without the CSRF token is refused.

use serde_json::{Value, json};

use crate::browser::{Browser, CTRL_ENTER, Page};
use crate::harness::{Server, workdir};

/// A first-reply target long enough to still run while the test works.
const CONFIG: &str = r#"
[[sla.policies]]
name = "standard"
calendar = "24x7"
targets.normal = { first_response = "1h", resolution = "1d" }
"#;

const PASSWORD: &str = "correct horse battery staple";

fn add_agent(server: &Server, name: &str, role: &str) {
    let (status, body) = server.post(
        "/api/v1/agents",
        json!({"name": name, "email": format!("{name}@acme.example"), "role": role, "teams": ["support"], "password": PASSWORD}),
    );
    assert_eq!(status, 201, "{body}");
}

fn sign_in(page: &Page, base: &str, account: &str) {
    page.goto(&format!("{base}/login"));
    page.fill("#account", account);
    page.fill("#password", PASSWORD);
    page.click("button[type=submit]");
    page.wait_for("#inbox");
}

/// Saves a screenshot for the README when `FRONTDESK_SCREENSHOTS` names a
/// directory.
fn screenshot(page: &Page, name: &str) {
    if let Some(dir) = std::env::var_os("FRONTDESK_SCREENSHOTS") {
        page.screenshot(&std::path::Path::new(&dir).join(name));
    }
}

#[test]
fn an_agent_works_a_case_live_in_the_browser() {
    let Some(browser) = Browser::start() else { return };
    let dir = workdir();
    let server = Server::start_with(dir.path(), CONFIG);
    add_agent(&server, "sam", "agent");
    add_agent(&server, "sue", "agent");
    let base = server.base.clone();

    let sam = browser.session();
    sign_in(&sam, &base, "sam@acme.example");
    let cookie = sam.cookie("fd_session").expect("the session cookie");
    assert!(cookie.http_only, "{cookie:?}");
    assert_eq!(cookie.same_site.as_deref(), Some("Strict"));
    // Save the queue as a view from the keyboard-reachable form; it opens.
    sam.goto(&format!("{base}/?view=unsolved"));
    sam.click("details.save-view summary");
    sam.fill("#view-name", "Everything open");
    sam.click("details.save-view button[type=submit]");
    sam.wait_for_text("#main h1", "Everything open");
    sam.goto(&format!("{base}/?view=unsolved"));
    sam.wait_for("#inbox");
    assert_eq!(sam.text("[data-count=unsolved]"), "0");
    assert_eq!(sam.text("[data-count='saved:1']"), "0");
    sam.js("window.notReloaded = true");

    // A customer writes in; the inbox shows it without a reload.
    let hostile = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\"> my printer";
    let (status, case) = server.post(
        "/api/v1/cases",
        json!({"subject": "Printer <b>on fire</b>", "customer": {"email": "ann@example.com", "name": "Ann"},
               "message": {"body": hostile}}),
    );
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_str().expect("case id").to_owned();
    sam.wait_for_text("table.cases", "Printer <b>on fire</b>");
    sam.wait_for_text("[data-count=unsolved]", "1");
    sam.wait_for_text("[data-count='saved:1']", "1");
    assert_eq!(sam.js("return window.notReloaded === true"), Value::Bool(true), "the page was not reloaded");
    screenshot(&sam, "inbox.png");

    // Open it: the hostile body is shown as text and never ran.
    sam.click(&format!("a[href^='/cases/{id}']"));
    sam.wait_for("#timeline");
    sam.wait_for_text("#timeline", "<script>window.pwned = 1</script>");
    assert_eq!(sam.js("return window.pwned === undefined"), Value::Bool(true), "customer text ran as script");
    assert!(sam.text("#case-head").contains("First reply: due"), "{}", sam.text("#case-head"));

    // A second agent opens the same case: both see each other.
    let sue = browser.session();
    sign_in(&sue, &base, "sue");
    sue.goto(&format!("{base}/cases/{id}"));
    sue.wait_for("#timeline");
    sam.wait_for_text("#presence", "sue is viewing this case");
    sue.wait_for_text("#presence", "sam is viewing this case");
    sue.fill("#message-body", "Let me check the toner first");
    sam.wait_for_text("#presence", "sue is typing a reply");

    // Sam replies with the keyboard: r, type, Ctrl+Enter.
    sam.blur();
    sam.press("r");
    assert_eq!(sam.js("return document.activeElement.id"), "message-body");
    sam.press("On our way.");
    sam.press(CTRL_ENTER);
    sam.wait_for_text("#composer-alert", "Reply sent.");
    sam.wait_for_text("#timeline", "On our way.");
    sam.wait_for_text("#case-head", "First reply: met");
    screenshot(&sam, "case.png");

    // Sue's reply was written before Sam's: she is asked before it goes.
    sue.click("#composer button[type=submit]");
    sue.wait_for_text("#composer-alert", "changed while you were writing");
    sue.wait_for_text("#composer-alert", "sam replied");
    sue.click("#composer-alert button[name=confirm]");
    sue.wait_for_text("#composer-alert", "Reply sent.");
    sam.wait_for_text("#timeline", "Let me check the toner first");

    // A request without the session's CSRF token is refused, and changes nothing.
    let refused = sam.js(&format!(
        "return fetch('/cases/{id}/update', {{method: 'POST', body: new URLSearchParams({{status: 'pending'}})}}).then(r => r.status)"
    ));
    assert_eq!(refused, json!(403));
    let (_, case) = server.get(&format!("/api/v1/cases/{id}"));
    assert_eq!(case["status"], "open", "{case}");

    // The shortcut list is one key away.
    sam.blur();
    sam.press("?");
    sam.wait_for_text("#shortcuts", "assign to me");

    // Signing out ends the session on the server: the old cookie is dead.
    sam.press(crate::browser::ESCAPE);
    sam.click("header.top button.link");
    sam.wait_for("#account");
    let old = ureq::get(&format!("{base}/"))
        .header("Cookie", &format!("fd_session={}", cookie.value))
        .config()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .call()
        .expect("GET / with the old cookie");
    assert_eq!(old.status().as_u16(), 303, "a signed-out session must not open the inbox");
}
