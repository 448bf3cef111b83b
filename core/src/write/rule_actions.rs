//! Applies rule actions inside a write transaction: each becomes the same
//! drafts an agent's command would, recorded with the script as actor and the
//! triggering event as cause. An action with bad arguments, or one the case's
//! status refuses, becomes a `script_error` event instead. The writer and the
//! preview both use this, so they agree.

use crate::domain::{Actor, Case, CaseId, CustomerId, Event, EventBody, Priority};
use crate::rules::{Action, RuleAction};
use crate::store::{OutboxItem, PREVIEW_ID_BASE, Sequence, StoreError, WriteTxn};
use crate::write::agents::check_assignee;
use crate::write::command::{CasePatch, CommandError, Outcome};
use crate::write::commit::{commit_case, load_case};
use crate::write::context::ExecContext;
use crate::write::decide::{self, CaseStart, Cause, Draft};

/// How many actions from the start of `rules` form one group: a run of
/// case edits (priority, tags, team, assignee, fields) asked for by the same
/// hook call, which is written as one change. Anything else is a group of one.
pub fn group_len(rules: &[RuleAction]) -> usize {
    let Some(first) = rules.first() else { return 0 };
    if !is_edit(&first.action) {
        return 1;
    }
    rules.iter().take_while(|r| is_edit(&r.action) && r.trigger == first.trigger && r.actor == first.actor).count()
}

fn is_edit(action: &Action) -> bool {
    matches!(
        action,
        Action::SetPriority(_)
            | Action::AddTag(_)
            | Action::RemoveTag(_)
            | Action::RouteTo(_)
            | Action::Assign(_)
            | Action::AssignLeastLoaded(_)
            | Action::SetField { .. }
    )
}

/// Applies one group (see [`group_len`]); returns the events each action
/// wrote (a group's events are counted on its last action). A group whose
/// combined edit is refused is applied action by action, so each bad action
/// becomes its own `script_error` and the good ones still apply.
///
/// # Errors
/// Only storage failures.
pub fn apply_group(
    txn: &mut dyn WriteTxn,
    events: &mut Vec<Event>,
    group: &[RuleAction],
    ctx: &ExecContext<'_>,
) -> Result<Vec<usize>, StoreError> {
    if group.len() > 1
        && let Some(written) = apply_edits(txn, events, group, ctx)?
    {
        let mut produced = vec![0; group.len()];
        produced[group.len() - 1] = written;
        return Ok(produced);
    }
    let mut produced = Vec::with_capacity(group.len());
    for rule in group {
        let before = events.len();
        apply_action(txn, events, rule, ctx)?;
        produced.push(events.len() - before);
    }
    Ok(produced)
}

/// The active agent among `agents` with the fewest unsolved cases (the
/// first on a tie); names that are not active agents are passed over.
fn least_loaded(txn: &dyn WriteTxn, agents: &[String]) -> Result<Option<String>, StoreError> {
    let mut best: Option<(u64, &String)> = None;
    for agent in agents {
        if !txn.agent(agent)?.is_some_and(|a| a.active) {
            continue;
        }
        let load = txn.open_load(agent)?;
        if best.is_none_or(|(l, _)| load < l) {
            best = Some((load, agent));
        }
    }
    Ok(best.map(|(_, agent)| agent.clone()))
}

