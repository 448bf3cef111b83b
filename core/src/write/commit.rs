//! Writes what a command decided: stamps ids and time on the drafted
//! events, folds them into the case row, lets the SLA clock observe them,
//! and writes the events, the row, its aggregates, timers and outbox rows.

use std::sync::Arc;

use crate::domain::projection;
use crate::domain::{Actor, Case, CaseId, CaseStatus, Event, EventBody, EventId};
use crate::metrics::Resolution;
use crate::sla::CaseSla;
use crate::sla::track::SlaOutcome;
use crate::store::{Sequence, SlaFilter, StoreError, TimerKind, WriteTxn};
use crate::write::command::{CommandError, Outcome};
use crate::write::context::ExecContext;
use crate::write::decide::{self, Cause, Draft};
use crate::write::outbox_rows;

/// The event recording an SLA outcome.
pub(crate) fn sla_draft(case: &Case, outcome: SlaOutcome, caused_by: Cause) -> Draft {
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
pub(crate) fn commit_sla_check(
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
    let events = stamp(txn, drafts, ctx)?;
    let mut state = case.clone();
    for event in &events {
        state = projection::apply(Some(state), event).map_err(StoreError::Fold)?;
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

/// Stores a case's SLA state with its timers, list indexes and its place in
/// the listing by SLA due. `stored` is
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
    txn.set_sla_due(case.id, sla.next_due(case.status))?;
    Ok(())
}

/// The case `id`, or [`CommandError::CaseNotFound`].
pub(crate) fn load_case(txn: &dyn WriteTxn, id: CaseId) -> Result<Case, CommandError> {
    txn.case(id)?.ok_or(CommandError::CaseNotFound(id))
}

/// Gives drafts their ids and time.
///
/// # Errors
/// The store cannot hand out an event id.
pub(crate) fn stamp(
    txn: &mut dyn WriteTxn,
    drafts: Vec<Draft>,
    ctx: &ExecContext<'_>,
) -> Result<Vec<Event>, StoreError> {
    let mut events: Vec<Event> = Vec::with_capacity(drafts.len());
    for draft in drafts {
        let caused_by = match draft.caused_by {
            Cause::None => None,
            Cause::Event(id) => Some(id),
            Cause::Draft(index) => events.get(index).map(|e| e.id),
        };
        events.push(Event {
            id: EventId::new(txn.allocate(Sequence::Event)?),
            case_id: draft.case_id,
            customer_id: draft.customer_id,
            at: ctx.now,
            actor: draft.actor,
            caused_by,
            body: draft.body,
        });
    }
    Ok(events)
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
    let mut events = stamp(txn, drafts, ctx)?;
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
        let more = stamp(txn, drafts, ctx)?;
        case = fold(Some(case), &more)?;
        events.extend(more);
    }
    for event in &events {
        txn.append_event(event)?;
        record_aggregates(txn, &case, event)?;
    }
    txn.put_case(previous.as_ref(), &case)?;
    outbox_rows::enqueue_for_case(txn, &case, &events, ctx)?;
    txn.set_timer(case.id, TimerKind::AutoClose, decide::auto_close_at(&case, ctx.auto_close_after))?;
    let stored = stored_sla.as_ref().zip(previous.as_ref().map(|p| p.status));
    write_sla(txn, &case, &sla, stored)?;
    Ok(Outcome::Case { case, sla, events, created })
}

/// Folds `events` into `state`.
fn fold(state: Option<Case>, events: &[Event]) -> Result<Case, CommandError> {
    let mut state = state;
    for event in events {
        state = Some(projection::apply(state, event).map_err(StoreError::Fold)?);
    }
    state.ok_or_else(|| StoreError::Inconsistent("a case command produced no case".into()).into())
}
