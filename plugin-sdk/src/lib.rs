//! The Frontdesk plugin SDK: the WIT contract (`wit/`, one frozen folder per
//! released version) and Rust helpers so that a plugin is a few dozen lines.
//!
//! Pick the module of your plugin's kind, implement its `Guest` trait and
//! export it with the matching macro:
//!
//! ```ignore
//! use frontdesk_plugin_sdk::health::{Guest, Customer, Signal, Health, Band, PluginError};
//!
//! struct Plugin;
//! impl Guest for Plugin {
//!     fn score(_: Customer, signals: Vec<Signal>) -> Result<Health, PluginError> { ... }
//! }
//! frontdesk_plugin_sdk::export_health!(Plugin);
//! ```
//!
//! `plugin-sdk/README.md` walks through a whole plugin.

pub mod config;
pub mod http;

/// A channel plugin (email, chat, messaging): parse inbound webhooks, deliver
/// agent replies. Export with [`export_channel!`].
pub mod channel {
    wit_bindgen::generate!({
        path: "wit/v0.1.2",
        world: "frontdesk:plugin/channel@0.1.2",
        pub_export_macro: true,
        export_macro_name: "export_channel",
        default_bindings_module: "frontdesk_plugin_sdk::channel",
        generate_all,
    });
    pub use frontdesk::plugin::types::{Customer, Identity};
}

/// A CRM connector: enrich customers, sync case events. Export with
/// [`export_crm!`].
// The generated glue for records passed flat has many parameters.
#[allow(clippy::too_many_arguments)]
pub mod crm {
    wit_bindgen::generate!({
        path: "wit/v0.1.2",
        world: "frontdesk:plugin/crm@0.1.2",
        pub_export_macro: true,
        export_macro_name: "export_crm",
        default_bindings_module: "frontdesk_plugin_sdk::crm",
        with: {
            "frontdesk:plugin/types@0.1.2": crate::channel::frontdesk::plugin::types,
            "frontdesk:plugin/log@0.1.2": crate::channel::frontdesk::plugin::log,
            "frontdesk:plugin/clock@0.1.2": crate::channel::frontdesk::plugin::clock,
            "frontdesk:plugin/config@0.1.2": crate::channel::frontdesk::plugin::config,
            "frontdesk:plugin/kv@0.1.2": crate::channel::frontdesk::plugin::kv,
        },
        generate_all,
    });
    pub use crate::channel::Identity;
}

/// A customer-health plugin: score a customer from usage signals. Export
/// with [`export_health!`].
// The generated glue for records passed flat has many parameters.
#[allow(clippy::too_many_arguments)]
pub mod health {
    wit_bindgen::generate!({
        path: "wit/v0.1.2",
        world: "frontdesk:plugin/health@0.1.2",
        pub_export_macro: true,
        export_macro_name: "export_health",
        default_bindings_module: "frontdesk_plugin_sdk::health",
        with: {
            "frontdesk:plugin/types@0.1.2": crate::channel::frontdesk::plugin::types,
            "frontdesk:plugin/log@0.1.2": crate::channel::frontdesk::plugin::log,
            "frontdesk:plugin/clock@0.1.2": crate::channel::frontdesk::plugin::clock,
            "frontdesk:plugin/config@0.1.2": crate::channel::frontdesk::plugin::config,
            "frontdesk:plugin/kv@0.1.2": crate::channel::frontdesk::plugin::kv,
        },
        generate_all,
    });
    pub use crate::channel::Identity;
    pub use frontdesk::plugin::health_types::{Band, Health};
}

// The export macros live in their kind's module; re-exported here so that a
// plugin writes `frontdesk_plugin_sdk::export_health!(Plugin)`.
#[doc(inline)]
pub use channel::export_channel;
#[doc(inline)]
pub use crm::export_crm;
#[doc(inline)]
pub use health::export_health;

/// Writes a line to the server's log, tagged with the plugin's name.
pub mod log {
    use crate::channel::frontdesk::plugin::log::{Level, write};

    /// Logs at `info`.
    pub fn info(message: &str) {
        write(Level::Info, message);
    }
    /// Logs at `warn`.
    pub fn warn(message: &str) {
        write(Level::Warn, message);
    }
    /// Logs at `error`.
    pub fn error(message: &str) {
        write(Level::Error, message);
    }
    /// Logs at `debug`.
    pub fn debug(message: &str) {
        write(Level::Debug, message);
    }
}

