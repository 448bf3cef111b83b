//! Listings that scan an index: a page of cases by the most selective
//! filter, and a page of a case's or a customer's timeline.

use redb::ReadTransaction;

use super::RedbStore;
use super::decoded::DecodedRows;
use super::tables::*;
use crate::domain::{Case, CaseId, Event, EventId};
use crate::store::derived::{counted_key, listing_key};
use crate::store::{CaseQuery, CaseRecord, Page, StoreError};

/// Scanning stops after this many index rows per page, so a listing with
/// filters that rarely match stays bounded; it then returns a short page with
/// a cursor to continue.
pub(super) const MAX_SCAN_PER_PAGE: usize = 5_000;

impl RedbStore {
    /// A page of the events under `owner` in `index` ([`CASE_EVENTS`] or
    /// [`CUSTOMER_EVENTS`]) after `after`, oldest first.
    pub(super) fn events_page(
        &self,
        index: redb::TableDefinition<(u64, u64), ()>,
        owner: u64,
        after: Option<EventId>,
        limit: usize,
    ) -> Result<Page<Event, EventId>, StoreError> {
        let start = after.map_or(0, |a| a.get().saturating_add(1));
        let txn = self.read()?;
        let rows = txn.open_table(index)?.range((owner, start)..=(owner, !CUSTOMER_CASE))?;
        Self::event_rows(&txn, rows, limit)
    }

    /// A page of the events under `owner` in `index` before `before`
    /// (from the newest when `None`), newest first.
    pub(super) fn events_page_before(
        &self,
        index: redb::TableDefinition<(u64, u64), ()>,
        owner: u64,
        before: Option<EventId>,
        limit: usize,
    ) -> Result<Page<Event, EventId>, StoreError> {
        let end = before.map_or(!CUSTOMER_CASE, |b| b.get().min(!CUSTOMER_CASE));
        let txn = self.read()?;
        let rows = txn.open_table(index)?.range((owner, 0)..(owner, end))?.rev();
        Self::event_rows(&txn, rows, limit)
    }

    /// The events named by index `rows`, at most `limit`, with the cursor
    /// of the next page when there are more.
    fn event_rows<'a>(
        txn: &ReadTransaction,
        rows: impl Iterator<
            Item = Result<(redb::AccessGuard<'a, (u64, u64)>, redb::AccessGuard<'a, ()>), redb::StorageError>,
        >,
        limit: usize,
    ) -> Result<Page<Event, EventId>, StoreError> {
        let events = txn.open_table(EVENTS)?;
        let mut items = Vec::new();
        let mut next = None;
        for row in rows {
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
pub(super) fn scan_cases(
    txn: &ReadTransaction,
    decoded: &DecodedRows<Case, CaseRecord<'static>>,
    query: &CaseQuery,
) -> Result<Page<Case, CaseId>, StoreError> {
    scan_cases_where(txn, decoded, query, &|_| Ok(true))
}

/// As [`scan_cases`], skipping the case ids `keep` refuses before their rows
/// are read.
pub(super) fn scan_cases_where(
    txn: &ReadTransaction,
    decoded: &DecodedRows<Case, CaseRecord<'static>>,
    query: &CaseQuery,
    keep: &dyn Fn(u64) -> Result<bool, StoreError>,
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
        if !keep(id)? {
            continue;
        }
        let case = decoded
            .read(&cases, id)?
            .ok_or_else(|| StoreError::Inconsistent(format!("case {id} is indexed but missing")))?;
        if query.matches(&case) {
            items.push(case);
        }
    }
    Ok(Page { items, next: None })
}

/// How many cases `query` matches in `txn`: a queue's counter when the query
/// is exactly one index key, else a scan of its listing, page by page.
pub(super) fn count_cases(
    txn: &ReadTransaction,
    decoded: &DecodedRows<Case, CaseRecord<'static>>,
    query: &CaseQuery,
) -> Result<u64, StoreError> {
    use redb::ReadableTableMetadata;
    let whole = CaseQuery { before: None, oldest_first: false, limit: usize::MAX, ..query.clone() };
    if whole == (CaseQuery { limit: usize::MAX, ..CaseQuery::default() }) {
        return Ok(txn.open_table(CASES)?.len()?);
    }
    if let Some(key) = counted_key(&whole) {
        return Ok(txn.open_table(COUNTERS)?.get(index_count(&key).as_str())?.map_or(0, |v| v.value()));
    }
    let mut count = 0;
    let mut page = CaseQuery { ..whole };
    loop {
        let found = scan_cases(txn, decoded, &page)?;
        count += found.items.len() as u64;
        match found.next {
            Some(next) => page.before = Some(next),
            None => return Ok(count),
        }
    }
}
