//! The case lifecycle through the API. Auto-close waits for time, so it runs
//! in process on a moved clock ([`TestApp`]).

use serde_json::json;

use crate::app::TestApp;
use crate::harness::{Server, workdir};

#[test]
fn case_walks_its_whole_lifecycle_and_closed_is_final() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let case = server.create_case("Printer on fire", "ann@example.com", "api");
    let id = case["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/cases/{id}");
    assert_eq!(case["status"], "new");
    assert!(case["first_response_at"].is_null());

    let (status, reply) = server.post(&format!("{path}/messages"), json!({"type": "reply", "body": "Looking into it"}));
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["case"]["status"], "open");
    assert!(reply["case"]["first_response_at"].is_string());

    let (status, solved) = server.patch(&path, json!({"status": "solved"}));
    assert_eq!(status, 200, "{solved}");
    assert_eq!(solved["status"], "solved");
    assert!(solved["solved_at"].is_string());

    let (status, reopened) =
        server.post(&format!("{path}/messages"), json!({"type": "customer", "body": "Still smoking"}));
    assert_eq!(status, 201);
    assert_eq!(reopened["case"]["status"], "open");
    assert_eq!(reopened["case"]["reopen_count"], 1);
    assert!(reopened["case"]["solved_at"].is_null());
    let status_event = &reopened["events"][1];
    assert_eq!(status_event["type"], "status_changed");
    assert_eq!(status_event["actor"], "system");
    assert_eq!(status_event["caused_by"], reopened["events"][0]["id"], "the reopen names the message as its cause");

    assert_eq!(server.patch(&path, json!({"status": "solved"})).0, 200);
    let (status, closed) = server.patch(&path, json!({"status": "closed"}));
    assert_eq!(status, 200);
    assert_eq!(closed["status"], "closed");

    for change in [
        json!({"status": "open"}),
        json!({"status": "solved"}),
        json!({"status": "closed"}),
        json!({"priority": "high"}),
    ] {
        let (status, body) = server.patch(&path, change.clone());
        assert_eq!(status, 409, "{change} -> {body}");
        assert_eq!(body["error"]["code"], "illegal_transition");
    }
    let (status, body) = server.post(&format!("{path}/messages"), json!({"type": "reply", "body": "late"}));
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("illegal_transition")));
    let (_, after) = server.get(&path);
    assert_eq!(after, closed, "refused changes leave the case as it was");

    let (status, follow) =
        server.post(&format!("{path}/messages"), json!({"type": "customer", "body": "It is on fire again"}));
    assert_eq!(status, 201, "{follow}");
    assert_eq!(follow["follow_up"], true);
    let new_case = &follow["case"];
    assert_ne!(new_case["id"].as_str().unwrap(), id);
    assert_eq!(new_case["status"], "new");
    assert_eq!(new_case["linked_case_ids"], json!([id]));
    assert_eq!(new_case["customer_id"], case["customer_id"]);
    let (_, still_closed) = server.get(&path);
    assert_eq!(still_closed["status"], "closed");

    let (_, events) = server.get(&format!("{path}/events"));
    let types: Vec<&str> = events["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "case_created",
            "message_received",
            "reply_sent",
            "status_changed",
            "status_changed",
            "message_received",
            "status_changed",
            "status_changed",
            "status_changed"
        ]
    );
    assert!(events["events"].as_array().unwrap().iter().all(|e| e["actor"].is_string() && e["at"].is_string()));
}

