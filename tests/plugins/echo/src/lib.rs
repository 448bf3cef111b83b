//! `echo`: a well-behaved channel, the reference the host's channel tests run
//! against.
//!
//! What it does to the host:
//! * `parse-inbound` reads `{"messages":[{"from","text","id","thread"}]}` into
//!   one inbound message each (sender kind `email`, `id` as the channel
//!   message id, `thread` as the thread key). Any other body is a permanent
//!   error whose message says what was wrong.
//! * `deliver` POSTs the outbound message as JSON to config `api_url` through
//!   the SDK's HTTP client (so the manifest and operator must grant that
//!   host). 2xx is delivered (the provider id is the response's `"id"`, if
//!   any); 5xx, 429 and failed connections are retryable; other statuses and
//!   a refused destination are permanent. Without `api_url` every reply is
//!   delivered with no provider id.
//!
//! It never touches the key-value store (see the `counter` plugin for that).

use frontdesk_plugin_sdk::channel::{DeliveryReceipt, Guest, Identity, InboundMessage, OutboundMessage, PluginError};
use frontdesk_plugin_sdk::{config, http};
use serde::Deserialize;

/// The webhook body this channel accepts.
#[derive(Deserialize)]
struct Webhook {
    messages: Vec<WebhookMessage>,
}

#[derive(Deserialize)]
struct WebhookMessage {
    from: String,
    text: String,
    id: String,
    thread: Option<String>,
}

struct Echo;

impl Guest for Echo {
    fn parse_inbound(_headers: Vec<(String, String)>, body: Vec<u8>) -> Result<Vec<InboundMessage>, PluginError> {
        let webhook: Webhook = serde_json::from_slice(&body).map_err(|e| {
            PluginError::permanent(format!(
                "expected JSON {{\"messages\":[{{\"from\",\"text\",\"id\",\"thread\"}}]}}: {e}"
            ))
        })?;
        Ok(webhook.messages.into_iter().map(into_inbound).collect())
    }

    fn deliver(message: OutboundMessage) -> Result<DeliveryReceipt, PluginError> {
        let Some(url) = config::get("api_url") else {
            return Ok(DeliveryReceipt { provider_id: None });
        };
        let body = serde_json::json!({
            "case_id": message.case_id,
            "case_ref": message.case_ref,
            "message_id": message.message_id,
            "to": { "kind": message.to.kind, "value": message.to.value },
            "to_name": message.to_name,
            "subject": message.subject,
            "text": message.text,
            "in_reply_to": message.in_reply_to,
            "references": message.references,
            "thread_key": message.thread_key,
        });
        let response = http::send(&http::Request::post_json(url.as_str(), body.to_string())).map_err(|e| match e {
            http::Error::Failed(_) => PluginError::retryable(e.to_string()),
            http::Error::Denied | http::Error::InvalidUrl(_) => PluginError::permanent(e.to_string()),
        })?;
        match response.status {
            200..=299 => Ok(DeliveryReceipt { provider_id: provider_id(&response.body) }),
            429 | 500..=599 => Err(PluginError::retryable(status_message(&response))),
            _ => Err(PluginError::permanent(status_message(&response))),
        }
    }
}

fn into_inbound(message: WebhookMessage) -> InboundMessage {
    InboundMessage {
        sender: Identity { kind: "email".into(), value: message.from },
        sender_name: None,
        other_identities: Vec::new(),
        subject: None,
        text: message.text,
        full_text: None,
        channel_message_id: message.id,
        thread_key: message.thread,
        references: Vec::new(),
        case_ref: None,
    }
}

/// The `"id"` of a JSON response body, if it has one.
fn provider_id(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("id")?.as_str().map(str::to_owned)
}

fn status_message(response: &http::Response) -> String {
    // A provider's error body helps the operator; cap it so the timeline stays readable.
    let body = String::from_utf8_lossy(&response.body);
    let body: String = body.chars().take(200).collect();
    format!("provider answered {}: {body}", response.status)
}

frontdesk_plugin_sdk::export_channel!(Echo);
