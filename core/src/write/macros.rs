//! Macros on the write path: saving one (checked so that it can always be
//! applied), deleting one, and applying one to a case. Applying writes a
//! `macro_applied` event and then the macro's message and changes, each
//! naming that event as its cause, in one commit: either all of it lands
//! or, refused, none of it.

use crate::auth::may_assign_without_reassign;
use crate::domain::{
    Actor, Case, CaseId, Customer, Event, EventBody, EventId, MAX_MACRO_TITLE, Macro, MacroAssignee, MacroMessageKind,
    TemplateScope, check_template, projection, render_template,
};
use crate::store::WriteTxn;
use crate::write::agents::check_assignee;
use crate::write::command::{CasePatch, CommandError, MessageKind, Outcome, Refusal, check_name, limits};
use crate::write::commit::{commit_case, load_case};
use crate::write::context::ExecContext;
use crate::write::decide::{self, Cause, Draft, MessageDecision};

/// Stores a new macro; refused if the name is taken or it could not be applied.
///
/// # Errors
/// [`Refusal::MacroNameTaken`], [`Refusal::Invalid`], an unknown assignee,
/// storage failures.
pub fn create_macro(txn: &mut dyn WriteTxn, record: &Macro) -> Result<Outcome, CommandError> {
    check_macro(txn, record)?;
    if txn.macro_named(&record.name)?.is_some() {
        return Err(Refusal::MacroNameTaken(record.name.clone()).into());
    }
    txn.put_macro(record)?;
    Ok(Outcome::Macro(record.clone()))
}

/// Replaces the content of the macro named like `record`, keeping who
/// wrote it first and when.
///
/// # Errors
/// [`Refusal::MacroNotFound`], as [`create_macro`].
pub fn update_macro(txn: &mut dyn WriteTxn, record: &Macro) -> Result<Outcome, CommandError> {
    check_macro(txn, record)?;
    let old = txn.macro_named(&record.name)?.ok_or_else(|| Refusal::MacroNotFound(record.name.clone()))?;
    let record = Macro { created_by: old.created_by, created_at: old.created_at, ..record.clone() };
    txn.put_macro(&record)?;
    Ok(Outcome::Macro(record))
}

/// Deletes a macro. Cases it was applied to keep their `macro_applied`
/// events, which carry its name and title.
///
/// # Errors
/// [`Refusal::MacroNotFound`], storage failures.
pub fn delete_macro(txn: &mut dyn WriteTxn, name: &str) -> Result<Outcome, CommandError> {
    let old = txn.macro_named(name)?.ok_or_else(|| Refusal::MacroNotFound(name.to_owned()))?;
    txn.delete_macro(name)?;
    Ok(Outcome::Macro(old))
}

/// What applying a macro needs besides the case and the macro.
#[derive(Debug, Clone, Copy)]
pub struct Applier<'a> {
    /// Who applies it.
    pub actor: &'a Actor,
    /// Whether they may give the case to someone else or take it from
    /// someone else; without it a macro may only take an unassigned case or
    /// give up the applier's own.
    pub may_reassign: bool,
}

/// Applies the macro `name` to case `case_id`.
///
/// # Errors
/// [`Refusal::MacroNotFound`], [`CommandError::CaseNotFound`], what the
/// message or the changes are refused for on this case, storage failures.
pub fn apply_macro(
    txn: &mut dyn WriteTxn,
    case_id: CaseId,
    name: &str,
    applier: Applier<'_>,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
    let record = txn.macro_named(name)?.ok_or_else(|| Refusal::MacroNotFound(name.to_owned()))?;
    let case = load_case(txn, case_id)?;
    let customer = txn.customer(case.customer_id)?;
    let (drafts, assignee) = decide_apply(&case, customer.as_ref(), &record, applier)?;
    if let Some(assignee) = assignee {
        check_assignee(txn, &assignee)?;
    }
    commit_case(txn, Some(case), drafts, ctx, false)
}

