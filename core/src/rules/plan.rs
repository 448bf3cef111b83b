//! Computing a command's rule plan off the writer: the command is executed
//! against an in-memory overlay of a read snapshot (nothing is written), the
//! hooks of its events run, their actions are applied to the overlay, and the
//! hooks of the events those cause run again, up to the cascade limit. The
//! writer then replays the same actions in the command's transaction, unless
//! the case moved meanwhile, in which case the plan is computed again.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;

use super::actions::{Action, PREVIEW_ID_BASE, RuleAction, RulePlan};
use super::apply::{apply_action, apply_group, group_len};
use super::host::{Hook, RuleSet, RulesHost};
use super::query::QueryScope;
use super::views::{CustomerView, MessageView, TicketView};
use crate::auth::ApiToken;
use crate::command::{Command, CommandError, IdempotencyRecord, Outcome};
use crate::domain::{Case, CaseId, Customer, CustomerId, Event, EventBody, Identity};
use crate::execute::{ExecContext, execute};
use crate::metrics::Resolution;
use crate::sla::{CaseSla, Metric};
use crate::store::{OutboxItem, Sequence, Store, StoreError, TimerKind, WriteTxn};

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

    fn token_name_taken(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.store.tokens()?.iter().any(|t| t.name == name))
    }

    fn allocate(&mut self, _: Sequence) -> u64 {
        self.next_id += 1;
        self.next_id
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

/// The hooks the events of `command` itself (before any rule acts) may
/// trigger. A superset: `tests/invariants.rs` checks every event of random
/// command sequences against it.
pub fn reachable_hooks(command: &Command) -> &'static [Hook] {
    use crate::command::MessageKind;
    match command {
        // A customer message on a closed case opens a follow-up case.
        Command::CreateCase(_)
        | Command::ChannelMessage(_)
        | Command::AddMessage { kind: MessageKind::Customer, .. } => {
            &[Hook::CaseCreated, Hook::Message, Hook::StatusChanged]
        }
        Command::AddMessage { kind: MessageKind::Reply | MessageKind::Note, .. }
        | Command::UpdateCase { .. }
        | Command::RecordCsat { .. }
        | Command::AutoClose { .. } => &[Hook::StatusChanged],
        Command::SlaCheck { .. } => &[Hook::SlaWarning, Hook::SlaBreach],
        Command::SetHealth { .. } => &[Hook::HealthChanged],
        Command::UpsertCustomer { .. }
        | Command::CreateToken(_)
        | Command::OutboxAttempt { .. }
        | Command::RecordPluginError { .. }
        | Command::EnrichCustomer { .. }
        | Command::RunRules => &[],
    }
}

/// The hook an event triggers, if any.
pub fn hook_for(event: &Event) -> Option<Hook> {
    match event.body {
        EventBody::CaseCreated { .. } => Some(Hook::CaseCreated),
        EventBody::MessageReceived { .. } => Some(Hook::Message),
        EventBody::StatusChanged { .. } => Some(Hook::StatusChanged),
        EventBody::SlaWarning { .. } => Some(Hook::SlaWarning),
        EventBody::SlaBreached { .. } => Some(Hook::SlaBreach),
        EventBody::HealthChanged { .. } => Some(Hook::HealthChanged),
        _ => None,
    }
}

/// A score the rules compare against when a customer had none before: an
/// unknown customer counts as healthy, so a first score of critical is a drop.
pub const UNKNOWN_HEALTH: i64 = 100;

/// The arguments of `hook` for `event`, from the overlay's current state.
fn hook_args(txn: &dyn WriteTxn, event: &Event, now: Timestamp) -> Result<Option<Vec<rhai::Dynamic>>, StoreError> {
    if let EventBody::HealthChanged { score, previous_score, .. } = &event.body {
        let Some(customer) = txn.customer(event.customer_id)? else { return Ok(None) };
        let before = previous_score.map_or(UNKNOWN_HEALTH, i64::from);
        return Ok(Some(vec![
            rhai::Dynamic::from(CustomerView::new(&customer)),
            before.into(),
            i64::from(*score).into(),
        ]));
    }
    let Some(case) = event.case_id.map(|id| txn.case(id)).transpose()?.flatten() else { return Ok(None) };
    let customer = txn.customer(case.customer_id)?;
    Ok(hook_args_for(event, &case, customer.as_ref(), now).map(|(_, args)| args))
}

/// The hook `event` triggers on `case`, with its arguments.
pub fn hook_args_for(
    event: &Event,
    case: &Case,
    customer: Option<&Customer>,
    now: Timestamp,
) -> Option<(Hook, Vec<rhai::Dynamic>)> {
    let hook = hook_for(event)?;
    let ticket = rhai::Dynamic::from(TicketView::new(case, now));
    let customer = rhai::Dynamic::from(customer.map_or_else(CustomerView::unknown, CustomerView::new));
    let args = match &event.body {
        EventBody::CaseCreated { .. } => vec![ticket, customer],
        EventBody::MessageReceived { body, .. } => {
            vec![ticket, rhai::Dynamic::from(MessageView::new(body, event.actor.to_string())), customer]
        }
        EventBody::StatusChanged { from, to } => vec![ticket, from.as_str().into(), to.as_str().into()],
        EventBody::SlaWarning { metric, .. } | EventBody::SlaBreached { metric, .. } => {
            vec![ticket, metric.as_str().into()]
        }
        _ => return None,
    };
    Some((hook, args))
}

