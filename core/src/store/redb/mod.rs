//! The embedded backend: one redb file. One write transaction per
//! [`Store::transact`] (the writer's batch), committed with immediate
//! durability; reads use their own read transactions and never wait on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use redb::{
    Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata, Table, WriteTransaction,
};

mod decoded;
mod error;
pub(crate) mod tables;

use decoded::DecodedRows;
use tables::*;

use crate::auth::ApiToken;
use crate::domain::{Case, CaseId, CaseStatus, Customer, CustomerId, Event, EventId, Identity, Metric};
use crate::metrics::{BacklogRow, MetricsInput, Resolution};
use crate::sla::CaseSla;
use crate::store::derived::{self, listing_key};
use crate::store::{
    CaseQuery, DueTimer, IdempotencyRecord, OutboxItem, Page, Sequence, Store, StoreError, TimerKind, WriteTxn,
};

/// Scanning stops after this many index rows per page, so a listing with
/// filters that rarely match stays bounded; it then returns a short page with
/// a cursor to continue.
const MAX_SCAN_PER_PAGE: usize = 5_000;

/// The next id of each sequence, kept in memory by the one writer and saved
/// in `META` with every transaction.
#[derive(Debug, Clone, Copy)]
struct Counters {
    case: u64,
    customer: u64,
    event: u64,
    outbox: u64,
}

/// Case, SLA state and customer rows decoded recently, by readers and the
/// writer alike: a plan reads the rows its command touches just before the
/// writer does, so the writer mostly finds them decoded.
struct RowCaches {
    cases: DecodedRows<Case>,
    slas: DecodedRows<CaseSla>,
    customers: DecodedRows<Customer>,
}

/// redb-backed [`Store`].
pub struct RedbStore {
    db: Database,
    path: PathBuf,
    counters: Mutex<Counters>,
    rows: RowCaches,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore").field("path", &self.path).finish_non_exhaustive()
    }
}

/// The page cache [`RedbStore::open`] gives redb (redb's own default is 1
/// GiB): enough for the interior pages of every index at a million cases.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

impl RedbStore {
    /// Opens (or creates) the database file at `path` and its tables.
    ///
    /// # Errors
    /// [`StoreError::InUse`] when another process holds the file; storage
    /// failures otherwise.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// As [`RedbStore::open`], with redb's page cache capped at
    /// `cache_bytes`: the cache is most of the server's memory once the file
    /// outgrows it.
    ///
    /// # Errors
    /// As [`RedbStore::open`].
    pub fn open_with_cache(path: impl AsRef<Path>, cache_bytes: usize) -> Result<Self, StoreError> {
        let path = path.as_ref().to_owned();
        let repairing = Arc::new(AtomicU32::new(0));
        let started = std::time::Instant::now();
        let mut builder = Database::builder();
        builder.set_cache_size(cache_bytes).set_repair_callback(report_repair(repairing.clone()));
        let db = match builder.create(&path) {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => return Err(StoreError::InUse(path)),
            Err(e) => return Err(e.into()),
        };
        if repairing.load(Ordering::Relaxed) > 0 {
            tracing::warn!(seconds = started.elapsed().as_secs_f64(), "data file checked and repaired");
        }
        let txn = db.begin_write()?;
        let counters = {
            txn.open_table(CASES)?;
            txn.open_table(EVENTS)?;
            txn.open_table(CASE_EVENTS)?;
            txn.open_table(CUSTOMER_EVENTS)?;
            txn.open_table(CUSTOMERS)?;
            txn.open_table(SLA_STATE)?;
            txn.open_table(RESOLUTIONS)?;
            txn.open_table(SLA_OUTCOMES)?;
            txn.open_table(CSAT_SCORES)?;
            txn.open_table(BACKLOG)?;
            txn.open_table(COUNTERS)?;
            txn.open_table(CASE_MARKS)?;
            txn.open_table(OUTREACH)?;
            txn.open_table(IDENTITIES)?;
            txn.open_table(CASE_INDEX)?;
            txn.open_table(DEADLINES)?;
            txn.open_table(CASE_TIMERS)?;
            txn.open_table(IDEMPOTENCY)?;
            txn.open_table(TOKENS)?;
            txn.open_table(PLUGIN_STATE)?;
            txn.open_table(OUTBOX)?;
            txn.open_table(CHANNEL_REFS)?;
            upgrade_case_index(&txn)?;
            let meta = txn.open_table(META)?;
            let get = |k: &str| -> Result<u64, StoreError> { Ok(meta.get(k)?.map_or(1, |v| v.value())) };
            Counters {
                case: get("next_case")?,
                customer: get("next_customer")?,
                event: get("next_event")?,
                outbox: get("next_outbox")?,
            }
        };
        txn.commit()?;
        Ok(Self {
            db,
            path,
            counters: Mutex::new(counters),
            rows: RowCaches {
                cases: DecodedRows::new("cases"),
                slas: DecodedRows::new("sla_state"),
                customers: DecodedRows::new("customers"),
            },
        })
    }

