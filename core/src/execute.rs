//! Runs one command inside the writer's transaction: load state, decide
//! (pure, [`crate::decide`]), then stamp ids and time on the drafted events,
//! fold them into case rows and write everything. A command that fails to
//! decide has written nothing.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::command::{Command, CommandError, CustomerInput, CustomerRef, IdempotencyRecord, NewCase, Outcome};
use crate::decide::{self, CaseStart, Cause, Draft, MessageDecision};
use crate::domain::{Actor, Case, CaseId, CaseStatus, ChannelVia, Customer, CustomerId, Event, EventBody, EventId};
use crate::metrics::Resolution;
use crate::projection;
use crate::rules::apply::{apply_action, apply_group, group_len};
use crate::rules::{Action, RuleAction, RulePlan};
use crate::sla::track::SlaOutcome;
use crate::sla::{CaseSla, SlaBook};
use crate::store::{Sequence, SlaFilter, StoreError, TimerKind, WriteTxn};

/// Executes `command` in a transaction of its own, outside the writer: for
/// the CLI (with no server running) and tests. Storage failures abort it.
///
/// # Errors
/// The command's refusal, or [`CommandError::Store`].
pub fn execute_alone(
    store: &dyn crate::store::Store,
    command: &Command,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
    let mut outcome = None;
    store.transact(&mut |txn| match execute(txn, command, ctx) {
        Err(CommandError::Store(e)) => Err(e),
        other => {
            outcome = Some(other);
            Ok(())
        }
    })?;
    outcome.unwrap_or(Err(CommandError::Unavailable))
}

/// Executes `command` and then the actions of its rule plan, in the same
/// transaction. The outcome shows the case after the rules.
///
/// # Errors
/// As [`execute`], and [`CommandError::Stale`] when the case moved after the
/// plan was computed.
pub fn execute_planned(
    txn: &mut dyn WriteTxn,
    command: &Command,
    plan: Option<&RulePlan>,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
    let Some(plan) = plan else { return execute(txn, command, ctx) };
    if let Some((id, version)) = plan.expected_version
        && txn.case(id)?.map(|c| c.version) != Some(version)
    {
        return Err(CommandError::Stale);
    }
    let outcome = execute(txn, command, ctx)?;
    if plan.actions.is_empty() {
        return Ok(outcome);
    }
    let mut events = match &outcome {
        Outcome::Case { events, .. } | Outcome::Customer { events, .. } => events.clone(),
        _ => Vec::new(),
    };
    let mut index = 0;
    while index < plan.actions.len() {
        let len = group_len(&plan.actions[index..]);
        let group = &plan.actions[index..index + len];
        let produced = apply_group(txn, &mut events, group, ctx)?;
        index += len;
        if group.iter().zip(&produced).any(|(action, count)| action.produced != *count) {
            let action = &group[len - 1];
            // The state moved under the plan (an outreach opened meanwhile, a
            // different agent's load), so later triggers would point at other
            // events. The command and the actions so far are already written
            // in this transaction, so retrying would apply them twice: stop
            // here and say so on the case instead.
            let skipped = plan.actions.len() - index;
            if skipped > 0 {
                tracing::warn!(skipped, "rule plan went stale while it was applied; skipping the rest");
                let message =
                    format!("the case changed while its rules ran; {skipped} later rule action(s) were skipped");
                let rule = RuleAction {
                    trigger: Some(0),
                    actor: action.actor.clone(),
                    action: Action::Failed { hook: "plan".into(), message, line: None, column: None },
                    produced: 0,
                };
                apply_action(txn, &mut events, &rule, ctx)?;
            }
            break;
        }
    }
    match outcome {
        Outcome::Case { case, created, .. } => {
            let case = txn.case(case.id)?.unwrap_or(case);
            let sla = txn.case_sla(case.id)?.unwrap_or_default();
            let events = events.into_iter().filter(|e| e.case_id == Some(case.id)).collect();
            Ok(Outcome::Case { case, sla, events, created })
        }
        other => Ok(other),
    }
}