/// The events applying `record` to `case` writes, and the new assignee to
/// check when it names one. Pure: the message's and the changes' own rules
/// decide, on the case as the message leaves it.
fn decide_apply(
    case: &Case,
    customer: Option<&Customer>,
    record: &Macro,
    applier: Applier<'_>,
) -> Result<(Vec<Draft>, Option<String>), Refusal> {
    let actor = applier.actor;
    let me = actor_name(actor);
    let mut drafts = vec![Draft {
        case_id: Some(case.id),
        customer_id: case.customer_id,
        actor: actor.clone(),
        caused_by: Cause::None,
        body: EventBody::MacroApplied { name: record.name.clone(), title: record.title.clone() },
    }];
    let mut state = case.clone();
    if let Some(message) = &record.message {
        let scope = TemplateScope { case, customer, agent: me };
        let body = render_template(&message.body, &scope).map_err(|e| Refusal::Invalid(e.to_string()))?;
        let kind = match message.kind {
            MacroMessageKind::Reply => MessageKind::Reply,
            MacroMessageKind::Note => MessageKind::Note,
        };
        let MessageDecision::OnCase(more) = decide::add_message(&state, kind, &body, actor)? else {
            return Err(Refusal::Invalid(format!("a {} case takes no agent message", case.status)));
        };
        state = preview(state, &more)?;
        append_caused(&mut drafts, more);
    }
    let patch = CasePatch {
        status: record.status,
        priority: record.priority,
        assignee: record.assignee.as_ref().map(|a| a.resolve(me)),
        add_tags: record.add_tags.clone(),
        remove_tags: record.remove_tags.clone(),
        fields: record.fields.clone(),
        ..CasePatch::default()
    };
    if let Some(next) = &patch.assignee
        && !applier.may_reassign
        && !may_assign_without_reassign(me, state.assignee.as_deref(), next.as_deref())
    {
        return Err(Refusal::ReassignNotAllowed { actual: state.assignee.clone() });
    }
    if record.changes_case() {
        let more = decide::update_case(&state, &patch, actor)?;
        append_caused(&mut drafts, more);
    }
    let new_assignee = patch.assignee.flatten().filter(|a| state.assignee.as_ref() != Some(a));
    Ok((drafts, new_assignee))
}

/// Appends `more` after `drafts`, re-pointing draft causes past the drafts
/// already there and making direct ones caused by the `macro_applied` event.
fn append_caused(drafts: &mut Vec<Draft>, more: Vec<Draft>) {
    let base = drafts.len();
    drafts.extend(more.into_iter().map(|mut d| {
        d.caused_by = match d.caused_by {
            Cause::None => Cause::Draft(0),
            Cause::Draft(index) => Cause::Draft(base + index),
            cause @ Cause::Event(_) => cause,
        };
        d
    }));
}

/// `state` as `drafts` would leave it, so the macro's changes are decided
/// on the case its message produced (a reply moves a new case to open).
fn preview(state: Case, drafts: &[Draft]) -> Result<Case, Refusal> {
    let mut state = state;
    for draft in drafts {
        let event = Event {
            // Never stored: only the fields a decision reads matter.
            id: EventId::new(state.last_event_id.get()),
            case_id: draft.case_id,
            customer_id: draft.customer_id,
            at: state.updated_at,
            actor: draft.actor.clone(),
            caused_by: None,
            body: draft.body.clone(),
        };
        state = projection::apply(Some(state), &event).map_err(|e| Refusal::Invalid(e.to_string()))?;
    }
    Ok(state)
}

fn actor_name(actor: &Actor) -> &str {
    match actor {
        Actor::Agent(name) | Actor::Token(name) => name,
        _ => "",
    }
}

