//! Computing a command's rule plan off the writer: the command is executed
//! against an in-memory overlay of a read snapshot (nothing is written), the
//! hooks of its events run, their actions are applied to the overlay, and the
//! hooks of the events those cause run again, up to the cascade limit. The
//! writer then replays the same actions in the command's transaction, unless
//! the case moved meanwhile, in which case the plan is computed again.

use std::sync::Arc;

use crate::domain::{Actor, Event};
use crate::rules::hooks::{hook_args, hook_for};
use crate::rules::host::{Hook, RuleSet, RulesHost};
use crate::rules::query::{QueryScope, TeamScope, Teams};
use crate::rules::{Action, RuleAction, RulePlan};
use crate::store::{Overlay, Store, StoreError, WriteTxn};
use crate::write::command::{Command, CommandError, Outcome};
use crate::write::context::ExecContext;
use crate::write::execute::execute;
use crate::write::rule_actions::{apply_action, apply_group, group_len};

/// The hooks the events of `command` itself (before any rule acts) may
/// trigger. A superset: `tests/invariants.rs` checks every event of random
/// command sequences against it.
pub fn reachable_hooks(command: &Command) -> &'static [Hook] {
    use crate::write::command::MessageKind;
    match command {
        // Rules never answer a robot (an auto-reply, a bounce).
        Command::ChannelMessage(m) if m.kind.is_automatic() => &[],
        // A customer message on a closed case opens a follow-up case.
        Command::CreateCase(_)
        | Command::ChannelMessage(_)
        | Command::AddMessage { kind: MessageKind::Customer, .. } => {
            &[Hook::CaseCreated, Hook::Message, Hook::StatusChanged]
        }
        Command::AddMessage { kind: MessageKind::Reply | MessageKind::Note, .. }
        | Command::UpdateCase { .. }
        | Command::ApplyMacro { .. }
        | Command::RecordCsat { .. }
        | Command::AutoClose { .. } => &[Hook::StatusChanged],
        Command::SlaCheck { .. } => &[Hook::SlaWarning, Hook::SlaBreach],
        Command::SetHealth { .. } => &[Hook::HealthChanged],
        Command::UpsertCustomer { .. }
        | Command::CreateToken(_)
        | Command::RevokeToken { .. }
        | Command::TouchToken { .. }
        | Command::RetryOutbox { .. }
        | Command::CreateMacro(_)
        | Command::UpdateMacro(_)
        | Command::DeleteMacro { .. }
        | Command::CreateAgent(_)
        | Command::UpdateAgent { .. }
        | Command::StartSession(_)
        | Command::TouchSession { .. }
        | Command::EndSession { .. }
        | Command::OutboxAttempt { .. }
        | Command::RecordPluginError { .. }
        | Command::EnrichCustomer { .. }
        | Command::View(_)
        | Command::RunRules => &[],
    }
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
/// Scripts' `team_members` reads the agents in `store`.
///
/// # Errors
/// Storage failures.
pub fn plan(
    host: &RulesHost,
    store: &Arc<dyn Store>,
    command: &Command,
    ctx: &ExecContext<'_>,
) -> Result<Option<RulePlan>, StoreError> {
    let set = host.current();
    // Previewing a command costs about as much as writing it, so a command
    // none of whose events has a hook in the scripts skips it.
    if !reachable_hooks(command).iter().any(|hook| set.has(*hook)) {
        return Ok(None);
    }
    let _teams = TeamScope::enter(Teams::Store(store.clone()));
    let mut overlay = Overlay::new(store.as_ref());
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
        let actor = plan.actions.last().map_or(Actor::System, |a| a.actor.clone());
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
    let _teams = TeamScope::enter(Teams::Store(store.clone()));
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
