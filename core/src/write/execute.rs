//! Runs one command inside a write transaction: dispatches it to the
//! module that writes it, then applies its rule plan and remembers an
//! idempotent create's answer. A command that is refused has written
//! nothing.

use crate::domain::{Actor, CaseId, EventBody};
use crate::rules::{Action, RuleAction, RulePlan};
use crate::store::{IdempotencyRecord, IdempotentAnswer, Sequence, Store, StoreError, TimerKind, WriteTxn};
use crate::write::agents::{self, AgentChanges, check_assignee};
use crate::write::command::{Command, CommandError, CustomerRef, IdempotencyClaim, NewCase, Outcome, Refusal};
use crate::write::commit::{commit_case, commit_sla_check, load_case, sla_draft};
use crate::write::context::ExecContext;
use crate::write::customers::write_customer;
use crate::write::decide::{self, CaseStart, Cause};
use crate::write::macros::{self, Applier};
use crate::write::messages::write_message;
use crate::write::rule_actions::{apply_action, apply_group, group_len};
use crate::write::{inbound, outbox_rows, plugin_effects, tokens, views};

/// Executes `command` in a transaction of its own, outside the writer: for
/// the CLI (with no server running) and tests. Storage failures abort it.
///
/// # Errors
/// The command's refusal, or [`CommandError::Store`].
pub fn execute_alone(store: &dyn Store, command: &Command, ctx: &ExecContext<'_>) -> Result<Outcome, CommandError> {
    let mut outcome = None;
    store.transact(&mut |txn| match execute_planned(txn, command, None, ctx) {
        Err(CommandError::Store(e)) => Err(e),
        other => {
            outcome = Some(other);
            Ok(())
        }
    })?;
    outcome.unwrap_or_else(|| Err(StoreError::RolledBack("the transaction did not run".into()).into()))
}

/// Executes `command` and then the actions of its rule plan, in the same
/// transaction, and remembers an idempotent create's or message's answer. The outcome
/// shows the case after the rules.
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
    if let Some((id, version)) = plan.and_then(|p| p.expected_version)
        && txn.case(id)?.map(|c| c.version) != Some(version)
    {
        return Err(CommandError::Stale);
    }
    let mut outcome = execute(txn, command, ctx)?;
    if let Some(plan) = plan.filter(|p| !p.actions.is_empty()) {
        outcome = apply_plan(txn, outcome, plan, ctx)?;
    }
    remember_answer(txn, command, &outcome, ctx)?;
    Ok(outcome)
}

/// Keeps what an idempotent create answered (the case after its rules), so
/// a retry with the same key is answered the same, also after a restart.
fn remember_answer(
    txn: &mut dyn WriteTxn,
    command: &Command,
    outcome: &Outcome,
    ctx: &ExecContext<'_>,
) -> Result<(), CommandError> {
    let (claim, answer) = match (command, outcome) {
        (Command::CreateCase(NewCase { idempotency: Some(claim), .. }), Outcome::Case { case, sla, .. }) => {
            (claim, IdempotentAnswer::Created { case: Box::new(case.clone()), sla: Box::new(sla.clone()) })
        }
        (
            Command::AddMessage { idempotency: Some(claim), .. } | Command::ApplyMacro { idempotency: Some(claim), .. },
            Outcome::Case { case, sla, events, created },
        ) => (
            claim,
            IdempotentAnswer::Posted {
                case: Box::new(case.clone()),
                sla: Box::new(sla.clone()),
                events: events.clone(),
                follow_up: *created,
            },
        ),
        _ => return Ok(()),
    };
    let record = IdempotencyRecord { request_hash: claim.request_hash.clone(), created_at: ctx.now, answer };
    txn.put_idempotency(&claim.key, &record)?;
    Ok(())
}

