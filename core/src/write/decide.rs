//! Pure decisions: given the current state, a command's inputs and "now",
//! which events happen. No storage, no clock reads; [`crate::write::execute`]
//! loads state, calls these, and writes what they return.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};

use crate::domain::lifecycle::{StatusEffect, Trigger};
use crate::domain::{Actor, Case, CaseId, CaseStatus, Customer, CustomerId, EventBody, EventId, Identity, Priority};
use crate::write::command::{CasePatch, CustomerInput, MessageKind, Refusal, check_name, limits};

/// An event about to be written: ids and time are stamped on commit.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The case it belongs to, if any.
    pub case_id: Option<CaseId>,
    /// The customer whose timeline shows it.
    pub customer_id: CustomerId,
    /// Who did it.
    pub actor: Actor,
    /// What led to it.
    pub caused_by: Cause,
    /// What happened.
    pub body: EventBody,
}

/// The cause of a drafted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A direct request.
    None,
    /// An event already stored.
    Event(EventId),
    /// An earlier draft of the same decision, by index.
    Draft(usize),
}

/// The parts of a case decided at creation.
#[derive(Debug, Clone)]
pub struct CaseStart<'a> {
    /// Subject.
    pub subject: &'a str,
    /// Channel.
    pub channel: &'a str,
    /// Priority.
    pub priority: Priority,
    /// First customer message.
    pub message: Option<&'a str>,
    /// Tags.
    pub tags: &'a BTreeSet<String>,
    /// Custom fields.
    pub fields: &'a std::collections::BTreeMap<String, serde_json::Value>,
    /// Team.
    pub team: Option<&'a str>,
    /// Assignee.
    pub assignee: Option<&'a str>,
    /// The closed case this follows up.
    pub follow_up_of: Option<CaseId>,
}

/// Events that open case `case_id` for `customer_id`.
///
/// # Errors
/// [`Refusal::Invalid`] for an empty or oversized subject, bad names or
/// too many tags or fields.
pub fn open_case(
    start: &CaseStart<'_>,
    case_id: CaseId,
    customer_id: CustomerId,
    actor: &Actor,
) -> Result<Vec<Draft>, Refusal> {
    check_start(start)?;
    let mut drafts = vec![Draft {
        case_id: Some(case_id),
        customer_id,
        actor: actor.clone(),
        caused_by: Cause::None,
        body: EventBody::CaseCreated {
            subject: start.subject.trim().to_owned(),
            channel: start.channel.to_owned(),
            priority: start.priority,
            team: start.team.map(str::to_owned),
            assignee: start.assignee.map(str::to_owned),
            tags: start.tags.clone(),
            fields: start.fields.clone(),
            follow_up_of: start.follow_up_of,
        },
    }];
    if let Some(body) = start.message {
        drafts.push(Draft {
            case_id: Some(case_id),
            customer_id,
            actor: Actor::Customer(customer_id),
            caused_by: Cause::Draft(0),
            body: EventBody::MessageReceived { body: body.to_owned(), via: None },
        });
    }
    Ok(drafts)
}

/// Validates the parts of a new case.
///
/// # Errors
/// [`Refusal::Invalid`] naming the first bad part.
pub fn check_start(start: &CaseStart<'_>) -> Result<(), Refusal> {
    let subject = start.subject.trim();
    if subject.is_empty() || subject.chars().count() > limits::SUBJECT {
        return Err(Refusal::Invalid(format!("subject must be 1-{} characters", limits::SUBJECT)));
    }
    check_name("channel", start.channel)?;
    if let Some(team) = start.team {
        check_name("team", team)?;
    }
    if let Some(assignee) = start.assignee {
        check_name("assignee", assignee)?;
    }
    check_tags(start.tags.iter())?;
    if start.tags.len() > limits::TAGS {
        return Err(Refusal::Invalid(format!("at most {} tags", limits::TAGS)));
    }
    check_fields(start.fields.keys())?;
    if start.fields.len() > limits::FIELDS {
        return Err(Refusal::Invalid(format!("at most {} custom fields", limits::FIELDS)));
    }
    start.message.map_or(Ok(()), check_body)
}

/// What a message does to a case.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageDecision {
    /// These events on the case itself.
    OnCase(Vec<Draft>),
    /// The case is closed: open a follow-up case linked to it instead.
    FollowUp,
}

