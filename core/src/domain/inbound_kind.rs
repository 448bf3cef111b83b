//! What kind of message came in through a channel: one a person wrote, or
//! one a machine sent (an auto-reply, a bounce), which must not set off
//! replies or reopen cases.

/// What kind of message a channel message is. Plugins built before
/// contract 0.1.2 cannot tell, and all their messages are `Normal`.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum InboundKind {
    /// A person wrote it.
    #[default]
    Normal,
    /// A machine sent it on the sender's behalf (out-of-office, list or bulk
    /// mail): recorded on its case without changing status, starting an SLA
    /// clock or running rules. `reason` says what gave it away.
    AutoReply { reason: String },
    /// A report that a message could not be delivered: recorded on the case
    /// of the message it returns as `reply_bounced`.
    Bounce(BounceReport),
}

impl InboundKind {
    /// Whether a machine sent it: rules never run on such a message.
    pub fn is_automatic(&self) -> bool {
        !matches!(self, InboundKind::Normal)
    }
}

/// What a bounce reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BounceReport {
    /// The addresses delivery failed to.
    pub recipients: Vec<String>,
    /// Whether delivery failed for good; `false` for a delay.
    pub permanent: bool,
    /// The status code given (`5.1.1`), if any.
    pub status: Option<String>,
    /// What the reporting server said, if anything.
    pub diagnostic: Option<String>,
}