/// Runs the hooks of `events[from..end]`: for each event, each file in name
/// order sees the case as the files before it left it, and its actions are
/// applied at once. Returns whether any action was applied.
fn run_round(
    host: &RulesHost,
    set: &RuleSet,
    overlay: &mut Overlay<'_>,
    events: &mut Vec<Event>,
    from: usize,
    plan: &mut RulePlan,
    ctx: &ExecContext<'_>,
) -> Result<bool, StoreError> {
    let end = events.len();
    let mut applied = false;
    for index in from..end {
        let Some(hook) = hook_for(&events[index]).filter(|h| set.has(*h)) else { continue };
        // Views are rebuilt only when an earlier file changed something.
        let mut views: Option<(usize, Vec<rhai::Dynamic>)> = None;
        for file in set.files_with(hook) {
            let args = match &views {
                Some((seen, args)) if *seen == events.len() => args.clone(),
                _ => {
                    let Some(args) = hook_args(overlay, &events[index], ctx.now)? else { break };
                    views = Some((events.len(), args.clone()));
                    args
                }
            };
            let mut actions = host.call_file(file, hook, args, Some(index), ctx.now);
            let mut start = 0;
            while start < actions.len() {
                let len = group_len(&actions[start..]);
                let produced = apply_group(overlay, events, &actions[start..start + len], ctx)?;
                for (action, count) in actions[start..start + len].iter_mut().zip(produced) {
                    action.produced = count;
                }
                start += len;
            }
            applied |= !actions.is_empty();
            plan.actions.extend(actions);
        }
    }
    Ok(applied)
}

/// Computes the rule plan of `command`. `Ok(None)` when no hook applies (or
/// the command will be refused: the writer gives the authoritative answer).
///
/// # Errors
/// Storage failures.
pub fn plan(
    host: &RulesHost,
    store: &dyn Store,
    command: &Command,
    ctx: &ExecContext<'_>,
) -> Result<Option<RulePlan>, StoreError> {
    let set = host.current();
    // Previewing a command costs about as much as writing it, so a command
    // none of whose events has a hook in the scripts skips it.
    if !reachable_hooks(command).iter().any(|hook| set.has(*hook)) {
        return Ok(None);
    }
    let mut overlay = Overlay::new(store);
    // The same row the preview reads: the plan is stale exactly when the
    // writer finds another version.
    let expected_version = match command.case_id() {
        Some(id) => overlay.case(id)?.map(|c| (id, c.version)),
        None => None,
    };
    let mut events = match execute(&mut overlay, command, ctx) {
        Ok(Outcome::Case { events, .. } | Outcome::Customer { events, .. }) => events,
        Ok(_) => return Ok(None),
        Err(CommandError::Store(e)) => return Err(e),
        Err(_) => return Ok(None),
    };
    let mut plan = RulePlan { expected_version, actions: Vec::new() };
    cascade(host, &set, &mut overlay, &mut events, 0, &mut plan, ctx)?;
    Ok(Some(plan).filter(|p| !p.is_empty()))
}

/// Runs rounds of hooks until no action is applied, or the cascade limit.
fn cascade(
    host: &RulesHost,
    set: &RuleSet,
    overlay: &mut Overlay<'_>,
    events: &mut Vec<Event>,
    mut from: usize,
    plan: &mut RulePlan,
    ctx: &ExecContext<'_>,
) -> Result<(), StoreError> {
    for _round in 0..host.limits().cascade_depth {
        let end = events.len();
        if !run_round(host, set, overlay, events, from, plan, ctx)? {
            return Ok(());
        }
        from = end;
    }
    // Still producing work at the limit: stop, and say so on the case.
    if run_hooks_would_fire(set, &events[from..]) {
        let last = events.len() - 1;
        let actor = plan.actions.last().map_or(crate::domain::Actor::System, |a| a.actor.clone());
        let action = Action::Failed {
            hook: "cascade".into(),
            message: format!("rule cascade stopped at depth {}", host.limits().cascade_depth),
            line: None,
            column: None,
        };
        let mut rule = RuleAction { trigger: Some(last), actor, action, produced: 0 };
        let before = events.len();
        apply_action(overlay, events, &rule, ctx)?;
        rule.produced = events.len() - before;
        plan.actions.push(rule);
    }
    Ok(())
}

fn run_hooks_would_fire(set: &RuleSet, events: &[Event]) -> bool {
    events.iter().filter_map(hook_for).any(|h| set.has(h))
}

/// The plan of one `on_tick(now)`: its actions apply outside any case.
///
/// # Errors
/// Storage failures.
pub fn plan_tick(
    host: &RulesHost,
    store: &Arc<dyn Store>,
    ctx: &ExecContext<'_>,
) -> Result<Option<RulePlan>, StoreError> {
    let set = host.current();
    if !set.has(Hook::Tick) {
        return Ok(None);
    }
    let now = ctx.now;
    let actions = {
        let _scope = QueryScope::enter(store.clone(), now);
        host.call(&set, Hook::Tick, || vec![now.to_string().into()], None, now)
    };
    if actions.is_empty() {
        return Ok(None);
    }
    let mut overlay = Overlay::new(store.as_ref());
    let mut events = Vec::new();
    let mut plan = RulePlan::default();
    for mut action in actions {
        let before = events.len();
        apply_action(&mut overlay, &mut events, &action, ctx)?;
        action.produced = events.len() - before;
        plan.actions.push(action);
    }
    cascade(host, &set, &mut overlay, &mut events, 0, &mut plan, ctx)?;
    Ok(Some(plan))
}
