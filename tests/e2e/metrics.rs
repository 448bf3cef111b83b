//! `GET /api/v1/metrics`.

use serde_json::json;

use crate::harness::{Server, workdir};

const CONFIG: &str = r#"
[[sla.policies]]
name = "standard"
targets.normal = { first_response = "1h", resolution = "1d" }
"#;

#[test]
fn metrics_report_resolution_sla_csat_and_backlog() {
    let dir = workdir();
    let server = Server::start_with(dir.path(), CONFIG);
    let ids: Vec<String> = (0..4)
        .map(|i| {
            server.create_case(&format!("case {i}"), &format!("m{i}@example.com"), "api")["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let path = |i: usize| format!("/api/v1/cases/{}", ids[i]);
    let reply = |i: usize| {
        assert_eq!(server.post(&format!("{}/messages", path(i)), json!({"type": "reply", "body": "hi"})).0, 201)
    };

    // Case 0: one reply, solved: first contact. Case 1: two replies and a reopen.
    reply(0);
    server.patch(&path(0), json!({"status": "solved"}));
    reply(1);
    reply(1);
    server.patch(&path(1), json!({"status": "solved"}));
    server.post(&format!("{}/messages", path(1)), json!({"type": "customer", "body": "not fixed"}));
    server.patch(&path(1), json!({"status": "solved"}));
    server.post(&format!("{}/csat", path(0)), json!({"score": 5}));
    server.post(&format!("{}/csat", path(1)), json!({"score": 2}));
    server.post(&format!("{}/csat", path(1)), json!({"score": 3, "comment": "changed my mind"}));
    // Case 2 waits on the customer; case 3 is untouched.
    reply(2);
    server.patch(&path(2), json!({"status": "pending"}));

    let (status, metrics) = server.get("/api/v1/metrics");
    assert_eq!(status, 200, "{metrics}");
    assert_eq!(metrics["first_contact_resolution"], json!({"rate": 0.5, "hits": 1, "of": 2}));
    assert_eq!(metrics["time_to_resolution"]["count"], 2);
    assert!(metrics["time_to_resolution"]["median_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(metrics["sla_compliance"]["first_response"]["met"], 3);
    assert_eq!(metrics["sla_compliance"]["first_response"]["breached"], 0);
    assert_eq!(metrics["sla_compliance"]["resolution"]["met"], 3, "case 1 met twice, case 0 once");
    assert_eq!(metrics["csat"], json!({"count": 2, "average": 4.0}), "a changed rating replaces the old one");
    assert_eq!(metrics["backlog"]["total"], 2);
    assert_eq!(metrics["backlog"]["by_status"], json!({"new": 1, "open": 0, "pending": 1, "on_hold": 0}));
    assert_eq!(metrics["backlog"]["by_age"]["under_1d"], 2);

    // A range in the past has nothing in it; a bad range is a 400.
    let (_, empty) = server.get("/api/v1/metrics?from=2020-01-01T00:00:00Z&to=2020-02-01T00:00:00Z");
    assert_eq!(empty["time_to_resolution"]["count"], 0);
    assert!(empty["csat"]["average"].is_null());
    let (status, bad) = server.get("/api/v1/metrics?from=2020-02-01T00:00:00Z&to=2020-01-01T00:00:00Z");
    assert_eq!((status, bad["error"]["code"].as_str()), (400, Some("invalid_query")));

    // Agents may read metrics; integrations may not.
    let integration = server.create_token("bot", "integration");
    assert_eq!(server.call_as(Some(&integration), "GET", "/api/v1/metrics", None).0, 403);
}
