//! [`Overlay`]: a write transaction kept in memory over a store's read side.
//! The rules preview a command on one (nothing is written) and the writer
//! then replays what they decided in the real transaction.

use std::cell::RefCell;
use std::collections::HashMap;

use jiff::Timestamp;

use super::{IdempotencyRecord, OutboxItem, SavedView, Sequence, Store, StoreError, TimerKind, WriteTxn};
use crate::auth::{Agent, ApiToken, Session};
use crate::domain::{Case, CaseId, Customer, CustomerId, Event, Identity, Macro, Metric, ViewId};
use crate::metrics::Resolution;
use crate::sla::CaseSla;

/// Ids the overlay hands out start here, far above any real id, so that
/// what a preview created can be told from what is stored.
pub const PREVIEW_ID_BASE: u64 = 1 << 60;

/// Writes kept in memory over a store's read side.
pub struct Overlay<'a> {
    store: &'a dyn Store,
    cases: HashMap<CaseId, Case>,
    slas: HashMap<CaseId, CaseSla>,
    customers: HashMap<CustomerId, Customer>,
    identities: HashMap<String, CustomerId>,
    idempotency: HashMap<String, IdempotencyRecord>,
    outreach: HashMap<String, Timestamp>,
    next_id: u64,
    /// Rows read from the store, kept for the rest of the plan: a create
    /// reads its customer four times (match, SLA policy, hook arguments,
    /// cascade), and each store read is a read transaction and a decode.
    read_customers: RefCell<HashMap<CustomerId, Option<Customer>>>,
    read_cases: RefCell<HashMap<CaseId, Option<Case>>>,
}

impl Overlay<'_> {
    fn stored_customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        read_once(&self.read_customers, id, || self.store.customer(id))
    }

    fn stored_case(&self, id: CaseId) -> Result<Option<Case>, StoreError> {
        read_once(&self.read_cases, id, || self.store.case(id))
    }
}

/// `read()`'s answer for `key`, from `cache` after the first time.
fn read_once<K: std::hash::Hash + Eq, V: Clone>(
    cache: &RefCell<HashMap<K, Option<V>>>,
    key: K,
    read: impl FnOnce() -> Result<Option<V>, StoreError>,
) -> Result<Option<V>, StoreError> {
    if let Some(value) = cache.borrow().get(&key) {
        return Ok(value.clone());
    }
    let value = read()?;
    cache.borrow_mut().insert(key, value.clone());
    Ok(value)
}

impl<'a> Overlay<'a> {
    /// An empty overlay over `store`.
    pub fn new(store: &'a dyn Store) -> Self {
        Self {
            store,
            cases: HashMap::new(),
            slas: HashMap::new(),
            customers: HashMap::new(),
            identities: HashMap::new(),
            idempotency: HashMap::new(),
            outreach: HashMap::new(),
            next_id: PREVIEW_ID_BASE,
            read_customers: RefCell::default(),
            read_cases: RefCell::default(),
        }
    }
}

