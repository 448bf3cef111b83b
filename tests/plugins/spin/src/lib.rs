//! `spin`: a health plugin whose `score` never returns.
//!
//! What it does to the host: burns CPU in a loop until the per-call deadline
//! (epoch or fuel) stops it. The host must fail that call only, count it
//! toward the circuit breaker, and keep serving other plugins meanwhile.

use frontdesk_plugin_sdk::health::{Customer, Guest, Health, PluginError, Signal};

struct Spin;

impl Guest for Spin {
    fn score(_customer: Customer, _signals: Vec<Signal>) -> Result<Health, PluginError> {
        let mut n = 0u64;
        loop {
            // `black_box` hides the counter from the optimiser, so the loop
            // stays a real loop with real work in it.
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

frontdesk_plugin_sdk::export_health!(Spin);
