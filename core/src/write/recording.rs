//! [`Recording`]: a write transaction that remembers the events appended
//! through it, so the writer can publish a batch's events once it is
//! durable. A pass-through when nobody listens.

use jiff::Timestamp;

use crate::auth::{Agent, ApiToken, Session};
use crate::domain::{Case, CaseId, Customer, CustomerId, Event, Identity, Macro, Metric, ViewId};
use crate::metrics::Resolution;
use crate::sla::CaseSla;
use crate::store::{IdempotencyRecord, OutboxItem, SavedView, Sequence, StoreError, TimerKind, WriteTxn};

/// Wraps a transaction; `events` is `Some` when the batch's events are wanted.
pub(crate) struct Recording<'t> {
    /// The real transaction.
    pub txn: &'t mut dyn WriteTxn,
    /// The events appended so far, in order.
    pub events: Option<Vec<Event>>,
}

impl WriteTxn for Recording<'_> {
    fn case(&self, id: CaseId) -> Result<Option<Case>, StoreError> {
        self.txn.case(id)
    }

    fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        self.txn.customer(id)
    }

    fn case_sla(&self, id: CaseId) -> Result<Option<CaseSla>, StoreError> {
        self.txn.case_sla(id)
    }

    fn put_sla(&mut self, id: CaseId, sla: &CaseSla) -> Result<(), StoreError> {
        self.txn.put_sla(id, sla)
    }

    fn set_case_index(&mut self, key: &str, case: CaseId, present: bool) -> Result<(), StoreError> {
        self.txn.set_case_index(key, case, present)
    }

    fn set_sla_due(&mut self, case: CaseId, due: Option<Timestamp>) -> Result<(), StoreError> {
        self.txn.set_sla_due(case, due)
    }

    fn view(&self, id: ViewId) -> Result<Option<SavedView>, StoreError> {
        self.txn.view(id)
    }

    fn views_for(&self, agent: &str) -> Result<Vec<SavedView>, StoreError> {
        self.txn.views_for(agent)
    }

    fn put_view(&mut self, view: &SavedView) -> Result<(), StoreError> {
        self.txn.put_view(view)
    }

    fn remove_view(&mut self, id: ViewId) -> Result<(), StoreError> {
        self.txn.remove_view(id)
    }

    fn customer_id_by_identity(&self, identity: &Identity) -> Result<Option<CustomerId>, StoreError> {
        self.txn.customer_id_by_identity(identity)
    }

    fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.txn.idempotency(key)
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        self.txn.token_by_hash(hash)
    }

    fn token_named(&self, name: &str) -> Result<Option<ApiToken>, StoreError> {
        self.txn.token_named(name)
    }

    fn allocate(&mut self, sequence: Sequence) -> Result<u64, StoreError> {
        self.txn.allocate(sequence)
    }

    fn put_case(&mut self, previous: Option<&Case>, case: &Case) -> Result<(), StoreError> {
        self.txn.put_case(previous, case)
    }

    fn put_customer(&mut self, customer: &Customer) -> Result<(), StoreError> {
        self.txn.put_customer(customer)
    }

    fn append_event(&mut self, event: &Event) -> Result<(), StoreError> {
        if let Some(events) = &mut self.events {
            events.push(event.clone());
        }
        self.txn.append_event(event)
    }

    fn put_idempotency(&mut self, key: &str, record: &IdempotencyRecord) -> Result<(), StoreError> {
        self.txn.put_idempotency(key, record)
    }

    fn put_token(&mut self, token: &ApiToken) -> Result<(), StoreError> {
        self.txn.put_token(token)
    }

    fn agent(&self, name: &str) -> Result<Option<Agent>, StoreError> {
        self.txn.agent(name)
    }

    fn agent_by_email(&self, email: &str) -> Result<Option<Agent>, StoreError> {
        self.txn.agent_by_email(email)
    }

    fn put_agent(&mut self, agent: &Agent) -> Result<(), StoreError> {
        self.txn.put_agent(agent)
    }

    fn macro_named(&self, name: &str) -> Result<Option<Macro>, StoreError> {
        self.txn.macro_named(name)
    }

    fn put_macro(&mut self, record: &Macro) -> Result<(), StoreError> {
        self.txn.put_macro(record)
    }

    fn delete_macro(&mut self, name: &str) -> Result<(), StoreError> {
        self.txn.delete_macro(name)
    }

    fn session(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        self.txn.session(hash)
    }

    fn put_session(&mut self, session: &Session) -> Result<(), StoreError> {
        self.txn.put_session(session)
    }

    fn remove_session(&mut self, hash: &str) -> Result<(), StoreError> {
        self.txn.remove_session(hash)
    }

    fn agent_sessions(&self, agent: &str) -> Result<Vec<Session>, StoreError> {
        self.txn.agent_sessions(agent)
    }

    fn remove_agent_sessions(&mut self, agent: &str) -> Result<usize, StoreError> {
        self.txn.remove_agent_sessions(agent)
    }

    fn record_resolution(&mut self, case: CaseId, resolution: Option<&Resolution>) -> Result<(), StoreError> {
        self.txn.record_resolution(case, resolution)
    }

    fn record_sla_outcome(
        &mut self,
        at: Timestamp,
        case: CaseId,
        metric: Metric,
        cycle: u32,
        met: bool,
    ) -> Result<(), StoreError> {
        self.txn.record_sla_outcome(at, case, metric, cycle, met)
    }

    fn record_csat(&mut self, case: CaseId, at: Timestamp, score: u8) -> Result<(), StoreError> {
        self.txn.record_csat(case, at, score)
    }

    fn outreach_opened_at(&self, key: &str) -> Result<Option<Timestamp>, StoreError> {
        self.txn.outreach_opened_at(key)
    }

    fn record_outreach(&mut self, key: &str, at: Timestamp) -> Result<(), StoreError> {
        self.txn.record_outreach(key, at)
    }

    fn open_load(&self, agent: &str) -> Result<u64, StoreError> {
        self.txn.open_load(agent)
    }

    fn enqueue_outbox(&mut self, item: &OutboxItem) -> Result<(), StoreError> {
        self.txn.enqueue_outbox(item)
    }

    fn set_timer(&mut self, case: CaseId, kind: TimerKind, due: Option<Timestamp>) -> Result<(), StoreError> {
        self.txn.set_timer(case, kind, due)
    }

    fn put_plugin_state(&mut self, plugin: &str, key: &str, value: Option<&[u8]>) -> Result<(), StoreError> {
        self.txn.put_plugin_state(plugin, key, value)
    }

    fn outbox_item(&self, id: u64) -> Result<Option<OutboxItem>, StoreError> {
        self.txn.outbox_item(id)
    }

    fn remove_outbox(&mut self, id: u64) -> Result<(), StoreError> {
        self.txn.remove_outbox(id)
    }

    fn channel_ref(&self, key: &str) -> Result<Option<CaseId>, StoreError> {
        self.txn.channel_ref(key)
    }

    fn set_channel_ref(&mut self, key: &str, case: CaseId) -> Result<(), StoreError> {
        self.txn.set_channel_ref(key, case)
    }
}
