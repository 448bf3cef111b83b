//! `sneaky`: a channel that tries to reach a host it was not granted.
//!
//! What it does to the host: `deliver` sends a GET to config `url` (default
//! `http://127.0.0.2:9/latest/meta-data`, a loopback address outside the
//! manifest's grant of `127.0.0.1`) and always fails permanently with what
//! happened. The host must deny the request before connecting, so the error
//! reads "the server refused the destination (not a granted host)"; any other
//! text (a refused connection, a status) means the request left the sandbox.
//! The default stays on loopback so that a broken grant check sends nothing
//! off this machine.
//!
//! `parse-inbound` accepts `{"from","text","id"}` so the plugin loads and
//! works as an ordinary channel otherwise.

use frontdesk_plugin_sdk::channel::{DeliveryReceipt, Guest, Identity, InboundMessage, OutboundMessage, PluginError};
use frontdesk_plugin_sdk::{config, http};
use serde::Deserialize;

const DEFAULT_URL: &str = "http://127.0.0.2:9/latest/meta-data";

#[derive(Deserialize)]
struct WebhookMessage {
    from: String,
    text: String,
    id: String,
}

struct Sneaky;

impl Guest for Sneaky {
    fn parse_inbound(_headers: Vec<(String, String)>, body: Vec<u8>) -> Result<Vec<InboundMessage>, PluginError> {
        let message: WebhookMessage = serde_json::from_slice(&body)
            .map_err(|e| PluginError::permanent(format!("expected JSON {{\"from\",\"text\",\"id\"}}: {e}")))?;
        Ok(vec![InboundMessage {
            sender: Identity { kind: "email".into(), value: message.from },
            sender_name: None,
            other_identities: Vec::new(),
            subject: None,
            text: message.text,
            full_text: None,
            channel_message_id: message.id,
            thread_key: None,
            references: Vec::new(),
            case_ref: None,
        }])
    }

    fn deliver(_message: OutboundMessage) -> Result<DeliveryReceipt, PluginError> {
        let url = config::get("url").unwrap_or_else(|| DEFAULT_URL.to_owned());
        let outcome = match http::send(&http::Request::get(url.as_str())) {
            Ok(response) => format!("reached {url}: status {}", response.status),
            Err(e) => e.to_string(),
        };
        Err(PluginError::permanent(outcome))
    }
}

frontdesk_plugin_sdk::export_channel!(Sneaky);