/// What every command in a batch shares.
#[derive(Debug, Clone, Copy)]
pub struct ExecContext<'a> {
    /// The batch's "now": every event of the batch carries it.
    pub now: Timestamp,
    /// How long a solved case stays solved before it closes.
    pub auto_close_after: SignedDuration,
    /// SLA calendars and policies.
    pub sla: &'a SlaBook,
    /// A rule opens the same outreach for a customer at most once in this window.
    pub outreach_window: SignedDuration,
    /// Which plugins outbound work goes to.
    pub plugins: &'a crate::outbox::PluginRoutes,
}

/// Executes `command` against `txn`.
///
/// # Errors
/// [`CommandError`] when the command is refused (nothing written), or
/// [`CommandError::Store`] when storage failed (the batch must abort).
#[tracing::instrument(skip_all, fields(case.id = command.case_id().map(tracing::field::display)))]
pub fn execute(txn: &mut dyn WriteTxn, command: &Command, ctx: &ExecContext<'_>) -> Result<Outcome, CommandError> {
    match command {
        Command::CreateCase(new) => create_case(txn, new, ctx),
        Command::AddMessage { case_id, kind, body, actor } => {
            let case = load_case(txn, *case_id)?;
            add_message(txn, case, *kind, body, actor, None, ctx)
        }
        Command::UpdateCase { case_id, patch, actor } => {
            let case = load_case(txn, *case_id)?;
            let drafts = decide::update_case(&case, patch, actor)?;
            commit_case(txn, Some(case), drafts, ctx, false)
        }
        Command::RecordCsat { case_id, score, comment } => {
            let case = load_case(txn, *case_id)?;
            let drafts = decide::record_csat(&case, *score, comment.as_deref())?;
            commit_case(txn, Some(case), drafts, ctx, false)
        }
        Command::UpsertCustomer { input, actor } => {
            let (customer, created, _) = upsert_customer(txn, input, actor, ctx)?;
            Ok(Outcome::Customer { customer, created, events: Vec::new() })
        }
        Command::CreateToken(token) => {
            crate::command::check_name("token name", &token.name)?;
            if txn.token_name_taken(&token.name)? {
                return Err(CommandError::TokenNameTaken(token.name.clone()));
            }
            txn.put_token(token)?;
            Ok(Outcome::Token(token.clone()))
        }
        Command::AutoClose { case_id } => {
            let case_id = *case_id;
            let Some(case) = txn.case(case_id)? else {
                txn.set_timer(case_id, TimerKind::AutoClose, None)?;
                return Ok(Outcome::Nothing);
            };
            let drafts = decide::auto_close(&case, ctx.now, ctx.auto_close_after);
            if drafts.is_empty() {
                // Stale or early: put the timer where the case says it belongs.
                txn.set_timer(case_id, TimerKind::AutoClose, decide::auto_close_at(&case, ctx.auto_close_after))?;
                return Ok(Outcome::Nothing);
            }
            commit_case(txn, Some(case), drafts, ctx, false)
        }
        Command::RunRules => Ok(Outcome::Nothing),
        Command::ChannelMessage(message) => crate::inbound::execute(txn, message, ctx),
        Command::RecordPluginError { customer_id, case_id, plugin, hook, kind, message } => {
            let body = EventBody::PluginError {
                plugin: plugin.clone(),
                hook: hook.clone(),
                kind: kind.clone(),
                message: message.clone(),
            };
            crate::plugin_effects::record(txn, *customer_id, *case_id, Actor::System, body, ctx)
        }
        Command::SetHealth { customer_id, score, band, reasons, plugin } => {
            crate::plugin_effects::set_health(txn, *customer_id, *score, band, reasons, plugin, ctx)
        }
        Command::EnrichCustomer { customer_id, name, tier, attributes, plugin } => {
            crate::plugin_effects::enrich(txn, *customer_id, name.as_deref(), tier.as_deref(), attributes, plugin, ctx)
        }
        Command::OutboxAttempt { id, result } => crate::outbox::record_attempt(txn, *id, result, ctx),
        Command::SlaCheck { case_id, at } => {
            let case = load_case(txn, *case_id)?;
            let mut sla = txn.case_sla(case.id)?.unwrap_or_default();
            let due = sla.check(ctx.sla, *at);
            let drafts = due.into_iter().map(|outcome| sla_draft(&case, outcome, Cause::None)).collect();
            commit_sla_check(txn, case, sla, drafts, ctx)
        }
    }
}