    /// A customer row in `txn`, decoded (or cloned from the last decode).
    fn read_customer(&self, txn: &ReadTransaction, id: u64) -> Result<Option<Customer>, StoreError> {
        self.rows.customers.read(&txn.open_table(CUSTOMERS)?, id)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<ReadTransaction, StoreError> {
        Ok(self.db.begin_read()?)
    }

    fn events_page(
        &self,
        index: redb::TableDefinition<(u64, u64), ()>,
        owner: u64,
        after: Option<EventId>,
        limit: usize,
    ) -> Result<Page<Event, EventId>, StoreError> {
        let txn = self.read()?;
        let idx = txn.open_table(index)?;
        let events = txn.open_table(EVENTS)?;
        let start = after.map_or(0, |a| a.get().saturating_add(1));
        let mut items = Vec::new();
        let mut next = None;
        for row in idx.range((owner, start)..=(owner, !CUSTOMER_CASE))? {
            let (key, _) = row?;
            let event_id = key.value().1;
            if items.len() == limit {
                next = items.last().map(|e: &Event| e.id);
                break;
            }
            let bytes = events
                .get(event_id)?
                .ok_or_else(|| StoreError::Inconsistent(format!("event {event_id} is indexed but missing")))?;
            items.push(decode("events", event_id, bytes.value())?);
        }
        Ok(Page { items, next })
    }
}

/// A repair callback that logs when redb starts repairing a file that was
/// not closed cleanly (after a crash or `kill -9`), and its progress by
/// tenths: on a large file the check takes seconds before the server
/// listens, and the log should say why. `logged` holds the tenths reported
/// plus one.
fn report_repair(logged: Arc<AtomicU32>) -> impl Fn(&mut redb::RepairSession) + 'static {
    move |session| {
        let tenths = (session.progress() * 10.0) as u32 + 1;
        let before = logged.fetch_max(tenths, Ordering::Relaxed);
        if before == 0 {
            tracing::warn!("the data file was not closed cleanly; checking and repairing it before serving");
        } else if tenths > before {
            tracing::info!(progress = format!("{}%", (tenths - 1) * 10), "repairing the data file");
        }
    }
}

