//! What every command of a batch shares: the batch's "now" and the
//! configuration the decisions read.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};

use crate::sla::SlaBook;

/// What every command in a batch shares.
#[derive(Debug, Clone, Copy)]
pub struct ExecContext<'a> {
    /// The batch's "now": every event of the batch carries it.
    pub now: Timestamp,
    /// How long a solved case stays solved before it closes.
    pub auto_close_after: SignedDuration,
    /// SLA calendars and policies.
    pub sla: &'a SlaBook,
    /// A rule opens the same outreach for a customer at most once in this window.
    pub outreach_window: SignedDuration,
    /// Which plugins outbound work goes to.
    pub plugins: &'a PluginRoutes,
}

/// Which plugins outbound work goes to.
#[derive(Debug, Clone, Default)]
pub struct PluginRoutes {
    /// Channel plugins: replies on cases of these channels are delivered.
    pub channels: BTreeSet<String>,
    /// CRM plugins: each gets case events and new customers.
    pub crms: Vec<String>,
}

impl PluginRoutes {
    /// No plugins: nothing is queued (the CLI, tests of the core).
    pub const NONE: &'static PluginRoutes = &NO_PLUGINS;
}

static NO_PLUGINS: PluginRoutes = PluginRoutes { channels: BTreeSet::new(), crms: Vec::new() };