/// Adds a message to `case` (a customer message on a closed case opens a
/// linked follow-up instead). `via` marks a message from a channel plugin.
pub(crate) fn add_message(
    txn: &mut dyn WriteTxn,
    case: Case,
    kind: crate::command::MessageKind,
    body: &str,
    actor: &Actor,
    via: Option<ChannelVia>,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
    match decide::add_message(&case, kind, body, actor)? {
        MessageDecision::OnCase(mut drafts) => {
            mark_via(&mut drafts, via);
            commit_case(txn, Some(case), drafts, ctx, false)
        }
        MessageDecision::FollowUp => {
            let id = CaseId::new(txn.allocate(Sequence::Case));
            let start = CaseStart {
                subject: &case.subject,
                channel: &case.channel,
                priority: case.priority,
                message: Some(body),
                tags: &Default::default(),
                fields: &Default::default(),
                team: case.team.as_deref(),
                assignee: None,
                follow_up_of: Some(case.id),
            };
            let mut drafts = decide::open_case(&start, id, case.customer_id, &Actor::Customer(case.customer_id))?;
            mark_via(&mut drafts, via);
            commit_case(txn, None, drafts, ctx, true)
        }
    }
}

/// Notes on the customer message among `drafts` which channel it came through.
pub(crate) fn mark_via(drafts: &mut [Draft], via: Option<ChannelVia>) {
    let Some(via) = via else { return };
    if let Some(EventBody::MessageReceived { via: slot, .. }) =
        drafts.iter_mut().map(|d| &mut d.body).find(|b| matches!(b, EventBody::MessageReceived { .. }))
    {
        *slot = Some(via);
    }
}

/// The event recording an SLA outcome.
fn sla_draft(case: &Case, outcome: SlaOutcome, caused_by: Cause) -> Draft {
    let body = match outcome {
        SlaOutcome::Warning(metric, cycle, warning_at) => {
            EventBody::SlaWarning { metric, cycle, warning_at, due_at: None }
        }
        SlaOutcome::Breached(metric, cycle, breached_at) => EventBody::SlaBreached { metric, cycle, breached_at },
        SlaOutcome::Met(metric, cycle, business_seconds) => EventBody::SlaMet { metric, cycle, business_seconds },
    };
    Draft { case_id: Some(case.id), customer_id: case.customer_id, actor: Actor::System, caused_by, body }
}

/// Writes the scheduler's SLA events; the SLA state was advanced by `check`.
fn commit_sla_check(
    txn: &mut dyn WriteTxn,
    case: Case,
    mut sla: CaseSla,
    mut drafts: Vec<Draft>,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
    for draft in &mut drafts {
        if let EventBody::SlaWarning { metric, due_at, .. } = &mut draft.body {
            *due_at = sla.metrics.get(metric).and_then(|m| m.due_at);
        }
    }
    let events = stamp(txn, drafts, ctx);
    let mut state = case.clone();
    for event in &events {
        state = projection::apply(Some(state), event).map_err(|e| StoreError::Inconsistent(e.to_string()))?;
        txn.append_event(event)?;
        record_aggregates(txn, &state, event)?;
    }
    if !events.is_empty() {
        txn.put_case(Some(&case), &state)?;
    }
    sla.schedule(ctx.sla);
    write_sla(txn, &state, &sla, None)?;
    Ok(Outcome::Case { case: state, sla, events, created: false })
}

/// Keeps the service-metrics aggregates in step with `event` (`case` is the
/// case after the command).
fn record_aggregates(txn: &mut dyn WriteTxn, case: &Case, event: &Event) -> Result<(), StoreError> {
    match &event.body {
        EventBody::StatusChanged { to: CaseStatus::Solved, .. } => {
            let resolution = Resolution {
                case_id: case.id,
                created_at: case.created_at,
                solved_at: event.at,
                agent_replies: case.agent_replies,
                reopen_count: case.reopen_count,
            };
            txn.record_resolution(case.id, Some(&resolution))
        }
        EventBody::StatusChanged { from: CaseStatus::Solved, to, .. } if *to != CaseStatus::Closed => {
            txn.record_resolution(case.id, None)
        }
        EventBody::SlaMet { metric, cycle, .. } => txn.record_sla_outcome(event.at, case.id, *metric, *cycle, true),
        EventBody::SlaBreached { metric, cycle, breached_at } => {
            txn.record_sla_outcome(*breached_at, case.id, *metric, *cycle, false)
        }
        EventBody::CsatReceived { score, .. } => txn.record_csat(case.id, event.at, *score),
        _ => Ok(()),
    }
}