/// Brings the [`CASE_INDEX`] of a file from an older version up to date:
/// its `customer:N` rows move to [`CUSTOMER_EVENTS`], and its `all` rows
/// (listings without a filter read the case rows now) are dropped. A no-op
/// (two B-tree seeks) once done; part of the opening transaction, so a crash
/// midway leaves the file as it was.
fn upgrade_case_index(txn: &WriteTransaction) -> Result<(), StoreError> {
    const CHUNK: usize = 10_000;
    let mut index = txn.open_table(CASE_INDEX)?;
    let mut dropped = 0usize;
    loop {
        let chunk: Vec<u64> = index
            .range(("all", 0)..=("all", u64::MAX))?
            .take(CHUNK)
            .map(|row| row.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        if chunk.is_empty() {
            break;
        }
        for case in &chunk {
            index.remove(("all", *case))?;
        }
        dropped += chunk.len();
    }
    let mut by_customer = txn.open_table(CUSTOMER_EVENTS)?;
    let mut moved = 0usize;
    loop {
        // ';' follows ':' in ASCII: the range is every key starting "customer:".
        let chunk: Vec<(String, u64)> = index
            .range(("customer:", 0)..("customer;", 0))?
            .take(CHUNK)
            .map(|row| row.map(|(k, _)| (k.value().0.to_owned(), k.value().1)))
            .collect::<Result<_, _>>()?;
        if chunk.is_empty() {
            break;
        }
        for (key, case) in &chunk {
            let customer = key["customer:".len()..]
                .parse::<u64>()
                .map_err(|_| StoreError::Inconsistent(format!("bad customer index key {key:?}")))?;
            by_customer.insert((customer, CUSTOMER_CASE | case), ())?;
            index.remove((key.as_str(), *case))?;
        }
        moved += chunk.len();
    }
    if moved + dropped > 0 {
        tracing::info!(moved, dropped, "brought the case index of an older file up to date");
    }
    Ok(())
}

/// The index that drives a listing: the most selective filter given.
enum Driving {
    /// Rows of [`CASE_INDEX`] under this key.
    Index(String),
    /// The customer's case rows in [`CUSTOMER_EVENTS`].
    Customer(u64),
    /// No filter with an index: the case rows themselves, in id order.
    All,
}

fn driving(query: &CaseQuery) -> Driving {
    match (query.sla, query.customer) {
        // Membership of an SLA index cannot be checked on the case row.
        (Some(sla), _) => Driving::Index(sla.index_key().to_owned()),
        (None, Some(c)) => Driving::Customer(c.get()),
        (None, None) => listing_key(query).map_or(Driving::All, Driving::Index),
    }
}

/// The cases a listing shows, read in `txn`.
fn scan_cases(
    txn: &ReadTransaction,
    decoded: &DecodedRows<Case>,
    query: &CaseQuery,
) -> Result<Page<Case, CaseId>, StoreError> {
    let index = txn.open_table(CASE_INDEX)?;
    let by_customer = txn.open_table(CUSTOMER_EVENTS)?;
    let cases = txn.open_table(CASES)?;
    // Case ids in the listing's order, from `lower..=upper`.
    let (lower, upper) = if query.oldest_first {
        (query.before.map_or(0, |b| b.get().saturating_add(1)), u64::MAX)
    } else {
        (0, query.before.map_or(u64::MAX, |b| b.get().saturating_sub(1)))
    };
    let ids: Box<dyn Iterator<Item = Result<u64, redb::StorageError>>> = match driving(query) {
        Driving::Index(key) => {
            let rows = index.range((key.as_str(), lower)..=(key.as_str(), upper))?.map(|r| r.map(|(k, _)| k.value().1));
            if query.oldest_first { Box::new(rows) } else { Box::new(rows.rev()) }
        }
        Driving::Customer(customer) => {
            let (lower, upper) = (CUSTOMER_CASE | lower.min(!CUSTOMER_CASE), CUSTOMER_CASE | upper.min(!CUSTOMER_CASE));
            let rows = by_customer
                .range((customer, lower)..=(customer, upper))?
                .map(|r| r.map(|(k, _)| k.value().1 & !CUSTOMER_CASE));
            if query.oldest_first { Box::new(rows) } else { Box::new(rows.rev()) }
        }
        Driving::All => {
            let rows = cases.range(lower..=upper)?.map(|r| r.map(|(k, _)| k.value()));
            if query.oldest_first { Box::new(rows) } else { Box::new(rows.rev()) }
        }
    };
    let mut items = Vec::new();
    let mut last_seen = None;
    for (scanned, id) in ids.enumerate() {
        let id = id?;
        if items.len() == query.limit || scanned == MAX_SCAN_PER_PAGE {
            return Ok(Page { items, next: last_seen });
        }
        last_seen = Some(CaseId::new(id));
        let case = decoded
            .read(&cases, id)?
            .ok_or_else(|| StoreError::Inconsistent(format!("case {id} is indexed but missing")))?;
        if query.matches(&case) {
            items.push(case);
        }
    }
    Ok(Page { items, next: None })
}

/// Counter of unsolved cases that were reopened.
const REOPENED_BACKLOG: &str = "backlog:reopened";

fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn from_millis(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| StoreError::Inconsistent(format!("bad timestamp {ms}: {e}")))
}

impl Store for RedbStore {
    fn case(&self, id: CaseId) -> Result<Option<Case>, StoreError> {
        let txn = self.read()?;
        self.rows.cases.read(&txn.open_table(CASES)?, id.get())
    }

    fn case_sla(&self, id: CaseId) -> Result<Option<CaseSla>, StoreError> {
        let txn = self.read()?;
        self.rows.slas.read(&txn.open_table(SLA_STATE)?, id.get())
    }

    fn list_cases(&self, query: &CaseQuery) -> Result<Page<Case, CaseId>, StoreError> {
        scan_cases(&self.read()?, &self.rows.cases, query)
    }

    fn case_with_sla(&self, id: CaseId) -> Result<Option<(Case, CaseSla)>, StoreError> {
        let txn = self.read()?;
        let Some(case) = self.rows.cases.read(&txn.open_table(CASES)?, id.get())? else { return Ok(None) };
        Ok(Some((case, self.rows.slas.read(&txn.open_table(SLA_STATE)?, id.get())?.unwrap_or_default())))
    }

    fn list_cases_with_sla(&self, query: &CaseQuery) -> Result<Page<(Case, CaseSla), CaseId>, StoreError> {
        let txn = self.read()?;
        let page = scan_cases(&txn, &self.rows.cases, query)?;
        let slas = txn.open_table(SLA_STATE)?;
        let items = page
            .items
            .into_iter()
            .map(|case| {
                let sla = self.rows.slas.read(&slas, case.id.get())?.unwrap_or_default();
                Ok((case, sla))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Page { items, next: page.next })
    }

    fn case_events(
        &self,
        id: CaseId,
        after: Option<EventId>,
        limit: usize,
    ) -> Result<Page<Event, EventId>, StoreError> {
        self.events_page(CASE_EVENTS, id.get(), after, limit)
    }

    fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        let txn = self.read()?;
        self.read_customer(&txn, id.get())
    }

