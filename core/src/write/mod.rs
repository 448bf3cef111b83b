//! The write path, one direction from top to bottom:
//!
//! - [`writer`]: the single writer thread; group commit of queued commands.
//! - [`plan`]: a command's rule plan, previewed on a [`crate::store::Overlay`]
//!   off the writer.
//! - [`execute`]: one command (and its plan) inside the writer's transaction.
//! - [`rule_actions`]: rule actions written as the same drafts an agent's
//!   command would be. Recursive with [`commit`] only where an action
//!   commits a case.
//! - [`inbound`], [`plugin_effects`], [`messages`], [`customers`]: what
//!   channel messages, plugin results, messages and customers write;
//!   [`automatic`]: channel messages a machine sent (auto-replies, bounces);
//!   [`macros`]: macros saved and applied;
//!   [`agents`]: agents, their sessions, and the check of every assignee;
//!   [`tokens`], [`views`]: API tokens and saved inbox views.
//! - [`commit`]: stamps drafted events and writes them with the case row,
//!   its SLA clock, timers, aggregates and outbox rows ([`outbox_rows`]).
//! - [`context`]: what every command of a batch shares.
//! - [`decide`]: the pure decisions: state in, drafted events out.
//! - [`command`]: what callers ask for and what comes back.

pub mod agents;
pub mod automatic;
pub mod command;
pub mod commit;
pub mod context;
pub mod customers;
pub mod decide;
pub mod execute;
pub mod inbound;
pub mod macros;
pub mod messages;
pub mod outbox_rows;
pub mod plan;
pub mod plugin_effects;
mod recording;
pub mod rule_actions;
pub mod tokens;
pub mod views;
pub mod writer;

pub use command::Refusal;
pub use command::{Command, CommandError, Outcome};
pub use context::{ExecContext, PluginRoutes};
pub use writer::{CommitListener, QueueError, Writer, WriterConfig};
