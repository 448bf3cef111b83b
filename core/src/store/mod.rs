//! Storage behind a trait, so a second backend can pass the same conformance
//! suite (`crate::conformance`). Reads take a snapshot and never wait on the
//! writer; writes happen only inside [`Store::transact`], called by the single
//! writer task.

mod derived;
mod error;
mod overlay;
pub(crate) mod records;
pub(crate) mod redb;
mod views;

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::auth::{Agent, ApiToken, Session};
use crate::domain::{
    Case, CaseId, CaseStatus, Customer, CustomerId, Event, EventId, Identity, Macro, Metric, Priority, ViewId,
};
use crate::metrics::{MetricsInput, Resolution};
use crate::sla::CaseSla;

pub use error::StoreError;
pub use overlay::{Overlay, PREVIEW_ID_BASE};
pub use records::{CaseRecord, CsatRecord, IdempotencyRecord, IdempotentAnswer, OutboxItem};
pub use redb::RedbStore;
pub use views::{SavedView, ViewFilters};

/// Which id sequence to draw from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequence {
    /// Case ids.
    Case,
    /// Customer ids.
    Customer,
    /// Event ids.
    Event,
    /// Outbox item ids.
    Outbox,
    /// Saved view ids.
    View,
}

/// What a timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// Close a solved case.
    AutoClose,
    /// Check an SLA metric's warning or deadline.
    Sla(Metric),
}

impl TimerKind {
    /// Storage name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TimerKind::AutoClose => "auto_close",
            TimerKind::Sla(Metric::FirstResponse) => "sla:first_response",
            TimerKind::Sla(Metric::NextResponse) => "sla:next_response",
            TimerKind::Sla(Metric::Resolution) => "sla:resolution",
        }
    }

    /// Parses a storage name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "auto_close" => Some(TimerKind::AutoClose),
            _ => name.strip_prefix("sla:").and_then(Metric::parse).map(TimerKind::Sla),
        }
    }
}

/// Cases with an SLA in a given state, for listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaFilter {
    /// A metric's deadline passed and it is not yet done.
    Breached,
    /// A metric passed its warning threshold but not its deadline.
    AtRisk,
}

impl SlaFilter {
    /// The index key.
    pub const fn index_key(self) -> &'static str {
        match self {
            SlaFilter::Breached => "sla:breached",
            SlaFilter::AtRisk => "sla:at_risk",
        }
    }
}

/// How a listing of cases is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseSort {
    /// By case id, newest first ([`Store::list_cases`]).
    #[default]
    Created,
    /// The soonest SLA deadline first ([`Store::list_cases_by_sla_due`]).
    SlaDue,
}

impl CaseSort {
    /// The name the API and the console use.
    pub const fn as_str(self) -> &'static str {
        match self {
            CaseSort::Created => "created",
            CaseSort::SlaDue => "sla_due",
        }
    }

    /// Parses [`CaseSort::as_str`]'s names.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "created" => Some(CaseSort::Created),
            "sla_due" => Some(CaseSort::SlaDue),
            _ => None,
        }
    }
}

/// Where a page of [`Store::list_cases_by_sla_due`] ends, to continue after
/// it. Its text form (`Display` / `FromStr`) is an opaque cursor for clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuePosition {
    /// Among the cases with a deadline: after this one (deadlines are kept
    /// to the millisecond).
    Due {
        /// The case's deadline.
        due_at: Timestamp,
        /// The case.
        case: CaseId,
    },
    /// Past every case with a deadline, among those without one (newest
    /// first): below this case, or from the newest when `None`.
    Undated(Option<CaseId>),
}

impl fmt::Display for DuePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DuePosition::Due { due_at, case } => write!(f, "d{}_{case}", due_at.as_millisecond()),
            DuePosition::Undated(None) => f.write_str("u"),
            DuePosition::Undated(Some(case)) => write!(f, "u{case}"),
        }
    }
}

/// Text that is no [`DuePosition`].
#[derive(Debug, thiserror::Error)]
#[error("invalid cursor {0:?}")]
pub struct InvalidCursor(String);