    fn customer_by_identity(&self, identity: &Identity) -> Result<Option<Customer>, StoreError> {
        // The identity and the row from one snapshot.
        let txn = self.read()?;
        let id = txn.open_table(IDENTITIES)?.get(identity.key().as_str())?.map(|v| v.value());
        id.map_or(Ok(None), |id| self.read_customer(&txn, id))
    }

    fn customer_events(
        &self,
        id: CustomerId,
        after: Option<EventId>,
        limit: usize,
    ) -> Result<Page<Event, EventId>, StoreError> {
        self.events_page(CUSTOMER_EVENTS, id.get(), after, limit)
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(TOKENS)?;
        table.get(hash)?.map(|v| decode("tokens", hash, v.value())).transpose()
    }

    fn tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(TOKENS)?;
        let mut tokens = Vec::with_capacity(usize::try_from(table.len()?).unwrap_or(0));
        for row in table.iter()? {
            let (k, v) = row?;
            tokens.push(decode("tokens", k.value(), v.value())?);
        }
        Ok(tokens)
    }

    fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(IDEMPOTENCY)?;
        table.get(key)?.map(|v| decode("idempotency", key, v.value())).transpose()
    }

    fn outreach_opened_at(&self, key: &str) -> Result<Option<Timestamp>, StoreError> {
        let txn = self.read()?;
        txn.open_table(OUTREACH)?.get(key)?.map(|v| from_millis(v.value())).transpose()
    }

    fn open_load(&self, agent: &str) -> Result<u64, StoreError> {
        let txn = self.read()?;
        Ok(txn.open_table(COUNTERS)?.get(format!("load:{agent}").as_str())?.map_or(0, |v| v.value()))
    }

    fn due_timers(&self, now: Timestamp, limit: usize) -> Result<Vec<DueTimer>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(DEADLINES)?;
        let mut due = Vec::new();
        for row in table.iter()? {
            let (k, _) = row?;
            let (ms, case, kind) = k.value();
            if ms > millis(now) || due.len() == limit {
                break;
            }
            if let Some(kind) = TimerKind::parse(kind) {
                due.push(DueTimer { case_id: CaseId::new(case), kind, due_at: from_millis(ms)? });
            }
        }
        Ok(due)
    }

    fn next_timer_at(&self) -> Result<Option<Timestamp>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(DEADLINES)?;
        table.first()?.map(|(k, _)| from_millis(k.value().0)).transpose()
    }

    fn metrics_input(&self, from: Timestamp, to: Timestamp) -> Result<MetricsInput, StoreError> {
        let txn = self.read()?;
        let (from_ms, to_ms) = (millis(from), millis(to).saturating_sub(1));
        let mut input = MetricsInput::default();
        if from_ms > to_ms {
            return Ok(input);
        }
        for row in txn.open_table(RESOLUTIONS)?.range((from_ms, 0)..=(to_ms, u64::MAX))? {
            let (k, v) = row?;
            input.resolutions.push(decode("resolutions", k.value().1, v.value())?);
        }
        for row in txn.open_table(SLA_OUTCOMES)?.range((from_ms, 0, "")..(to_ms.saturating_add(1), 0, ""))? {
            let (k, v) = row?;
            let (_, _, key) = k.value();
            if let Some(metric) = key.split('#').next().and_then(Metric::parse) {
                input.sla.push((metric, v.value() == 1));
            }
        }
        for row in txn.open_table(CSAT_SCORES)?.range((from_ms, 0)..=(to_ms, u64::MAX))? {
            input.csat.push(row?.1.value());
        }
        for row in txn.open_table(BACKLOG)?.iter()? {
            let (k, v) = row?;
            let (created_day, status) = k.value();
            if let (Ok(status), count @ 1..) = (status.parse::<CaseStatus>(), v.value()) {
                input.backlog.push(BacklogRow { created_day, status, count });
            }
        }
        input.reopened = txn.open_table(COUNTERS)?.get(REOPENED_BACKLOG)?.map_or(0, |v| v.value());
        Ok(input)
    }

    fn transact(&self, work: &mut dyn FnMut(&mut dyn WriteTxn) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let before = *counters;
        let txn = self.db.begin_write()?;
        let result = RedbTxn::open(&txn, &mut counters, &self.rows).and_then(|mut t| {
            work(&mut t)?;
            t.finish()
        });
        match result.and_then(|()| Ok(txn.commit()?)) {
            Ok(()) => Ok(()),
            Err(e) => {
                // Ids drawn by a failed transaction are reused: nothing saw them.
                *counters = before;
                Err(e)
            }
        }
    }

    fn plugin_state(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(PLUGIN_STATE)?;
        Ok(table.get((plugin, key))?.map(|v| v.value().to_vec()))
    }

    fn outbox_items(&self, after: Option<u64>, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(OUTBOX)?;
        let start = after.map_or(0, |a| a.saturating_add(1));
        let mut items = Vec::new();
        for row in table.range(start..)?.take(limit) {
            let (k, v) = row?;
            items.push(decode("outbox", k.value(), v.value())?);
        }
        Ok(items)
    }

    fn channel_ref(&self, key: &str) -> Result<Option<CaseId>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(CHANNEL_REFS)?;
        Ok(table.get(key)?.map(|v| CaseId::new(v.value())))
    }
}

