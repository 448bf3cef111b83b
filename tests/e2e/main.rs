//! End-to-end tests: the real `frontdesk` binary, a real redb file in a temp
//! directory, real HTTP on 127.0.0.1.

mod harness;
mod plugin_kit;

mod auth;
mod bad_input;
mod channels;
mod cli;
mod crm;
mod customers;
mod durability;
mod idempotency;
mod lifecycle;
mod metrics;
mod plugins;
mod rules;
mod sla;