/// Events for a message of `kind` on `case`.
///
/// # Errors
/// An illegal transition (replying on a closed case) or an empty or
/// oversized body.
pub fn add_message(case: &Case, kind: MessageKind, body: &str, actor: &Actor) -> Result<MessageDecision, Refusal> {
    check_body(body)?;
    let (trigger, actor, event) = match kind {
        MessageKind::Reply => (Trigger::AgentReply, actor.clone(), EventBody::ReplySent { body: body.to_owned() }),
        MessageKind::Note => (Trigger::Note, actor.clone(), EventBody::NoteAdded { body: body.to_owned() }),
        MessageKind::Customer => (
            Trigger::CustomerMessage,
            Actor::Customer(case.customer_id),
            EventBody::MessageReceived { body: body.to_owned(), via: None },
        ),
    };
    let effect = case.status.apply(trigger)?;
    let mut drafts = vec![draft(case, actor, Cause::None, event)];
    match effect {
        StatusEffect::Unchanged => {}
        StatusEffect::MoveTo(to) => drafts.push(status_change(case, case.status, to, Cause::Draft(0))),
        StatusEffect::OpenFollowUp => return Ok(MessageDecision::FollowUp),
    }
    Ok(MessageDecision::OnCase(drafts))
}

/// Events for a patch. Changes are applied in a fixed order (status,
/// priority, team, assignee, tags, fields); parts that change nothing write no
/// event.
///
/// # Errors
/// An illegal transition, or bad names.
pub fn update_case(case: &Case, patch: &CasePatch, actor: &Actor) -> Result<Vec<Draft>, Refusal> {
    if let Err(edit) = case.status.apply(Trigger::Edit) {
        // A refused status change is the more precise error to report.
        let status = patch.status.and_then(|to| case.status.apply(Trigger::SetStatus(to)).err());
        return Err(status.unwrap_or(edit).into());
    }
    let mut drafts = Vec::new();
    let mut push = |body| drafts.push(draft(case, actor.clone(), Cause::None, body));
    if let Some(to) = patch.status
        && let StatusEffect::MoveTo(to) = case.status.apply(Trigger::SetStatus(to))?
    {
        push(EventBody::StatusChanged { from: case.status, to });
    }
    if let Some(to) = patch.priority.filter(|p| *p != case.priority) {
        push(EventBody::PriorityChanged { from: case.priority, to });
    }
    if let Some(team) = &patch.team {
        if let Some(t) = team {
            check_name("team", t)?;
        }
        if *team != case.team {
            push(EventBody::TeamChanged { from: case.team.clone(), to: team.clone() });
        }
    }
    if let Some(assignee) = &patch.assignee {
        if let Some(a) = assignee {
            check_name("assignee", a)?;
        }
        if *assignee != case.assignee {
            push(EventBody::Assigned { from: case.assignee.clone(), to: assignee.clone() });
        }
    }
    check_tags(patch.add_tags.iter().chain(&patch.remove_tags))?;
    let mut tags = case.tags.clone();
    for tag in &patch.add_tags {
        if tags.insert(tag.clone()) {
            push(EventBody::TagAdded { tag: tag.clone() });
        }
    }
    if tags.len() > limits::TAGS {
        return Err(Refusal::Invalid(format!("at most {} tags", limits::TAGS)));
    }
    for tag in &patch.remove_tags {
        if tags.remove(tag) {
            push(EventBody::TagRemoved { tag: tag.clone() });
        }
    }
    check_fields(patch.fields.keys())?;
    for (key, value) in &patch.fields {
        let changes = match case.fields.get(key) {
            Some(old) => old != value,
            None => !value.is_null(),
        };
        if changes {
            push(EventBody::FieldSet { key: key.clone(), value: value.clone() });
        }
    }
    let added = patch.fields.iter().filter(|(k, v)| !v.is_null() && !case.fields.contains_key(*k)).count();
    if case.fields.len() + added > limits::FIELDS {
        return Err(Refusal::Invalid(format!("at most {} custom fields", limits::FIELDS)));
    }
    Ok(drafts)
}

/// The rating event for `case`.
///
/// # Errors
/// A score outside 1-5, a long comment, or a case not yet solved.
pub fn record_csat(case: &Case, score: u8, comment: Option<&str>) -> Result<Vec<Draft>, Refusal> {
    if !(1..=5).contains(&score) {
        return Err(Refusal::Invalid(format!("score must be 1-5, got {score}")));
    }
    if comment.is_some_and(|c| c.chars().count() > limits::COMMENT) {
        return Err(Refusal::Invalid(format!("comment must be at most {} characters", limits::COMMENT)));
    }
    case.status.apply(Trigger::Csat)?;
    let body = EventBody::CsatReceived { score, comment: comment.map(str::to_owned) };
    Ok(vec![draft(case, Actor::Customer(case.customer_id), Cause::None, body)])
}

/// Closes `case` if it is solved and has been for `after` at `now`; nothing
/// otherwise (the timer outlived a reopen).
pub fn auto_close(case: &Case, now: Timestamp, after: SignedDuration) -> Vec<Draft> {
    let due = case.solved_at.and_then(|at| at.checked_add(after).ok());
    match (case.status.apply(Trigger::AutoClose), due) {
        (Ok(StatusEffect::MoveTo(to)), Some(due)) if due <= now => {
            vec![status_change(case, case.status, to, Cause::None)]
        }
        _ => Vec::new(),
    }
}

