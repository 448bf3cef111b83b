//! `future`: an ordinary health plugin whose manifest asks for contract
//! `^2.0`.
//!
//! What it does to the host: nothing, if the host works. The component itself
//! is built against v0.1 and would score every customer 80, but the server
//! only speaks 0.1, so it must refuse to load the plugin with a clear error
//! naming the version and keep loading the others.

use frontdesk_plugin_sdk::health::{Band, Customer, Guest, Health, PluginError, Signal};

struct Future;

impl Guest for Future {
    fn score(_customer: Customer, _signals: Vec<Signal>) -> Result<Health, PluginError> {
        Ok(Health { score: 80, band: Band::Healthy, reasons: vec!["from the future".into()] })
    }
}

frontdesk_plugin_sdk::export_health!(Future);
