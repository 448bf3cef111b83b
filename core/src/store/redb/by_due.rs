//! The listing by SLA due: the cases with a deadline in [`SLA_DUE`] order,
//! soonest first, then the cases without one newest first (the ordinary
//! listing, minus the cases [`CASE_SLA_DUE`] has), so a view shows the same
//! cases whichever way it is sorted.

use std::ops::Bound;

use redb::ReadTransaction;

use super::decoded::DecodedRows;
use super::query::{MAX_SCAN_PER_PAGE, scan_cases_where};
use super::tables::*;
use crate::domain::{Case, CaseId};
use crate::store::{CaseQuery, CaseRecord, DuePosition, Page, StoreError};

/// A page of the cases `query` matches by SLA due, after `after`, read in `txn`.
pub(super) fn scan_by_sla_due(
    txn: &ReadTransaction,
    decoded: &DecodedRows<Case, CaseRecord<'static>>,
    query: &CaseQuery,
    after: Option<DuePosition>,
) -> Result<Page<Case, DuePosition>, StoreError> {
    let mut items = Vec::new();
    let undated_before = match after {
        Some(DuePosition::Undated(before)) => before,
        Some(DuePosition::Due { due_at, case }) => {
            match dated(txn, decoded, query, Some((millis(due_at), case.get())), &mut items)? {
                Some(next) => return Ok(Page { items, next: Some(next) }),
                None => None,
            }
        }
        None => match dated(txn, decoded, query, None, &mut items)? {
            Some(next) => return Ok(Page { items, next: Some(next) }),
            None => None,
        },
    };
    let has_due = txn.open_table(CASE_SLA_DUE)?;
    let undated = |id: u64| -> Result<bool, StoreError> { Ok(has_due.get(id)?.is_none()) };
    let remaining = query.limit.saturating_sub(items.len());
    let rest = CaseQuery { before: undated_before, oldest_first: false, limit: remaining.max(1), ..query.clone() };
    let page = scan_cases_where(txn, decoded, &rest, &undated)?;
    if remaining == 0 {
        // The dated cases filled this page: continue with the undated ones
        // only if there is one (or more to scan).
        let more = !page.items.is_empty() || page.next.is_some();
        return Ok(Page { items, next: more.then_some(DuePosition::Undated(None)) });
    }
    items.extend(page.items);
    Ok(Page { items, next: page.next.map(|id| DuePosition::Undated(Some(id))) })
}

/// Adds to `items` the cases with a deadline after `start` that `query`
/// matches, up to its limit; the position to continue from when the page
/// ends among them, `None` when they are all listed.
fn dated(
    txn: &ReadTransaction,
    decoded: &DecodedRows<Case, CaseRecord<'static>>,
    query: &CaseQuery,
    start: Option<(i64, u64)>,
    items: &mut Vec<Case>,
) -> Result<Option<DuePosition>, StoreError> {
    if query.status.is_some_and(|s| s.is_done()) {
        // Solved and closed cases have no deadline.
        return Ok(None);
    }
    let due = txn.open_table(SLA_DUE)?;
    let cases = txn.open_table(CASES)?;
    let index = txn.open_table(CASE_INDEX)?;
    let sla_key = query.sla.map(|s| s.index_key());
    let lower = start.map_or(Bound::Unbounded, Bound::Excluded);
    let mut last = None;
    for (scanned, row) in due.range::<(i64, u64)>((lower, Bound::Unbounded))?.enumerate() {
        let (key, _) = row?;
        if items.len() == query.limit || scanned == MAX_SCAN_PER_PAGE {
            return Ok(last);
        }
        let (ms, id) = key.value();
        last = Some(DuePosition::Due { due_at: from_millis(ms)?, case: CaseId::new(id) });
        // Membership of an SLA index cannot be checked on the case row.
        if let Some(key) = sla_key
            && index.get((key, id))?.is_none()
        {
            continue;
        }
        let case = decoded
            .read(&cases, id)?
            .ok_or_else(|| StoreError::Inconsistent(format!("case {id} has an SLA deadline but no row")))?;
        if query.matches(&case) {
            items.push(case);
        }
    }
    Ok(None)
}