/// When a solved case closes by itself, if it is solved.
pub fn auto_close_at(case: &Case, after: SignedDuration) -> Option<Timestamp> {
    match case.status {
        CaseStatus::Solved => case.solved_at.and_then(|at| at.checked_add(after).ok()),
        CaseStatus::New | CaseStatus::Open | CaseStatus::Pending | CaseStatus::OnHold | CaseStatus::Closed => None,
    }
}

/// Merges `input` into `existing` (or a new customer `id`): identities are
/// added, the name filled in only where unknown, a given tier replaces the
/// old one, attributes are overwritten (the event names the ones that changed).
/// Returns the customer and, if anything changed, the event recording it.
pub fn upsert_customer(
    existing: Option<&Customer>,
    id: CustomerId,
    input: &CustomerInput,
    now: Timestamp,
    actor: &Actor,
) -> Result<(Customer, Option<Draft>), Refusal> {
    if input.identities.is_empty() {
        return Err(Refusal::Invalid(
            "a customer needs at least one identity (email, chat, phone or external id)".into(),
        ));
    }
    let created = existing.is_none();
    let mut customer = existing.cloned().unwrap_or_else(|| Customer {
        id,
        name: None,
        tier: None,
        identities: Vec::new(),
        attributes: Default::default(),
        health: None,
        created_at: now,
        updated_at: now,
    });
    let identities_added: Vec<Identity> = input
        .identities
        .iter()
        .filter(|i| !customer.identities.contains(i))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    customer.identities.extend(identities_added.iter().cloned());
    let name = input.name.as_deref().map(str::trim).filter(|n| !n.is_empty() && customer.name.is_none());
    if let Some(name) = name {
        if name.chars().count() > 200 {
            return Err(Refusal::Invalid("name must be at most 200 characters".into()));
        }
        customer.name = Some(name.to_owned());
    }
    let tier = input.tier.as_deref().filter(|t| customer.tier.as_deref() != Some(*t));
    if let Some(tier) = tier {
        check_name("tier", tier)?;
        customer.tier = Some(tier.to_owned());
    }
    let mut attributes_set = Vec::new();
    for (key, value) in &input.attributes {
        check_name("attribute", key)?;
        if customer.attributes.get(key) != Some(value) {
            customer.attributes.insert(key.clone(), value.clone());
            attributes_set.push(key.clone());
        }
    }
    let changed =
        created || !identities_added.is_empty() || name.is_some() || tier.is_some() || !attributes_set.is_empty();
    if !changed {
        return Ok((customer, None));
    }
    customer.updated_at = now;
    let event = Draft {
        case_id: None,
        customer_id: customer.id,
        actor: actor.clone(),
        caused_by: Cause::None,
        body: EventBody::CustomerUpdated {
            created,
            name: name.map(str::to_owned),
            tier: tier.map(str::to_owned),
            identities_added,
            attributes_set,
            source: None,
        },
    };
    Ok((customer, Some(event)))
}

fn draft(case: &Case, actor: Actor, caused_by: Cause, body: EventBody) -> Draft {
    Draft { case_id: Some(case.id), customer_id: case.customer_id, actor, caused_by, body }
}

/// Status changes that follow from another event are made by the system, and
/// name that event as their cause.
fn status_change(case: &Case, from: CaseStatus, to: CaseStatus, caused_by: Cause) -> Draft {
    draft(case, Actor::System, caused_by, EventBody::StatusChanged { from, to })
}

/// Checks a message body: not blank, at most [`limits::BODY`] bytes.
///
/// # Errors
/// [`Refusal::Invalid`].
pub(crate) fn check_body(body: &str) -> Result<(), Refusal> {
    if body.trim().is_empty() || body.len() > limits::BODY {
        return Err(Refusal::Invalid(format!("message body must be non-empty and at most {} bytes", limits::BODY)));
    }
    Ok(())
}

fn check_tags<'a>(mut tags: impl Iterator<Item = &'a String>) -> Result<(), Refusal> {
    tags.try_for_each(|t| check_name("tag", t))
}

fn check_fields<'a>(mut keys: impl Iterator<Item = &'a String>) -> Result<(), Refusal> {
    keys.try_for_each(|k| check_name("field", k))
}

#[cfg(test)]
mod tests {
    //! What an agent or customer sees decided: status moves, refusals, patch
    //! checks, ratings, customer merges and auto-close times. Each case is a
    //! row of a table; the expected events are spelled out in full so a change
    //! of actor or cause shows up here.

    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::{Value, json};

    use super::*;
    use crate::domain::Event;
    use crate::domain::lifecycle::TransitionError;
    use CaseStatus as S;
    use EventBody as B;

    const T0: &str = "2026-03-02T09:00:00Z";