/// A case row written in this transaction and not yet stored: a create and
/// the rules' edits of it, or two messages on one case in a batch, become
/// one row write and one index update at the end.
struct DirtyCase {
    /// The index keys of the row as stored before this transaction.
    stored_keys: BTreeSet<String>,
    /// The customer the stored row belongs to, if it is stored.
    stored_customer: Option<CustomerId>,
    /// The latest version.
    case: Case,
}

/// The tables of one write transaction, opened once for the whole batch.
struct RedbTxn<'t> {
    counters: &'t mut Counters,
    /// Rows decoded before; a row whose stored bytes match is not decoded
    /// again (rows this transaction wrote have their new bytes, so they miss).
    rows: &'t RowCaches,
    dirty_cases: BTreeMap<u64, DirtyCase>,
    /// SLA states written in this transaction, stored once by `finish`.
    dirty_slas: BTreeMap<u64, CaseSla>,
    /// Changes to named counters (`load:sam`) and backlog cells in this
    /// transaction: a batch moves a few counters many times, and `finish`
    /// writes each once.
    counter_deltas: BTreeMap<String, i64>,
    backlog_deltas: BTreeMap<(i64, CaseStatus), i64>,
    /// Events appended in this transaction (id, row), with their timeline
    /// keys: `finish` inserts each table's rows in key order, one table at a
    /// time, so consecutive inserts walk the same hot pages. Nothing reads
    /// events inside a write transaction.
    new_events: Vec<(u64, Vec<u8>)>,
    new_case_events: Vec<(u64, u64)>,
    new_customer_events: Vec<(u64, u64)>,
    cases: Table<'t, u64, &'static [u8]>,
    events: Table<'t, u64, &'static [u8]>,
    case_events: Table<'t, (u64, u64), ()>,
    customer_events: Table<'t, (u64, u64), ()>,
    customers: Table<'t, u64, &'static [u8]>,
    sla_state: Table<'t, u64, &'static [u8]>,
    identities: Table<'t, &'static str, u64>,
    case_index: Table<'t, (&'static str, u64), ()>,
    deadlines: Table<'t, (i64, u64, &'static str), ()>,
    resolutions: Table<'t, (i64, u64), &'static [u8]>,
    sla_outcomes: Table<'t, (i64, u64, &'static str), u8>,
    csat_scores: Table<'t, (i64, u64), u8>,
    backlog: Table<'t, (i64, &'static str), u64>,
    named_counters: Table<'t, &'static str, u64>,
    case_marks: Table<'t, (u64, &'static str), i64>,
    outreach: Table<'t, &'static str, i64>,
    outbox: Table<'t, u64, &'static [u8]>,
    plugin_state: Table<'t, (&'static str, &'static str), &'static [u8]>,
    channel_refs: Table<'t, &'static str, u64>,
    case_timers: Table<'t, (u64, &'static str), i64>,
    idempotency: Table<'t, &'static str, &'static [u8]>,
    tokens: Table<'t, &'static str, &'static [u8]>,
    meta: Table<'t, &'static str, u64>,
}

