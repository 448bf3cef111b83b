//! What every command of a batch shares: the batch's "now" and the
//! configuration the decisions read.

use jiff::{SignedDuration, Timestamp};

use crate::sla::SlaBook;
use crate::write::outbox_rows::PluginRoutes;

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