impl FromStr for DuePosition {
    type Err = InvalidCursor;

    fn from_str(text: &str) -> Result<Self, InvalidCursor> {
        let invalid = || InvalidCursor(text.to_owned());
        if let Some(rest) = text.strip_prefix('d') {
            let (ms, case) = rest.split_once('_').ok_or_else(invalid)?;
            let due_at = ms.parse().ok().and_then(|ms| Timestamp::from_millisecond(ms).ok()).ok_or_else(invalid)?;
            Ok(DuePosition::Due { due_at, case: case.parse().map_err(|_| invalid())? })
        } else if let Some(rest) = text.strip_prefix('u') {
            match rest {
                "" => Ok(DuePosition::Undated(None)),
                id => Ok(DuePosition::Undated(Some(id.parse().map_err(|_| invalid())?))),
            }
        } else {
            Err(invalid())
        }
    }
}

/// A timer that is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueTimer {
    /// The case.
    pub case_id: CaseId,
    /// What to do.
    pub kind: TimerKind,
    /// When it was due.
    pub due_at: Timestamp,
}

/// Filters for listing cases. Every filter is served by an index; when several
/// are given, the most selective one drives the scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    /// Only this status.
    pub status: Option<CaseStatus>,
    /// Only this priority.
    pub priority: Option<Priority>,
    /// Only this team.
    pub team: Option<String>,
    /// Only this assignee.
    pub assignee: Option<String>,
    /// Only cases with this tag.
    pub tag: Option<String>,
    /// Only this customer's cases.
    pub customer: Option<CustomerId>,
    /// Only cases whose SLA is in this state.
    pub sla: Option<SlaFilter>,
    /// Only cases not yet solved or closed (the agents' queues).
    pub unsolved: bool,
    /// Only cases nobody is assigned to (ignored when `assignee` is given).
    pub unassigned: bool,
    /// Continue past this case id (below it newest first, above it oldest first).
    pub before: Option<CaseId>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
    /// Page size.
    pub limit: usize,
}

impl CaseQuery {
    /// Whether `case` passes every filter.
    pub fn matches(&self, case: &Case) -> bool {
        self.status.is_none_or(|s| case.status == s)
            && self.priority.is_none_or(|p| case.priority == p)
            && self.team.as_ref().is_none_or(|t| case.team.as_ref() == Some(t))
            && self.assignee.as_ref().is_none_or(|a| case.assignee.as_ref() == Some(a))
            && self.tag.as_ref().is_none_or(|t| case.tags.contains(t))
            && self.customer.is_none_or(|c| case.customer_id == c)
            && (!self.unsolved || !case.status.is_done())
            && (!self.unassigned || self.assignee.is_some() || case.assignee.is_none())
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T, C> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next: Option<C>,
}

/// The read side and the transaction entry point of a storage backend.
pub trait Store: Send + Sync + 'static {
    /// One case by id.
    ///
    /// # Errors
    /// Storage failures.
    fn case(&self, id: CaseId) -> Result<Option<Case>, StoreError>;

    /// A case's SLA state.
    ///
    /// # Errors
    /// Storage failures.
    fn case_sla(&self, id: CaseId) -> Result<Option<CaseSla>, StoreError>;

    /// Cases matching `query`, newest first.
    ///
    /// # Errors
    /// Storage failures.
    fn list_cases(&self, query: &CaseQuery) -> Result<Page<Case, CaseId>, StoreError>;

    /// The cases `query` matches (its `before` and `oldest_first` aside),
    /// each with its SLA state, from one snapshot: the soonest deadline
    /// first ([`CaseSla::next_due`]; ties by case id), then the cases without
    /// one (paused, solved, no policy), newest first, so that a view shows
    /// the same cases in either sort. `after` is the `next` of the page
    /// before. A page may come back short, with a `next`, when its filters
    /// rarely match.
    ///
    /// # Errors
    /// Storage failures.
    fn list_cases_by_sla_due(
        &self,
        query: &CaseQuery,
        after: Option<DuePosition>,
    ) -> Result<Page<(Case, CaseSla), DuePosition>, StoreError>;