/// Writes a group of edits as one patch; `None` if the patch is refused (or
/// ambiguous, like adding and removing one tag), to be applied one by one.
fn apply_edits(
    txn: &mut dyn WriteTxn,
    events: &mut Vec<Event>,
    group: &[RuleAction],
    ctx: &ExecContext<'_>,
) -> Result<Option<usize>, StoreError> {
    let first = &group[0];
    let trigger = first.trigger.and_then(|i| events.get(i)).cloned();
    let Some(case_id) = trigger.as_ref().and_then(|e| e.case_id) else { return Ok(None) };
    let mut patch = CasePatch::default();
    for rule in group {
        match &rule.action {
            Action::SetPriority(p) => match p.parse::<Priority>() {
                Ok(p) => patch.priority = Some(p),
                Err(_) => return Ok(None),
            },
            Action::AddTag(t) => patch.add_tags.push(t.clone()),
            Action::RemoveTag(t) => patch.remove_tags.push(t.clone()),
            Action::RouteTo(team) => patch.team = Some(Some(team.clone())),
            Action::Assign(agent) => match check_assignee(txn, agent) {
                Ok(()) => patch.assignee = Some(Some(agent.clone())),
                Err(CommandError::Store(e)) => return Err(e),
                Err(_) => return Ok(None),
            },
            // An empty team: nobody to assign, and nothing wrong.
            Action::AssignLeastLoaded(agents) if agents.is_empty() => {}
            Action::AssignLeastLoaded(agents) => match least_loaded(txn, agents)? {
                Some(agent) => patch.assignee = Some(Some(agent)),
                None => return Ok(None),
            },
            Action::SetField { key, value } => {
                patch.fields.insert(key.clone(), value.clone());
            }
            _ => return Ok(None),
        }
    }
    if patch.add_tags.iter().any(|t| patch.remove_tags.contains(t)) {
        return Ok(None);
    }
    let case = match load_case(txn, case_id) {
        Ok(case) => case,
        Err(CommandError::Store(e)) => return Err(e),
        Err(_) => return Ok(None),
    };
    let Ok(drafts) = decide::update_case(&case, &patch, &first.actor) else { return Ok(None) };
    if drafts.is_empty() {
        return Ok(Some(0));
    }
    let cause = trigger.map_or(Cause::None, |e| Cause::Event(e.id));
    let drafts = drafts.into_iter().map(|d| Draft { caused_by: cause, ..d }).collect();
    match commit_case(txn, Some(case), drafts, ctx, false) {
        Ok(Outcome::Case { events: written, .. }) => {
            let count = written.len();
            events.extend(written);
            Ok(Some(count))
        }
        Ok(_) => Ok(Some(0)),
        Err(CommandError::Store(e)) => Err(e),
        Err(_) => Ok(None),
    }
}

/// Applies `rule` after `events` (the command's events so far), appending
/// what it writes to `events`.
///
/// # Errors
/// Only storage failures; refusals become `script_error` events.
pub fn apply_action(
    txn: &mut dyn WriteTxn,
    events: &mut Vec<Event>,
    rule: &RuleAction,
    ctx: &ExecContext<'_>,
) -> Result<(), StoreError> {
    let trigger = rule.trigger.and_then(|i| events.get(i)).cloned();
    let case_id = trigger.as_ref().and_then(|e| e.case_id);
    let result = match (&rule.action, case_id) {
        (Action::Failed { hook, message, line, column }, _) => {
            let body = EventBody::ScriptError {
                file: script_file(&rule.actor),
                hook: hook.clone(),
                message: message.clone(),
                line: *line,
                column: *column,
            };
            record_error(txn, events, rule, trigger.as_ref(), body, ctx)?;
            return Ok(());
        }
        (Action::OpenCase { customer_id, subject, body }, _) => {
            open_case(txn, rule, trigger.as_ref(), customer_id, subject, body, ctx)
        }
        (Action::Notify { target, text }, _) => notify(txn, case_id, target, text, ctx).map(|()| None),
        (Action::FollowUp { case_id, text }, _) => match case_id.parse::<u64>() {
            Ok(id) => {
                let action = Action::Reply { template: text.clone(), vars: Default::default() };
                on_case(txn, CaseId::new(id), &action, rule, trigger.as_ref(), ctx)
            }
            Err(_) => Err(CommandError::invalid(format!("invalid case id {case_id:?}"))),
        },
        (_, None) => {
            Err(CommandError::invalid("this action needs a case (it was called from a hook without one)".into()))
        }
        (action, Some(case_id)) => on_case(txn, case_id, action, rule, trigger.as_ref(), ctx),
    };
    match result {
        Ok(Some(Outcome::Case { events: written, .. })) => events.extend(written),
        Ok(_) => {}
        Err(CommandError::Store(e)) => return Err(e),
        Err(refused) => {
            let body = EventBody::ScriptError {
                file: script_file(&rule.actor),
                hook: "action".into(),
                message: format!("{}: {refused}", describe(&rule.action)),
                line: None,
                column: None,
            };
            record_error(txn, events, rule, trigger.as_ref(), body, ctx)?;
        }
    }
    Ok(())
}

fn script_file(actor: &Actor) -> String {
    match actor {
        Actor::Script { file, .. } => file.clone(),
        other => other.to_string(),
    }
}

fn describe(action: &Action) -> String {
    serde_json::to_string(action).unwrap_or_else(|_| format!("{action:?}"))
}

