//! Read helpers scripts may call (`cases_waiting`). They read the store that
//! the current hook call was given, through a per-thread handle set only for
//! the duration of `on_tick`.

use std::cell::RefCell;
use std::sync::Arc;

use jiff::Timestamp;

use crate::domain::CaseStatus;
use crate::script_views::TicketView;
use crate::store::{CaseQuery, Store};

/// Most cases one `cases_waiting` call returns.
const MAX_RESULTS: usize = 100;

thread_local! {
    static STORE: RefCell<Option<(Arc<dyn Store>, Timestamp)>> = const { RefCell::new(None) };
}

/// Makes `store` readable by scripts on this thread until dropped.
pub(crate) struct QueryScope;

impl QueryScope {
    pub(crate) fn enter(store: Arc<dyn Store>, now: Timestamp) -> Self {
        STORE.with(|s| *s.borrow_mut() = Some((store, now)));
        QueryScope
    }
}

impl Drop for QueryScope {
    fn drop(&mut self) {
        STORE.with(|s| *s.borrow_mut() = None);
    }
}

/// `cases_waiting(status, older_than_seconds)`: up to 100 cases in `status`
/// whose last change is older than that, as tickets. Empty outside `on_tick`
/// or for an unknown status.
pub(crate) fn cases_waiting(status: &str, older_than_seconds: i64) -> rhai::Array {
    let Ok(status) = status.parse::<CaseStatus>() else { return rhai::Array::new() };
    STORE.with(|s| {
        let guard = s.borrow();
        let Some((store, now)) = guard.as_ref() else { return rhai::Array::new() };
        let Ok(cutoff) = now.checked_sub(jiff::SignedDuration::from_secs(older_than_seconds.max(0))) else {
            return rhai::Array::new();
        };
        // Oldest first, so the cases waiting longest are always among the results.
        let query = CaseQuery { status: Some(status), limit: 1000, oldest_first: true, ..CaseQuery::default() };
        match store.list_cases(&query) {
            Ok(page) => page
                .items
                .iter()
                .filter(|c| c.updated_at <= cutoff)
                .take(MAX_RESULTS)
                .map(|c| rhai::Dynamic::from(TicketView::new(c, *now)))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cases_waiting failed");
                rhai::Array::new()
            }
        }
    })
}