/// Stores a case's SLA state with its timers and list indexes. `stored` is
/// the state as stored and the case's status when it was written. Most
/// messages do not move the clock: when neither the state nor the status
/// changed, the rows, which follow from those two alone, are left as they
/// are, and an unchanged state is never written back (it would still dirty
/// a page).
fn write_sla(
    txn: &mut dyn WriteTxn,
    case: &Case,
    sla: &CaseSla,
    stored: Option<(&CaseSla, CaseStatus)>,
) -> Result<(), StoreError> {
    let same_state = stored.is_some_and(|(stored, _)| stored == sla);
    if same_state && stored.is_some_and(|(_, status)| status == case.status) {
        return Ok(());
    }
    if !same_state {
        txn.put_sla(case.id, sla)?;
    }
    for (metric, at) in sla.timers() {
        txn.set_timer(case.id, TimerKind::Sla(metric), at)?;
    }
    txn.set_case_index(SlaFilter::Breached.index_key(), case.id, sla.is_breached(case.status))?;
    txn.set_case_index(SlaFilter::AtRisk.index_key(), case.id, sla.is_at_risk(case.status))?;
    Ok(())
}

pub(crate) fn load_case(txn: &dyn WriteTxn, id: CaseId) -> Result<Case, CommandError> {
    txn.case(id)?.ok_or(CommandError::CaseNotFound(id))
}

fn create_case(txn: &mut dyn WriteTxn, new: &NewCase, ctx: &ExecContext<'_>) -> Result<Outcome, CommandError> {
    if let Some(claim) = &new.idempotency
        && let Some(record) = txn.idempotency(&claim.key)?
    {
        return if record.request_hash == claim.request_hash {
            Ok(Outcome::Replayed(record))
        } else {
            Err(CommandError::IdempotencyKeyReused)
        };
    }
    let start = CaseStart {
        subject: &new.subject,
        channel: &new.channel,
        priority: new.priority,
        message: new.message.as_deref(),
        tags: &new.tags,
        fields: &new.fields,
        team: new.team.as_deref(),
        assignee: new.assignee.as_deref(),
        follow_up_of: None,
    };
    // Refuse a bad case before the customer part writes anything.
    decide::check_start(&start)?;
    let customer_id = match &new.customer {
        CustomerRef::Id(id) => txn.customer(*id)?.ok_or(CommandError::CustomerNotFound(*id))?.id,
        CustomerRef::Match(input) => upsert_customer(txn, input, &new.actor, ctx)?.0.id,
    };
    let case_id = CaseId::new(txn.allocate(Sequence::Case));
    let case_drafts = decide::open_case(&start, case_id, customer_id, &new.actor)?;
    let outcome = commit_case(txn, None, case_drafts, ctx, true)?;
    if let (Some(claim), Outcome::Case { case, sla, .. }) = (&new.idempotency, &outcome) {
        let record = IdempotencyRecord {
            request_hash: claim.request_hash.clone(),
            status: 201,
            body: serde_json::to_string(&crate::view::CaseView::new(case, sla)).expect("cases serialise"),
            created_at: ctx.now,
        };
        txn.put_idempotency(&claim.key, &record)?;
    }
    Ok(outcome)
}

