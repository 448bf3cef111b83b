//! Events: the append-only record of every change. Case rows and timelines are
//! projections of them, and they are the audit trail.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Actor, CaseId, CaseStatus, CustomerId, EventId, Identity, Priority};
use crate::sla::Metric;

/// One recorded change. Serialises to the API's event shape:
/// `{"id", "case_id", "customer_id", "type", "at", "actor", "caused_by", "data"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Commit-ordered id.
    pub id: EventId,
    /// The case changed, if the event belongs to one.
    pub case_id: Option<CaseId>,
    /// The customer whose timeline shows it.
    pub customer_id: CustomerId,
    /// When it happened.
    pub at: Timestamp,
    /// Who did it.
    pub actor: Actor,
    /// The event that led to this one (a reopen is caused by a message).
    pub caused_by: Option<EventId>,
    /// What happened.
    #[serde(flatten)]
    pub body: EventBody,
}

/// What happened, with the data needed to replay it. Tagged as `type` with
/// its fields under `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum EventBody {
    /// A case came into being.
    CaseCreated {
        subject: String,
        channel: String,
        priority: Priority,
        team: Option<String>,
        assignee: Option<String>,
        #[serde(default)]
        tags: BTreeSet<String>,
        #[serde(default)]
        fields: std::collections::BTreeMap<String, serde_json::Value>,
        /// The closed case this one follows up, if any.
        #[serde(default)]
        follow_up_of: Option<CaseId>,
    },
    /// The customer wrote.
    MessageReceived { body: String },
    /// An agent answered the customer (public).
    ReplySent { body: String },
    /// An internal note (not shown to the customer).
    NoteAdded { body: String },
    /// Status moved.
    StatusChanged { from: CaseStatus, to: CaseStatus },
    /// Priority moved.
    PriorityChanged { from: Priority, to: Priority },
    /// Assignee changed (`to: null` unassigns).
    Assigned { from: Option<String>, to: Option<String> },
    /// Team changed (`to: null` removes the team).
    TeamChanged { from: Option<String>, to: Option<String> },
    /// A tag was added.
    TagAdded { tag: String },
    /// A tag was removed.
    TagRemoved { tag: String },
    /// A custom field was set (`null` clears it).
    FieldSet { key: String, value: serde_json::Value },
    /// The customer rated the service.
    CsatReceived { score: u8, comment: Option<String> },
    /// An SLA metric passed its warning threshold.
    SlaWarning {
        /// `first_response`, `next_response` or `resolution`.
        metric: Metric,
        /// The metric's cycle.
        cycle: u32,
        /// When the warning threshold was reached.
        warning_at: Timestamp,
        /// The deadline.
        due_at: Option<Timestamp>,
    },
    /// An SLA metric's deadline passed.
    SlaBreached {
        /// The metric.
        metric: Metric,
        /// The metric's cycle.
        cycle: u32,
        /// The instant it breached (its deadline), even if recorded later.
        breached_at: Timestamp,
    },
    /// An SLA metric was completed within its target.
    SlaMet {
        /// The metric.
        metric: Metric,
        /// The metric's cycle.
        cycle: u32,
        /// Business seconds it took.
        business_seconds: u64,
    },
    /// A rule escalated the case.
    Escalated {
        /// Escalation level (1 = team lead, 2 = manager, ... as the business defines).
        level: u8,
        /// Why.
        reason: String,
    },
    /// A rule opened this case proactively.
    OutreachOpened {
        /// The rule file that opened it.
        rule: String,
    },
    /// A rule failed: it did not compile, threw, hit a limit, or asked for an
    /// action with bad arguments. The command that triggered it still committed.
    ScriptError {
        /// The script file.
        file: String,
        /// The hook that ran.
        hook: String,
        /// What went wrong.
        message: String,
        /// Line in the file, when known.
        line: Option<usize>,
        /// Column in the file, when known.
        column: Option<usize>,
    },
    /// The customer record changed (created, new identities, new attributes).
    CustomerUpdated {
        #[serde(default)]
        created: bool,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        tier: Option<String>,
        #[serde(default)]
        identities_added: Vec<Identity>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_to_the_api_shape_and_back() {
        let event = Event {
            id: EventId::new(3),
            case_id: Some(CaseId::new(1)),
            customer_id: CustomerId::new(2),
            at: "2026-03-02T09:00:00Z".parse().unwrap(),
            actor: Actor::Agent("ann".into()),
            caused_by: Some(EventId::new(2)),
            body: EventBody::StatusChanged { from: CaseStatus::New, to: CaseStatus::Open },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "status_changed");
        assert_eq!(json["data"]["to"], "open");
        assert_eq!(json["actor"], "agent:ann");
        assert_eq!(json["caused_by"], "2");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
