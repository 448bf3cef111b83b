//! One customer across channels, and the customer timeline.

use serde_json::json;

use crate::harness::{Server, workdir};

#[test]
fn cases_from_two_channels_with_one_email_share_a_customer_and_a_timeline() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let by_api = server.create_case("Invoice wrong", "ann@example.com", "api");
    let (status, by_chat) = server.post(
        "/api/v1/cases",
        json!({"subject": "Chat: invoice", "customer": {"email": "ANN@example.com", "chat": "ann-chat"}, "channel": "chat",
               "message": {"body": "hi from chat"}}),
    );
    assert_eq!(status, 201, "{by_chat}");
    assert_eq!(by_api["customer_id"], by_chat["customer_id"]);
    let customer_id = by_api["customer_id"].as_str().unwrap();

    // The reply on the first case lands after the second case in time.
    let first_path = format!("/api/v1/cases/{}/messages", by_api["id"].as_str().unwrap());
    assert_eq!(server.post(&first_path, json!({"type": "reply", "body": "checking"})).0, 201);

    let (status, customer) = server.get(&format!("/api/v1/customers/{customer_id}"));
    assert_eq!(status, 200);
    let identities: Vec<String> =
        customer["identities"].as_array().unwrap().iter().map(|i| i["value"].as_str().unwrap().to_owned()).collect();
    assert!(
        identities.contains(&"ann@example.com".to_owned()) && identities.contains(&"ann-chat".to_owned()),
        "{customer}"
    );

    let (status, timeline) = server.get(&format!("/api/v1/customers/{customer_id}/events"));
    assert_eq!(status, 200);
    let events = timeline["events"].as_array().unwrap();
    let case_of = |e: &serde_json::Value| e["case_id"].as_str().map(str::to_owned);
    let api_id = by_api["id"].as_str().map(str::to_owned);
    let chat_id = by_chat["id"].as_str().map(str::to_owned);
    let summary: Vec<(Option<String>, &str)> =
        events.iter().map(|e| (case_of(e), e["type"].as_str().unwrap())).collect();
    assert_eq!(
        summary,
        [
            (None, "customer_updated"),
            (api_id.clone(), "case_created"),
            (api_id.clone(), "message_received"),
            (None, "customer_updated"),
            (chat_id.clone(), "case_created"),
            (chat_id.clone(), "message_received"),
            (api_id.clone(), "reply_sent"),
            (api_id.clone(), "status_changed"),
        ]
    );
    let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "timeline is in order: {times:?}");
}

#[test]
fn customers_are_created_once_and_matched_by_any_identity() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let (status, created) =
        server.post("/api/v1/customers", json!({"name": "Eve", "phone": "+1 (555) 010-2000", "tier": "enterprise"}));
    assert_eq!(status, 201, "{created}");
    let (status, matched) =
        server.post("/api/v1/customers", json!({"phone": "+15550102000", "email": "eve@example.com"}));
    assert_eq!(status, 200, "{matched}");
    assert_eq!(matched["id"], created["id"]);
    assert_eq!(matched["tier"], "enterprise");
    let (_, by_email) = server.post("/api/v1/customers", json!({"email": "EVE@example.com"}));
    assert_eq!(by_email["id"], created["id"]);

    let (_, other) = server.post("/api/v1/customers", json!({"email": "frank@example.com"}));
    let (status, conflict) =
        server.post("/api/v1/customers", json!({"email": "frank@example.com", "phone": "+15550102000"}));
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["error"]["code"], "identity_conflict");
    let (_, frank) = server.get(&format!("/api/v1/customers/{}", other["id"].as_str().unwrap()));
    assert_eq!(frank["identities"].as_array().unwrap().len(), 1, "a refused merge writes nothing");
}
