//! Runs one command inside the writer's transaction: load state, decide
//! (pure, [`crate::decide`]), then stamp ids and time on the drafted events,
//! fold them into case rows and write everything. A command that fails to
//! decide has written nothing.

use jiff::{SignedDuration, Timestamp};

use crate::command::{Command, CommandError, CustomerInput, CustomerRef, IdempotencyRecord, NewCase, Outcome};
use crate::decide::{self, CaseStart, Cause, Draft, MessageDecision};
use crate::domain::{Actor, Case, CaseId, Customer, CustomerId, Event, EventId};
use crate::projection;
use crate::store::{Sequence, StoreError, TimerKind, WriteTxn};

/// What every command in a batch shares.
#[derive(Debug, Clone, Copy)]
pub struct ExecContext {
    /// The batch's "now": every event of the batch carries it.
    pub now: Timestamp,
    /// How long a solved case stays solved before it closes.
    pub auto_close_after: SignedDuration,
}

/// Executes `command` against `txn`.
///
/// # Errors
/// [`CommandError`] when the command is refused (nothing written), or
/// [`CommandError::Store`] when storage failed (the batch must abort).
#[tracing::instrument(skip_all, fields(case.id = command.case_id().map(tracing::field::display)))]
pub fn execute(txn: &mut dyn WriteTxn, command: &Command, ctx: &ExecContext) -> Result<Outcome, CommandError> {
    match command {
        Command::CreateCase(new) => create_case(txn, new, ctx),
        Command::AddMessage { case_id, kind, body, actor } => {
            let case = load_case(txn, *case_id)?;
            match decide::add_message(&case, *kind, body, actor)? {
                MessageDecision::OnCase(drafts) => commit_case(txn, Some(case), drafts, ctx, false),
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
                    let drafts = decide::open_case(&start, id, case.customer_id, &Actor::Customer(case.customer_id))?;
                    commit_case(txn, None, drafts, ctx, true)
                }
            }
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
            Ok(Outcome::Customer { customer, created })
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
    }
}

fn load_case(txn: &dyn WriteTxn, id: CaseId) -> Result<Case, CommandError> {
    txn.case(id)?.ok_or(CommandError::CaseNotFound(id))
}

fn create_case(txn: &mut dyn WriteTxn, new: &NewCase, ctx: &ExecContext) -> Result<Outcome, CommandError> {
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
    if let (Some(claim), Outcome::Case { case, .. }) = (&new.idempotency, &outcome) {
        let record = IdempotencyRecord {
            request_hash: claim.request_hash.clone(),
            status: 201,
            body: serde_json::to_string(case).expect("cases serialise"),
            created_at: ctx.now,
        };
        txn.put_idempotency(&claim.key, &record)?;
    }
    Ok(outcome)
}

/// Matches `input` to one customer by its identities (or creates one) and
/// writes the merge. Returns the customer, whether it is new, and the id of
/// the event recording the change.
fn upsert_customer(
    txn: &mut dyn WriteTxn,
    input: &CustomerInput,
    actor: &Actor,
    ctx: &ExecContext,
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
            events.first().map(|e| e.id)
        }
        None => None,
    };
    Ok((customer, created, event_id))
}

/// Gives drafts their ids and time.
fn stamp(txn: &mut dyn WriteTxn, drafts: Vec<Draft>, ctx: &ExecContext) -> Vec<Event> {
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
fn commit_case(
    txn: &mut dyn WriteTxn,
    previous: Option<Case>,
    drafts: Vec<Draft>,
    ctx: &ExecContext,
    created: bool,
) -> Result<Outcome, CommandError> {
    let events = stamp(txn, drafts, ctx);
    let mut state = previous.clone();
    for event in &events {
        let next = projection::apply(state.take(), event).map_err(|e| StoreError::Inconsistent(e.to_string()))?;
        state = Some(next);
    }
    let Some(case) = state else {
        return Err(StoreError::Inconsistent("a case command produced no case".into()).into());
    };
    if !events.is_empty() {
        for event in &events {
            txn.append_event(event)?;
        }
        txn.put_case(previous.as_ref(), &case)?;
        txn.set_timer(case.id, TimerKind::AutoClose, decide::auto_close_at(&case, ctx.auto_close_after))?;
    }
    Ok(Outcome::Case { case, events, created })
}
