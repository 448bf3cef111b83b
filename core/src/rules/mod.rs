//! Rules in Rhai: every `*.rhai` file may define hooks; they run (in file-name
//! order) against a preview of each command's effects, off the writer, and
//! return actions that the writer applies in the same transaction as the
//! command (`write::plan`, `write::rule_actions`). Files hot-reload ([`host`], [`watch`]); the
//! engine is sandboxed and bounded ([`engine`]).

pub mod actions;
pub mod engine;
pub mod fixtures;
pub mod hooks;
pub mod host;
pub mod query;
pub mod simulate;
pub mod watch;

pub use actions::{Action, RuleAction, RulePlan};
pub use engine::ScriptLimits;
pub use host::{RulesHost, ScriptStatus};
