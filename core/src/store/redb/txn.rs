//! [`WriteTxn`] for [`RedbStore`]: one redb write transaction per batch,
//! its tables opened once, case rows, SLA states, events and counters kept
//! back and written once, in key order, just before the commit.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use redb::{ReadableTable, Table, WriteTransaction};

use super::tables::*;
use super::{Counters, RedbStore, RowCaches};
use crate::auth::{Agent, ApiToken, Session};
use crate::domain::{Case, CaseId, CaseStatus, Customer, CustomerId, Event, Identity, Macro, Metric, ViewId};
use crate::metrics::Resolution;
use crate::sla::CaseSla;
use crate::store::{
    CaseRecord, IdempotencyRecord, OutboxItem, SavedView, Sequence, StoreError, TimerKind, WriteTxn, derived,
};

impl RedbStore {
    /// [`crate::store::Store::transact`]: runs `work` in one write
    /// transaction and commits it, or on any failure writes nothing.
    pub(super) fn write_batch(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTxn) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
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
    sla_due: Table<'t, (i64, u64), ()>,
    case_sla_due: Table<'t, u64, i64>,
    views: Table<'t, u64, &'static [u8]>,
    view_index: Table<'t, (&'static str, u64), ()>,
    idempotency: Table<'t, &'static str, &'static [u8]>,
    tokens: Table<'t, &'static str, &'static [u8]>,
    macros: Table<'t, &'static str, &'static [u8]>,
    agents: Table<'t, &'static str, &'static [u8]>,
    agent_emails: Table<'t, &'static str, &'static str>,
    sessions: Table<'t, &'static str, &'static [u8]>,
    agent_sessions: Table<'t, (&'static str, &'static str), ()>,
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
            sla_due: txn.open_table(SLA_DUE)?,
            case_sla_due: txn.open_table(CASE_SLA_DUE)?,
            views: txn.open_table(VIEWS)?,
            view_index: txn.open_table(VIEW_INDEX)?,
            idempotency: txn.open_table(IDEMPOTENCY)?,
            tokens: txn.open_table(TOKENS)?,
            macros: txn.open_table(MACROS)?,
            agents: txn.open_table(AGENTS)?,
            agent_emails: txn.open_table(AGENT_EMAILS)?,
            sessions: txn.open_table(SESSIONS)?,
            agent_sessions: txn.open_table(AGENT_SESSIONS)?,
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
                self.bump_counter(&index_count(key), -1)?;
            }
            for key in keys.difference(&dirty.stored_keys) {
                self.case_index.insert((key.as_str(), id), ())?;
                self.bump_counter(&index_count(key), 1)?;
            }
            if dirty.stored_customer != Some(dirty.case.customer_id) {
                if let Some(old) = dirty.stored_customer {
                    self.customer_events.remove((old.get(), CUSTOMER_CASE | id))?;
                }
                self.customer_events.insert((dirty.case.customer_id.get(), CUSTOMER_CASE | id), ())?;
            }
            let row = encode(&CaseRecord::from(&dirty.case));
            self.cases.insert(id, row.as_slice())?;
            // A case's next reader is usually its next command, in the writer
            // or in that command's rule plan: it clones instead of decoding.
            self.rows.cases.keep(id, row, dirty.case);
        }
        // Last, after the index rows have counted their changes. A counter
        // moved back and forth in the batch (+1, -1) is unchanged.
        for (name, by) in std::mem::take(&mut self.counter_deltas).into_iter().filter(|(_, by)| *by != 0) {
            let count = self.stored_counter(&name)?.saturating_add_signed(by);
            self.named_counters.insert(name.as_str(), count)?;
        }
        self.meta.insert("next_case", self.counters.case)?;
        self.meta.insert("next_customer", self.counters.customer)?;
        self.meta.insert("next_event", self.counters.event)?;
        self.meta.insert("next_outbox", self.counters.outbox)?;
        self.meta.insert("next_view", self.counters.view)?;
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

    fn set_sla_due(&mut self, case: CaseId, due: Option<Timestamp>) -> Result<(), StoreError> {
        let old = self.case_sla_due.get(case.get())?.map(|v| v.value());
        let new = due.map(millis);
        if old == new {
            return Ok(());
        }
        if let Some(ms) = old {
            self.sla_due.remove((ms, case.get()))?;
        }
        match new {
            Some(ms) => {
                self.sla_due.insert((ms, case.get()), ())?;
                self.case_sla_due.insert(case.get(), ms)?;
            }
            None => {
                self.case_sla_due.remove(case.get())?;
            }
        }
        Ok(())
    }

    fn view(&self, id: ViewId) -> Result<Option<SavedView>, StoreError> {
        super::views::view(&self.views, id)
    }

    fn views_for(&self, agent: &str) -> Result<Vec<SavedView>, StoreError> {
        super::views::views_for(&self.view_index, &self.views, agent)
    }

    fn put_view(&mut self, view: &SavedView) -> Result<(), StoreError> {
        let id = view.id.get();
        if let Some(old) = self.view(view.id)? {
            self.view_index.remove((view_owner_key(&old.owner).as_str(), id))?;
            self.view_index.remove((SHARED_VIEWS, id))?;
        }
        self.view_index.insert((view_owner_key(&view.owner).as_str(), id), ())?;
        if view.shared {
            self.view_index.insert((SHARED_VIEWS, id), ())?;
        }
        self.views.insert(id, encode(view).as_slice())?;
        Ok(())
    }

    fn remove_view(&mut self, id: ViewId) -> Result<(), StoreError> {
        if let Some(old) = self.view(id)? {
            self.view_index.remove((view_owner_key(&old.owner).as_str(), id.get()))?;
            self.view_index.remove((SHARED_VIEWS, id.get()))?;
            self.views.remove(id.get())?;
        }
        Ok(())
    }

    fn set_case_index(&mut self, key: &str, case: CaseId, present: bool) -> Result<(), StoreError> {
        let changed = if present {
            self.case_index.insert((key, case.get()), ())?.is_none()
        } else {
            self.case_index.remove((key, case.get()))?.is_some()
        };
        if changed {
            self.bump_counter(&index_count(key), if present { 1 } else { -1 })?;
        }
        Ok(())
    }

    fn customer_id_by_identity(&self, identity: &Identity) -> Result<Option<CustomerId>, StoreError> {
        Ok(self.identities.get(identity.key().as_str())?.map(|v| CustomerId::new(v.value())))
    }

    fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.idempotency.get(key)?.map(|v| decode("idempotency", key, v.value())).transpose()
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        self.tokens.get(hash)?.map(|v| decode("tokens", hash, v.value())).transpose()
    }

    fn token_named(&self, name: &str) -> Result<Option<ApiToken>, StoreError> {
        // Tokens are few and keyed by hash; a scan is cheaper than a second index.
        for row in self.tokens.iter()? {
            let (k, v) = row?;
            let token: ApiToken = decode("tokens", k.value(), v.value())?;
            if token.name == name {
                return Ok(Some(token));
            }
        }
        Ok(None)
    }

    fn allocate(&mut self, sequence: Sequence) -> Result<u64, StoreError> {
        let slot = match sequence {
            Sequence::Case => &mut self.counters.case,
            Sequence::Customer => &mut self.counters.customer,
            Sequence::Event => &mut self.counters.event,
            Sequence::Outbox => &mut self.counters.outbox,
            Sequence::View => &mut self.counters.view,
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

    fn agent(&self, name: &str) -> Result<Option<Agent>, StoreError> {
        self.agents.get(name)?.map(|v| decode("agents", name, v.value())).transpose()
    }

    fn agent_by_email(&self, email: &str) -> Result<Option<Agent>, StoreError> {
        let Some(name) = self.agent_emails.get(email)?.map(|v| v.value().to_owned()) else { return Ok(None) };
        self.agent(&name)
    }

    fn macro_named(&self, name: &str) -> Result<Option<Macro>, StoreError> {
        self.macros.get(name)?.map(|v| decode("macros", name, v.value())).transpose()
    }

    fn put_macro(&mut self, record: &Macro) -> Result<(), StoreError> {
        self.macros.insert(record.name.as_str(), encode(record).as_slice())?;
        Ok(())
    }

    fn delete_macro(&mut self, name: &str) -> Result<(), StoreError> {
        self.macros.remove(name)?;
        Ok(())
    }

    fn put_agent(&mut self, agent: &Agent) -> Result<(), StoreError> {
        let previous = self.agent(&agent.name)?;
        if let Some(old) = previous.filter(|old| old.email != agent.email) {
            self.agent_emails.remove(old.email.as_str())?;
        }
        self.agent_emails.insert(agent.email.as_str(), agent.name.as_str())?;
        self.agents.insert(agent.name.as_str(), encode(agent).as_slice())?;
        Ok(())
    }

    fn session(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        self.sessions.get(hash)?.map(|v| decode("sessions", hash, v.value())).transpose()
    }

    fn put_session(&mut self, session: &Session) -> Result<(), StoreError> {
        self.sessions.insert(session.hash.as_str(), encode(session).as_slice())?;
        self.agent_sessions.insert((session.agent.as_str(), session.hash.as_str()), ())?;
        Ok(())
    }

    fn remove_session(&mut self, hash: &str) -> Result<(), StoreError> {
        if let Some(session) = self.session(hash)? {
            self.agent_sessions.remove((session.agent.as_str(), hash))?;
            self.sessions.remove(hash)?;
        }
        Ok(())
    }

    fn agent_sessions(&self, agent: &str) -> Result<Vec<Session>, StoreError> {
        let mut sessions = Vec::new();
        for row in self.agent_sessions.range((agent, "")..)? {
            let (key, _) = row?;
            let (owner, hash) = key.value();
            if owner != agent {
                break;
            }
            if let Some(session) = self.session(hash)? {
                sessions.push(session);
            }
        }
        Ok(sessions)
    }

    fn remove_agent_sessions(&mut self, agent: &str) -> Result<usize, StoreError> {
        let sessions = self.agent_sessions(agent)?;
        for session in &sessions {
            self.remove_session(&session.hash)?;
        }
        Ok(sessions.len())
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