/// Applies a plan's actions after its command; see [`execute_planned`].
fn apply_plan(
    txn: &mut dyn WriteTxn,
    outcome: Outcome,
    plan: &RulePlan,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
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

/// Executes `command` against `txn`.
///
/// # Errors
/// [`CommandError`] when the command is refused (nothing written), or
/// [`CommandError::Store`] when storage failed (the batch must abort).
#[tracing::instrument(skip_all, fields(case.id = command.case_id().map(tracing::field::display)))]
pub fn execute(txn: &mut dyn WriteTxn, command: &Command, ctx: &ExecContext<'_>) -> Result<Outcome, CommandError> {
    match command {
        Command::CreateCase(new) => create_case(txn, new, ctx),
        Command::AddMessage { case_id, kind, body, actor, idempotency } => {
            if let Some(answer) = replay(txn, idempotency.as_ref())? {
                return Ok(answer);
            }
            let case = load_case(txn, *case_id)?;
            write_message(txn, case, *kind, body, actor, None, ctx)
        }
        Command::UpdateCase { case_id, patch, actor } => {
            let case = load_case(txn, *case_id)?;
            if let Some(expected) = &patch.expected_assignee
                && *expected != case.assignee
            {
                return Err(Refusal::AssigneeChanged { actual: case.assignee.clone() }.into());
            }
            if let Some(Some(assignee)) = &patch.assignee
                && case.assignee.as_ref() != Some(assignee)
            {
                check_assignee(txn, assignee)?;
            }
            let drafts = decide::update_case(&case, patch, actor)?;
            commit_case(txn, Some(case), drafts, ctx, false)
        }
        Command::ApplyMacro { case_id, name, actor, may_reassign, idempotency } => {
            if let Some(answer) = replay(txn, idempotency.as_ref())? {
                return Ok(answer);
            }
            let applier = Applier { actor, may_reassign: *may_reassign };
            macros::apply_macro(txn, *case_id, name, applier, ctx)
        }
        Command::RecordCsat { case_id, score, comment } => {
            let case = load_case(txn, *case_id)?;
            let drafts = decide::record_csat(&case, *score, comment.as_deref())?;
            commit_case(txn, Some(case), drafts, ctx, false)
        }
        Command::UpsertCustomer { input, actor } => {
            let (customer, created, _) = write_customer(txn, input, actor, ctx)?;
            Ok(Outcome::Customer { customer, created, events: Vec::new() })
        }
        Command::CreateToken(token) => tokens::create_token(txn, token),
        Command::RevokeToken { name } => tokens::revoke_token(txn, name, ctx.now),
        Command::TouchToken { hash, at } => tokens::touch_token(txn, hash, *at),
        Command::RetryOutbox { id } => outbox_rows::retry(txn, *id, ctx.now),
        Command::CreateMacro(record) => macros::create_macro(txn, record),
        Command::UpdateMacro(record) => macros::update_macro(txn, record),
        Command::DeleteMacro { name } => macros::delete_macro(txn, name),
        Command::CreateAgent(agent) => agents::create_agent(txn, agent),
        Command::UpdateAgent { name, password_hash, role, teams, active, email } => {
            let changes = AgentChanges {
                password_hash: password_hash.as_deref(),
                role: *role,
                teams: teams.as_deref(),
                active: *active,
                email: email.as_deref(),
            };
            agents::update_agent(txn, name, &changes)
        }
        Command::StartSession(session) => agents::start_session(txn, session, ctx.now),
        Command::TouchSession { hash, at } => agents::touch_session(txn, hash, *at),
        Command::EndSession { hash } => agents::end_session(txn, hash),
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
        Command::ChannelMessage(message) => inbound::receive(txn, message, ctx),
        Command::RecordPluginError { customer_id, case_id, plugin, hook, kind, message } => {
            let body = EventBody::PluginError {
                plugin: plugin.clone(),
                hook: hook.clone(),
                kind: kind.clone(),
                message: message.clone(),
            };
            plugin_effects::record(txn, *customer_id, *case_id, Actor::System, body, ctx)
        }
        Command::SetHealth { customer_id, score, band, reasons, plugin } => {
            plugin_effects::set_health(txn, *customer_id, *score, band, reasons, plugin, ctx)
        }
        Command::EnrichCustomer { customer_id, name, tier, attributes, plugin } => {
            plugin_effects::enrich(txn, *customer_id, name.as_deref(), tier.as_deref(), attributes, plugin, ctx)
        }
        Command::OutboxAttempt { id, result } => plugin_effects::record_attempt(txn, *id, result, ctx),
        Command::View(change) => views::execute(txn, change, ctx.now),
        Command::SlaCheck { case_id, at } => {
            let case = load_case(txn, *case_id)?;
            let mut sla = txn.case_sla(case.id)?.unwrap_or_default();
            let due = sla.check(ctx.sla, *at);
            let drafts = due.into_iter().map(|outcome| sla_draft(&case, outcome, Cause::None)).collect();
            commit_sla_check(txn, case, sla, drafts, ctx)
        }
    }
}

/// The first answer to an idempotency key seen before with the same
/// request; a refusal when the key came with another request.
fn replay(txn: &dyn WriteTxn, claim: Option<&IdempotencyClaim>) -> Result<Option<Outcome>, CommandError> {
    let Some(claim) = claim else { return Ok(None) };
    match txn.idempotency(&claim.key)? {
        Some(record) if record.request_hash == claim.request_hash => Ok(Some(Outcome::Replayed(record.answer))),
        Some(_) => Err(Refusal::IdempotencyKeyReused.into()),
        None => Ok(None),
    }
}

fn create_case(txn: &mut dyn WriteTxn, new: &NewCase, ctx: &ExecContext<'_>) -> Result<Outcome, CommandError> {
    if let Some(answer) = replay(txn, new.idempotency.as_ref())? {
        return Ok(answer);
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
    if let Some(assignee) = start.assignee {
        check_assignee(txn, assignee)?;
    }
    let customer_id = match &new.customer {
        CustomerRef::Id(id) => txn.customer(*id)?.ok_or(CommandError::CustomerNotFound(*id))?.id,
        CustomerRef::Match(input) => write_customer(txn, input, &new.actor, ctx)?.0.id,
    };
    let case_id = CaseId::new(txn.allocate(Sequence::Case)?);
    let case_drafts = decide::open_case(&start, case_id, customer_id, &new.actor)?;
    commit_case(txn, None, case_drafts, ctx, true)
}
