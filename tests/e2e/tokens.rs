//! API tokens as an admin manages them: listed with their last use, revoked
//! (refused from the next request), and ending at their expiry.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Server, workdir};
use crate::plugin_kit::eventually;

fn listed(server: &Server, name: &str) -> Value {
    let (status, body) = server.get("/api/v1/tokens");
    assert_eq!(status, 200, "{body}");
    body["tokens"].as_array().unwrap().iter().find(|t| t["name"] == name).cloned().unwrap_or(Value::Null)
}

#[test]
fn a_revoked_token_is_refused_at_once_and_stays_listed() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let secret = server.create_token("crm-sync", "integration");
    let token = listed(&server, "crm-sync");
    assert_eq!((token["role"].as_str(), token["last_used_at"].is_null()), (Some("integration"), true), "{token}");
    assert!(token.get("hash").is_none(), "the hash is never shown: {token}");

    let (status, _) = server.call_as(Some(&secret), "GET", "/api/v1/cases", None);
    assert_eq!(status, 200);
    assert!(eventually(10, || !listed(&server, "crm-sync")["last_used_at"].is_null()), "its use is recorded");

    let (status, revoked) = server.call_as(Some(&server.token.clone()), "DELETE", "/api/v1/tokens/crm-sync", None);
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let (status, body) = server.call_as(Some(&secret), "GET", "/api/v1/cases", None);
    assert_eq!((status, body["error"]["message"].as_str()), (401, Some("token revoked")), "{body}");
    assert!(listed(&server, "crm-sync")["revoked_at"].is_string(), "kept in the list as revoked");

    let (status, _) = server.post("/api/v1/tokens", json!({"name": "crm-sync", "role": "agent"}));
    assert_eq!(status, 409, "a revoked token's name stays taken");
    let (status, body) = server.call_as(Some(&server.token.clone()), "DELETE", "/api/v1/tokens/nobody", None);
    assert_eq!(status, 404, "{body}");
    // Still refused after a restart: the revoke is stored, not only forgotten.
    drop(server);
    let server = Server::start(dir.path());
    assert_eq!(server.call_as(Some(&secret), "GET", "/api/v1/cases", None).0, 401);
}

#[test]
fn a_token_stops_working_at_its_expiry() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let (status, body) =
        server.post("/api/v1/tokens", json!({"name": "old", "role": "agent", "expires_at": "2020-01-01T00:00:00Z"}));
    assert_eq!(status, 400, "an expiry in the past is refused: {body}");
    let end = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    let (status, body) =
        server.post("/api/v1/tokens", json!({"name": "short", "role": "agent", "expires_at": end.to_string()}));
    assert_eq!(status, 201, "{body}");
    let secret = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body["expires_at"].as_str().map(str::to_owned), Some(end.to_string()));
    assert_eq!(server.call_as(Some(&secret), "GET", "/api/v1/cases", None).0, 200);
    std::thread::sleep(Duration::from_millis(2_500));
    let (status, body) = server.call_as(Some(&secret), "GET", "/api/v1/cases", None);
    assert_eq!((status, body["error"]["message"].as_str()), (401, Some("token expired")), "{body}");
}
