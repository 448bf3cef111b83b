//! Bad input gets its documented status and code, writes nothing, and the
//! server keeps serving.

use serde_json::{Value, json};

use crate::harness::{Server, workdir};

/// Everything a client can see of the stored state.
fn snapshot(server: &Server) -> Value {
    let (_, cases) = server.get("/api/v1/cases?limit=200");
    let mut events = Vec::new();
    for case in cases["cases"].as_array().unwrap() {
        let (_, e) = server.get(&format!("/api/v1/cases/{}/events", case["id"].as_str().unwrap()));
        events.push(e);
    }
    json!({"cases": cases, "events": events})
}

#[test]
fn bad_requests_get_clear_errors_and_write_nothing() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let case = server.create_case("Existing", "ann@example.com", "api");
    let id = case["id"].as_str().unwrap().to_owned();
    let case_path = format!("/api/v1/cases/{id}");
    assert_eq!(server.post(&format!("{case_path}/messages"), json!({"type": "reply", "body": "on it"})).0, 201);
    let before = snapshot(&server);

    let expect = |what: &str, (status, body): (u16, Value), want_status: u16, want_code: &str| {
        assert_eq!(status, want_status, "{what}: {body}");
        assert_eq!(body["error"]["code"], want_code, "{what}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
    };

    expect(
        "malformed JSON",
        server.post_raw("/api/v1/cases", "application/json", b"{\"subject\": ".to_vec()),
        400,
        "malformed_json",
    );
    expect(
        "not JSON at all",
        server.post_raw("/api/v1/cases", "text/plain", b"hello".to_vec()),
        415,
        "unsupported_media_type",
    );
    expect(
        "wrong type",
        server.post("/api/v1/cases", json!({"subject": 42, "customer": {"email": "x@example.com"}})),
        400,
        "invalid_body",
    );
    expect(
        "unknown field",
        server
            .post("/api/v1/cases", json!({"subject": "s", "customer": {"email": "x@example.com"}, "priorty": "high"})),
        400,
        "invalid_body",
    );
    expect(
        "bad enum value",
        server.post(
            "/api/v1/cases",
            json!({"subject": "s", "customer": {"email": "x@example.com"}, "priority": "critical"}),
        ),
        400,
        "invalid_body",
    );
    expect(
        "bad email",
        server.post("/api/v1/cases", json!({"subject": "s", "customer": {"email": "not-an-address"}})),
        400,
        "invalid_input",
    );
    expect(
        "empty subject",
        server.post("/api/v1/cases", json!({"subject": " ", "customer": {"email": "x@example.com"}})),
        400,
        "invalid_input",
    );
    expect(
        "no identity",
        server.post("/api/v1/cases", json!({"subject": "s", "customer": {"name": "Nobody"}})),
        400,
        "invalid_input",
    );
    expect("bad status", server.patch(&case_path, json!({"status": "done"})), 400, "invalid_body");
    expect("status back to new", server.patch(&case_path, json!({"status": "new"})), 409, "illegal_transition");
    expect(
        "bad message type",
        server.post(&format!("{case_path}/messages"), json!({"type": "sms", "body": "x"})),
        400,
        "invalid_body",
    );
    expect(
        "empty message",
        server.post(&format!("{case_path}/messages"), json!({"type": "reply", "body": ""})),
        400,
        "invalid_input",
    );
    expect("bad tag", server.patch(&case_path, json!({"tags": {"add": ["has space"]}})), 400, "invalid_input");
    expect("unknown case", server.get("/api/v1/cases/999999"), 404, "not_found");
    expect("non-numeric id", server.get("/api/v1/cases/abc"), 404, "not_found");
    expect("unknown case patch", server.patch("/api/v1/cases/999999", json!({"priority": "high"})), 404, "not_found");
    expect(
        "unknown case message",
        server.post("/api/v1/cases/999999/messages", json!({"type": "customer", "body": "x"})),
        404,
        "not_found",
    );
    expect("unknown customer", server.get("/api/v1/customers/999999"), 404, "not_found");
    expect(
        "case for unknown customer id",
        server.post("/api/v1/cases", json!({"subject": "s", "customer": {"id": "999999"}})),
        404,
        "not_found",
    );
    expect("unknown route", server.get("/api/v1/nothing-here"), 404, "not_found");
    expect("bad list filter", server.get("/api/v1/cases?status=done"), 400, "invalid_query");
    expect("bad cursor", server.get("/api/v1/cases?cursor=zzz"), 400, "invalid_query");
    expect("limit too large", server.get("/api/v1/cases?limit=100000"), 400, "invalid_query");

    let mut big =
        b"{\"subject\": \"big\", \"customer\": {\"email\": \"x@example.com\"}, \"message\": {\"body\": \"".to_vec();
    big.extend(std::iter::repeat_n(b'a', 3 * 1024 * 1024));
    big.extend(b"\"}}");
    expect("3 MiB body", server.post_raw("/api/v1/cases", "application/json", big), 413, "payload_too_large");

    expect("missing token", server.call_as(None, "GET", "/api/v1/cases", None), 401, "unauthorized");
    expect("wrong token", server.call_as(Some("fd_wrong"), "GET", &case_path, None), 401, "unauthorized");
    expect(
        "missing token on write",
        server.call_as(
            None,
            "POST",
            "/api/v1/cases",
            Some(&json!({"subject": "s", "customer": {"email": "x@example.com"}})),
        ),
        401,
        "unauthorized",
    );
    let integration = server.create_token("crm-sync", "integration");
    expect(
        "integration may not reply",
        server.call_as(
            Some(&integration),
            "POST",
            &format!("{case_path}/messages"),
            Some(&json!({"type": "reply", "body": "x"})),
        ),
        403,
        "forbidden",
    );
    expect(
        "integration may not patch",
        server.call_as(Some(&integration), "PATCH", &case_path, Some(&json!({"status": "solved"}))),
        403,
        "forbidden",
    );
    let agent = server.create_token("dana", "agent");
    expect(
        "agent may not create tokens",
        server.call_as(Some(&agent), "POST", "/api/v1/tokens", Some(&json!({"name": "x", "role": "admin"}))),
        403,
        "forbidden",
    );

    assert_eq!(snapshot(&server), before, "nothing was written by refused requests");
    let (status, health) = server.get("/healthz");
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    server.create_case("Still serving", "ann@example.com", "api");
}
