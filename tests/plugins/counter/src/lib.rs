//! `counter`: a health plugin that keeps state in the key-value store.
//!
//! What it does to the host: on each `score` it reads the customer's call
//! count from kv (key `calls/<customer id>`, decimal text), stores it plus
//! one, and answers score 50 (at-risk) with the reason "call N". So it needs
//! the `kv` capability granted, and shows whether the store persists across
//! calls, instances and restarts and stays private to this plugin.

use frontdesk_plugin_sdk::health::{Band, Customer, Guest, Health, PluginError, Signal};
use frontdesk_plugin_sdk::kv;

struct Counter;

impl Guest for Counter {
    fn score(customer: Customer, _signals: Vec<Signal>) -> Result<Health, PluginError> {
        let key = format!("calls/{}", customer.id);
        let calls = kv::get(&key)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        kv::set(&key, calls.to_string().as_bytes()).map_err(PluginError::permanent)?;
        Ok(Health { score: 50, band: Band::AtRisk, reasons: vec![format!("call {calls}")] })
    }
}

frontdesk_plugin_sdk::export_health!(Counter);
