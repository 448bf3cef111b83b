//! Records the store keeps in its own shapes: the case row, idempotent
//! answers and outbox items. Their JSON is the file format in every backend,
//! so a field is renamed only with a migration.
//!
//! The case row has a record type of its own, [`CaseRecord`], because
//! [`Case`]'s serde derive is the API's case shape (the binary flattens it
//! into its case view): renaming a field there for the API must not change
//! every stored row. The record borrows the case's text and collections, so
//! encoding copies nothing. The values inside it keep their domain encoding,
//! which is the file format too and changes only with a migration: ids as
//! decimal strings, statuses and priorities by the names that also key the
//! listing indexes (`status:open`), times as RFC 3339 text. A fixture of a
//! row written before the record existed pins all of it (see the tests).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{Case, CaseId, CaseStatus, Csat, CustomerId, Event, EventId, Priority};
use crate::sla::CaseSla;

/// A case row as the store writes and reads it; field for field a [`Case`],
/// named as files written so far name them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord<'a> {
    /// [`Case::id`].
    pub id: CaseId,
    /// [`Case::subject`].
    pub subject: Cow<'a, str>,
    /// [`Case::status`].
    pub status: CaseStatus,
    /// [`Case::priority`].
    pub priority: Priority,
    /// [`Case::channel`].
    pub channel: Cow<'a, str>,
    /// [`Case::customer_id`].
    pub customer_id: CustomerId,
    /// [`Case::team`].
    pub team: Option<Cow<'a, str>>,
    /// [`Case::assignee`].
    pub assignee: Option<Cow<'a, str>>,
    /// [`Case::tags`].
    pub tags: Cow<'a, BTreeSet<String>>,
    /// [`Case::fields`].
    pub fields: Cow<'a, BTreeMap<String, serde_json::Value>>,
    /// [`Case::created_at`].
    #[serde(serialize_with = "crate::timestamp_text::serialize")]
    pub created_at: Timestamp,
    /// [`Case::updated_at`].
    #[serde(serialize_with = "crate::timestamp_text::serialize")]
    pub updated_at: Timestamp,
    /// [`Case::first_response_at`].
    #[serde(serialize_with = "crate::timestamp_text::serialize_opt")]
    pub first_response_at: Option<Timestamp>,
    /// [`Case::solved_at`].
    #[serde(serialize_with = "crate::timestamp_text::serialize_opt")]
    pub solved_at: Option<Timestamp>,
    /// [`Case::closed_at`].
    #[serde(serialize_with = "crate::timestamp_text::serialize_opt")]
    pub closed_at: Option<Timestamp>,
    /// [`Case::reopen_count`].
    pub reopen_count: u32,
    /// [`Case::agent_replies`]; rows written before it was counted lack it.
    #[serde(default)]
    pub agent_replies: u32,
    /// [`Case::escalation_level`]; rows written before escalations lack it.
    #[serde(default)]
    pub escalation_level: u8,
    /// [`Case::csat`].
    pub csat: Option<CsatRecord<'a>>,
    /// [`Case::linked_case_ids`].
    pub linked_case_ids: Cow<'a, [CaseId]>,
    /// [`Case::version`].
    pub version: u64,
    /// [`Case::last_event_id`].
    pub last_event_id: EventId,
}

/// A case's rating as its row stores it; field for field a [`Csat`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsatRecord<'a> {
    /// [`Csat::score`].
    pub score: u8,
    /// [`Csat::comment`].
    pub comment: Option<Cow<'a, str>>,
    /// [`Csat::at`].
    #[serde(serialize_with = "crate::timestamp_text::serialize")]
    pub at: Timestamp,
}

impl<'a> From<&'a Case> for CaseRecord<'a> {
    fn from(case: &'a Case) -> Self {
        // Destructured, so that a field added to `Case` fails to compile here
        // until the record (and the file format) says what becomes of it.
        let Case {
            id,
            subject,
            status,
            priority,
            channel,
            customer_id,
            team,
            assignee,
            tags,
            fields,
            created_at,
            updated_at,
            first_response_at,
            solved_at,
            closed_at,
            reopen_count,
            agent_replies,
            escalation_level,
            csat,
            linked_case_ids,
            version,
            last_event_id,
        } = case;
        Self {
            id: *id,
            subject: Cow::Borrowed(subject),
            status: *status,
            priority: *priority,
            channel: Cow::Borrowed(channel),
            customer_id: *customer_id,
            team: team.as_deref().map(Cow::Borrowed),
            assignee: assignee.as_deref().map(Cow::Borrowed),
            tags: Cow::Borrowed(tags),
            fields: Cow::Borrowed(fields),
            created_at: *created_at,
            updated_at: *updated_at,
            first_response_at: *first_response_at,
            solved_at: *solved_at,
            closed_at: *closed_at,
            reopen_count: *reopen_count,
            agent_replies: *agent_replies,
            escalation_level: *escalation_level,
            csat: csat.as_ref().map(CsatRecord::from),
            linked_case_ids: Cow::Borrowed(linked_case_ids),
            version: *version,
            last_event_id: *last_event_id,
        }
    }
}

