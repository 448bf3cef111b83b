//! `Idempotency-Key` on case creation and on messages.

use serde_json::json;

use crate::harness::{Server, workdir};

#[test]
fn the_same_key_twice_yields_one_case_also_across_restarts() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let body = json!({"subject": "Charged twice", "customer": {"email": "hal@example.com"}, "message": {"body": "see invoice"}});
    let (first_status, first) = server.post_with("/api/v1/cases", &[("Idempotency-Key", "order-77")], &body);
    assert_eq!(first_status, 201, "{first}");
    let (second_status, second) = server.post_with("/api/v1/cases", &[("Idempotency-Key", "order-77")], &body);
    assert_eq!(second_status, 201);
    assert_eq!(second, first, "the replay is the first answer, verbatim");

    let (status, reused) = server.post_with(
        "/api/v1/cases",
        &[("Idempotency-Key", "order-77")],
        &json!({"subject": "Something else", "customer": {"email": "hal@example.com"}}),
    );
    assert_eq!((status, reused["error"]["code"].as_str()), (422, Some("idempotency_key_reused")));

    server.stop();
    let server = Server::start(dir.path());
    let (status, after_restart) = server.post_with("/api/v1/cases", &[("Idempotency-Key", "order-77")], &body);
    assert_eq!((status, &after_restart), (201, &first));
    let (_, list) = server.get("/api/v1/cases");
    assert_eq!(list["cases"].as_array().unwrap().len(), 1, "{list}");

    let (status, other) = server.post_with("/api/v1/cases", &[("Idempotency-Key", "order-78")], &body);
    assert_eq!(status, 201);
    assert_ne!(other["id"], first["id"], "another key is another case");
}

/// Before the one-door change the stored answer was the case before its
/// rules, so a replay showed a case the rules had not routed yet.
#[test]
fn a_replay_shows_the_case_as_its_rules_left_it() {
    let dir = workdir();
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    std::fs::write(
        dir.path().join("scripts/route.rhai"),
        r#"fn on_case_created(ticket, customer) { route_to("billing"); add_tag("money"); }"#,
    )
    .unwrap();
    let server = Server::start(dir.path());
    let body = json!({"subject": "Charged twice", "customer": {"email": "hal@example.com"}});
    let (_, first) = server.post_with("/api/v1/cases", &[("Idempotency-Key", "order-9")], &body);
    assert_eq!((first["team"].as_str(), first["tags"][0].as_str()), (Some("billing"), Some("money")), "{first}");
    let (status, replay) = server.post_with("/api/v1/cases", &[("Idempotency-Key", "order-9")], &body);
    assert_eq!((status, &replay), (201, &first), "the replay is the first answer, rules included");
}

/// A reply sent twice with one key (a double click, a retry after a lost
/// answer) is one reply: one event, one outbound delivery, and the same
/// answer, also after a restart; the key with another text is refused.
#[test]
fn a_message_sent_twice_with_one_key_is_sent_once() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let case = server.create_case("Broken", "kim@example.com", "api");
    let id = case["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/cases/{id}/messages");
    let reply = json!({"type": "reply", "body": "Fixed it."});
    let (status, first) = server.post_with(&path, &[("Idempotency-Key", "send-1")], &reply);
    assert_eq!(status, 201, "{first}");
    let (status, second) = server.post_with(&path, &[("Idempotency-Key", "send-1")], &reply);
    assert_eq!((status, &second), (201, &first), "the retry gets the first answer");
    let (status, reused) =
        server.post_with(&path, &[("Idempotency-Key", "send-1")], &json!({"type": "reply", "body": "Other text"}));
    assert_eq!((status, reused["error"]["code"].as_str()), (422, Some("idempotency_key_reused")));

    server.stop();
    let server = Server::start(dir.path());
    let (status, after) = server.post_with(&path, &[("Idempotency-Key", "send-1")], &reply);
    assert_eq!((status, &after), (201, &first));
    let (_, events) = server.get(&format!("/api/v1/cases/{id}/events"));
    let replies = events["events"].as_array().unwrap().iter().filter(|e| e["type"] == "reply_sent").count();
    assert_eq!(replies, 1, "{events}");
}
