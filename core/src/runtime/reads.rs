//! The read side of the door: every query the binary makes, async. A store
//! whose reads may wait ([`Store::reads_wait`]: a round trip to a database
//! server) is read on tokio's blocking pool, so it never stalls a request
//! worker; one that only touches its own memory-mapped file (redb) is read
//! in place, which is cheaper than the hop. Work that grows with the data
//! (metrics over a range, the outbox, a dry run of the rules) always goes to
//! the pool, as the dry run did before. Each query reads one snapshot.

use jiff::Timestamp;

use crate::auth::{Agent, ApiToken, Session};
use crate::domain::{Case, CaseId, Customer, CustomerId, Event, EventId, Macro, ViewId};
use crate::metrics::{self, ServiceMetrics};
use crate::rules::RulesHost;
use crate::rules::simulate::{SimulationReport, simulate};
use crate::runtime::service::Frontdesk;
use crate::sla::CaseSla;
use crate::store::{CaseQuery, DuePosition, OutboxItem, Page, SavedView, Store, StoreError};

/// A read that did not answer.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Storage failed.
    #[error("storage failure")]
    Storage(#[from] StoreError),
    /// The read's thread was lost (a panic in the store, or a runtime that
    /// is shutting down).
    #[error("the read did not complete")]
    Interrupted,
}

/// The outbox at a glance.
#[derive(Debug, Default, serde::Serialize)]
pub struct OutboxSummary {
    /// Items waiting for an attempt.
    pub pending: usize,
    /// Items that gave up.
    pub failed: usize,
    /// The first items, oldest first.
    pub items: Vec<OutboxItem>,
}