impl<'t> RedbTxn<'t> {
    fn open(txn: &'t WriteTransaction, counters: &'t mut Counters, rows: &'t RowCaches) -> Result<Self, StoreError> {
        Ok(Self {
            counters,
            rows,
            dirty_cases: BTreeMap::new(),
            dirty_slas: BTreeMap::new(),
            counter_deltas: BTreeMap::new(),
            backlog_deltas: BTreeMap::new(),
            new_events: Vec::new(),
            new_case_events: Vec::new(),
            new_customer_events: Vec::new(),
            cases: txn.open_table(CASES)?,
            events: txn.open_table(EVENTS)?,
            case_events: txn.open_table(CASE_EVENTS)?,
            customer_events: txn.open_table(CUSTOMER_EVENTS)?,
            customers: txn.open_table(CUSTOMERS)?,
            sla_state: txn.open_table(SLA_STATE)?,
            identities: txn.open_table(IDENTITIES)?,
            case_index: txn.open_table(CASE_INDEX)?,
            deadlines: txn.open_table(DEADLINES)?,
            resolutions: txn.open_table(RESOLUTIONS)?,
            sla_outcomes: txn.open_table(SLA_OUTCOMES)?,
            csat_scores: txn.open_table(CSAT_SCORES)?,
            backlog: txn.open_table(BACKLOG)?,
            named_counters: txn.open_table(COUNTERS)?,
            case_marks: txn.open_table(CASE_MARKS)?,
            outreach: txn.open_table(OUTREACH)?,
            outbox: txn.open_table(OUTBOX)?,
            plugin_state: txn.open_table(PLUGIN_STATE)?,
            channel_refs: txn.open_table(CHANNEL_REFS)?,
            case_timers: txn.open_table(CASE_TIMERS)?,
            idempotency: txn.open_table(IDEMPOTENCY)?,
            tokens: txn.open_table(TOKENS)?,
            meta: txn.open_table(META)?,
        })
    }

    /// Writes what the transaction kept back (case rows and their index
    /// rows, SLA states, counters) and the id counters; the last step before
    /// the commit.
    fn finish(&mut self) -> Result<(), StoreError> {
        // Event ids are drawn in order, so these are sorted already.
        for (id, row) in std::mem::take(&mut self.new_events) {
            self.events.insert(id, row.as_slice())?;
        }
        let mut timeline = std::mem::take(&mut self.new_case_events);
        timeline.sort_unstable();
        for key in timeline {
            self.case_events.insert(key, ())?;
        }
        let mut timeline = std::mem::take(&mut self.new_customer_events);
        timeline.sort_unstable();
        for key in timeline {
            self.customer_events.insert(key, ())?;
        }
        for (id, sla) in std::mem::take(&mut self.dirty_slas) {
            let row = encode(&sla);
            self.sla_state.insert(id, row.as_slice())?;
            self.rows.slas.keep(id, row, sla);
        }
        // A counter moved back and forth in the batch (+1, -1) is unchanged.
        for (name, by) in std::mem::take(&mut self.counter_deltas).into_iter().filter(|(_, by)| *by != 0) {
            let count = self.stored_counter(&name)?.saturating_add_signed(by);
            self.named_counters.insert(name.as_str(), count)?;
        }
        for ((day, status), by) in std::mem::take(&mut self.backlog_deltas).into_iter().filter(|(_, by)| *by != 0) {
            let key = (day, status.as_str());
            let count = self.backlog.get(key)?.map_or(0, |v| v.value()).saturating_add_signed(by);
            if count == 0 {
                self.backlog.remove(key)?;
            } else {
                self.backlog.insert(key, count)?;
            }
        }
        // In id order: B-tree inserts in key order touch each page once.
        for (id, dirty) in std::mem::take(&mut self.dirty_cases) {
            let keys = derived::index_keys(&dirty.case);
            for key in dirty.stored_keys.difference(&keys) {
                self.case_index.remove((key.as_str(), id))?;
            }
            for key in keys.difference(&dirty.stored_keys) {
                self.case_index.insert((key.as_str(), id), ())?;
            }
            if dirty.stored_customer != Some(dirty.case.customer_id) {
                if let Some(old) = dirty.stored_customer {
                    self.customer_events.remove((old.get(), CUSTOMER_CASE | id))?;
                }
                self.customer_events.insert((dirty.case.customer_id.get(), CUSTOMER_CASE | id), ())?;
            }
            let row = encode(&dirty.case);
            self.cases.insert(id, row.as_slice())?;
            // A case's next reader is usually its next command, in the writer
            // or in that command's rule plan: it clones instead of decoding.
            self.rows.cases.keep(id, row, dirty.case);
        }
        self.meta.insert("next_case", self.counters.case)?;
        self.meta.insert("next_customer", self.counters.customer)?;
        self.meta.insert("next_event", self.counters.event)?;
        self.meta.insert("next_outbox", self.counters.outbox)?;
        Ok(())
    }
}

