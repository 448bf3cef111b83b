//! Case rows as a fold of their events. The writer stores the folded row next
//! to the events in the same transaction; replaying the events from scratch
//! must always give the same row (a property test checks it).

use super::{Case, CaseStatus, Csat, Event, EventBody};

/// An event that cannot follow the case's history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    /// A change event for a case that has no `case_created` yet.
    #[error("event {0} changes a case that was never created")]
    NotCreated(crate::EventId),
    /// A second `case_created`.
    #[error("event {0} creates a case that already exists")]
    AlreadyCreated(crate::EventId),
    /// An event without a case id.
    #[error("event {0} does not belong to a case")]
    NoCase(crate::EventId),
}

/// Folds one event into a case's state.
///
/// # Errors
/// [`ProjectionError`] when the event cannot follow the state.
pub fn apply(state: Option<Case>, event: &Event) -> Result<Case, ProjectionError> {
    let case_id = event.case_id.ok_or(ProjectionError::NoCase(event.id))?;
    let mut case = match (state, &event.body) {
        (None, EventBody::CaseCreated { subject, channel, priority, team, assignee, tags, fields, follow_up_of }) => {
            return Ok(Case {
                id: case_id,
                subject: subject.clone(),
                status: CaseStatus::New,
                priority: *priority,
                channel: channel.clone(),
                customer_id: event.customer_id,
                team: team.clone(),
                assignee: assignee.clone(),
                tags: tags.clone(),
                fields: fields.clone(),
                created_at: event.at,
                updated_at: event.at,
                first_response_at: None,
                solved_at: None,
                closed_at: None,
                reopen_count: 0,
                agent_replies: 0,
                escalation_level: 0,
                csat: None,
                linked_case_ids: follow_up_of.iter().copied().collect(),
                version: 1,
                last_event_id: event.id,
            });
        }
        (Some(_), EventBody::CaseCreated { .. }) => return Err(ProjectionError::AlreadyCreated(event.id)),
        (None, _) => return Err(ProjectionError::NotCreated(event.id)),
        (Some(case), _) => case,
    };
    match &event.body {
        EventBody::CaseCreated { .. } => unreachable!("handled above"),
        EventBody::MessageReceived { .. }
        | EventBody::NoteAdded { .. }
        | EventBody::CustomerUpdated { .. }
        | EventBody::SlaWarning { .. }
        | EventBody::SlaBreached { .. }
        | EventBody::SlaMet { .. }
        | EventBody::OutreachOpened { .. }
        | EventBody::ScriptError { .. }
        | EventBody::PluginError { .. }
        | EventBody::ReplyDelivered { .. }
        | EventBody::DeliveryFailed { .. }
        | EventBody::HealthChanged { .. } => {}
        EventBody::Escalated { level, .. } => case.escalation_level = case.escalation_level.max(*level),
        EventBody::ReplySent { .. } => {
            case.first_response_at.get_or_insert(event.at);
            case.agent_replies += 1;
        }
        EventBody::StatusChanged { from, to } => {
            if *from == CaseStatus::Solved && *to != CaseStatus::Closed {
                case.reopen_count += 1;
                case.solved_at = None;
            }
            match to {
                CaseStatus::Solved => case.solved_at = Some(event.at),
                CaseStatus::Closed => case.closed_at = Some(event.at),
                CaseStatus::New | CaseStatus::Open | CaseStatus::Pending | CaseStatus::OnHold => {}
            }
            case.status = *to;
        }
        EventBody::PriorityChanged { to, .. } => case.priority = *to,
        EventBody::Assigned { to, .. } => case.assignee = to.clone(),
        EventBody::TeamChanged { to, .. } => case.team = to.clone(),
        EventBody::TagAdded { tag } => {
            case.tags.insert(tag.clone());
        }
        EventBody::TagRemoved { tag } => {
            case.tags.remove(tag);
        }
        EventBody::FieldSet { key, value } => {
            if value.is_null() {
                case.fields.remove(key);
            } else {
                case.fields.insert(key.clone(), value.clone());
            }
        }
        EventBody::CsatReceived { score, comment } => {
            case.csat = Some(Csat { score: *score, comment: comment.clone(), at: event.at });
        }
    }
    case.updated_at = event.at;
    case.version += 1;
    case.last_event_id = event.id;
    Ok(case)
}

/// Replays a case's events from scratch.
///
/// # Errors
/// [`ProjectionError`] when the history is inconsistent.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Result<Option<Case>, ProjectionError> {
    let mut state = None;
    for event in events {
        state = Some(apply(state, event)?);
    }
    Ok(state)
}