impl Frontdesk {
    /// Runs a bounded `query` (a lookup, a page): in place when the store's
    /// reads never wait, on the blocking pool when they may.
    pub(crate) async fn read<T, F>(&self, query: F) -> Result<T, ReadError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        if !self.store().reads_wait() {
            return query(self.store()).map_err(ReadError::Storage);
        }
        self.scan(query).await
    }

    /// Runs `query` on the blocking pool, whatever the store: for work that
    /// grows with the data (a metrics range, the whole outbox, a dry run of
    /// the rules over thousands of cases), which would hold a request worker
    /// for its whole length even on a store whose reads never wait.
    pub(crate) async fn scan<T, F>(&self, query: F) -> Result<T, ReadError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store_handle();
        let answer = tokio::task::spawn_blocking(move || query(store.as_ref())).await;
        answer.map_err(|_| ReadError::Interrupted)?.map_err(ReadError::Storage)
    }

    /// One case with its SLA state, from one snapshot.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn case(&self, id: CaseId) -> Result<Option<(Case, CaseSla)>, ReadError> {
        self.read(move |store| store.case_with_sla(id)).await
    }

    /// A page of cases, each with its SLA state, from one snapshot.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn cases(&self, query: CaseQuery) -> Result<Page<(Case, CaseSla), CaseId>, ReadError> {
        self.read(move |store| store.list_cases_with_sla(&query)).await
    }

    /// A page of cases by SLA due (see [`Store::list_cases_by_sla_due`]),
    /// each with its SLA state, from one snapshot.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn cases_by_sla_due(
        &self,
        query: CaseQuery,
        after: Option<DuePosition>,
    ) -> Result<Page<(Case, CaseSla), DuePosition>, ReadError> {
        self.read(move |store| store.list_cases_by_sla_due(&query, after)).await
    }

    /// One saved view, whoever owns it.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn view(&self, id: ViewId) -> Result<Option<SavedView>, ReadError> {
        self.read(move |store| store.view(id)).await
    }

    /// The saved views `agent` sees: their own and the shared ones, by name.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn views_for(&self, agent: String) -> Result<Vec<SavedView>, ReadError> {
        self.read(move |store| store.views_for(&agent)).await
    }

    /// How many cases each query matches, from one snapshot (an inbox's
    /// queue counts). Counting a query that is not one queue scans it, so
    /// this runs on the blocking pool.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn count_cases(&self, queries: Vec<CaseQuery>) -> Result<Vec<u64>, ReadError> {
        self.scan(move |store| store.count_cases(&queries)).await
    }

    /// A case's timeline after `after`, oldest first; `None` if there is no
    /// such case.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn case_events(
        &self,
        id: CaseId,
        after: Option<EventId>,
        limit: usize,
    ) -> Result<Option<Page<Event, EventId>>, ReadError> {
        self.read(move |store| match store.case(id)? {
            Some(_) => store.case_events(id, after, limit).map(Some),
            None => Ok(None),
        })
        .await
    }

    /// A case's timeline before `before`, newest first; `None` if there is
    /// no such case.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn case_events_before(
        &self,
        id: CaseId,
        before: Option<EventId>,
        limit: usize,
    ) -> Result<Option<Page<Event, EventId>>, ReadError> {
        self.read(move |store| match store.case(id)? {
            Some(_) => store.case_events_before(id, before, limit).map(Some),
            None => Ok(None),
        })
        .await
    }

    /// One customer.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn customer(&self, id: CustomerId) -> Result<Option<Customer>, ReadError> {
        self.read(move |store| store.customer(id)).await
    }

    /// A customer's timeline across all its cases; `None` if there is no
    /// such customer.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn customer_events(
        &self,
        id: CustomerId,
        after: Option<EventId>,
        limit: usize,
    ) -> Result<Option<Page<Event, EventId>>, ReadError> {
        self.read(move |store| match store.customer(id)? {
            Some(_) => store.customer_events(id, after, limit).map(Some),
            None => Ok(None),
        })
        .await
    }

    /// Every macro, by title (the order of the case view's picker).
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn macros(&self) -> Result<Vec<Macro>, ReadError> {
        let mut macros = self.read(|store| store.macros()).await?;
        macros.sort_by(|a, b| a.title.to_lowercase().cmp(&b.title.to_lowercase()).then_with(|| a.name.cmp(&b.name)));
        Ok(macros)
    }

    /// Every API token, revoked ones included, oldest first.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn tokens(&self) -> Result<Vec<ApiToken>, ReadError> {
        let mut tokens = self.read(|store| store.tokens()).await?;
        tokens.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.name.cmp(&b.name)));
        Ok(tokens)
    }

    /// The token stored under a secret's hash.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn token_by_hash(&self, hash: String) -> Result<Option<ApiToken>, ReadError> {
        self.read(move |store| store.token_by_hash(&hash)).await
    }

    /// The live session stored under a cookie secret's hash: `None` when
    /// there is none or it expired (`expires_at` at or before now). Idle
    /// timeouts (from `last_seen_at`) are the caller's to apply.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn session_by_hash(&self, hash: String) -> Result<Option<Session>, ReadError> {
        let now = self.clock().now();
        self.read(move |store| Ok(store.session(&hash)?.filter(|s| !s.is_expired(now)))).await
    }

    /// One agent by name, active or not.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn agent(&self, name: String) -> Result<Option<Agent>, ReadError> {
        self.read(move |store| store.agent(&name)).await
    }

    /// The agent with this email (matched lower case), active or not.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn agent_by_email(&self, email: String) -> Result<Option<Agent>, ReadError> {
        self.read(move |store| store.agent_by_email(&email.trim().to_lowercase())).await
    }

    /// Every agent, by name.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn agents(&self) -> Result<Vec<Agent>, ReadError> {
        self.read(|store| store.agents()).await
    }

    /// Whether any token exists.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn has_tokens(&self) -> Result<bool, ReadError> {
        self.read(|store| Ok(!store.tokens()?.is_empty())).await
    }

    /// Service metrics over `[from, to)`, with the backlog as of now.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn service_metrics(&self, from: Timestamp, to: Timestamp) -> Result<ServiceMetrics, ReadError> {
        let now = self.clock().now();
        self.scan(move |store| Ok(metrics::compute(&store.metrics_input(from, to)?, from, to, now))).await
    }

    /// Outbound work not yet done: how many items are pending and failed,
    /// and the first `limit` of them, oldest first.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn outbox(&self, limit: usize) -> Result<OutboxSummary, ReadError> {
        self.scan(move |store| {
            let mut summary = OutboxSummary::default();
            let mut after = None;
            loop {
                let page = store.outbox_items(after, 500)?;
                let Some(last) = page.last() else { return Ok(summary) };
                after = Some(last.id);
                for item in page {
                    if item.status == "failed" {
                        summary.failed += 1;
                    } else {
                        summary.pending += 1;
                    }
                    if summary.items.len() < limit {
                        summary.items.push(item);
                    }
                }
            }
        })
        .await
    }

    /// A dry run of `host`'s rules over the cases created since `since`
    /// (at most `limit`), writing nothing.
    ///
    /// # Errors
    /// See [`ReadError`].
    pub async fn simulate(
        &self,
        host: std::sync::Arc<RulesHost>,
        since: Timestamp,
        limit: usize,
    ) -> Result<SimulationReport, ReadError> {
        let now = self.clock().now();
        self.scan(move |store| simulate(&host, store, since, now, limit)).await
    }
}