/// Checks that `record` can be applied to some case: a known name, a title,
/// a message whose placeholders are known, valid tags and fields, an active
/// assignee, and at least one thing to do.
fn check_macro(txn: &dyn WriteTxn, record: &Macro) -> Result<(), CommandError> {
    check_name("macro name", &record.name)?;
    let title = record.title.trim();
    if title.is_empty() || title.chars().count() > MAX_MACRO_TITLE {
        return Err(CommandError::invalid(format!("macro title must be 1-{} characters", MAX_MACRO_TITLE)));
    }
    if let Some(message) = &record.message {
        decide::check_body(&message.body)?;
        check_template(&message.body).map_err(|e| CommandError::invalid(e.to_string()))?;
    }
    for tag in record.add_tags.iter().chain(&record.remove_tags) {
        check_name("tag", tag)?;
    }
    if record.add_tags.len() + record.remove_tags.len() > limits::TAGS {
        return Err(CommandError::invalid(format!("at most {} tags", limits::TAGS)));
    }
    for key in record.fields.keys() {
        check_name("field", key)?;
    }
    if record.fields.len() > limits::FIELDS {
        return Err(CommandError::invalid(format!("at most {} custom fields", limits::FIELDS)));
    }
    if let Some(MacroAssignee::Agent(name)) = &record.assignee {
        check_assignee(txn, name)?;
    }
    if record.message.is_none() && !record.changes_case() {
        return Err(CommandError::invalid("a macro must add a message or change something".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CaseStatus, CustomerId, MacroMessage, Priority};

    fn case(status: CaseStatus, assignee: Option<&str>) -> Case {
        let created = Event {
            id: EventId::new(1),
            case_id: Some(CaseId::new(5)),
            customer_id: CustomerId::new(2),
            at: "2026-03-02T09:00:00Z".parse().unwrap(),
            actor: Actor::System,
            caused_by: None,
            body: EventBody::CaseCreated {
                subject: "Where is my order?".into(),
                channel: "email".into(),
                priority: Priority::Normal,
                team: None,
                assignee: assignee.map(str::to_owned),
                tags: Default::default(),
                fields: Default::default(),
                follow_up_of: None,
            },
        };
        let mut case = projection::apply(None, &created).unwrap();
        case.status = status;
        case
    }

    fn solve_with_reply() -> Macro {
        let at = "2026-03-01T00:00:00Z".parse().unwrap();
        Macro {
            name: "shipped".into(),
            title: "Order shipped".into(),
            message: Some(MacroMessage { kind: MacroMessageKind::Reply, body: "Case {{case.id}} shipped.".into() }),
            status: Some(CaseStatus::Solved),
            priority: None,
            assignee: Some(MacroAssignee::Me),
            add_tags: vec!["shipping".into()],
            remove_tags: Vec::new(),
            fields: Default::default(),
            created_by: "lea".into(),
            created_at: at,
            updated_by: "lea".into(),
            updated_at: at,
        }
    }

    fn applier(actor: &Actor, may_reassign: bool) -> Applier<'_> {
        Applier { actor, may_reassign }
    }

    #[test]
    fn one_macro_writes_its_event_then_a_reply_and_changes_caused_by_it() {
        let sam = Actor::Agent("sam".into());
        let (drafts, assignee) =
            decide_apply(&case(CaseStatus::New, None), None, &solve_with_reply(), applier(&sam, false)).unwrap();
        let kinds: Vec<_> = drafts.iter().map(|d| serde_json::to_value(&d.body).unwrap()["type"].clone()).collect();
        assert_eq!(kinds, ["macro_applied", "reply_sent", "status_changed", "status_changed", "assigned", "tag_added"]);
        assert_eq!(drafts[1].body, EventBody::ReplySent { body: "Case 5 shipped.".into() });
        // The reply opened the case, so the macro solves it from open.
        assert_eq!(drafts[3].body, EventBody::StatusChanged { from: CaseStatus::Open, to: CaseStatus::Solved });
        assert_eq!(drafts[2].caused_by, Cause::Draft(1), "the reply's own status change keeps its cause");
        assert!(drafts[3..].iter().all(|d| d.caused_by == Cause::Draft(0)));
        assert!(drafts.iter().filter(|d| d.actor != Actor::System).all(|d| d.actor == sam));
        assert_eq!(assignee.as_deref(), Some("sam"));
    }

    #[test]
    fn without_reassign_a_macro_cannot_take_a_case_from_someone_else() {
        let sam = Actor::Agent("sam".into());
        let held = case(CaseStatus::Open, Some("bea"));
        let refused = decide_apply(&held, None, &solve_with_reply(), applier(&sam, false)).unwrap_err();
        assert!(matches!(refused, Refusal::ReassignNotAllowed { actual: Some(ref a) } if a == "bea"), "{refused:?}");
        assert!(decide_apply(&held, None, &solve_with_reply(), applier(&sam, true)).is_ok());
    }

    #[test]
    fn a_macro_whose_message_the_case_refuses_writes_nothing() {
        let sam = Actor::Agent("sam".into());
        let closed = case(CaseStatus::Closed, None);
        assert!(matches!(
            decide_apply(&closed, None, &solve_with_reply(), applier(&sam, true)),
            Err(Refusal::Transition(_))
        ));
    }
}