    /// One saved view.
    ///
    /// # Errors
    /// Storage failures.
    fn view(&self, id: ViewId) -> Result<Option<SavedView>, StoreError>;

    /// The views `agent` sees: their own and every shared one, by name.
    ///
    /// # Errors
    /// Storage failures.
    fn views_for(&self, agent: &str) -> Result<Vec<SavedView>, StoreError>;

    /// One case with its SLA state (the default if it has none), both read
    /// from one snapshot.
    ///
    /// # Errors
    /// Storage failures.
    fn case_with_sla(&self, id: CaseId) -> Result<Option<(Case, CaseSla)>, StoreError>;

    /// As [`Store::list_cases`], each case with its SLA state, all read from
    /// one snapshot: a page shows its cases and their clocks as of one moment.
    ///
    /// # Errors
    /// Storage failures.
    fn list_cases_with_sla(&self, query: &CaseQuery) -> Result<Page<(Case, CaseSla), CaseId>, StoreError>;

    /// How many cases each query matches (paging fields ignored), all read
    /// from one snapshot, so an inbox's counts agree with each other. A query
    /// that is exactly one queue or filter is counted without a scan.
    ///
    /// # Errors
    /// Storage failures.
    fn count_cases(&self, queries: &[CaseQuery]) -> Result<Vec<u64>, StoreError>;

    /// A case's events after `after`, oldest first.
    ///
    /// # Errors
    /// Storage failures.
    fn case_events(&self, id: CaseId, after: Option<EventId>, limit: usize)
    -> Result<Page<Event, EventId>, StoreError>;

    /// Every event after `after` (from the first when `None`), in commit
    /// order: the event feed integrators mirror everything from.
    ///
    /// # Errors
    /// Storage failures.
    fn events_after(&self, after: Option<EventId>, limit: usize) -> Result<Page<Event, EventId>, StoreError>;

    /// A case's events before `before` (all, when `None`), newest first: a
    /// long thread opens at its end and pages back.
    ///
    /// # Errors
    /// Storage failures.
    fn case_events_before(
        &self,
        id: CaseId,
        before: Option<EventId>,
        limit: usize,
    ) -> Result<Page<Event, EventId>, StoreError>;

    /// One customer by id.
    ///
    /// # Errors
    /// Storage failures.
    fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError>;

    /// The customer an identity resolves to.
    ///
    /// # Errors
    /// Storage failures.
    fn customer_by_identity(&self, identity: &Identity) -> Result<Option<Customer>, StoreError>;

    /// Every event of every case of a customer (and the customer's own
    /// events), oldest first.
    ///
    /// # Errors
    /// Storage failures.
    fn customer_events(
        &self,
        id: CustomerId,
        after: Option<EventId>,
        limit: usize,
    ) -> Result<Page<Event, EventId>, StoreError>;

    /// The token stored under a secret's hash.
    ///
    /// # Errors
    /// Storage failures.
    fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError>;

    /// Every stored token.
    ///
    /// # Errors
    /// Storage failures.
    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    /// Every macro, by name.
    ///
    /// # Errors
    /// Storage failures.
    fn macros(&self) -> Result<Vec<Macro>, StoreError>;

    /// What was stored for an idempotency key.
    ///
    /// # Errors
    /// Storage failures.
    fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// One agent by name.
    ///
    /// # Errors
    /// Storage failures.
    fn agent(&self, name: &str) -> Result<Option<Agent>, StoreError>;

    /// The agent with this (lower-case) email.
    ///
    /// # Errors
    /// Storage failures.
    fn agent_by_email(&self, email: &str) -> Result<Option<Agent>, StoreError>;

    /// Every agent, active or not, by name.
    ///
    /// # Errors
    /// Storage failures.
    fn agents(&self) -> Result<Vec<Agent>, StoreError>;

    /// The session stored under a cookie secret's hash, expired or not.
    ///
    /// # Errors
    /// Storage failures.
    fn session(&self, hash: &str) -> Result<Option<Session>, StoreError>;

    /// When a rule last opened this outreach (`rule|customer|subject`).
    ///
    /// # Errors
    /// Storage failures.
    fn outreach_opened_at(&self, key: &str) -> Result<Option<Timestamp>, StoreError>;