/// Matches `input` to one customer by its identities (or creates one) and
/// writes the merge. Returns the customer, whether it is new, and the id of
/// the event recording the change.
pub(crate) fn upsert_customer(
    txn: &mut dyn WriteTxn,
    input: &CustomerInput,
    actor: &Actor,
    ctx: &ExecContext<'_>,
) -> Result<(Customer, bool, Option<EventId>), CommandError> {
    let mut owner: Option<(CustomerId, String)> = None;
    for identity in &input.identities {
        if let Some(id) = txn.customer_id_by_identity(identity)? {
            match &owner {
                Some((other, _)) if *other != id => {
                    return Err(CommandError::IdentityConflict { identity: identity.key(), owner: id, other: *other });
                }
                _ => owner = Some((id, identity.key())),
            }
        }
    }
    let existing = match &owner {
        Some((id, key)) => Some(
            txn.customer(*id)?
                .ok_or_else(|| StoreError::Inconsistent(format!("identity {key} points to missing customer {id}")))?,
        ),
        None => None,
    };
    let created = existing.is_none();
    let new_id = match &existing {
        Some(c) => c.id,
        None => CustomerId::new(txn.allocate(Sequence::Customer)),
    };
    let (customer, draft) = decide::upsert_customer(existing.as_ref(), new_id, input, ctx.now, actor)?;
    let event_id = match draft {
        Some(draft) => {
            txn.put_customer(&customer)?;
            let events = stamp(txn, vec![draft], ctx);
            for event in &events {
                txn.append_event(event)?;
            }
            if created {
                crate::outbox::enqueue_enrichment(txn, customer.id, ctx)?;
            }
            events.first().map(|e| e.id)
        }
        None => None,
    };
    Ok((customer, created, event_id))
}

/// Gives drafts their ids and time.
pub(crate) fn stamp(txn: &mut dyn WriteTxn, drafts: Vec<Draft>, ctx: &ExecContext<'_>) -> Vec<Event> {
    let mut events: Vec<Event> = Vec::with_capacity(drafts.len());
    for draft in drafts {
        let caused_by = match draft.caused_by {
            Cause::None => None,
            Cause::Event(id) => Some(id),
            Cause::Draft(index) => events.get(index).map(|e| e.id),
        };
        events.push(Event {
            id: EventId::new(txn.allocate(Sequence::Event)),
            case_id: draft.case_id,
            customer_id: draft.customer_id,
            at: ctx.now,
            actor: draft.actor,
            caused_by,
            body: draft.body,
        });
    }
    events
}

/// Writes the drafts of one case: events, the folded row, its indexes and its
/// auto-close timer.
pub(crate) fn commit_case(
    txn: &mut dyn WriteTxn,
    previous: Option<Case>,
    drafts: Vec<Draft>,
    ctx: &ExecContext<'_>,
    created: bool,
) -> Result<Outcome, CommandError> {
    let mut events = stamp(txn, drafts, ctx);
    let case = fold(previous.clone(), &events)?;
    let stored_sla = match &previous {
        Some(p) => txn.case_sla(p.id)?,
        None => None,
    };
    let mut sla = stored_sla.clone().unwrap_or_default();
    if events.is_empty() {
        return Ok(Outcome::Case { case, sla, events, created });
    }
    let customer = txn.customer(case.customer_id)?.map(Arc::new);
    let shared = Arc::new(case);
    let met = sla.observe(&events, &shared, customer.as_ref(), ctx.sla, ctx.now);
    let mut case = Arc::unwrap_or_clone(shared);
    if !met.is_empty() {
        // Each `sla_met` names the reply or status change that met it.
        let cause = events.last().map_or(Cause::None, |e| Cause::Event(e.id));
        let drafts = met.into_iter().map(|outcome| sla_draft(&case, outcome, cause)).collect();
        let more = stamp(txn, drafts, ctx);
        case = fold(Some(case), &more)?;
        events.extend(more);
    }
    for event in &events {
        txn.append_event(event)?;
        record_aggregates(txn, &case, event)?;
    }
    txn.put_case(previous.as_ref(), &case)?;
    crate::outbox::enqueue_for_case(txn, &case, &events, ctx)?;
    txn.set_timer(case.id, TimerKind::AutoClose, decide::auto_close_at(&case, ctx.auto_close_after))?;
    let stored = stored_sla.as_ref().zip(previous.as_ref().map(|p| p.status));
    write_sla(txn, &case, &sla, stored)?;
    Ok(Outcome::Case { case, sla, events, created })
}

/// Folds `events` into `state`.
fn fold(state: Option<Case>, events: &[Event]) -> Result<Case, CommandError> {
    let mut state = state;
    for event in events {
        state = Some(projection::apply(state, event).map_err(|e| StoreError::Inconsistent(e.to_string()))?);
    }
    state.ok_or_else(|| StoreError::Inconsistent("a case command produced no case".into()).into())
}