impl From<CaseRecord<'_>> for Case {
    fn from(record: CaseRecord<'_>) -> Self {
        Self {
            id: record.id,
            subject: record.subject.into_owned(),
            status: record.status,
            priority: record.priority,
            channel: record.channel.into_owned(),
            customer_id: record.customer_id,
            team: record.team.map(Cow::into_owned),
            assignee: record.assignee.map(Cow::into_owned),
            tags: record.tags.into_owned(),
            fields: record.fields.into_owned(),
            created_at: record.created_at,
            updated_at: record.updated_at,
            first_response_at: record.first_response_at,
            solved_at: record.solved_at,
            closed_at: record.closed_at,
            reopen_count: record.reopen_count,
            agent_replies: record.agent_replies,
            escalation_level: record.escalation_level,
            csat: record.csat.map(Csat::from),
            linked_case_ids: record.linked_case_ids.into_owned(),
            version: record.version,
            last_event_id: record.last_event_id,
        }
    }
}

impl<'a> From<&'a Csat> for CsatRecord<'a> {
    fn from(csat: &'a Csat) -> Self {
        let Csat { score, comment, at } = csat;
        Self { score: *score, comment: comment.as_deref().map(Cow::Borrowed), at: *at }
    }
}

impl From<CsatRecord<'_>> for Csat {
    fn from(record: CsatRecord<'_>) -> Self {
        Self { score: record.score, comment: record.comment.map(Cow::into_owned), at: record.at }
    }
}

/// `#[serde(with)]` for a case inside another record: written as its
/// [`CaseRecord`], never in the API's shape.
mod case_row {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::CaseRecord;
    use crate::domain::Case;

    pub fn serialize<S: Serializer>(case: &Case, serializer: S) -> Result<S::Ok, S::Error> {
        CaseRecord::from(case).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Box<Case>, D::Error> {
        CaseRecord::deserialize(deserializer).map(|record| Box::new(Case::from(record)))
    }
}

/// What the store keeps for an idempotency key: enough to answer a retry
/// as the first request was answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Fingerprint of the first request.
    pub request_hash: String,
    /// When the key was first used.
    pub created_at: Timestamp,
    /// The first answer.
    #[serde(flatten)]
    pub answer: IdempotentAnswer,
}

/// The first answer to an idempotent create or message. Untagged (the
/// stored shape predates the message answer): variants are tried in order,
/// so the one with the most fields comes first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IdempotentAnswer {
    /// A message sent with a key: the case after it (rules included), the
    /// events it wrote, and whether it opened a follow-up case.
    Posted {
        /// The case.
        #[serde(with = "case_row")]
        case: Box<Case>,
        /// Its SLA state.
        sla: Box<CaseSla>,
        /// The events written.
        events: Vec<Event>,
        /// Whether the message opened a follow-up (the case was closed).
        follow_up: bool,
    },
    /// The case as the create left it, rules included; the caller renders it.
    Created {
        /// The case.
        #[serde(with = "case_row")]
        case: Box<Case>,
        /// Its SLA state.
        sla: Box<CaseSla>,
    },
    /// Records written before answers were kept as data: the HTTP status
    /// and body, verbatim.
    Rendered {
        /// HTTP status.
        status: u16,
        /// JSON text.
        body: String,
    },
}

