//! `budget`: a health plugin on contract 0.1.1, the first addition to the
//! contract. What it does to the host: reads `clock.deadline-unix-ms` and
//! answers score 100 with one reason, `<N> ms left`, the time its call had
//! left before the server would stop it.

use frontdesk_plugin_sdk::clock;
use frontdesk_plugin_sdk::health::{Band, Customer, Guest, Health, PluginError, Signal};

struct Budget;

impl Guest for Budget {
    fn score(_customer: Customer, _signals: Vec<Signal>) -> Result<Health, PluginError> {
        let left = clock::remaining_ms();
        Ok(Health { score: 100, band: Band::Healthy, reasons: vec![format!("{left} ms left")] })
    }
}

frontdesk_plugin_sdk::export_health!(Budget);