impl WriteTxn for Overlay<'_> {
    fn case(&self, id: CaseId) -> Result<Option<Case>, StoreError> {
        match self.cases.get(&id) {
            Some(case) => Ok(Some(case.clone())),
            None => self.stored_case(id),
        }
    }

    fn customer(&self, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        match self.customers.get(&id) {
            Some(c) => Ok(Some(c.clone())),
            None => self.stored_customer(id),
        }
    }

    fn case_sla(&self, id: CaseId) -> Result<Option<CaseSla>, StoreError> {
        match self.slas.get(&id) {
            Some(s) => Ok(Some(s.clone())),
            None => self.store.case_sla(id),
        }
    }

    fn put_sla(&mut self, id: CaseId, sla: &CaseSla) -> Result<(), StoreError> {
        self.slas.insert(id, sla.clone());
        Ok(())
    }

    fn set_case_index(&mut self, _: &str, _: CaseId, _: bool) -> Result<(), StoreError> {
        Ok(())
    }

    fn set_sla_due(&mut self, _: CaseId, _: Option<Timestamp>) -> Result<(), StoreError> {
        Ok(())
    }

    // Views are read from the store and never written: their commands reach
    // no hook, so they are never previewed.
    fn view(&self, id: ViewId) -> Result<Option<SavedView>, StoreError> {
        self.store.view(id)
    }

    fn views_for(&self, agent: &str) -> Result<Vec<SavedView>, StoreError> {
        self.store.views_for(agent)
    }

    fn put_view(&mut self, _: &SavedView) -> Result<(), StoreError> {
        Ok(())
    }

    fn remove_view(&mut self, _: ViewId) -> Result<(), StoreError> {
        Ok(())
    }

    fn customer_id_by_identity(&self, identity: &Identity) -> Result<Option<CustomerId>, StoreError> {
        match self.identities.get(&identity.key()) {
            Some(id) => Ok(Some(*id)),
            None => {
                let Some(customer) = self.store.customer_by_identity(identity)? else { return Ok(None) };
                let id = customer.id;
                self.read_customers.borrow_mut().entry(id).or_insert(Some(customer));
                Ok(Some(id))
            }
        }
    }

    fn idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        match self.idempotency.get(key) {
            Some(r) => Ok(Some(r.clone())),
            None => self.store.idempotency(key),
        }
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        self.store.token_by_hash(hash)
    }

    fn token_named(&self, name: &str) -> Result<Option<ApiToken>, StoreError> {
        Ok(self.store.tokens()?.into_iter().find(|t| t.name == name))
    }

    fn allocate(&mut self, _: Sequence) -> Result<u64, StoreError> {
        self.next_id += 1;
        Ok(self.next_id)
    }

    fn put_case(&mut self, _: Option<&Case>, case: &Case) -> Result<(), StoreError> {
        self.cases.insert(case.id, case.clone());
        Ok(())
    }

    fn put_customer(&mut self, customer: &Customer) -> Result<(), StoreError> {
        for identity in &customer.identities {
            self.identities.insert(identity.key(), customer.id);
        }
        self.customers.insert(customer.id, customer.clone());
        Ok(())
    }

    fn append_event(&mut self, _: &Event) -> Result<(), StoreError> {
        Ok(())
    }

    fn put_idempotency(&mut self, key: &str, record: &IdempotencyRecord) -> Result<(), StoreError> {
        self.idempotency.insert(key.to_owned(), record.clone());
        Ok(())
    }

    fn put_token(&mut self, _: &ApiToken) -> Result<(), StoreError> {
        Ok(())
    }

    // Macros are read from the store: a preview applies one, never writes one.
    fn macro_named(&self, name: &str) -> Result<Option<Macro>, StoreError> {
        Ok(self.store.macros()?.into_iter().find(|m| m.name == name))
    }

    fn put_macro(&mut self, _: &Macro) -> Result<(), StoreError> {
        Ok(())
    }

    fn delete_macro(&mut self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }

    // Agents and sessions are read from the store and never written: the
    // commands that write them reach no hook, so they are never previewed.
    fn agent(&self, name: &str) -> Result<Option<Agent>, StoreError> {
        self.store.agent(name)
    }

    fn agent_by_email(&self, email: &str) -> Result<Option<Agent>, StoreError> {
        self.store.agent_by_email(email)
    }

    fn put_agent(&mut self, _: &Agent) -> Result<(), StoreError> {
        Ok(())
    }

    fn session(&self, hash: &str) -> Result<Option<Session>, StoreError> {
        self.store.session(hash)
    }

    fn put_session(&mut self, _: &Session) -> Result<(), StoreError> {
        Ok(())
    }

    fn remove_session(&mut self, _: &str) -> Result<(), StoreError> {
        Ok(())
    }

    fn agent_sessions(&self, _: &str) -> Result<Vec<Session>, StoreError> {
        Ok(Vec::new())
    }

    fn remove_agent_sessions(&mut self, _: &str) -> Result<usize, StoreError> {
        Ok(0)
    }

    fn record_resolution(&mut self, _: CaseId, _: Option<&Resolution>) -> Result<(), StoreError> {
        Ok(())
    }

    fn record_sla_outcome(&mut self, _: Timestamp, _: CaseId, _: Metric, _: u32, _: bool) -> Result<(), StoreError> {
        Ok(())
    }

    fn record_csat(&mut self, _: CaseId, _: Timestamp, _: u8) -> Result<(), StoreError> {
        Ok(())
    }

    fn outreach_opened_at(&self, key: &str) -> Result<Option<Timestamp>, StoreError> {
        match self.outreach.get(key) {
            Some(at) => Ok(Some(*at)),
            None => self.store.outreach_opened_at(key),
        }
    }

    fn record_outreach(&mut self, key: &str, at: Timestamp) -> Result<(), StoreError> {
        self.outreach.insert(key.to_owned(), at);
        Ok(())
    }

    fn open_load(&self, agent: &str) -> Result<u64, StoreError> {
        // Cases assigned within this preview are not counted; the writer counts
        // them, and a different choice there makes the plan stale.
        self.store.open_load(agent)
    }

    fn enqueue_outbox(&mut self, _: &OutboxItem) -> Result<(), StoreError> {
        Ok(())
    }

    fn set_timer(&mut self, _: CaseId, _: TimerKind, _: Option<Timestamp>) -> Result<(), StoreError> {
        Ok(())
    }

    fn put_plugin_state(&mut self, _: &str, _: &str, _: Option<&[u8]>) -> Result<(), StoreError> {
        Ok(())
    }

    fn outbox_item(&self, _: u64) -> Result<Option<OutboxItem>, StoreError> {
        Ok(None)
    }

    fn remove_outbox(&mut self, _: u64) -> Result<(), StoreError> {
        Ok(())
    }

    fn channel_ref(&self, key: &str) -> Result<Option<CaseId>, StoreError> {
        self.store.channel_ref(key)
    }

    fn set_channel_ref(&mut self, _: &str, _: CaseId) -> Result<(), StoreError> {
        Ok(())
    }
}
