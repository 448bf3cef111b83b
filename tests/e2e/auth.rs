//! Tokens and roles.

use serde_json::json;

use crate::harness::{Server, workdir};

#[test]
fn roles_are_enforced_and_actors_name_the_token() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let agent = server.create_token("dana", "agent");
    let integration = server.create_token("webshop", "integration");

    let body = json!({"subject": "From the shop", "customer": {"email": "g@example.com"}, "channel": "web"});
    let (status, case) = server.call_as(Some(&integration), "POST", "/api/v1/cases", Some(&body));
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_str().unwrap();
    let (status, reply) = server.call_as(
        Some(&agent),
        "POST",
        &format!("/api/v1/cases/{id}/messages"),
        Some(&json!({"type": "reply", "body": "hi"})),
    );
    assert_eq!(status, 201, "{reply}");

    let (_, events) = server.call_as(Some(&agent), "GET", &format!("/api/v1/cases/{id}/events"), None);
    let actors: Vec<&str> = events["events"].as_array().unwrap().iter().map(|e| e["actor"].as_str().unwrap()).collect();
    assert_eq!(actors, ["token:webshop", "agent:dana", "system"]);

    let (status, taken) = server.post("/api/v1/tokens", json!({"name": "dana", "role": "agent"}));
    assert_eq!((status, taken["error"]["code"].as_str()), (409, Some("conflict")));
    let (status, _) = server.post("/api/v1/tokens", json!({"name": "x", "role": "root"}));
    assert_eq!(status, 400);
}

#[cfg(unix)]
#[test]
fn first_start_writes_an_admin_token_readable_only_by_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = workdir();
    let server = Server::start(dir.path());
    let mode = std::fs::metadata(dir.path().join("data/admin.token")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(server.token.starts_with("fd_"));
    let first = server.token.clone();
    server.stop();
    // A restart keeps the existing token instead of minting another.
    let again = Server::start(dir.path());
    assert_eq!(again.token, first);
    assert_eq!(again.get("/api/v1/cases").0, 200);
}
