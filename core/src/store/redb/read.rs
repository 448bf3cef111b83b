//! [`Store`] for [`RedbStore`]: each read in its own read transaction, a
//! snapshot that never waits on the writer. Listings are in [`super::query`],
//! the write transaction in [`super::txn`].

use jiff::Timestamp;
use redb::{ReadableTable, ReadableTableMetadata};

use super::RedbStore;
use super::by_due::scan_by_sla_due;
use super::query::{count_cases, scan_cases};
use super::tables::*;
use crate::auth::{Agent, ApiToken, Session};
use crate::domain::{Case, CaseId, CaseStatus, Customer, CustomerId, Event, EventId, Identity, Macro, Metric, ViewId};
use crate::metrics::{BacklogRow, MetricsInput};
use crate::sla::CaseSla;
use crate::store::{
    CaseQuery, DuePosition, DueTimer, IdempotencyRecord, OutboxItem, Page, SavedView, Store, StoreError, TimerKind,
    WriteTxn,
};

impl RedbStore {
    /// The cases of `page`, each with its SLA state read in `txn`.
    fn with_slas<C>(
        &self,
        txn: &redb::ReadTransaction,
        page: Page<Case, C>,
    ) -> Result<Page<(Case, CaseSla), C>, StoreError> {
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
        self.with_slas(&txn, page)
    }

    fn list_cases_by_sla_due(
        &self,
        query: &CaseQuery,
        after: Option<DuePosition>,
    ) -> Result<Page<(Case, CaseSla), DuePosition>, StoreError> {
        let txn = self.read()?;
        let page = scan_by_sla_due(&txn, &self.rows.cases, query, after)?;
        self.with_slas(&txn, page)
    }

    fn view(&self, id: ViewId) -> Result<Option<SavedView>, StoreError> {
        super::views::view(&self.read()?.open_table(VIEWS)?, id)
    }

    fn views_for(&self, agent: &str) -> Result<Vec<SavedView>, StoreError> {
        let txn = self.read()?;
        super::views::views_for(&txn.open_table(VIEW_INDEX)?, &txn.open_table(VIEWS)?, agent)
    }

    fn count_cases(&self, queries: &[CaseQuery]) -> Result<Vec<u64>, StoreError> {
        let txn = self.read()?;
        queries.iter().map(|query| count_cases(&txn, &self.rows.cases, query)).collect()
    }

    fn case_events(
        &self,
        id: CaseId,
        after: Option<EventId>,
        limit: usize,
    ) -> Result<Page<Event, EventId>, StoreError> {
        self.events_page(CASE_EVENTS, id.get(), after, limit)
    }

    fn events_after(&self, after: Option<EventId>, limit: usize) -> Result<Page<Event, EventId>, StoreError> {
        let start = after.map_or(0, |a| a.get().saturating_add(1));
        let txn = self.read()?;
        let table = txn.open_table(EVENTS)?;
        let mut items: Vec<Event> = Vec::with_capacity(limit.min(1024));
        let mut next = None;
        for row in table.range(start..)? {
            let (key, value) = row?;
            if items.len() == limit {
                next = items.last().map(|e| e.id);
                break;
            }
            items.push(decode("events", key.value(), value.value())?);
        }
        Ok(Page { items, next })
    }

    fn case_events_before(
        &self,
        id: CaseId,
        before: Option<EventId>,
        limit: usize,
    ) -> Result<Page<Event, EventId>, StoreError> {
        self.events_page_before(CASE_EVENTS, id.get(), before, limit)
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

    fn macros(&self) -> Result<Vec<Macro>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(MACROS)?;
        let mut macros = Vec::with_capacity(usize::try_from(table.len()?).unwrap_or(0));
        for row in table.iter()? {
            let (k, v) = row?;
            macros.push(decode("macros", k.value(), v.value())?);
        }
        Ok(macros)
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

    fn agent(&self, name: &str) -> Result<Option<Agent>, StoreError> {
        let txn = self.read()?;
        txn.open_table(AGENTS)?.get(name)?.map(|v| decode("agents", name, v.value())).transpose()
    }

    fn agent_by_email(&self, email: &str) -> Result<Option<Agent>, StoreError> {
        // The email row and the agent from one snapshot.
        let txn = self.read()?;
        let Some(name) = txn.open_table(AGENT_EMAILS)?.get(email)?.map(|v| v.value().to_owned()) else {
            return Ok(None);
        };
        txn.open_table(AGENTS)?.get(name.as_str())?.map(|v| decode("agents", &name, v.value())).transpose()
    }

    fn agents(&self) -> Result<Vec<Agent>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(AGENTS)?;
        let mut agents = Vec::with_capacity(usize::try_from(table.len()?).unwrap_or(0));
        for row in table.iter()? {
            let (k, v) = row?;
            agents.push(decode("agents", k.value(), v.value())?);
        }
        Ok(agents)
    }

    fn session(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        let txn = self.read()?;
        txn.open_table(SESSIONS)?.get(hash)?.map(|v| decode("sessions", hash, v.value())).transpose()
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
        self.write_batch(work)
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

    /// Reads are B-tree lookups in the memory-mapped file, answered from
    /// the page cache; moving each to the blocking pool cost the realistic
    /// mix more than a tenth of its throughput (BENCHMARKS.md, "one door").
    fn reads_wait(&self) -> bool {
        false
    }
}
