//! `steady`: a well-behaved health plugin, the good neighbour in containment
//! tests (it must keep answering while a hostile plugin misbehaves).
//!
//! What it does to the host: scores each customer with the signal `score`,
//! clamped to 0..=100 (100 when the signal is missing), bands it (70 and up
//! healthy, 40 and up at-risk, else critical) and gives the reason "steady".
//! No imports used, no state.

use frontdesk_plugin_sdk::health::{Band, Customer, Guest, Health, PluginError, Signal};

struct Steady;

impl Guest for Steady {
    fn score(_customer: Customer, signals: Vec<Signal>) -> Result<Health, PluginError> {
        let value = signals.iter().find(|s| s.name == "score").map_or(100.0, |s| s.value);
        // `as` maps NaN to 0; the clamp keeps the rest in range.
        let score = value.clamp(0.0, 100.0).round() as u8;
        let band = match score {
            70.. => Band::Healthy,
            40.. => Band::AtRisk,
            _ => Band::Critical,
        };
        Ok(Health { score, band, reasons: vec!["steady".into()] })
    }
}

frontdesk_plugin_sdk::export_health!(Steady);
