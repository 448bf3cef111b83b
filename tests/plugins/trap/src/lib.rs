//! `trap`: a health plugin that panics.
//!
//! What it does to the host: every `score` panics, which in WebAssembly ends
//! the call in an `unreachable` trap (after the panic message goes to
//! stderr). The host must fail that call only, record it, and open the
//! circuit breaker after repeated failures.

use frontdesk_plugin_sdk::health::{Customer, Guest, Health, PluginError, Signal};

struct Trap;

impl Guest for Trap {
    fn score(customer: Customer, _signals: Vec<Signal>) -> Result<Health, PluginError> {
        panic!("trap: deliberate panic scoring customer {}", customer.id);
    }
}

frontdesk_plugin_sdk::export_health!(Trap);
