//! Pure decisions: given the current state, a command's inputs and "now",
//! which events happen. No storage, no clock reads; [`crate::write::execute`] loads
//! state, calls these, and writes what they return.

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
/// added, name and tier filled in only where unknown, attributes overwritten.
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
    let mut attributes_changed = false;
    for (key, value) in &input.attributes {
        check_name("attribute", key)?;
        if customer.attributes.get(key) != Some(value) {
            customer.attributes.insert(key.clone(), value.clone());
            attributes_changed = true;
        }
    }
    let changed = created || !identities_added.is_empty() || name.is_some() || tier.is_some() || attributes_changed;
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
            attributes_set: Vec::new(),
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

fn check_body(body: &str) -> Result<(), Refusal> {
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