    fn at(offset_minutes: i64) -> Timestamp {
        T0.parse::<Timestamp>().unwrap().checked_add(SignedDuration::from_mins(offset_minutes)).unwrap()
    }

    fn agent() -> Actor {
        Actor::Agent("ann".into())
    }

    fn customer_id() -> CustomerId {
        CustomerId::new(7)
    }

    /// A case in `status`, solved at `T0` if it is solved or closed.
    fn case(status: CaseStatus) -> Case {
        let solved_at = matches!(status, S::Solved | S::Closed).then(|| at(0));
        Case {
            id: CaseId::new(1),
            subject: "Printer on fire".into(),
            status,
            priority: Priority::Normal,
            channel: "api".into(),
            customer_id: customer_id(),
            team: Some("support".into()),
            assignee: None,
            tags: ["vip".to_owned()].into(),
            fields: [("plan".to_owned(), json!("pro"))].into(),
            created_at: at(-60),
            updated_at: at(0),
            first_response_at: None,
            solved_at,
            closed_at: (status == S::Closed).then(|| at(0)),
            reopen_count: 0,
            agent_replies: 0,
            escalation_level: 0,
            csat: None,
            linked_case_ids: Vec::new(),
            version: 3,
            last_event_id: EventId::new(3),
        }
    }

    fn on_case(actor: Actor, caused_by: Cause, body: EventBody) -> Draft {
        Draft { case_id: Some(CaseId::new(1)), customer_id: customer_id(), actor, caused_by, body }
    }

    /// The system's status change that a message at draft 0 caused.
    fn moved(from: CaseStatus, to: CaseStatus) -> Draft {
        on_case(Actor::System, Cause::Draft(0), B::StatusChanged { from, to })
    }

