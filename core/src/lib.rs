//! frontdesk-core: the domain of Frontdesk (cases, customers, events), the case
//! lifecycle, durable storage and the write path. Nothing here knows HTTP: the
//! `frontdesk` binary turns requests into [`command::Command`]s and hands them to
//! the [`writer`], which decides each one with pure functions ([`decide`]) and
//! commits whole batches durably through a [`store::Store`].

pub mod auth;
pub mod case_ref;
pub mod clock;
pub mod command;
pub mod decide;
pub mod domain;
pub mod duration;
pub mod execute;
pub mod inbound;
pub mod lifecycle;
pub mod metrics;
pub mod outbox;
pub mod plugin_effects;
pub mod plugins;
pub mod projection;
pub mod rules;
pub mod service;
pub mod sla;
pub mod store;
pub mod timers;
pub mod timestamp_text;
pub mod view;
pub mod writer;

pub use clock::{Clock, ManualClock, SystemClock};
pub use domain::*;