/// A `script_error` on the trigger's case (or, without one, in the log only).
fn record_error(
    txn: &mut dyn WriteTxn,
    events: &mut Vec<Event>,
    rule: &RuleAction,
    trigger: Option<&Event>,
    body: EventBody,
    ctx: &ExecContext<'_>,
) -> Result<(), StoreError> {
    let Some(case_id) = trigger.and_then(|e| e.case_id) else {
        tracing::warn!(actor = %rule.actor, error = ?body, "rule failed outside any case");
        return Ok(());
    };
    let case = match load_case(txn, case_id) {
        Ok(case) => case,
        Err(CommandError::Store(e)) => return Err(e),
        Err(_) => return Ok(()),
    };
    let draft = Draft {
        case_id: Some(case.id),
        customer_id: case.customer_id,
        actor: rule.actor.clone(),
        caused_by: trigger.map_or(Cause::None, |e| Cause::Event(e.id)),
        body,
    };
    match commit_case(txn, Some(case), vec![draft], ctx, false) {
        Ok(Outcome::Case { events: written, .. }) => events.extend(written),
        Ok(_) => {}
        Err(CommandError::Store(e)) => return Err(e),
        Err(e) => tracing::warn!(error = %e, "could not record a script error"),
    }
    Ok(())
}

fn on_case(
    txn: &mut dyn WriteTxn,
    case_id: CaseId,
    action: &Action,
    rule: &RuleAction,
    trigger: Option<&Event>,
    ctx: &ExecContext<'_>,
) -> Result<Option<Outcome>, CommandError> {
    let case = load_case(txn, case_id)?;
    let actor = &rule.actor;
    let mut patch = CasePatch::default();
    let drafts = match action {
        Action::SetPriority(p) => {
            patch.priority = Some(p.parse::<Priority>().map_err(|e| CommandError::invalid(e.to_string()))?);
            decide::update_case(&case, &patch, actor)?
        }
        Action::AddTag(tag) => {
            patch.add_tags = vec![tag.clone()];
            decide::update_case(&case, &patch, actor)?
        }
        Action::RemoveTag(tag) => {
            patch.remove_tags = vec![tag.clone()];
            decide::update_case(&case, &patch, actor)?
        }
        Action::RouteTo(team) => {
            patch.team = Some(Some(team.clone()));
            decide::update_case(&case, &patch, actor)?
        }
        Action::Assign(agent) => {
            check_assignee(txn, agent)?;
            patch.assignee = Some(Some(agent.clone()));
            decide::update_case(&case, &patch, actor)?
        }
        // An empty team (`team_members` of a team nobody is in): the case
        // stays as it is, and that is not an error.
        Action::AssignLeastLoaded(agents) if agents.is_empty() => Vec::new(),
        Action::AssignLeastLoaded(agents) => {
            let agent = least_loaded(txn, agents)?.ok_or_else(|| {
                CommandError::Refused(crate::write::command::Refusal::UnknownAgent(agents.join(", ")))
            })?;
            patch.assignee = Some(Some(agent));
            decide::update_case(&case, &patch, actor)?
        }
        Action::SetField { key, value } => {
            patch.fields.insert(key.clone(), value.clone());
            decide::update_case(&case, &patch, actor)?
        }
        Action::Escalate { level, reason } => {
            let level = u8::try_from(*level).ok().filter(|l| (1..=9).contains(l));
            let level = level.ok_or_else(|| CommandError::invalid("escalation level must be 1-9".into()))?;
            case.status.apply(crate::domain::lifecycle::Trigger::Edit)?;
            vec![draft(&case, actor, EventBody::Escalated { level, reason: reason.clone() })]
        }
        Action::Reply { template, vars } => {
            let text = render(template, vars, &case);
            match decide::add_message(&case, crate::write::command::MessageKind::Reply, &text, actor)? {
                decide::MessageDecision::OnCase(drafts) => drafts,
                decide::MessageDecision::FollowUp => {
                    return Err(CommandError::invalid("cannot reply on a closed case".into()));
                }
            }
        }
        Action::Note(text) => {
            match decide::add_message(&case, crate::write::command::MessageKind::Note, text, actor)? {
                decide::MessageDecision::OnCase(drafts) => drafts,
                decide::MessageDecision::FollowUp => {
                    return Err(CommandError::invalid("cannot add a note on a closed case".into()));
                }
            }
        }
        Action::Failed { .. } | Action::OpenCase { .. } | Action::Notify { .. } | Action::FollowUp { .. } => {
            unreachable!("handled by apply_action")
        }
    };
    if drafts.is_empty() {
        return Ok(None);
    }
    let cause = trigger.map_or(Cause::None, |e| Cause::Event(e.id));
    let drafts = drafts
        .into_iter()
        .enumerate()
        .map(|(i, mut d)| {
            // The first draft answers the trigger; the rest follow from it.
            if matches!(d.caused_by, Cause::None) {
                d.caused_by = if i == 0 { cause } else { Cause::Draft(0) };
            }
            d
        })
        .collect();
    commit_case(txn, Some(case), drafts, ctx, false).map(Some)
}

fn draft(case: &Case, actor: &Actor, body: EventBody) -> Draft {
    Draft { case_id: Some(case.id), customer_id: case.customer_id, actor: actor.clone(), caused_by: Cause::None, body }
}

