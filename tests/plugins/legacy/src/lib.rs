//! `legacy`: a health plugin as a third party built it against the first
//! contract, 0.1.0, with wit-bindgen on the frozen `plugin-sdk/wit/v0.1`
//! and no SDK. The server now serves 0.1.1; this plugin must keep loading
//! and running there, its imports (`log@0.1.0`, `clock@0.1.0`,
//! `config@0.1.0`) matched to the newer ones by semver.
//!
//! What it does to the host: logs one line, reads the clock and its config,
//! and scores with the signal `score` (clamped to 0..=100, 50 when
//! missing); its reasons are the `greeting` config value and whether the
//! clock answered.

// The generated glue for records passed flat has many parameters.
#![allow(clippy::too_many_arguments)]

wit_bindgen::generate!({
    path: "../../../plugin-sdk/wit/v0.1",
    world: "frontdesk:plugin/health@0.1.0",
    generate_all,
});

use frontdesk::plugin::health_types::{Band, Health};
use frontdesk::plugin::{clock, config, log};

struct Legacy;

impl Guest for Legacy {
    fn score(_customer: Customer, signals: Vec<Signal>) -> Result<Health, PluginError> {
        log::write(log::Level::Info, "legacy plugin scoring");
        let value = signals.iter().find(|s| s.name == "score").map_or(50.0, |s| s.value);
        // `as` maps NaN to 0; the clamp keeps the rest in range.
        let score = value.clamp(0.0, 100.0).round() as u8;
        let band = match score {
            70.. => Band::Healthy,
            40.. => Band::AtRisk,
            _ => Band::Critical,
        };
        let clock = if clock::now_unix_ms() > 0 { "clock ok" } else { "clock wrong" };
        let greeting = config::get("greeting").unwrap_or_else(|| "no greeting".into());
        Ok(Health { score, band, reasons: vec![greeting, clock.into()] })
    }
}

export!(Legacy);
