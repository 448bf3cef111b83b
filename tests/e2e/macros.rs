//! Macros as a support team uses them: a lead writes one, an agent applies
//! it in one step (a reply with the customer's name filled in, a status, an
//! assignee and a tag, all caused by one `macro_applied` event), a double
//! click applies it once, and a macro that would take someone else's case
//! is refused without writing anything. The console's page and picker do
//! the same through a signed-in session.

use serde_json::{Value, json};

use crate::harness::{Server, workdir};

fn ask_for_order() -> Value {
    json!({
        "name": "ask-order",
        "title": "Ask for the order number",
        "message": {"kind": "reply", "body": "Hi {{customer.first_name | there}}, could you send the order number for case {{case.id}}?"},
        "status": "pending",
        "assignee": "@me",
        "add_tags": ["needs-order"]
    })
}

fn events(server: &Server, id: &str) -> Vec<Value> {
    let (status, body) = server.get(&format!("/api/v1/cases/{id}/events?limit=500"));
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

#[test]
fn a_lead_writes_a_macro_and_an_agent_applies_it_once_in_one_step() {
    let dir = workdir();
    let server = Server::start(dir.path());
    server.create_agent("sam", "agent", &["support"]);
    server.create_agent("bea", "agent", &["support"]);
    server.create_agent("lea", "lead", &["support"]);
    let lead = server.create_token("lea", "lead");
    let sam = server.create_token("sam", "agent");

    let (status, body) = server.call_as(Some(&sam), "POST", "/api/v1/macros", Some(&ask_for_order()));
    assert_eq!(status, 403, "agents do not write macros: {body}");
    let mut typo = ask_for_order();
    typo["message"]["body"] = json!("Hi {{customer.frist_name}}");
    let (status, body) = server.call_as(Some(&lead), "POST", "/api/v1/macros", Some(&typo));
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("customer.frist_name"), "names the typo: {body}");
    let (status, written) = server.call_as(Some(&lead), "POST", "/api/v1/macros", Some(&ask_for_order()));
    assert_eq!(status, 201, "{written}");
    assert_eq!((written["created_by"].as_str(), written["assignee"].as_str()), (Some("lea"), Some("@me")));
    let (status, _) = server.call_as(Some(&lead), "POST", "/api/v1/macros", Some(&ask_for_order()));
    assert_eq!(status, 409, "the name is taken");
    let (status, listed) = server.call_as(Some(&sam), "GET", "/api/v1/macros", None);
    assert_eq!((status, listed["macros"][0]["title"].as_str()), (200, Some("Ask for the order number")), "{listed}");

    let (status, case) = server.post(
        "/api/v1/cases",
        json!({"subject": "Late parcel", "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
               "message": {"body": "Where is it?"}}),
    );
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_str().unwrap().to_owned();
    let before = events(&server, &id).len();
    let apply = json!({"macro": "ask-order"});
    let path = format!("/api/v1/cases/{id}/macros");
    let (status, applied) = server.post_with_token(&sam, &path, &[("Idempotency-Key", "click-1")], &apply);
    assert_eq!(status, 201, "{applied}");
    assert_eq!(applied["case"]["status"], "pending", "{applied}");
    assert_eq!(applied["case"]["assignee"], "sam");
    assert!(applied["case"]["tags"].as_array().unwrap().contains(&json!("needs-order")));
    let written = applied["events"].as_array().unwrap();
    assert_eq!(written[0]["type"], "macro_applied");
    assert_eq!(written[0]["actor"], "agent:sam");
    assert_eq!(written[0]["data"]["name"], "ask-order");
    let reply = written.iter().find(|e| e["type"] == "reply_sent").expect("a reply");
    assert_eq!(reply["data"]["body"], format!("Hi Ada, could you send the order number for case {id}?"));
    for event in written.iter().skip(1).filter(|e| e["actor"] == "agent:sam") {
        assert_eq!(event["caused_by"], written[0]["id"], "caused by the macro: {event}");
    }
    assert_eq!(events(&server, &id).len(), before + written.len(), "all of it in the timeline");

    // A double click: the same key is answered as the first, nothing is sent again.
    let (status, again) = server.post_with_token(&sam, &path, &[("Idempotency-Key", "click-1")], &apply);
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["events"], applied["events"]);
    assert_eq!(events(&server, &id).len(), before + written.len(), "applied once");

    // A case someone else holds: an agent's macro may not take it.
    let other = server.create_case("Broken lid", "kim@example.com", "api");
    let other_id = other["id"].as_str().unwrap().to_owned();
    let (status, body) = server.patch(&format!("/api/v1/cases/{other_id}"), json!({"assignee": "bea"}));
    assert_eq!(status, 200, "{body}");
    let before = events(&server, &other_id).len();
    let (status, body) = server.call_as(Some(&sam), "POST", &format!("/api/v1/cases/{other_id}/macros"), Some(&apply));
    assert_eq!(status, 403, "{body}");
    assert_eq!(events(&server, &other_id).len(), before, "a refused macro writes nothing");
    let (status, body) = server.call_as(Some(&lead), "POST", &format!("/api/v1/cases/{other_id}/macros"), Some(&apply));
    assert_eq!((status, body["case"]["assignee"].as_str()), (201, Some("lea")), "a lead may: {body}");

    // Edited and deleted by a lead; the cases keep their history.
    let mut edited = ask_for_order();
    edited["title"] = json!("Ask which order");
    let (status, body) = server.call_as(Some(&lead), "PUT", "/api/v1/macros/ask-order", Some(&edited));
    assert_eq!((status, body["title"].as_str()), (200, Some("Ask which order")), "{body}");
    let (status, _) = server.call_as(Some(&lead), "DELETE", "/api/v1/macros/ask-order", None);
    assert_eq!(status, 204);
    let (status, body) = server.call_as(Some(&sam), "POST", &path, Some(&apply));
    assert_eq!(status, 404, "{body}");
    assert!(events(&server, &id).iter().any(|e| e["type"] == "macro_applied"), "history kept");
}