    /// Unsolved cases assigned to `agent`.
    ///
    /// # Errors
    /// Storage failures.
    fn open_load(&self, agent: &str) -> Result<u64, StoreError>;

    /// Timers due at or before `now`, earliest first.
    ///
    /// # Errors
    /// Storage failures.
    fn due_timers(&self, now: Timestamp, limit: usize) -> Result<Vec<DueTimer>, StoreError>;

    /// When the earliest timer is due.
    ///
    /// # Errors
    /// Storage failures.
    fn next_timer_at(&self) -> Result<Option<Timestamp>, StoreError>;

    /// Aggregate rows for service metrics: resolutions, SLA outcomes and
    /// ratings in `[from, to)`, and the current backlog.
    ///
    /// # Errors
    /// Storage failures.
    fn metrics_input(&self, from: Timestamp, to: Timestamp) -> Result<MetricsInput, StoreError>;

    /// Runs `work` in one write transaction and commits it durably. If `work`
    /// fails or the commit fails, nothing of it is written.
    ///
    /// # Errors
    /// The error of `work`, or a storage failure.
    fn transact(&self, work: &mut dyn FnMut(&mut dyn WriteTxn) -> Result<(), StoreError>) -> Result<(), StoreError>;

    /// A plugin's key-value entry.
    ///
    /// # Errors
    /// Storage failures.
    fn plugin_state(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Outbox items with ids after `after`, oldest first, at most `limit`.
    ///
    /// # Errors
    /// Storage failures.
    fn outbox_items(&self, after: Option<u64>, limit: usize) -> Result<Vec<OutboxItem>, StoreError>;

    /// The case a channel reference (see [`WriteTxn::set_channel_ref`]) points to.
    ///
    /// # Errors
    /// Storage failures.
    fn channel_ref(&self, key: &str) -> Result<Option<CaseId>, StoreError>;

    /// Whether a read may wait on something outside this process (a
    /// database server, the network), so that a caller on an async runtime
    /// must move it to a blocking thread. `true` unless the backend knows its
    /// reads only touch memory it maps itself.
    fn reads_wait(&self) -> bool {
        true
    }
}

/// What a command may read and write inside a write transaction. Reads see
/// the transaction's own earlier writes. Times (timers, outreach, metric
/// rows) are kept to at least the millisecond.
///
/// Every method here and in [`Store`] has a check in the conformance suite
/// (`crate::conformance::COVERAGE`); a test fails until a new one does too.
pub trait WriteTxn {
    /// One case.
    ///
    /// # Errors
    /// Storage failures.
    fn case(&self, id: CaseId) -> Result<Option<Case>, StoreError>;

    /// One customer.
    ///
    /// # Errors
    /// Storage failures.
    fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError>;

    /// A case's SLA state.
    ///
    /// # Errors
    /// Storage failures.
    fn case_sla(&self, id: CaseId) -> Result<Option<CaseSla>, StoreError>;

    /// Writes a case's SLA state.
    ///
    /// # Errors
    /// Storage failures.
    fn put_sla(&mut self, id: CaseId, sla: &CaseSla) -> Result<(), StoreError>;

    /// Sets (or with `None` clears) the case's next SLA deadline, which
    /// orders [`Store::list_cases_by_sla_due`]; kept to the millisecond.
    ///
    /// # Errors
    /// Storage failures.
    fn set_sla_due(&mut self, case: CaseId, due: Option<Timestamp>) -> Result<(), StoreError>;

    /// One saved view.
    ///
    /// # Errors
    /// Storage failures.
    fn view(&self, id: ViewId) -> Result<Option<SavedView>, StoreError>;

    /// The views `agent` sees (see [`Store::views_for`]), with this
    /// transaction's writes.
    ///
    /// # Errors
    /// Storage failures.
    fn views_for(&self, agent: &str) -> Result<Vec<SavedView>, StoreError>;

    /// Writes a saved view (new or changed).
    ///
    /// # Errors
    /// Storage failures.
    fn put_view(&mut self, view: &SavedView) -> Result<(), StoreError>;