/// Outbound work waiting for delivery, written in the same transaction as
/// the command that caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Id.
    pub id: u64,
    /// `notify`, `deliver`, `crm_sync`, ...
    pub kind: String,
    /// Who or where.
    pub target: String,
    /// What, as JSON.
    pub payload: serde_json::Value,
    /// The case it belongs to, if any.
    pub case_id: Option<CaseId>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// When to try next.
    pub next_try_at: Timestamp,
    /// `pending` or `failed` (delivered items are removed).
    pub status: String,
    /// The customer it concerns.
    #[serde(default)]
    pub customer_id: Option<CustomerId>,
    /// The last attempt's error.
    #[serde(default)]
    pub last_error: Option<String>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A case row exactly as `cases_v1` held it before [`CaseRecord`]
    /// existed (written by `serde_json::to_vec(&Case)`), every field set.
    pub(crate) const CASE_ROW_V1: &str = include_str!("fixtures/case_row_v1.json");
    /// An idempotent create's answer as `idempotency_v1` held it then.
    const IDEMPOTENCY_CREATED_V1: &str = include_str!("fixtures/idempotency_created_v1.json");

    fn at(text: &str) -> Timestamp {
        text.parse().expect("valid timestamp")
    }

    /// The case both fixtures hold.
    pub(crate) fn fixture_case() -> Case {
        Case {
            id: CaseId::new(42),
            subject: "Printer on fire \"again\"".into(),
            status: CaseStatus::OnHold,
            priority: Priority::Urgent,
            channel: "email".into(),
            customer_id: CustomerId::new(7),
            team: Some("billing".into()),
            assignee: Some("ida".into()),
            tags: ["vip".to_owned(), "fire".to_owned()].into(),
            fields: [
                ("order".to_owned(), serde_json::json!({ "id": 12, "lines": [1, 2.5, null] })),
                ("plan".to_owned(), serde_json::json!("pro")),
            ]
            .into(),
            created_at: at("2026-03-02T09:00:00Z"),
            updated_at: at("2026-03-04T10:15:30.125Z"),
            first_response_at: Some(at("2026-03-02T09:30:00.5Z")),
            solved_at: Some(at("2026-03-03T11:00:00Z")),
            closed_at: None,
            reopen_count: 2,
            agent_replies: 3,
            escalation_level: 1,
            csat: Some(Csat { score: 4, comment: Some("ok, thanks".into()), at: at("2026-03-03T12:00:00.000000001Z") }),
            linked_case_ids: vec![CaseId::new(40), CaseId::new(41)],
            version: 17,
            last_event_id: EventId::new(1234),
        }
    }

    #[test]
    fn a_case_row_written_before_the_record_reads_back() {
        let record: CaseRecord<'static> = serde_json::from_str(CASE_ROW_V1.trim_end()).unwrap();
        assert_eq!(Case::from(record), fixture_case());
    }

    /// Byte for byte: a file mixes rows written before and after, and the
    /// decoded-row cache compares stored bytes.
    #[test]
    fn a_case_row_is_written_as_before() {
        let case = fixture_case();
        assert_eq!(serde_json::to_string(&CaseRecord::from(&case)).unwrap(), CASE_ROW_V1.trim_end());
    }

    #[test]
    fn a_message_answer_reads_back_as_a_message_answer() {
        let case = fixture_case();
        let record = IdempotencyRecord {
            request_hash: "h".into(),
            created_at: case.created_at,
            answer: IdempotentAnswer::Posted {
                case: Box::new(case.clone()),
                sla: Box::default(),
                events: Vec::new(),
                follow_up: true,
            },
        };
        let read: IdempotencyRecord = serde_json::from_str(&serde_json::to_string(&record).unwrap()).unwrap();
        assert_eq!(read, record);
    }

    #[test]
    fn a_case_inside_an_idempotent_answer_keeps_its_format() {
        let record: IdempotencyRecord = serde_json::from_str(IDEMPOTENCY_CREATED_V1.trim_end()).unwrap();
        let IdempotentAnswer::Created { case, sla } = &record.answer else { panic!("a created answer: {record:?}") };
        assert_eq!((&**case, &**sla), (&fixture_case(), &CaseSla::default()));
        assert_eq!(serde_json::to_string(&record).unwrap(), IDEMPOTENCY_CREATED_V1.trim_end());
    }

    /// Rows from before replies and escalations were counted.
    #[test]
    fn a_case_row_without_later_counters_reads_as_zero() {
        let mut row: serde_json::Value = serde_json::from_str(CASE_ROW_V1).unwrap();
        let fields = row.as_object_mut().unwrap();
        fields.remove("agent_replies");
        fields.remove("escalation_level");
        let case = Case::from(serde_json::from_value::<CaseRecord<'static>>(row).unwrap());
        assert_eq!((case.agent_replies, case.escalation_level), (0, 0));
    }
}
