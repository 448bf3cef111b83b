//! redb table definitions and record encoding. Records are JSON so that a
//! file can be inspected and migrated with ordinary tools; bump a table's
//! `_v1` suffix when its encoding changes.

use jiff::Timestamp;
use redb::TableDefinition;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::StoreError;

/// Cases by id: the projection of their events, as a
/// [`CaseRecord`](crate::store::CaseRecord) (not the API's case shape).
pub const CASES: TableDefinition<u64, &[u8]> = TableDefinition::new("cases_v1");
/// Events by id (ids grow in commit order).
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events_v1");
/// (case id, event id): a case's timeline.
pub const CASE_EVENTS: TableDefinition<(u64, u64), ()> = TableDefinition::new("case_events_v1");
/// (customer id, event id): a customer's timeline across cases; and
/// (customer id, [`CUSTOMER_CASE`] | case id): the customer's cases. Both
/// live in one table so that a new case and its events for one customer land
/// on one B-tree leaf: a create dirties one page keyed by customer, not two.
pub const CUSTOMER_EVENTS: TableDefinition<(u64, u64), ()> = TableDefinition::new("customer_events_v1");
/// The top bit of a [`CUSTOMER_EVENTS`] key's second part marks a case id;
/// event ids never reach it.
pub const CUSTOMER_CASE: u64 = 1 << 63;
/// Case id -> the case's SLA state (policy, metrics, spans).
pub const SLA_STATE: TableDefinition<u64, &[u8]> = TableDefinition::new("sla_state_v1");
/// Customers by id.
pub const CUSTOMERS: TableDefinition<u64, &[u8]> = TableDefinition::new("customers_v1");
/// Identity key (`email:ann@example.com`) -> customer id.
pub const IDENTITIES: TableDefinition<&str, u64> = TableDefinition::new("identities_v1");
/// (filter key, case id): one index per list filter (`status:open`,
/// `tag:vip`, ...). The customer filter uses [`CUSTOMER_EVENTS`], and a
/// listing without filters reads [`CASES`]; files written before that kept
/// `customer:7` and `all` rows here, which opening the file moves or drops.
pub const CASE_INDEX: TableDefinition<(&str, u64), ()> = TableDefinition::new("case_index_v1");
/// (due, in ms since the epoch; case id; timer kind): ordered due-scans for the
/// scheduler (auto-close now, SLA deadlines next).
pub const DEADLINES: TableDefinition<(i64, u64, &str), ()> = TableDefinition::new("deadlines_v1");
/// (next SLA deadline, in ms since the epoch; case id): unsolved cases with a
/// running SLA clock, soonest first, for the inbox's "SLA due" sort.
pub const SLA_DUE: TableDefinition<(i64, u64), ()> = TableDefinition::new("sla_due_v1");
/// Case id -> its deadline in [`SLA_DUE`] in ms: finds the case's row there.
pub const CASE_SLA_DUE: TableDefinition<u64, i64> = TableDefinition::new("case_sla_due_v1");
/// Saved views by id.
pub const VIEWS: TableDefinition<u64, &[u8]> = TableDefinition::new("views_v1");
/// (`owner:<agent>` | [`SHARED_VIEWS`], view id): the views each agent sees.
pub const VIEW_INDEX: TableDefinition<(&str, u64), ()> = TableDefinition::new("view_index_v1");
/// The [`VIEW_INDEX`] key of every shared view.
pub const SHARED_VIEWS: &str = "shared";

/// The [`VIEW_INDEX`] key of `agent`'s own views.
pub fn view_owner_key(agent: &str) -> String {
    format!("owner:{agent}")
}
/// (case id, timer kind) -> due in ms: finds a case's entry in `DEADLINES`.
pub const CASE_TIMERS: TableDefinition<(u64, &str), i64> = TableDefinition::new("case_timers_v1");
/// (solved at, in ms; case id) -> the case's latest resolution, for MTTR and
/// first contact resolution over a time range.
pub const RESOLUTIONS: TableDefinition<(i64, u64), &[u8]> = TableDefinition::new("resolutions_v1");
/// (at, in ms; case id; metric and cycle) -> 1 met, 0 breached: SLA compliance.
pub const SLA_OUTCOMES: TableDefinition<(i64, u64, &str), u8> = TableDefinition::new("sla_outcomes_v1");
/// (rated at, in ms; case id) -> score: each case's latest CSAT.
pub const CSAT_SCORES: TableDefinition<(i64, u64), u8> = TableDefinition::new("csat_scores_v1");
/// (created day, days since the epoch; status) -> unsolved cases: the backlog by age.
pub const BACKLOG: TableDefinition<(i64, &str), u64> = TableDefinition::new("backlog_v1");
/// (case id, kind) -> the time key of the case's row in `RESOLUTIONS` or
/// `CSAT_SCORES`, so the row can be replaced.
pub const CASE_MARKS: TableDefinition<(u64, &str), i64> = TableDefinition::new("case_marks_v1");
/// `rule|customer|subject` -> when that outreach was last opened, in ms.
pub const OUTREACH: TableDefinition<&str, i64> = TableDefinition::new("outreach_v1");
/// Named counters (`backlog:reopened`, `load:<agent>`, `count:<index key>`).
pub const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters_v1");

/// The [`COUNTERS`] entry of unsolved cases that were reopened.
pub const REOPENED_BACKLOG: &str = "backlog:reopened";

/// The counter (in [`COUNTERS`]) of the cases under `key` in [`CASE_INDEX`].
pub fn index_count(key: &str) -> String {
    format!("count:{key}")
}
/// Idempotency key -> the first answer.
pub const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency_v1");
/// Macro name -> macro record.
pub const MACROS: TableDefinition<&str, &[u8]> = TableDefinition::new("macros_v1");
/// Token hash -> token record.
pub const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens_v1");
/// Agent name -> agent record (with its password hash).
pub const AGENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("agents_v1");
/// Lower-case email -> agent name: emails are unique.
pub const AGENT_EMAILS: TableDefinition<&str, &str> = TableDefinition::new("agent_emails_v1");
/// Session cookie hash -> session record.
pub const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions_v1");
/// (agent name, session hash): an agent's sessions, to end them all at once.
pub const AGENT_SESSIONS: TableDefinition<(&str, &str), ()> = TableDefinition::new("agent_sessions_v1");
/// (plugin, key) -> value: each plugin's private key-value state.
pub const PLUGIN_STATE: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("plugin_state_v1");
/// Outbound work (deliveries, CRM syncs) by id, with attempts and next try.
pub const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox_v1");
/// `msg|<channel>|<message id>` or `thread|<channel>|<key>` -> case id: how
/// channel messages dedupe and thread.
pub const CHANNEL_REFS: TableDefinition<&str, u64> = TableDefinition::new("channel_refs_v1");
/// Sequence counters and format version.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta_v1");

/// Encodes a record.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records serialise (no maps with non-string keys)")
}

/// Decodes a record, naming it on failure.
pub fn decode<T: DeserializeOwned>(table: &'static str, key: impl ToString, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt { table, key: key.to_string(), source })
}

/// A timestamp as the tables key it: milliseconds since the epoch.
pub fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// A timestamp from a table's key or value.
///
/// # Errors
/// [`StoreError::Inconsistent`] for milliseconds outside jiff's range.
pub fn from_millis(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Inconsistent(format!("bad timestamp {ms}: {e}")))
}
