//! Host bindings, one module per served major contract version (for 0.x,
//! `0.1` is the major, as Cargo and wasmtime count it). Within a major, the
//! module is generated from the newest release: releases within it only add,
//! and wasmtime's linker matches a plugin's imports of an older release
//! (`log@0.1.0`) to the newer ones defined here (`log@0.1.1`) by semver. A
//! new major gets a module of its own beside this one, and this one stays,
//! so plugins built against it keep loading.

/// `frontdesk:plugin@0.1.2`, generated from the frozen `plugin-sdk/wit/v0.1.2`;
/// it serves plugins built against 0.1.0 and 0.1.1 too.
pub mod v0_1 {
    /// The `channel` world, and the interfaces every world shares.
    pub mod channel {
        wasmtime::component::bindgen!({
            path: "../plugin-sdk/wit/v0.1.2",
            world: "frontdesk:plugin/channel@0.1.2",
            additional_derives: [serde::Serialize, serde::Deserialize],
        });
    }

    /// The `crm` world.
    pub mod crm {
        wasmtime::component::bindgen!({
            path: "../plugin-sdk/wit/v0.1.2",
            world: "frontdesk:plugin/crm@0.1.2",
            additional_derives: [serde::Serialize, serde::Deserialize],
            with: {
                "frontdesk:plugin/types": super::channel::frontdesk::plugin::types,
                "frontdesk:plugin/log": super::channel::frontdesk::plugin::log,
                "frontdesk:plugin/clock": super::channel::frontdesk::plugin::clock,
                "frontdesk:plugin/config": super::channel::frontdesk::plugin::config,
                "frontdesk:plugin/kv": super::channel::frontdesk::plugin::kv,
            },
        });
    }

    /// The `health` world.
    pub mod health {
        wasmtime::component::bindgen!({
            path: "../plugin-sdk/wit/v0.1.2",
            world: "frontdesk:plugin/health@0.1.2",
            additional_derives: [serde::Serialize, serde::Deserialize],
            with: {
                "frontdesk:plugin/types": super::channel::frontdesk::plugin::types,
                "frontdesk:plugin/log": super::channel::frontdesk::plugin::log,
                "frontdesk:plugin/clock": super::channel::frontdesk::plugin::clock,
                "frontdesk:plugin/config": super::channel::frontdesk::plugin::config,
                "frontdesk:plugin/kv": super::channel::frontdesk::plugin::kv,
            },
        });
    }

    pub use channel::frontdesk::plugin::channel_types::{DeliveryReceipt, InboundMessage, OutboundMessage};
    pub use channel::frontdesk::plugin::types::{Customer, Identity, PluginError};
    pub use crm::frontdesk::plugin::crm_types::{CaseEvent, CustomerPatch};
    pub use health::frontdesk::plugin::health_types::{Band, Health, Signal};
}
