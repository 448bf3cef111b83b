//! End-to-end tests: a real redb file in a temp directory, real HTTP on
//! 127.0.0.1, and either the real `frontdesk` binary ([`harness::Server`]) or,
//! for tests that wait for time, the server in process on a clock the test
//! moves ([`app::TestApp`]). The console's tests drive it from a real
//! headless Chromium ([`browser::Browser`]).

mod app;
mod browser;
mod harness;
mod plugin_kit;

mod agents;
mod auth;
mod authz;
mod bad_input;
mod channels;
mod cli;
mod console;
mod console_flows;
mod crm;
mod customers;
mod durability;
mod events;
mod idempotency;
mod lifecycle;
mod macros;
mod mail;
mod metrics;
mod plugins;
mod rules;
mod sla;
mod tokens;
mod views;