#[test]
fn solved_cases_close_by_themselves_after_the_configured_time() {
    let server = TestApp::start_with("[cases]\nauto_close_after = \"4d\"\n");
    let case = server.create_case("Quick one", "bob@example.com", "api");
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    assert_eq!(server.patch(&path, json!({"status": "solved"})).0, 200);
    server.advance(jiff::SignedDuration::from_hours(4 * 24));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, case) = server.get(&path);
        if case["status"] == "closed" {
            assert!(case["closed_at"].is_string());
            break;
        }
        assert!(std::time::Instant::now() < deadline, "case did not auto-close: {case}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (_, events) = server.get(&format!("{path}/events"));
    let last = events["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["data"], json!({"from": "solved", "to": "closed"}));
    assert_eq!(last["actor"], "system");
}

#[test]
fn csat_is_accepted_only_once_the_case_is_solved() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let case = server.create_case("Rate me", "cara@example.com", "api");
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    let (status, body) = server.post(&format!("{path}/csat"), json!({"score": 5}));
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("illegal_transition")));
    server.patch(&path, json!({"status": "solved"}));
    let (status, body) = server.post(&format!("{path}/csat"), json!({"score": 6}));
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_input")));
    let (status, rated) = server.post(&format!("{path}/csat"), json!({"score": 4, "comment": "quick, thanks"}));
    assert_eq!(status, 200, "{rated}");
    assert_eq!(rated["csat"]["score"], 4);
    assert_eq!(rated["csat"]["comment"], "quick, thanks");
}

#[test]
fn patch_changes_fields_tags_team_and_assignee_and_lists_filter_by_them() {
    let dir = workdir();
    let server = Server::start(dir.path());
    server.create_agent("dana", "agent", &["billing"]);
    let a = server.create_case("A", "a@example.com", "api");
    let b = server.create_case("B", "b@example.com", "api");
    let a_path = format!("/api/v1/cases/{}", a["id"].as_str().unwrap());
    let (status, patched) = server.patch(
        &a_path,
        json!({"priority": "urgent", "team": "billing", "assignee": "dana", "tags": {"add": ["vip", "refund"]}}),
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["tags"], json!(["refund", "vip"]));
    let (_, patched) = server.patch(&a_path, json!({"tags": {"remove": ["refund"]}, "assignee": null}));
    assert_eq!(patched["tags"], json!(["vip"]));
    assert!(patched["assignee"].is_null());

    let ids = |query: &str| -> Vec<String> {
        let (status, body) = server.get(&format!("/api/v1/cases?{query}"));
        assert_eq!(status, 200, "{body}");
        body["cases"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
    };
    let a_id = a["id"].as_str().unwrap().to_owned();
    let b_id = b["id"].as_str().unwrap().to_owned();
    assert_eq!(ids("tag=vip"), [a_id.as_str()]);
    assert_eq!(ids("team=billing&priority=urgent"), [a_id.as_str()]);
    assert_eq!(ids("priority=normal"), [b_id.as_str()]);
    assert_eq!(ids("status=new"), [b_id.as_str(), a_id.as_str()], "newest first");
    assert_eq!(ids(&format!("customer={}", b["customer_id"].as_str().unwrap())), [b_id.as_str()]);
    assert!(ids("assignee=dana").is_empty());

    let (_, first) = server.get("/api/v1/cases?limit=1");
    assert_eq!(first["cases"][0]["id"], b_id.as_str());
    let cursor = first["next_cursor"].as_str().expect("a second page").to_owned();
    let (_, second) = server.get(&format!("/api/v1/cases?limit=1&cursor={cursor}"));
    assert_eq!(second["cases"][0]["id"], a_id.as_str());
    assert!(second["next_cursor"].is_null());
}

#[test]
fn a_long_thread_opens_at_its_newest_events_and_pages_back() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let case = server.create_case("long", "long@example.com", "api");
    let id = case["id"].as_str().unwrap().to_owned();
    for n in 1..=5 {
        let (status, _) =
            server.post(&format!("/api/v1/cases/{id}/messages"), json!({"type": "note", "body": format!("note {n}")}));
        assert_eq!(status, 201);
    }
    let (_, all) = server.get(&format!("/api/v1/cases/{id}/events?limit=100"));
    let oldest_first: Vec<_> = all["events"].as_array().unwrap().iter().map(|e| e["id"].clone()).collect();
    let mut newest_first = Vec::new();
    let mut path = format!("/api/v1/cases/{id}/events?order=newest&limit=2");
    loop {
        let (status, page) = server.get(&path);
        assert_eq!(status, 200, "{page}");
        newest_first.extend(page["events"].as_array().unwrap().iter().map(|e| e["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/cases/{id}/events?order=newest&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(newest_first, oldest_first.iter().rev().cloned().collect::<Vec<_>>());
    assert_eq!(server.get(&format!("/api/v1/cases/{id}/events?order=sideways")).0, 400);
}