    /// Removes a saved view; nothing if there is none.
    ///
    /// # Errors
    /// Storage failures.
    fn remove_view(&mut self, id: ViewId) -> Result<(), StoreError>;

    /// Adds (or removes) a case under an index key such as `sla:breached`.
    ///
    /// # Errors
    /// Storage failures.
    fn set_case_index(&mut self, key: &str, case: CaseId, present: bool) -> Result<(), StoreError>;

    /// The owner of an identity.
    ///
    /// # Errors
    /// Storage failures.
    fn customer_id_by_identity(&self, identity: &Identity) -> Result<Option<CustomerId>, StoreError>;

    /// What was stored for an idempotency key.
    ///
    /// # Errors
    /// Storage failures.
    fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// The token with this name, revoked or not.
    ///
    /// # Errors
    /// Storage failures.
    fn token_named(&self, name: &str) -> Result<Option<ApiToken>, StoreError>;

    /// The token stored under a secret's hash.
    ///
    /// # Errors
    /// Storage failures.
    fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError>;

    /// The next id of `sequence`, drawn from the store so that a backend
    /// shared by several processes never hands one id out twice.
    ///
    /// Ids of one sequence grow in the order they are drawn, and the single
    /// writer draws them in commit order: listings and timelines sort by id.
    /// They are unique across every process sharing one store. They need not
    /// be dense: ids drawn by a transaction that aborts may be skipped (a
    /// database sequence does not roll back), and may equally be drawn again
    /// (redb's counters do roll back), so nothing may rely on either.
    ///
    /// # Errors
    /// Storage failures: a networked backend's sequence can be unreachable.
    fn allocate(&mut self, sequence: Sequence) -> Result<u64, StoreError>;

    /// Writes a case row and keeps its indexes in step with `previous`,
    /// which must be the row as this transaction last saw it (`txn.case()`)
    /// or `None` for a new case. Reads later in the same transaction see the
    /// new row; a backend may keep the row and its index rows back and
    /// write them once before the commit.
    ///
    /// # Errors
    /// Storage failures.
    fn put_case(&mut self, previous: Option<&Case>, case: &Case) -> Result<(), StoreError>;

    /// Writes a customer and indexes its new identities.
    ///
    /// # Errors
    /// Storage failures.
    fn put_customer(&mut self, customer: &Customer) -> Result<(), StoreError>;

    /// Appends an event and indexes it by case and customer.
    ///
    /// # Errors
    /// Storage failures.
    fn append_event(&mut self, event: &Event) -> Result<(), StoreError>;

    /// Remembers an idempotency key's answer.
    ///
    /// # Errors
    /// Storage failures.
    fn put_idempotency(&mut self, key: &str, record: &IdempotencyRecord) -> Result<(), StoreError>;

    /// Stores a token.
    ///
    /// # Errors
    /// Storage failures.
    fn put_token(&mut self, token: &ApiToken) -> Result<(), StoreError>;

    /// One agent by name.
    ///
    /// # Errors
    /// Storage failures.
    fn agent(&self, name: &str) -> Result<Option<Agent>, StoreError>;

    /// The agent with this (lower-case) email.
    ///
    /// # Errors
    /// Storage failures.
    fn agent_by_email(&self, email: &str) -> Result<Option<Agent>, StoreError>;

    /// Writes an agent (new or changed) and keeps its email unique: an email
    /// it had before stops pointing at it. The caller checks that the email
    /// is not another agent's.
    ///
    /// # Errors
    /// Storage failures.
    fn put_agent(&mut self, agent: &Agent) -> Result<(), StoreError>;

    /// One macro by name.
    ///
    /// # Errors
    /// Storage failures.
    fn macro_named(&self, name: &str) -> Result<Option<Macro>, StoreError>;

    /// Stores a macro under its name, replacing one of that name.
    ///
    /// # Errors
    /// Storage failures.
    fn put_macro(&mut self, record: &Macro) -> Result<(), StoreError>;