impl RedbTxn<'_> {
    fn bump_backlog(&mut self, day: i64, status: CaseStatus, by: i64) -> Result<(), StoreError> {
        *self.backlog_deltas.entry((day, status)).or_default() += by;
        Ok(())
    }

    fn bump_counter(&mut self, name: &str, by: i64) -> Result<(), StoreError> {
        match self.counter_deltas.get_mut(name) {
            Some(delta) => *delta += by,
            None => {
                self.counter_deltas.insert(name.to_owned(), by);
            }
        }
        Ok(())
    }

    fn stored_counter(&self, name: &str) -> Result<u64, StoreError> {
        Ok(self.named_counters.get(name)?.map_or(0, |v| v.value()))
    }

    /// A counter as this transaction sees it: stored plus its changes.
    fn counter(&self, name: &str) -> Result<u64, StoreError> {
        let by = self.counter_deltas.get(name).copied().unwrap_or(0);
        Ok(self.stored_counter(name)?.saturating_add_signed(by))
    }
}

impl WriteTxn for RedbTxn<'_> {
    fn case(&self, id: CaseId) -> Result<Option<Case>, StoreError> {
        if let Some(dirty) = self.dirty_cases.get(&id.get()) {
            return Ok(Some(dirty.case.clone()));
        }
        self.rows.cases.read(&self.cases, id.get())
    }

    fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        self.rows.customers.read(&self.customers, id.get())
    }

    fn case_sla(&self, id: CaseId) -> Result<Option<CaseSla>, StoreError> {
        if let Some(sla) = self.dirty_slas.get(&id.get()) {
            return Ok(Some(sla.clone()));
        }
        self.rows.slas.read(&self.sla_state, id.get())
    }

    fn put_sla(&mut self, id: CaseId, sla: &CaseSla) -> Result<(), StoreError> {
        self.dirty_slas.insert(id.get(), sla.clone());
        Ok(())
    }

    fn set_case_index(&mut self, key: &str, case: CaseId, present: bool) -> Result<(), StoreError> {
        if present {
            self.case_index.insert((key, case.get()), ())?;
        } else {
            self.case_index.remove((key, case.get()))?;
        }
        Ok(())
    }

    fn customer_id_by_identity(&self, identity: &Identity) -> Result<Option<CustomerId>, StoreError> {
        Ok(self.identities.get(identity.key().as_str())?.map(|v| CustomerId::new(v.value())))
    }

    fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.idempotency.get(key)?.map(|v| decode("idempotency", key, v.value())).transpose()
    }

    fn token_name_taken(&self, name: &str) -> Result<bool, StoreError> {
        for row in self.tokens.iter()? {
            let (k, v) = row?;
            let token: ApiToken = decode("tokens", k.value(), v.value())?;
            if token.name == name {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn allocate(&mut self, sequence: Sequence) -> Result<u64, StoreError> {
        let slot = match sequence {
            Sequence::Case => &mut self.counters.case,
            Sequence::Customer => &mut self.counters.customer,
            Sequence::Event => &mut self.counters.event,
            Sequence::Outbox => &mut self.counters.outbox,
        };
        let id = *slot;
        *slot += 1;
        Ok(id)
    }

    fn put_case(&mut self, previous: Option<&Case>, case: &Case) -> Result<(), StoreError> {
        // The row and its index rows are written once, by `finish`; the
        // counters below are sums, so they take each change as it comes.
        match self.dirty_cases.entry(case.id.get()) {
            std::collections::btree_map::Entry::Occupied(mut dirty) => dirty.get_mut().case = case.clone(),
            std::collections::btree_map::Entry::Vacant(slot) => {
                let stored_keys = previous.map(derived::index_keys).unwrap_or_default();
                let stored_customer = previous.map(|p| p.customer_id);
                slot.insert(DirtyCase { stored_keys, stored_customer, case: case.clone() });
            }
        }
        let (old_load, new_load) = (previous.and_then(derived::load_slot), derived::load_slot(case));
        if old_load != new_load {
            if let Some(agent) = old_load {
                self.bump_counter(&format!("load:{agent}"), -1)?;
            }
            if let Some(agent) = new_load {
                self.bump_counter(&format!("load:{agent}"), 1)?;
            }
        }
        let (old, new) = (previous.and_then(derived::backlog_slot), derived::backlog_slot(case));
        if old != new {
            if let Some((day, status, reopened)) = old {
                self.bump_backlog(day, status, -1)?;
                if reopened {
                    self.bump_counter(REOPENED_BACKLOG, -1)?;
                }
            }
            if let Some((day, status, reopened)) = new {
                self.bump_backlog(day, status, 1)?;
                if reopened {
                    self.bump_counter(REOPENED_BACKLOG, 1)?;
                }
            }
        }
        Ok(())
    }

    fn record_resolution(&mut self, case: CaseId, resolution: Option<&Resolution>) -> Result<(), StoreError> {
        if let Some(ms) = self.case_marks.remove((case.get(), "resolution"))?.map(|v| v.value()) {
            self.resolutions.remove((ms, case.get()))?;
        }
        if let Some(resolution) = resolution {
            let ms = millis(resolution.solved_at);
            self.resolutions.insert((ms, case.get()), encode(resolution).as_slice())?;
            self.case_marks.insert((case.get(), "resolution"), ms)?;
        }
        Ok(())
    }

    fn record_sla_outcome(
        &mut self,
        at: Timestamp,
        case: CaseId,
        metric: Metric,
        cycle: u32,
        met: bool,
    ) -> Result<(), StoreError> {
        let key = format!("{metric}#{cycle}");
        self.sla_outcomes.insert((millis(at), case.get(), key.as_str()), u8::from(met))?;
        Ok(())
    }

    fn outreach_opened_at(&self, key: &str) -> Result<Option<Timestamp>, StoreError> {
        self.outreach.get(key)?.map(|v| from_millis(v.value())).transpose()
    }

    fn record_outreach(&mut self, key: &str, at: Timestamp) -> Result<(), StoreError> {
        self.outreach.insert(key, millis(at))?;
        Ok(())
    }

    fn open_load(&self, agent: &str) -> Result<u64, StoreError> {
        self.counter(&format!("load:{agent}"))
    }

    fn enqueue_outbox(&mut self, item: &OutboxItem) -> Result<(), StoreError> {
        self.outbox.insert(item.id, encode(item).as_slice())?;
        Ok(())
    }

    fn put_plugin_state(&mut self, plugin: &str, key: &str, value: Option<&[u8]>) -> Result<(), StoreError> {
        match value {
            Some(value) => self.plugin_state.insert((plugin, key), value)?,
            None => self.plugin_state.remove((plugin, key))?,
        };
        Ok(())
    }

    fn outbox_item(&self, id: u64) -> Result<Option<OutboxItem>, StoreError> {
        self.outbox.get(id)?.map(|v| decode("outbox", id, v.value())).transpose()
    }

    fn remove_outbox(&mut self, id: u64) -> Result<(), StoreError> {
        self.outbox.remove(id)?;
        Ok(())
    }

    fn channel_ref(&self, key: &str) -> Result<Option<CaseId>, StoreError> {
        Ok(self.channel_refs.get(key)?.map(|v| CaseId::new(v.value())))
    }

    fn set_channel_ref(&mut self, key: &str, case: CaseId) -> Result<(), StoreError> {
        self.channel_refs.insert(key, case.get())?;
        Ok(())
    }

    fn record_csat(&mut self, case: CaseId, at: Timestamp, score: u8) -> Result<(), StoreError> {
        if let Some(ms) = self.case_marks.remove((case.get(), "csat"))?.map(|v| v.value()) {
            self.csat_scores.remove((ms, case.get()))?;
        }
        self.csat_scores.insert((millis(at), case.get()), score)?;
        self.case_marks.insert((case.get(), "csat"), millis(at))?;
        Ok(())
    }

    fn put_customer(&mut self, customer: &Customer) -> Result<(), StoreError> {
        for identity in &customer.identities {
            self.identities.insert(identity.key().as_str(), customer.id.get())?;
        }
        self.customers.insert(customer.id.get(), encode(customer).as_slice())?;
        Ok(())
    }

    fn append_event(&mut self, event: &Event) -> Result<(), StoreError> {
        let id = event.id.get();
        self.new_events.push((id, encode(event)));
        if let Some(case) = event.case_id {
            self.new_case_events.push((case.get(), id));
        }
        self.new_customer_events.push((event.customer_id.get(), id));
        Ok(())
    }

    fn put_idempotency(&mut self, key: &str, record: &IdempotencyRecord) -> Result<(), StoreError> {
        self.idempotency.insert(key, encode(record).as_slice())?;
        Ok(())
    }

    fn put_token(&mut self, token: &ApiToken) -> Result<(), StoreError> {
        self.tokens.insert(token.hash.as_str(), encode(token).as_slice())?;
        Ok(())
    }

    fn set_timer(&mut self, case: CaseId, kind: TimerKind, due: Option<Timestamp>) -> Result<(), StoreError> {
        let slot = (case.get(), kind.as_str());
        let old = self.case_timers.get(slot)?.map(|v| v.value());
        let new = due.map(millis);
        if old == new {
            return Ok(());
        }
        if let Some(ms) = old {
            self.deadlines.remove((ms, case.get(), kind.as_str()))?;
        }
        match new {
            Some(ms) => {
                self.deadlines.insert((ms, case.get(), kind.as_str()), ())?;
                self.case_timers.insert(slot, ms)?;
            }
            None => {
                self.case_timers.remove(slot)?;
            }
        }
        Ok(())
    }
}
