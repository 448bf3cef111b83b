//! The embedded backend: one redb file. One write transaction per
//! [`Store::transact`](crate::store::Store::transact) (the writer's batch),
//! committed with immediate durability; reads use their own read
//! transactions and never wait on it.
//!
//! Here: opening the file, with redb's repair after a crash and the upgrade
//! of an older layout. The rest, one job each: [`read`] the snapshot reads
//! of [`Store`](crate::store::Store), [`query`] the listings that scan an
//! index, [`by_due`] the listing by SLA deadline, [`views`] saved views,
//! [`txn`] the write transaction, [`tables`] the tables and their encoding,
//! [`decoded`] the rows kept decoded, [`error`] redb's errors as
//! [`StoreError`]s.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};

mod by_due;
mod decoded;
mod error;
mod query;
mod read;
pub(crate) mod tables;
mod txn;
mod views;

use decoded::DecodedRows;
use tables::*;

use crate::domain::{Case, Customer};
use crate::sla::CaseSla;
use crate::store::{CaseRecord, StoreError};

/// The next id of each sequence, kept in memory by the one writer and saved
/// in `META` with every transaction.
#[derive(Debug, Clone, Copy)]
struct Counters {
    case: u64,
    customer: u64,
    event: u64,
    outbox: u64,
    view: u64,
}

/// Case, SLA state and customer rows decoded recently, by readers and the
/// writer alike: a plan reads the rows its command touches just before the
/// writer does, so the writer mostly finds them decoded.
struct RowCaches {
    cases: DecodedRows<Case, CaseRecord<'static>>,
    slas: DecodedRows<CaseSla>,
    customers: DecodedRows<Customer>,
}

/// redb-backed [`Store`](crate::store::Store).
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
            txn.open_table(MACROS)?;
            txn.open_table(AGENTS)?;
            txn.open_table(AGENT_EMAILS)?;
            txn.open_table(SESSIONS)?;
            txn.open_table(AGENT_SESSIONS)?;
            txn.open_table(PLUGIN_STATE)?;
            txn.open_table(OUTBOX)?;
            txn.open_table(CHANNEL_REFS)?;
            txn.open_table(SLA_DUE)?;
            txn.open_table(CASE_SLA_DUE)?;
            txn.open_table(VIEWS)?;
            txn.open_table(VIEW_INDEX)?;
            upgrade_case_index(&txn)?;
            index_queues(&txn)?;
            index_sla_due(&txn)?;
            let meta = txn.open_table(META)?;
            let get = |k: &str| -> Result<u64, StoreError> { Ok(meta.get(k)?.map_or(1, |v| v.value())) };
            Counters {
                case: get("next_case")?,
                customer: get("next_customer")?,
                event: get("next_event")?,
                outbox: get("next_outbox")?,
                view: get("next_view")?,
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

/// The version of [`CASE_INDEX`] this build writes: 2 added the agents'
/// queues (`unsolved:...`) and a counter per index key.
const INDEX_VERSION: u64 = 2;

/// Adds the queue rows and the per-key counters to a file written before
/// they existed, from its case rows; a new file only records the version.
/// Part of the opening transaction, so a crash midway leaves the file as it
/// was.
fn index_queues(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META)?;
    if meta.get("index_version")?.is_some_and(|v| v.value() >= INDEX_VERSION) {
        return Ok(());
    }
    let cases = txn.open_table(CASES)?;
    let mut index = txn.open_table(CASE_INDEX)?;
    let mut indexed = 0u64;
    for row in cases.iter()? {
        let (id, bytes) = row?;
        let case: Case = decode::<crate::store::CaseRecord>("cases", id.value(), bytes.value())?.into();
        for key in crate::store::derived::index_keys(&case) {
            index.insert((key.as_str(), id.value()), ())?;
        }
        indexed += 1;
    }
    // Keys are in order: each key's rows are one run.
    let mut counters = txn.open_table(COUNTERS)?;
    let mut run: Option<(String, u64)> = None;
    for row in index.iter()? {
        let (key, _) = row?;
        let key = key.value().0;
        match &mut run {
            Some((current, count)) if current == key => *count += 1,
            _ => {
                if let Some((done, count)) = run.replace((key.to_owned(), 1)) {
                    counters.insert(index_count(&done).as_str(), count)?;
                }
            }
        }
    }
    if let Some((done, count)) = run {
        counters.insert(index_count(&done).as_str(), count)?;
    }
    meta.insert("index_version", INDEX_VERSION)?;
    if indexed > 0 {
        tracing::info!(cases = indexed, "indexed the agents' queues of an older file");
    }
    Ok(())
}

/// The version of [`SLA_DUE`] this build writes: 1 is its first.
const SLA_DUE_VERSION: u64 = 1;

/// Fills [`SLA_DUE`] of a file written before it existed, from the SLA
/// state and status of each case; a new file only records the version.
/// Part of the opening transaction, so a crash midway leaves the file as it
/// was.
fn index_sla_due(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META)?;
    if meta.get("sla_due_version")?.is_some_and(|v| v.value() >= SLA_DUE_VERSION) {
        return Ok(());
    }
    let slas = txn.open_table(SLA_STATE)?;
    let cases = txn.open_table(CASES)?;
    let mut due = txn.open_table(SLA_DUE)?;
    let mut by_case = txn.open_table(CASE_SLA_DUE)?;
    let mut indexed = 0u64;
    for row in slas.iter()? {
        let (id, bytes) = row?;
        let id = id.value();
        let sla: CaseSla = decode("sla_state", id, bytes.value())?;
        let Some(case) = cases.get(id)? else { continue };
        let case: Case = decode::<CaseRecord>("cases", id, case.value())?.into();
        if let Some(at) = sla.next_due(case.status) {
            due.insert((millis(at), id), ())?;
            by_case.insert(id, millis(at))?;
            indexed += 1;
        }
    }
    meta.insert("sla_due_version", SLA_DUE_VERSION)?;
    if indexed > 0 {
        tracing::info!(cases = indexed, "indexed the SLA deadlines of an older file");
    }
    Ok(())
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