/// `{{name}}` from `vars`, else the ticket's `id`, `subject`, `priority`,
/// `status`; unknown names stay as they are.
fn render(template: &str, vars: &std::collections::BTreeMap<String, String>, case: &Case) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start + 2..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = rest[start + 2..start + 2 + len].trim();
        let value = vars.get(name).cloned().or_else(|| match name {
            "id" => Some(case.id.to_string()),
            "subject" => Some(case.subject.clone()),
            "priority" => Some(case.priority.to_string()),
            "status" => Some(case.status.to_string()),
            _ => None,
        });
        match value {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + 4 + len]),
        }
        rest = &rest[start + 4 + len..];
    }
    out.push_str(rest);
    out
}

fn notify(
    txn: &mut dyn WriteTxn,
    case_id: Option<CaseId>,
    target: &str,
    text: &str,
    ctx: &ExecContext<'_>,
) -> Result<(), CommandError> {
    if target.trim().is_empty() || text.trim().is_empty() {
        return Err(CommandError::invalid("notify needs a target and a text".into()));
    }
    let item = OutboxItem {
        id: txn.allocate(Sequence::Outbox)?,
        kind: crate::write::outbox_rows::kind::NOTIFY.into(),
        target: target.to_owned(),
        payload: serde_json::json!({ "text": text }),
        case_id,
        created_at: ctx.now,
        attempts: 0,
        next_try_at: ctx.now,
        status: "pending".into(),
        customer_id: None,
        last_error: None,
    };
    txn.enqueue_outbox(&item)?;
    Ok(())
}

fn open_case(
    txn: &mut dyn WriteTxn,
    rule: &RuleAction,
    trigger: Option<&Event>,
    customer_id: &str,
    subject: &str,
    body: &str,
    ctx: &ExecContext<'_>,
) -> Result<Option<Outcome>, CommandError> {
    let window = ctx.outreach_window;
    let raw: u64 =
        customer_id.parse().map_err(|_| CommandError::invalid(format!("invalid customer id {customer_id:?}")))?;
    // A customer created in this same command had a preview id; it is the trigger's.
    let customer = match (raw >= PREVIEW_ID_BASE, trigger) {
        (true, Some(event)) => event.customer_id,
        _ => CustomerId::new(raw),
    };
    txn.customer(customer)?.ok_or(CommandError::CustomerNotFound(customer))?;
    let rule_file = script_file(&rule.actor);
    let key = format!("{rule_file}|{customer}|{}", subject.trim());
    if let Some(last) = txn.outreach_opened_at(&key)?
        && last.checked_add(window).is_ok_and(|until| ctx.now < until)
    {
        tracing::debug!(rule = %rule_file, %customer, "outreach already opened within the window");
        return Ok(None);
    }
    let id = CaseId::new(txn.allocate(Sequence::Case)?);
    let start = CaseStart {
        subject,
        channel: "outreach",
        priority: Priority::Normal,
        message: None,
        tags: &Default::default(),
        fields: &Default::default(),
        team: None,
        assignee: None,
        follow_up_of: None,
    };
    let mut drafts = decide::open_case(&start, id, customer, &rule.actor)?;
    drafts[0].caused_by = trigger.map_or(Cause::None, |e| Cause::Event(e.id));
    drafts.push(Draft {
        case_id: Some(id),
        customer_id: customer,
        actor: rule.actor.clone(),
        caused_by: Cause::Draft(0),
        body: EventBody::OutreachOpened { rule: rule_file },
    });
    if !body.trim().is_empty() {
        drafts.push(Draft {
            case_id: Some(id),
            customer_id: customer,
            actor: rule.actor.clone(),
            caused_by: Cause::Draft(0),
            body: EventBody::NoteAdded { body: body.to_owned() },
        });
    }
    txn.record_outreach(&key, ctx.now)?;
    commit_case(txn, None, drafts, ctx, true).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_vars_then_ticket_fields() {
        let case: Case = serde_json::from_value(serde_json::json!({
            "id": "7", "subject": "Printer", "status": "open", "priority": "high", "channel": "api", "customer_id": "1",
            "team": null, "assignee": null, "tags": [], "fields": {}, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "first_response_at": null, "solved_at": null, "closed_at": null,
            "reopen_count": 0, "csat": null, "linked_case_ids": [], "version": 1, "last_event_id": "1"
        }))
        .unwrap();
        let vars = [("name".to_owned(), "Ann".to_owned())].into();
        assert_eq!(
            render("Hi {{name}}, case #{{ id }} ({{subject}}) {{unknown}} {{", &vars, &case),
            "Hi Ann, case #7 (Printer) {{unknown}} {{"
        );
    }
}