    /// Deletes a macro; nothing if it is gone.
    ///
    /// # Errors
    /// Storage failures.
    fn delete_macro(&mut self, name: &str) -> Result<(), StoreError>;

    /// The session stored under a cookie secret's hash.
    ///
    /// # Errors
    /// Storage failures.
    fn session(&self, hash: &str) -> Result<Option<Session>, StoreError>;

    /// Writes a session (new, or with a later `last_seen_at`), indexed by its agent.
    ///
    /// # Errors
    /// Storage failures.
    fn put_session(&mut self, session: &Session) -> Result<(), StoreError>;

    /// Removes a session; nothing if there is none.
    ///
    /// # Errors
    /// Storage failures.
    fn remove_session(&mut self, hash: &str) -> Result<(), StoreError>;

    /// Every session of `agent`, expired or not.
    ///
    /// # Errors
    /// Storage failures.
    fn agent_sessions(&self, agent: &str) -> Result<Vec<Session>, StoreError>;

    /// Removes every session of `agent` (sign out everywhere); how many there were.
    ///
    /// # Errors
    /// Storage failures.
    fn remove_agent_sessions(&mut self, agent: &str) -> Result<usize, StoreError>;

    /// Records (or with `None` forgets) a case's latest resolution.
    ///
    /// # Errors
    /// Storage failures.
    fn record_resolution(&mut self, case: CaseId, resolution: Option<&Resolution>) -> Result<(), StoreError>;

    /// Records an SLA metric's outcome at `at`.
    ///
    /// # Errors
    /// Storage failures.
    fn record_sla_outcome(
        &mut self,
        at: Timestamp,
        case: CaseId,
        metric: Metric,
        cycle: u32,
        met: bool,
    ) -> Result<(), StoreError>;

    /// Records a case's latest rating, replacing an earlier one.
    ///
    /// # Errors
    /// Storage failures.
    fn record_csat(&mut self, case: CaseId, at: Timestamp, score: u8) -> Result<(), StoreError>;

    /// When a rule last opened this outreach (`rule|customer|subject`).
    ///
    /// # Errors
    /// Storage failures.
    fn outreach_opened_at(&self, key: &str) -> Result<Option<Timestamp>, StoreError>;

    /// Remembers that an outreach was opened at `at`.
    ///
    /// # Errors
    /// Storage failures.
    fn record_outreach(&mut self, key: &str, at: Timestamp) -> Result<(), StoreError>;

    /// Unsolved cases assigned to `agent`.
    ///
    /// # Errors
    /// Storage failures.
    fn open_load(&self, agent: &str) -> Result<u64, StoreError>;

    /// Queues outbound work (a notification, a delivery) for the outbox worker.
    ///
    /// # Errors
    /// Storage failures.
    fn enqueue_outbox(&mut self, item: &OutboxItem) -> Result<(), StoreError>;

    /// Sets (or with `None` clears) a case's timer of `kind`.
    ///
    /// # Errors
    /// Storage failures.
    fn set_timer(&mut self, case: CaseId, kind: TimerKind, due: Option<Timestamp>) -> Result<(), StoreError>;

    /// Sets (`Some`) or removes (`None`) a plugin's key-value entry.
    ///
    /// # Errors
    /// Storage failures.
    fn put_plugin_state(&mut self, plugin: &str, key: &str, value: Option<&[u8]>) -> Result<(), StoreError>;

    /// An outbox item by id.
    ///
    /// # Errors
    /// Storage failures.
    fn outbox_item(&self, id: u64) -> Result<Option<OutboxItem>, StoreError>;

    /// Removes a finished outbox item.
    ///
    /// # Errors
    /// Storage failures.
    fn remove_outbox(&mut self, id: u64) -> Result<(), StoreError>;

    /// The case a channel reference points to.
    ///
    /// # Errors
    /// Storage failures.
    fn channel_ref(&self, key: &str) -> Result<Option<CaseId>, StoreError>;

    /// Points a channel reference (a message id seen on a case, a thread key)
    /// at a case.
    ///
    /// # Errors
    /// Storage failures.
    fn set_channel_ref(&mut self, key: &str, case: CaseId) -> Result<(), StoreError>;
}