/// The server's clock.
pub mod clock {
    /// Milliseconds since the Unix epoch.
    pub fn now_unix_ms() -> i64 {
        crate::channel::frontdesk::plugin::clock::now_unix_ms()
    }
    /// RFC 3339 in UTC.
    pub fn now_rfc3339() -> String {
        crate::channel::frontdesk::plugin::clock::now_rfc3339()
    }
    /// When the server stops this call, in milliseconds since the Unix epoch
    /// (contract 0.1.1; declare `api = "^0.1.1"` when you use it).
    pub fn deadline_unix_ms() -> i64 {
        crate::channel::frontdesk::plugin::clock::deadline_unix_ms()
    }
    /// Milliseconds left before the server stops this call (0 once past).
    pub fn remaining_ms() -> i64 {
        (deadline_unix_ms() - now_unix_ms()).max(0)
    }
}

/// What kind of message a channel message is (contract 0.1.2; declare
/// `api = "^0.1.2"` when you use it): mark auto-replies and bounces among
/// the messages `parse-inbound` returns.
pub mod message_kinds {
    pub use crate::channel::frontdesk::plugin::message_kinds::{BounceReport, mark_auto_reply, mark_bounce};
}

/// The plugin's private key-value store (needs the `kv` capability).
pub mod kv {
    pub use crate::channel::frontdesk::plugin::kv::{delete, get, set};
}

impl crate::channel::DeliveryReceipt {
    /// The receipt for a provider's 2xx answer to a delivery: the provider
    /// id is the `id` field of its JSON body, a string or a number (as
    /// text). A body that is not JSON, or has no such `id`, gives none.
    pub fn from_answer(body: &[u8]) -> Self {
        let id = match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(answer) => match answer.get("id") {
                Some(serde_json::Value::String(id)) => Some(id.clone()),
                Some(serde_json::Value::Number(id)) => Some(id.to_string()),
                _ => None,
            },
            Err(_) => None,
        };
        Self { provider_id: id }
    }
}

impl crate::channel::PluginError {
    /// A failure worth retrying later (the provider is down, a timeout).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: true }
    }
    /// A failure that will not go away by retrying (a malformed payload).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { message: message.into(), retryable: false }
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    /// Released contract folders are frozen: a plugin built against them must
    /// keep loading, so their text may never change. A new version goes in a
    /// new folder; this hash is only ever added to, never edited.
    #[test]
    fn released_contract_versions_are_frozen() {
        let released = [
            ("wit/v0.1/plugin.wit", "d512038fac5d082e86a812e9ba0724c98880b218a5839afd81d3d6b96df18108"),
            ("wit/v0.1.1/plugin.wit", "135c06eb57a62184dcff4935ce28b4041abc812d19f29f87ba50475950c2cb16"),
            ("wit/v0.1.2/plugin.wit", "5450edf8e4cc786f538356fef5ca0bee576fa29cb3d48d799deaa63e8800c8a0"),
        ];
        for (path, expected) in released {
            // Read at run time: a test binary reused from a shared target dir
            // may have been built in another clone.
            let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
            let file = format!("{root}/{path}");
            let text = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
            let hash = hex(&Sha256::digest(&text));
            assert_eq!(hash, expected, "{path} changed after release; put changes in a new version folder");
        }
    }

    #[test]
    fn the_provider_id_is_read_from_the_answer() {
        let id = |body: &[u8]| crate::channel::DeliveryReceipt::from_answer(body).provider_id;
        assert_eq!(id(br#"{"id": "abc"}"#).as_deref(), Some("abc"));
        assert_eq!(id(br#"{"id": "p1", "status": "queued"}"#).as_deref(), Some("p1"));
        assert_eq!(id(br#"{"id": 7}"#).as_deref(), Some("7"));
        assert_eq!(id(br#"{"id": null}"#), None);
        assert_eq!(id(br#"{"id": ["a"]}"#), None);
        assert_eq!(id(br#"["abc"]"#), None);
        assert_eq!(id(b"{}"), None);
        assert_eq!(id(b"queued"), None);
        assert_eq!(id(b"ok"), None);
        assert_eq!(id(b""), None);
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
