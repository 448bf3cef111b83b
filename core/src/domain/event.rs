//! Events: the append-only record of every change. Case rows and timelines are
//! projections of them, and they are the audit trail.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Metric;
use super::{Actor, CaseId, CaseStatus, CustomerId, EventId, Identity, Priority};

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
    #[serde(serialize_with = "crate::timestamp_text::serialize")]
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
    MessageReceived {
        body: String,
        /// The channel plugin it came through, when it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        via: Option<ChannelVia>,
    },
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
    /// An agent applied a macro; the message and changes it made name this
    /// event as their cause.
    MacroApplied {
        /// The macro's key.
        name: String,
        /// Its title when it was applied.
        title: String,
    },
    /// The customer rated the service.
    CsatReceived { score: u8, comment: Option<String> },
    /// An SLA metric passed its warning threshold.
    SlaWarning {
        /// `first_response`, `next_response` or `resolution`.
        metric: Metric,
        /// The metric's cycle.
        cycle: u32,
        /// When the warning threshold was reached.
        #[serde(serialize_with = "crate::timestamp_text::serialize")]
        warning_at: Timestamp,
        /// The deadline.
        #[serde(serialize_with = "crate::timestamp_text::serialize_opt")]
        due_at: Option<Timestamp>,
    },
    /// An SLA metric's deadline passed.
    SlaBreached {
        /// The metric.
        metric: Metric,
        /// The metric's cycle.
        cycle: u32,
        /// The instant it breached (its deadline), even if recorded later.
        #[serde(serialize_with = "crate::timestamp_text::serialize")]
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
    /// A plugin call failed by the plugin's fault (trap, timeout, memory
    /// limit, bad output). The command or delivery it served did not get its
    /// result; nothing else was affected.
    PluginError {
        /// The plugin.
        plugin: String,
        /// The hook called (`deliver`, `score`, ...).
        hook: String,
        /// `trap`, `timeout`, `memory_limit`, `bad_output`.
        kind: String,
        /// Details.
        message: String,
    },
    /// An agent reply was accepted by the channel's provider.
    ReplyDelivered {
        /// The channel plugin.
        plugin: String,
        /// The `reply_sent` event delivered.
        reply_event: EventId,
        /// The message id sent with it (for email, its `Message-ID`).
        message_id: String,
        /// The provider's id for it, if it gave one.
        provider_id: Option<String>,
        /// Attempts it took.
        attempts: u32,
    },
    /// Outbound work was given up: the plugin said retrying cannot help, or
    /// the attempts ran out. It stays in the outbox as `failed`.
    DeliveryFailed {
        /// The plugin.
        plugin: String,
        /// The outbox item.
        outbox_id: u64,
        /// What it was (`deliver`, `crm_event`, `crm_enrich`).
        work: String,
        /// The last error.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A mail the server sent came back undeliverable: a delivery status
    /// notification (a bounce) that a channel plugin recorded on the case of
    /// the message it returns, instead of a customer message.
    ReplyBounced {
        /// The channel plugin.
        plugin: String,
        /// The report's own message id.
        message_id: String,
        /// Who sent the report (`MAILER-DAEMON@...`).
        reported_by: Identity,
        /// The addresses delivery failed to.
        recipients: Vec<String>,
        /// Whether delivery failed for good; `false` for a delay.
        permanent: bool,
        /// The status code given (`5.1.1`), if any.
        status: Option<String>,
        /// What the reporting server said, if anything.
        diagnostic: Option<String>,
        /// The report's text.
        body: String,
    },
    /// The customer's health score changed.
    HealthChanged {
        /// 0-100.
        score: u8,
        /// `healthy`, `at_risk` or `critical`.
        band: String,
        /// Why, most important first.
        reasons: Vec<String>,
        /// The score before, if there was one.
        previous_score: Option<u8>,
        /// The band before, if there was one.
        previous_band: Option<String>,
        /// The health plugin that scored it.
        plugin: String,
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
        /// Attribute names set (by a CRM, for example).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attributes_set: Vec<String>,
        /// The plugin the change came from, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<String>,
    },
}

impl EventBody {
    /// Every event type, as [`EventBody::kind`] names them.
    pub const KINDS: [&'static str; 25] = [
        "case_created",
        "message_received",
        "reply_sent",
        "note_added",
        "status_changed",
        "priority_changed",
        "assigned",
        "team_changed",
        "tag_added",
        "tag_removed",
        "field_set",
        "macro_applied",
        "csat_received",
        "sla_warning",
        "sla_breached",
        "sla_met",
        "escalated",
        "outreach_opened",
        "script_error",
        "plugin_error",
        "reply_delivered",
        "delivery_failed",
        "reply_bounced",
        "health_changed",
        "customer_updated",
    ];

    /// The event's type as the API names it (`"reply_sent"`).
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::CaseCreated { .. } => "case_created",
            EventBody::MessageReceived { .. } => "message_received",
            EventBody::ReplySent { .. } => "reply_sent",
            EventBody::NoteAdded { .. } => "note_added",
            EventBody::StatusChanged { .. } => "status_changed",
            EventBody::PriorityChanged { .. } => "priority_changed",
            EventBody::Assigned { .. } => "assigned",
            EventBody::TeamChanged { .. } => "team_changed",
            EventBody::TagAdded { .. } => "tag_added",
            EventBody::TagRemoved { .. } => "tag_removed",
            EventBody::FieldSet { .. } => "field_set",
            EventBody::MacroApplied { .. } => "macro_applied",
            EventBody::CsatReceived { .. } => "csat_received",
            EventBody::SlaWarning { .. } => "sla_warning",
            EventBody::SlaBreached { .. } => "sla_breached",
            EventBody::SlaMet { .. } => "sla_met",
            EventBody::Escalated { .. } => "escalated",
            EventBody::OutreachOpened { .. } => "outreach_opened",
            EventBody::ScriptError { .. } => "script_error",
            EventBody::PluginError { .. } => "plugin_error",
            EventBody::ReplyDelivered { .. } => "reply_delivered",
            EventBody::DeliveryFailed { .. } => "delivery_failed",
            EventBody::ReplyBounced { .. } => "reply_bounced",
            EventBody::HealthChanged { .. } => "health_changed",
            EventBody::CustomerUpdated { .. } => "customer_updated",
        }
    }
}

/// Where a customer message came in through a channel plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelVia {
    /// The channel plugin.
    pub plugin: String,
    /// The channel's id for the message.
    pub message_id: String,
    /// The identity it came from (replies go back to it).
    pub sender: Identity,
    /// The conversation key, if the channel has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_key: Option<String>,
    /// The whole body, when the plugin trimmed quotes or a signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_body: Option<String>,
    /// Set when a machine sent it on the customer's behalf (an
    /// out-of-office, list or bulk mail): what gave it away. Such a message
    /// changes no status, starts no SLA clock and runs no rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_reply: Option<String>,
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

    #[test]
    fn kinds_are_the_serialised_type_names() {
        let bodies = [
            EventBody::ReplySent { body: "b".into() },
            EventBody::MacroApplied { name: "n".into(), title: "t".into() },
            EventBody::SlaMet { metric: Metric::FirstResponse, cycle: 1, business_seconds: 3 },
            EventBody::CsatReceived { score: 5, comment: None },
        ];
        for body in bodies {
            let json = serde_json::to_value(&body).unwrap();
            assert_eq!(json["type"], body.kind());
            assert!(EventBody::KINDS.contains(&body.kind()));
        }
        let mut unique = EventBody::KINDS.to_vec();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), EventBody::KINDS.len());
    }
}