    fn invalid(result: Result<impl std::fmt::Debug, Refusal>) -> String {
        match result {
            Err(Refusal::Invalid(message)) => message,
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    fn refused(result: Result<impl std::fmt::Debug, Refusal>) -> TransitionError {
        match result {
            Err(Refusal::Transition(e)) => e,
            other => panic!("expected an illegal transition, got {other:?}"),
        }
    }

    #[test]
    fn messages_move_the_status_reopen_or_open_a_follow_up() {
        use MessageKind as K;
        let reply = || on_case(agent(), Cause::None, B::ReplySent { body: "hi".into() });
        let note = || on_case(agent(), Cause::None, B::NoteAdded { body: "hi".into() });
        let customer = || {
            on_case(Actor::Customer(customer_id()), Cause::None, B::MessageReceived { body: "hi".into(), via: None })
        };
        let on = MessageDecision::OnCase;
        let table = [
            // An agent reply opens a new case; otherwise it leaves the status alone.
            (S::New, K::Reply, on(vec![reply(), moved(S::New, S::Open)])),
            (S::Open, K::Reply, on(vec![reply()])),
            (S::Pending, K::Reply, on(vec![reply()])),
            (S::OnHold, K::Reply, on(vec![reply()])),
            (S::Solved, K::Reply, on(vec![reply()])),
            // Notes never move the status.
            (S::New, K::Note, on(vec![note()])),
            (S::Solved, K::Note, on(vec![note()])),
            // The customer writing again reopens a pending or solved case.
            (S::New, K::Customer, on(vec![customer()])),
            (S::Open, K::Customer, on(vec![customer()])),
            (S::OnHold, K::Customer, on(vec![customer()])),
            (S::Pending, K::Customer, on(vec![customer(), moved(S::Pending, S::Open)])),
            (S::Solved, K::Customer, on(vec![customer(), moved(S::Solved, S::Open)])),
            // A closed case stays closed: the customer gets a follow-up case.
            (S::Closed, K::Customer, MessageDecision::FollowUp),
        ];
        for (status, kind, expected) in table {
            let got = add_message(&case(status), kind, "hi", &agent())
                .unwrap_or_else(|e| panic!("{kind:?} on a {status} case: {e}"));
            assert_eq!(got, expected, "{kind:?} on a {status} case");
        }
    }

    #[test]
    fn a_reopen_counts_once_the_events_are_folded_into_the_case() {
        for (status, reopens) in [(S::Solved, 1), (S::Pending, 0)] {
            let before = case(status);
            let MessageDecision::OnCase(drafts) =
                add_message(&before, MessageKind::Customer, "still broken", &agent()).unwrap()
            else {
                panic!("a {status} case takes the message itself");
            };
            let after = drafts.into_iter().enumerate().fold(before, |case, (i, draft)| {
                let event = Event {
                    id: EventId::new(10 + i as u64),
                    case_id: draft.case_id,
                    customer_id: draft.customer_id,
                    at: at(5),
                    actor: draft.actor,
                    caused_by: None,
                    body: draft.body,
                };
                crate::domain::projection::apply(Some(case), &event).unwrap()
            });
            assert_eq!((after.status, after.reopen_count, after.solved_at), (S::Open, reopens, None), "from {status}");
        }
    }

    #[test]
    fn closed_cases_refuse_replies_and_notes_and_bodies_must_have_text() {
        for kind in [MessageKind::Reply, MessageKind::Note] {
            let e = refused(add_message(&case(S::Closed), kind, "late", &agent()));
            assert_eq!(e.from, S::Closed, "{kind:?}");
        }
        let long = "x".repeat(limits::BODY + 1);
        for body in ["", "   \n", long.as_str()] {
            let message = invalid(add_message(&case(S::Open), MessageKind::Reply, body, &agent()));
            assert!(message.contains("message body"), "{message}");
        }
        // The body is checked before the status: a bad body on a closed case is bad input.
        invalid(add_message(&case(S::Closed), MessageKind::Customer, " ", &agent()));
    }

    #[test]
    fn status_patches_follow_the_lifecycle_and_illegal_ones_are_refused() {
        let by_agent = |body| on_case(agent(), Cause::None, body);
        let table: [(CaseStatus, CaseStatus, Option<Vec<Draft>>); 9] = [
            (S::New, S::Open, Some(vec![by_agent(B::StatusChanged { from: S::New, to: S::Open })])),
            (S::Open, S::Pending, Some(vec![by_agent(B::StatusChanged { from: S::Open, to: S::Pending })])),
            (S::OnHold, S::Solved, Some(vec![by_agent(B::StatusChanged { from: S::OnHold, to: S::Solved })])),
            (S::Solved, S::Closed, Some(vec![by_agent(B::StatusChanged { from: S::Solved, to: S::Closed })])),
            // Setting the status a case already has writes nothing.
            (S::Pending, S::Pending, Some(vec![])),
            (S::New, S::Closed, None),
            (S::Open, S::New, None),
            (S::Solved, S::Pending, None),
            (S::Closed, S::Open, None),
        ];
        for (from, to, expected) in table {
            let patch = CasePatch { status: Some(to), ..CasePatch::default() };
            match expected {
                Some(drafts) => {
                    assert_eq!(update_case(&case(from), &patch, &agent()).unwrap(), drafts, "{from} -> {to}")
                }
                None => {
                    let e = refused(update_case(&case(from), &patch, &agent()));
                    assert_eq!((e.from, e.trigger), (from, Trigger::SetStatus(to)), "{from} -> {to}");
                }
            }
        }
    }

    #[test]
    fn a_closed_case_refuses_every_edit() {
        let patches = [
            CasePatch { priority: Some(Priority::High), ..CasePatch::default() },
            CasePatch { team: Some(None), ..CasePatch::default() },
            CasePatch { add_tags: vec!["late".into()], ..CasePatch::default() },
            CasePatch::default(),
        ];
        for patch in patches {
            let e = refused(update_case(&case(S::Closed), &patch, &agent()));
            assert_eq!((e.from, e.trigger), (S::Closed, Trigger::Edit), "{patch:?}");
        }
    }

    #[test]
    fn a_patch_writes_one_event_per_real_change_in_a_fixed_order() {
        let patch = CasePatch {
            fields: [("plan".to_owned(), json!("enterprise")), ("seats".to_owned(), json!(40))].into(),
            remove_tags: vec!["vip".into(), "absent".into()],
            add_tags: vec!["refund".into(), "vip".into()],
            assignee: Some(Some("dana".into())),
            team: Some(Some("billing".into())),
            priority: Some(Priority::Urgent),
            status: Some(S::Pending),
            expected_assignee: None,
        };
        let by_agent = |body| on_case(agent(), Cause::None, body);
        assert_eq!(
            update_case(&case(S::Open), &patch, &agent()).unwrap(),
            [
                by_agent(B::StatusChanged { from: S::Open, to: S::Pending }),
                by_agent(B::PriorityChanged { from: Priority::Normal, to: Priority::Urgent }),
                by_agent(B::TeamChanged { from: Some("support".into()), to: Some("billing".into()) }),
                by_agent(B::Assigned { from: None, to: Some("dana".into()) }),
                by_agent(B::TagAdded { tag: "refund".into() }),
                by_agent(B::TagRemoved { tag: "vip".into() }),
                by_agent(B::FieldSet { key: "plan".into(), value: json!("enterprise") }),
                by_agent(B::FieldSet { key: "seats".into(), value: json!(40) }),
            ]
        );
    }

    #[test]
    fn a_patch_that_changes_nothing_writes_nothing() {
        let patches = [
            CasePatch { priority: Some(Priority::Normal), ..CasePatch::default() },
            CasePatch { team: Some(Some("support".into())), ..CasePatch::default() },
            CasePatch { assignee: Some(None), ..CasePatch::default() },
            CasePatch { add_tags: vec!["vip".into()], ..CasePatch::default() },
            CasePatch { remove_tags: vec!["absent".into()], ..CasePatch::default() },
            CasePatch { fields: [("plan".to_owned(), json!("pro"))].into(), ..CasePatch::default() },
            // Clearing a field that is not set.
            CasePatch { fields: [("absent".to_owned(), json!(null))].into(), ..CasePatch::default() },
        ];
        for patch in patches {
            assert!(update_case(&case(S::Open), &patch, &agent()).unwrap().is_empty(), "{patch:?}");
        }
        // Clearing one that is set is a change.
        let clear = CasePatch { fields: [("plan".to_owned(), json!(null))].into(), ..CasePatch::default() };
        assert_eq!(
            update_case(&case(S::Open), &clear, &agent()).unwrap(),
            [on_case(agent(), Cause::None, B::FieldSet { key: "plan".into(), value: json!(null) })]
        );
    }

    #[test]
    fn patches_with_bad_names_or_too_many_tags_or_fields_are_refused() {
        let long = "x".repeat(limits::NAME + 1);
        let tags = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
        let fields = |n: usize| (0..n).map(|i| (format!("f{i}"), json!(i))).collect::<BTreeMap<_, _>>();
        let table = [
            ("team", CasePatch { team: Some(Some("first line".into())), ..CasePatch::default() }),
            ("team", CasePatch { team: Some(Some(String::new())), ..CasePatch::default() }),
            ("assignee", CasePatch { assignee: Some(Some(long.clone())), ..CasePatch::default() }),
            ("assignee", CasePatch { assignee: Some(Some("a\tb".into())), ..CasePatch::default() }),
            ("tag", CasePatch { add_tags: vec!["a,b".into()], ..CasePatch::default() }),
            ("tag", CasePatch { remove_tags: vec![long.clone()], ..CasePatch::default() }),
            ("field", CasePatch { fields: [("my field".to_owned(), json!(1))].into(), ..CasePatch::default() }),
            // The case has one tag and one field already.
            ("at most 100 tags", CasePatch { add_tags: tags(limits::TAGS), ..CasePatch::default() }),
            ("at most 100 custom fields", CasePatch { fields: fields(limits::FIELDS), ..CasePatch::default() }),
        ];
        for (names, patch) in table {
            let message = invalid(update_case(&case(S::Open), &patch, &agent()));
            assert!(message.contains(names), "{patch:?}: {message}");
        }
        // Exactly at the limits is fine.
        let full = CasePatch { add_tags: tags(limits::TAGS - 1), ..CasePatch::default() };
        assert_eq!(update_case(&case(S::Open), &full, &agent()).unwrap().len(), limits::TAGS - 1);
        let mut fields_full = fields(limits::FIELDS - 1);
        fields_full.insert("plan".into(), json!("pro"));
        let full = CasePatch { fields: fields_full, ..CasePatch::default() };
        assert_eq!(update_case(&case(S::Open), &full, &agent()).unwrap().len(), limits::FIELDS - 1);
    }

    #[test]
    fn csat_is_taken_on_solved_or_closed_cases_with_a_score_of_1_to_5() {
        let rated = |score, comment: Option<&str>| {
            vec![on_case(
                Actor::Customer(customer_id()),
                Cause::None,
                B::CsatReceived { score, comment: comment.map(str::to_owned) },
            )]
        };
        for (status, score) in [(S::Solved, 1), (S::Solved, 5), (S::Closed, 3)] {
            assert_eq!(record_csat(&case(status), score, Some("thanks")).unwrap(), rated(score, Some("thanks")));
        }
        assert_eq!(record_csat(&case(S::Solved), 4, None).unwrap(), rated(4, None));
        for status in [S::New, S::Open, S::Pending, S::OnHold] {
            let e = refused(record_csat(&case(status), 5, None));
            assert_eq!((e.from, e.trigger), (status, Trigger::Csat));
        }
        for score in [0, 6, u8::MAX] {
            assert!(invalid(record_csat(&case(S::Solved), score, None)).contains("1-5"), "{score}");
        }
        let long = "x".repeat(limits::COMMENT + 1);
        assert!(invalid(record_csat(&case(S::Solved), 5, Some(&long))).contains("comment"));
        // A bad score on an open case is bad input before it is a wrong time to rate.
        invalid(record_csat(&case(S::Open), 9, None));
    }

    #[test]
    fn solved_cases_close_once_the_configured_time_has_passed() {
        let after = SignedDuration::from_hours(1);
        let closes = vec![on_case(Actor::System, Cause::None, B::StatusChanged { from: S::Solved, to: S::Closed })];
        // (status, minutes after T0 (the solve), closes)
        let table = [
            (S::Solved, 59, false),
            (S::Solved, 60, true),
            (S::Solved, 600, true),
            // Reopened since, or already closed: the stale timer does nothing.
            (S::Open, 600, false),
            (S::Pending, 600, false),
            (S::Closed, 600, false),
        ];
        for (status, minutes, expected) in table {
            let got = auto_close(&case(status), at(minutes), after);
            assert_eq!(got, if expected { closes.clone() } else { vec![] }, "{status} at +{minutes}m");
        }
        // A close time past the end of time never comes.
        assert!(auto_close(&case(S::Solved), at(600), SignedDuration::MAX).is_empty());
    }

    #[test]
    fn the_auto_close_time_is_known_only_for_solved_cases() {
        let after = SignedDuration::from_hours(96);
        for status in CaseStatus::ALL {
            let expected = (status == S::Solved).then(|| at(96 * 60));
            assert_eq!(auto_close_at(&case(status), after), expected, "{status}");
        }
        assert_eq!(auto_close_at(&case(S::Solved), SignedDuration::MAX), None);
    }

    fn input(
        name: Option<&str>,
        tier: Option<&str>,
        identities: &[Identity],
        attributes: &[(&str, Value)],
    ) -> CustomerInput {
        CustomerInput {
            name: name.map(str::to_owned),
            tier: tier.map(str::to_owned),
            identities: identities.to_vec(),
            attributes: attributes.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
        }
    }

    fn email(address: &str) -> Identity {
        Identity::email(address).unwrap()
    }

    fn known_customer() -> Customer {
        Customer {
            id: customer_id(),
            name: Some("Ann".into()),
            tier: Some("pro".into()),
            identities: vec![email("ann@example.com")],
            attributes: [("region".to_owned(), json!("emea"))].into(),
            health: None,
            created_at: at(-600),
            updated_at: at(-600),
        }
    }

    #[test]
    fn a_new_customer_is_created_with_what_was_given() {
        let given = input(Some("  Ann  "), Some("pro"), &[email("ann@example.com"), email("ann@example.com")], &[]);
        let (customer, event) = upsert_customer(None, customer_id(), &given, at(0), &agent()).unwrap();
        assert_eq!(customer.name.as_deref(), Some("Ann"), "trimmed");
        assert_eq!(customer.identities, [email("ann@example.com")], "duplicates given once are kept once");
        assert_eq!((customer.created_at, customer.updated_at), (at(0), at(0)));
        let event = event.expect("creating is a change");
        assert_eq!((event.case_id, event.customer_id, event.actor), (None, customer_id(), agent()));
        assert_eq!(
            event.body,
            B::CustomerUpdated {
                created: true,
                name: Some("Ann".into()),
                tier: Some("pro".into()),
                identities_added: vec![email("ann@example.com")],
                attributes_set: vec![],
                source: None,
            }
        );
    }

    #[test]
    fn an_upsert_merges_identities_and_attributes_into_the_known_customer() {
        let phone = Identity::phone("+1 555 010 2000").unwrap();
        // (what is given, expected customer, whether an event is written)
        let table = [
            // The same identity again, nothing new: no event.
            (input(None, None, &[email("ann@example.com")], &[]), known_customer(), false),
            (
                input(Some("Ann"), Some("pro"), &[email("ann@example.com")], &[("region", json!("emea"))]),
                known_customer(),
                false,
            ),
            // A new identity is added; the known one is not repeated.
            (
                input(None, None, &[email("ann@example.com"), phone.clone()], &[]),
                Customer { identities: vec![email("ann@example.com"), phone.clone()], ..known_customer() },
                true,
            ),
            // A known name is kept, an empty one ignored.
            (
                input(Some("Annie"), None, std::slice::from_ref(&phone), &[]),
                Customer { identities: vec![email("ann@example.com"), phone.clone()], ..known_customer() },
                true,
            ),
            (input(Some("  "), None, &[email("ann@example.com")], &[]), known_customer(), false),
            // A given tier replaces the old one.
            (
                input(None, Some("enterprise"), &[email("ann@example.com")], &[]),
                Customer { tier: Some("enterprise".into()), ..known_customer() },
                true,
            ),
            // Attributes are set over what is there, others kept.
            (
                input(None, None, &[email("ann@example.com")], &[("region", json!("amer")), ("seats", json!(40))]),
                Customer {
                    attributes: [("region".to_owned(), json!("amer")), ("seats".to_owned(), json!(40))].into(),
                    ..known_customer()
                },
                true,
            ),
        ];
        for (given, mut expected, changes) in table {
            let (customer, event) =
                upsert_customer(Some(&known_customer()), customer_id(), &given, at(0), &agent()).unwrap();
            if changes {
                expected.updated_at = at(0);
            }
            assert_eq!(customer, expected, "{given:?}");
            assert_eq!(event.is_some(), changes, "{given:?}");
            if let Some(B::CustomerUpdated { created, attributes_set, .. }) = event.map(|e| e.body) {
                assert!(!created);
                // The event names exactly the attributes whose value changed.
                let changed: Vec<String> = expected
                    .attributes
                    .iter()
                    .filter(|(k, v)| known_customer().attributes.get(*k) != Some(*v))
                    .map(|(k, _)| k.clone())
                    .collect();
                assert_eq!(attributes_set, changed, "{given:?}");
            }
        }
    }

    #[test]
    fn an_upsert_without_identities_or_with_bad_details_is_refused() {
        let ann = [email("ann@example.com")];
        let table = [
            ("at least one identity", None, input(Some("Ann"), None, &[], &[])),
            ("name", None, input(Some(&"x".repeat(201)), None, &ann, &[])),
            ("tier", None, input(None, Some("gold plus"), &ann, &[])),
            ("attribute", None, input(None, None, &ann, &[("two words", json!(1))])),
            ("tier", Some(known_customer()), input(None, Some(""), &ann, &[])),
        ];
        for (names, existing, given) in table {
            let message = invalid(upsert_customer(existing.as_ref(), customer_id(), &given, at(0), &agent()));
            assert!(message.contains(names), "{given:?}: {message}");
        }
    }

    #[test]
    fn a_new_case_records_its_parts_and_the_first_message_from_the_customer() {
        let tags: BTreeSet<String> = ["vip".to_owned()].into();
        let fields: BTreeMap<String, Value> = [("plan".to_owned(), json!("pro"))].into();
        let start = CaseStart {
            subject: "  Printer on fire ",
            channel: "email",
            priority: Priority::High,
            message: Some("It smokes"),
            tags: &tags,
            fields: &fields,
            team: Some("support"),
            assignee: None,
            follow_up_of: Some(CaseId::new(9)),
        };
        let drafts = open_case(&start, CaseId::new(1), customer_id(), &agent()).unwrap();
        assert_eq!(
            drafts,
            [
                on_case(
                    agent(),
                    Cause::None,
                    B::CaseCreated {
                        subject: "Printer on fire".into(),
                        channel: "email".into(),
                        priority: Priority::High,
                        team: Some("support".into()),
                        assignee: None,
                        tags: tags.clone(),
                        fields: fields.clone(),
                        follow_up_of: Some(CaseId::new(9)),
                    }
                ),
                on_case(
                    Actor::Customer(customer_id()),
                    Cause::Draft(0),
                    B::MessageReceived { body: "It smokes".into(), via: None }
                ),
            ]
        );
        let silent = CaseStart { message: None, ..start };
        assert_eq!(open_case(&silent, CaseId::new(1), customer_id(), &agent()).unwrap().len(), 1);
    }

    #[test]
    fn a_new_case_with_bad_parts_is_refused() {
        let none = BTreeSet::new();
        let no_fields = BTreeMap::new();
        let many_tags: BTreeSet<String> = (0..=limits::TAGS).map(|i| format!("t{i}")).collect();
        let bad_tag: BTreeSet<String> = ["two words".to_owned()].into();
        let many_fields: BTreeMap<String, Value> = (0..=limits::FIELDS).map(|i| (format!("f{i}"), json!(i))).collect();
        let bad_field: BTreeMap<String, Value> = [(String::new(), json!(1))].into();
        let good = CaseStart {
            subject: "Hello",
            channel: "api",
            priority: Priority::Normal,
            message: None,
            tags: &none,
            fields: &no_fields,
            team: None,
            assignee: None,
            follow_up_of: None,
        };
        let long_subject = "x".repeat(limits::SUBJECT + 1);
        let table = [
            ("subject", CaseStart { subject: "   ", ..good.clone() }),
            ("subject", CaseStart { subject: &long_subject, ..good.clone() }),
            ("channel", CaseStart { channel: "e mail", ..good.clone() }),
            ("team", CaseStart { team: Some(""), ..good.clone() }),
            ("assignee", CaseStart { assignee: Some("a,b"), ..good.clone() }),
            ("tag", CaseStart { tags: &bad_tag, ..good.clone() }),
            ("at most 100 tags", CaseStart { tags: &many_tags, ..good.clone() }),
            ("field", CaseStart { fields: &bad_field, ..good.clone() }),
            ("at most 100 custom fields", CaseStart { fields: &many_fields, ..good.clone() }),
            ("message body", CaseStart { message: Some(" "), ..good.clone() }),
        ];
        for (names, start) in table {
            let message = invalid(open_case(&start, CaseId::new(1), customer_id(), &agent()));
            assert!(message.contains(names), "{start:?}: {message}");
        }
        let at_limit = "x".repeat(limits::SUBJECT);
        assert!(open_case(&CaseStart { subject: &at_limit, ..good }, CaseId::new(1), customer_id(), &agent()).is_ok());
    }
}
