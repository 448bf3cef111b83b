//! `garbage`: a health plugin that answers out of range.
//!
//! What it does to the host: every `score` returns 250, which the contract
//! says is over 100 and so bad output. The host must refuse it as a failed
//! call rather than store or show it.

use frontdesk_plugin_sdk::health::{Band, Customer, Guest, Health, PluginError, Signal};

struct Garbage;

impl Guest for Garbage {
    fn score(_customer: Customer, _signals: Vec<Signal>) -> Result<Health, PluginError> {
        Ok(Health { score: 250, band: Band::Healthy, reasons: vec!["garbage".into()] })
    }
}

frontdesk_plugin_sdk::export_health!(Garbage);
