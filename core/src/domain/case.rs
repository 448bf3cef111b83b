//! The case: one customer's request, from first message to closed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{CaseId, CustomerId, EventId};

/// Where a case is in its life. Transitions live in [`crate::domain::lifecycle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Not yet answered by an agent.
    New,
    /// Being worked on.
    Open,
    /// Waiting on the customer.
    Pending,
    /// Waiting on a third party.
    OnHold,
    /// Answered; reopens on a customer message, closes automatically later.
    Solved,
    /// Final: never changes again.
    Closed,
}

impl CaseStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [CaseStatus; 6] = [
        CaseStatus::New,
        CaseStatus::Open,
        CaseStatus::Pending,
        CaseStatus::OnHold,
        CaseStatus::Solved,
        CaseStatus::Closed,
    ];

    /// Whether the case is solved or closed: out of the agents' queues and
    /// the backlog.
    pub const fn is_done(self) -> bool {
        matches!(self, CaseStatus::Solved | CaseStatus::Closed)
    }

    /// The name used in JSON and query strings.
    pub const fn as_str(self) -> &'static str {
        match self {
            CaseStatus::New => "new",
            CaseStatus::Open => "open",
            CaseStatus::Pending => "pending",
            CaseStatus::OnHold => "on_hold",
            CaseStatus::Solved => "solved",
            CaseStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the enum's values.
#[derive(Debug, thiserror::Error)]
#[error("unknown {what} {value:?} (expected one of: {expected})")]
pub struct UnknownName {
    what: &'static str,
    value: String,
    expected: &'static str,
}

impl FromStr for CaseStatus {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CaseStatus::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| UnknownName {
            what: "status",
            value: s.to_owned(),
            expected: "new, open, pending, on_hold, solved, closed",
        })
    }
}

/// How urgent a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Whenever there is time.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Ahead of normal work.
    High,
    /// Drop everything.
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];

    /// The name used in JSON and query strings.
    pub const fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| UnknownName {
            what: "priority",
            value: s.to_owned(),
            expected: "low, normal, high, urgent",
        })
    }
}

/// A customer satisfaction rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Csat {
    /// 1 (very unhappy) to 5 (very happy).
    pub score: u8,
    /// Free text from the customer, if any.
    pub comment: Option<String>,
    /// When the rating arrived.
    #[serde(serialize_with = "crate::timestamp_text::serialize")]
    pub at: Timestamp,
}

/// The current state of a case: a projection of its events (see
/// [`crate::domain::projection`]). Serialises to the API's case shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The case id.
    pub id: CaseId,
    /// One line summary.
    pub subject: String,
    /// Lifecycle status.
    pub status: CaseStatus,
    /// Urgency.
    pub priority: Priority,
    /// Channel it came in on (`api`, `email`, `chat`, ...).
    pub channel: String,
    /// Whose case this is.
    pub customer_id: CustomerId,
    /// Team it is routed to.
    pub team: Option<String>,
    /// Agent it is assigned to.
    pub assignee: Option<String>,
    /// Tags, sorted and unique.
    pub tags: BTreeSet<String>,
    /// Custom fields.
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Creation time.
    #[serde(serialize_with = "crate::timestamp_text::serialize")]
    pub created_at: Timestamp,
    /// Time of the last event.
    #[serde(serialize_with = "crate::timestamp_text::serialize")]
    pub updated_at: Timestamp,
    /// First public agent reply.
    #[serde(serialize_with = "crate::timestamp_text::serialize_opt")]
    pub first_response_at: Option<Timestamp>,
    /// When it was last solved; cleared when it reopens.
    #[serde(serialize_with = "crate::timestamp_text::serialize_opt")]
    pub solved_at: Option<Timestamp>,
    /// When it closed.
    #[serde(serialize_with = "crate::timestamp_text::serialize_opt")]
    pub closed_at: Option<Timestamp>,
    /// How often a solved case was reopened.
    pub reopen_count: u32,
    /// Public agent replies so far (first contact resolution needs it).
    #[serde(default)]
    pub agent_replies: u32,
    /// Highest escalation level reached (0 = never escalated).
    #[serde(default)]
    pub escalation_level: u8,
    /// The customer's rating, once given.
    pub csat: Option<Csat>,
    /// Related cases (a follow-up links to the closed case it follows).
    pub linked_case_ids: Vec<CaseId>,
    /// Number of events folded into this row; moves on every change.
    pub version: u64,
    /// The last event folded in.
    pub last_event_id: EventId,
}
