//! `garbage-channel`: a channel whose `parse-inbound` returns far too much.
//!
//! What it does to the host: every webhook, whatever its body, parses into
//! config `count` messages (default 100 000), each from `f@x.example` with
//! empty text and its own message id. The host must refuse the oversized
//! output (the webhook fails) rather than open that many cases. `deliver`
//! succeeds without doing anything.
//!
//! The messages are kept small so that 100 000 of them fit the default
//! 32 MiB: about 13 MiB of Rust values, 5 MiB of strings and 10 MiB of
//! canonical-ABI output. A larger `count` runs into the memory limit first.

use frontdesk_plugin_sdk::channel::{DeliveryReceipt, Guest, Identity, InboundMessage, OutboundMessage, PluginError};
use frontdesk_plugin_sdk::config;

const DEFAULT_COUNT: usize = 100_000;

struct GarbageChannel;

impl Guest for GarbageChannel {
    fn parse_inbound(_headers: Vec<(String, String)>, _body: Vec<u8>) -> Result<Vec<InboundMessage>, PluginError> {
        let count = config::get("count").and_then(|c| c.parse().ok()).unwrap_or(DEFAULT_COUNT);
        Ok((0..count).map(flood_message).collect())
    }

    fn deliver(_message: OutboundMessage) -> Result<DeliveryReceipt, PluginError> {
        Ok(DeliveryReceipt { provider_id: None })
    }
}

fn flood_message(n: usize) -> InboundMessage {
    InboundMessage {
        sender: Identity { kind: "email".into(), value: "f@x.example".into() },
        sender_name: None,
        other_identities: Vec::new(),
        subject: None,
        text: String::new(),
        full_text: None,
        channel_message_id: n.to_string(),
        thread_key: None,
        references: Vec::new(),
        case_ref: None,
    }
}

frontdesk_plugin_sdk::export_channel!(GarbageChannel);
