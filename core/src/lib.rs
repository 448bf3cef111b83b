//! frontdesk-core: the domain of Frontdesk, its rules and plugins, durable
//! storage and the write path. Nothing here knows HTTP. Modules, lowest
//! layer first; each imports only from the layers before it (checked by
//! `tests/layout.rs`):
//!
//! 1. [`clock`], [`duration`], [`timestamp_text`]: time as a capability,
//!    durations as configured, timestamps as the API prints them.
//! 2. [`domain`]: cases, customers, events, the lifecycle and the fold of
//!    events into case rows.
//! 3. [`auth`] (tokens, roles, permissions, agents, passwords, sessions),
//!    [`case_ref`] (signed case references for reply threading).
//! 4. [`script_views`]: the read-only views Rhai code gets of a case,
//!    customer and message.
//! 5. [`sla`]: business calendars, policies and the per-case SLA clock.
//! 6. [`metrics`]: service metrics (FCR, MTTR, compliance, CSAT, backlog).
//! 7. [`store`]: the storage trait, its records and derived rows, the
//!    in-memory [`store::Overlay`], and the redb adapter.
//! 8. [`rules`]: the Rhai host: hooks, actions, hot reload, dry runs.
//! 9. [`plugins`]: the wasmtime host for channel, CRM and health plugins.
//! 10. [`write`](mod@write): commands, the pure decisions, and the single writer that
//!     commits them in batches.
//! 11. [`runtime`]: [`runtime::Frontdesk`], the one door the binary uses
//!     (submit, async reads, committed events), with its timers and outbox
//!     worker.
//! 12. `conformance` (tests and the `conformance` feature): what every store
//!     backend must pass, through the trait and the write path.

pub mod auth;
pub mod case_ref;
pub mod clock;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod domain;
pub mod duration;
pub mod metrics;
pub mod plugins;
pub mod rules;
pub mod runtime;
pub mod script_views;
pub mod sla;
pub mod store;
pub mod timestamp_text;
pub mod write;

pub use auth::{Agent, AgentProfile, Session};
pub use clock::{Clock, ManualClock, SystemClock};
pub use domain::*;
