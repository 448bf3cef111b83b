//! The first-party `crm` plugin end to end, against a CRM on 127.0.0.1 that
//! serves the small JSON API documented in `plugins/crm/README.md`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Server, workdir};
use crate::plugin_kit::{FakeProvider, Received, eventually};

/// A CRM that knows one contact, `ann@example.com`, and stores activities;
/// with `fail_first_lookup` it answers the first lookup 503.
fn crm(fail_first_lookup: bool) -> FakeProvider {
    let failed = AtomicBool::new(!fail_first_lookup);
    FakeProvider::start_with(move |request_line, _| {
        if request_line.starts_with("GET /api/contacts?") && !failed.swap(true, Ordering::SeqCst) {
            (503, json!({"error": "busy"}).to_string())
        } else if request_line.starts_with("GET /api/contacts?email=ann%40example.com ") {
            let contact = json!({"name": "Ann Example", "company": "ACME", "tier": "enterprise",
                "attributes": {"plan": "gold", "seats": 40}});
            (200, json!({"contacts": [contact]}).to_string())
        } else if request_line.starts_with("GET /api/contacts?") {
            (200, json!({"contacts": []}).to_string())
        } else if request_line.starts_with("POST /api/activities ") {
            (201, "{}".to_owned())
        } else {
            (404, json!({"error": "no such endpoint"}).to_string())
        }
    })
}

fn config(crm: &FakeProvider) -> String {
    format!(
        "[plugins.crm]\napi_url = \"http://{}/api\"\napi_key = \"crm-key\"\nallowed_hosts = [\"127.0.0.1\"]\n",
        crm.addr
    )
}

fn activities(crm: &FakeProvider) -> Vec<Received> {
    crm.accepted().into_iter().filter(|r| r.request_line.starts_with("POST /api/activities")).collect()
}

fn customer(server: &Server, id: &str) -> Value {
    server.get(&format!("/api/v1/customers/{id}")).1
}

#[test]
fn a_slow_crm_enriches_new_customers_later_without_slowing_case_creation() {
    let dir = workdir();
    let crm = crm(true);
    crm.set_delay(Duration::from_secs(2));
    let server = Server::start_with(dir.path(), &config(&crm));
    assert_eq!(
        server.get("/api/v1/admin/plugins").1["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "crm")
            .map(|p| p["status"].clone()),
        Some(json!("running"))
    );

    // The CRM takes 2 s per request; creating the case does not wait for it.
    let started = Instant::now();
    let case = server.create_case("Upgrade our plan", "Ann@Example.com", "api");
    assert!(started.elapsed() < Duration::from_millis(1500), "creation waited for the CRM: {:?}", started.elapsed());
    let id = case["customer_id"].as_str().unwrap().to_owned();
    assert_eq!(customer(&server, &id)["tier"], Value::Null, "not enriched yet");

    // The first lookup fails (503) and is retried; then the CRM's data arrives.
    assert!(
        eventually(30, || customer(&server, &id)["tier"] == "enterprise"),
        "{}\n{}",
        customer(&server, &id),
        server.log_text()
    );
    let profile = customer(&server, &id);
    assert_eq!(profile["name"], "Ann Example", "{profile}");
    assert_eq!(profile["attributes"]["company"], "ACME", "{profile}");
    assert_eq!(profile["attributes"]["plan"], "gold", "{profile}");
    assert_eq!(profile["attributes"]["seats"], 40, "{profile}");
    let lookups: Vec<Received> =
        crm.received.lock().unwrap().iter().filter(|r| r.request_line.starts_with("GET")).cloned().collect();
    assert_eq!(lookups.iter().map(|r| r.status).collect::<Vec<_>>(), [503, 200], "{lookups:?}");
    assert_eq!(lookups[1].header("authorization"), Some("Bearer crm-key"));
    let (_, timeline) = server.get(&format!("/api/v1/customers/{id}/events"));
    let enriched: Vec<&Value> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "customer_updated" && e["actor"].as_str().unwrap_or("").starts_with("plugin:crm@"))
        .collect();
    assert_eq!(enriched.len(), 1, "{timeline}");
    assert_eq!(enriched[0]["data"]["tier"], "enterprise");
}

#[test]
fn case_milestones_are_synced_to_the_crm_as_activities() {
    let dir = workdir();
    let crm = crm(false);
    let server = Server::start_with(dir.path(), &config(&crm));
    let case = server.create_case("Where is my order?", "ann@example.com", "api");
    let case_id = case["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/cases/{case_id}");

    // Answered (open), solved, then rated: created, solved and CSAT reach the CRM, once each.
    let (status, body) = server.post(&format!("{path}/messages"), json!({"type": "reply", "body": "Shipped today"}));
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.patch(&path, json!({"status": "solved"}));
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.post(&format!("{path}/csat"), json!({"score": 5, "comment": "Fast!"}));
    assert!(status == 200 || status == 201, "{body}");
    // Done once the outbox is empty: unsolved status changes are not synced,
    // and nothing is sent twice.
    let drained = || activities(&crm).len() >= 3 && server.get("/api/v1/admin/outbox").1["pending"] == 0;
    assert!(eventually(30, drained), "{:?}\n{}", activities(&crm), server.log_text());
    let sent = activities(&crm);
    let types: Vec<String> = sent.iter().map(|r| r.json()["type"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types, ["case_created", "status_changed", "csat_received"], "{sent:?}");
    for activity in &sent {
        let body = activity.json();
        assert_eq!(body["email"], "ann@example.com");
        assert_eq!(body["case_id"], case_id.as_str());
        assert_eq!(activity.header("idempotency-key"), body["event_id"].as_str(), "keyed by event id");
    }
    assert_eq!(sent[1].json()["data"]["to"], "solved");
    assert_eq!(sent[2].json()["data"]["score"], 5, "{:?}", sent[2].body);
    let (_, events) = server.get(&format!("{path}/events"));
    let ids: Vec<&str> = sent.iter().filter_map(|r| r.header("idempotency-key")).collect();
    for id in ids {
        assert!(events["events"].as_array().unwrap().iter().any(|e| e["id"] == id), "{id} is a real event");
    }
}
