//! A Frontdesk health plugin: scores a customer from their `logins_30d`
//! signal. Copy this folder, rename it in `Cargo.toml` and `plugin.toml`, and
//! change `score`.

use frontdesk_plugin_sdk::health::{Band, Customer, Guest, Health, PluginError, Signal};
use frontdesk_plugin_sdk::{config, log};

struct Plugin;

impl Guest for Plugin {
    /// Called with a customer and the usage signals posted for them.
    fn score(customer: Customer, signals: Vec<Signal>) -> Result<Health, PluginError> {
        // Config values arrive as text: strings as they are, numbers as JSON.
        let healthy_logins: f64 = config::get("healthy_logins")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| PluginError::permanent("config `healthy_logins` must be a number"))?;

        // Ignore signals you don't know; a missing one counts as zero here.
        let logins = signals.iter().find(|s| s.name == "logins_30d").map_or(0.0, |s| s.value);

        // Scores run from 0 to 100; anything above 100 is refused.
        let score = (logins / healthy_logins * 100.0).clamp(0.0, 100.0).round() as u8;
        let band = match score {
            70.. => Band::Healthy,
            40.. => Band::AtRisk,
            _ => Band::Critical,
        };
        log::debug(&format!("customer {} scored {score}", customer.id));

        // Reasons are shown to a support lead: short, most important first.
        Ok(Health { score, band, reasons: vec![format!("{logins} logins in 30 days")] })
    }
}

// Exports `Plugin` as this component's implementation of the health world.
frontdesk_plugin_sdk::export_health!(Plugin);