#[test]
fn a_macro_on_a_closed_case_is_refused_whole() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let (status, body) = server.post(
        "/api/v1/macros",
        json!({"name": "thanks", "title": "Thanks", "message": {"kind": "reply", "body": "Thanks!"}, "add_tags": ["thanked"]}),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.post("/api/v1/macros", json!({"name": "nothing", "title": "Does nothing"}));
    assert_eq!(status, 400, "a macro must do something: {body}");
    let case = server.create_case("Done", "zed@example.com", "api");
    let id = case["id"].as_str().unwrap();
    for status in ["solved", "closed"] {
        let (code, body) = server.patch(&format!("/api/v1/cases/{id}"), json!({"status": status}));
        assert_eq!(code, 200, "{body}");
    }
    let before = events(&server, id).len();
    let (status, body) = server.post(&format!("/api/v1/cases/{id}/macros"), json!({"macro": "thanks"}));
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("illegal_transition")), "{body}");
    assert_eq!(events(&server, id).len(), before);
}

#[test]
fn in_the_console_a_lead_writes_a_macro_and_an_agent_applies_it_by_keyboard() {
    use crate::browser::Browser;
    let Some(browser) = Browser::start() else { return };
    let dir = workdir();
    let server = Server::start(dir.path());
    server.create_agent("lea", "lead", &["support"]);
    server.create_agent("sam", "agent", &["support"]);
    let base = server.base.clone();
    let sign_in = |page: &crate::browser::Page, account: &str| {
        page.goto(&format!("{base}/login"));
        page.fill("#account", account);
        page.fill("#password", crate::harness::PASSWORD);
        page.click("button[type=submit]");
        page.wait_for("#inbox");
    };

    let lea = browser.session();
    sign_in(&lea, "lea@example.com");
    lea.goto(&format!("{base}/macros"));
    lea.fill("#macro-name", "solve-thanks");
    lea.fill("#macro-title", "Thank and solve <quickly>");
    lea.execute("document.getElementById('macro-kind').value = 'reply'", Vec::new());
    lea.fill("#macro-body", "Thanks {{customer.first_name | there}}, this is sorted.");
    lea.execute("document.getElementById('macro-status').value = 'solved'", Vec::new());
    lea.fill("#macro-add-tags", "thanked");
    lea.click("#macro-form button[type=submit]");
    lea.wait_for_text("#macro-rows", "Thank and solve <quickly>");

    let (status, case) = server.post(
        "/api/v1/cases",
        json!({"subject": "Refund", "customer": {"email": "ada@example.com", "name": "Ada Lovelace"}, "message": {"body": "please"}}),
    );
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_str().unwrap().to_owned();
    let sam = browser.session();
    sign_in(&sam, "sam@example.com");
    sam.goto(&format!("{base}/cases/{id}"));
    sam.wait_for("#macro-picker");
    sam.blur();
    sam.press("m");
    sam.press("\u{e007}");
    sam.wait_for_text("#macro-result", "Applied Thank and solve <quickly>.");
    sam.wait_for_text("#timeline", "Thanks Ada, this is sorted.");
    sam.wait_for_text("#timeline", "applied the macro");
    let (_, now) = server.get(&format!("/api/v1/cases/{id}"));
    assert_eq!(now["status"], "solved", "{now}");
    assert!(now["tags"].as_array().unwrap().contains(&json!("thanked")), "{now}");
}
