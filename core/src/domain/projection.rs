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
        | EventBody::MacroApplied { .. }
        | EventBody::CustomerUpdated { .. }
        | EventBody::SlaWarning { .. }
        | EventBody::SlaBreached { .. }
        | EventBody::SlaMet { .. }
        | EventBody::OutreachOpened { .. }
        | EventBody::ScriptError { .. }
        | EventBody::PluginError { .. }
        | EventBody::ReplyDelivered { .. }
        | EventBody::DeliveryFailed { .. }
        | EventBody::ReplyBounced { .. }
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

#[cfg(test)]
mod tests {
    //! Each event kind folded into a case gives the row the API then shows;
    //! histories that cannot happen are errors, not rows.

    use serde_json::json;

    use super::*;
    use crate::domain::Metric;
    use crate::domain::{Actor, CaseId, CustomerId, EventId, Identity, Priority};
    use CaseStatus as S;
    use EventBody as B;

    fn at(minutes: i64) -> jiff::Timestamp {
        "2026-03-02T09:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .checked_add(jiff::SignedDuration::from_mins(minutes))
            .unwrap()
    }

    fn event(id: u64, minutes: i64, body: EventBody) -> Event {
        Event {
            id: EventId::new(id),
            case_id: Some(CaseId::new(1)),
            customer_id: CustomerId::new(7),
            at: at(minutes),
            actor: Actor::Agent("ann".into()),
            caused_by: None,
            body,
        }
    }

    fn created() -> Event {
        event(
            1,
            0,
            B::CaseCreated {
                subject: "Printer on fire".into(),
                channel: "email".into(),
                priority: Priority::High,
                team: Some("support".into()),
                assignee: None,
                tags: ["vip".to_owned()].into(),
                fields: [("plan".to_owned(), json!("pro"))].into(),
                follow_up_of: Some(CaseId::new(9)),
            },
        )
    }

    /// The row `case_created` gives.
    fn new_case() -> Case {
        Case {
            id: CaseId::new(1),
            subject: "Printer on fire".into(),
            status: S::New,
            priority: Priority::High,
            channel: "email".into(),
            customer_id: CustomerId::new(7),
            team: Some("support".into()),
            assignee: None,
            tags: ["vip".to_owned()].into(),
            fields: [("plan".to_owned(), json!("pro"))].into(),
            created_at: at(0),
            updated_at: at(0),
            first_response_at: None,
            solved_at: None,
            closed_at: None,
            reopen_count: 0,
            agent_replies: 0,
            escalation_level: 0,
            csat: None,
            linked_case_ids: vec![CaseId::new(9)],
            version: 1,
            last_event_id: EventId::new(1),
        }
    }

    #[test]
    fn case_created_gives_a_new_case_linked_to_what_it_follows_up() {
        assert_eq!(apply(None, &created()), Ok(new_case()));
    }

    #[test]
    fn each_event_kind_changes_just_its_part_of_the_row() {
        let solved = Case { status: S::Solved, solved_at: Some(at(-5)), ..new_case() };
        let identity = Identity::email("ann@example.com").unwrap();
        // (the case before, the event at +10 minutes, the case after but for
        // the bookkeeping every event does: updated_at, version, last_event_id)
        let table: Vec<(Case, EventBody, Case)> = vec![
            (
                new_case(),
                B::ReplySent { body: "On it".into() },
                Case { first_response_at: Some(at(10)), agent_replies: 1, ..new_case() },
            ),
            (
                // A later reply counts, but the first response stays the first.
                Case { first_response_at: Some(at(5)), agent_replies: 1, ..new_case() },
                B::ReplySent { body: "More".into() },
                Case { first_response_at: Some(at(5)), agent_replies: 2, ..new_case() },
            ),
            (new_case(), B::StatusChanged { from: S::New, to: S::Open }, Case { status: S::Open, ..new_case() }),
            (
                new_case(),
                B::StatusChanged { from: S::Open, to: S::Solved },
                Case { status: S::Solved, solved_at: Some(at(10)), ..new_case() },
            ),
            (
                // Reopening counts and forgets the solve.
                solved.clone(),
                B::StatusChanged { from: S::Solved, to: S::Open },
                Case { status: S::Open, solved_at: None, reopen_count: 1, ..new_case() },
            ),
            (
                // Closing is not a reopen, and keeps when it was solved.
                solved.clone(),
                B::StatusChanged { from: S::Solved, to: S::Closed },
                Case { status: S::Closed, closed_at: Some(at(10)), ..solved.clone() },
            ),
            (
                new_case(),
                B::PriorityChanged { from: Priority::High, to: Priority::Low },
                Case { priority: Priority::Low, ..new_case() },
            ),
            (
                new_case(),
                B::Assigned { from: None, to: Some("dana".into()) },
                Case { assignee: Some("dana".into()), ..new_case() },
            ),
            (new_case(), B::TeamChanged { from: Some("support".into()), to: None }, Case { team: None, ..new_case() }),
            (
                new_case(),
                B::TagAdded { tag: "refund".into() },
                Case { tags: ["refund".to_owned(), "vip".to_owned()].into(), ..new_case() },
            ),
            (new_case(), B::TagRemoved { tag: "vip".into() }, Case { tags: [].into(), ..new_case() }),
            (
                new_case(),
                B::FieldSet { key: "seats".into(), value: json!(40) },
                Case {
                    fields: [("plan".to_owned(), json!("pro")), ("seats".to_owned(), json!(40))].into(),
                    ..new_case()
                },
            ),
            (
                new_case(),
                B::FieldSet { key: "plan".into(), value: json!(null) },
                Case { fields: [].into(), ..new_case() },
            ),
            (
                solved.clone(),
                B::CsatReceived { score: 4, comment: Some("quick".into()) },
                Case { csat: Some(Csat { score: 4, comment: Some("quick".into()), at: at(10) }), ..solved.clone() },
            ),
            (
                new_case(),
                B::Escalated { level: 2, reason: "breach".into() },
                Case { escalation_level: 2, ..new_case() },
            ),
            (
                // The level never goes down.
                Case { escalation_level: 3, ..new_case() },
                B::Escalated { level: 1, reason: "again".into() },
                Case { escalation_level: 3, ..new_case() },
            ),
        ];
        // Events that are on the timeline but leave the row as it was.
        let timeline_only = [
            B::MessageReceived { body: "hello".into(), via: None },
            B::NoteAdded { body: "internal".into() },
            B::SlaWarning { metric: Metric::FirstResponse, cycle: 0, warning_at: at(9), due_at: Some(at(20)) },
            B::SlaBreached { metric: Metric::Resolution, cycle: 0, breached_at: at(9) },
            B::SlaMet { metric: Metric::FirstResponse, cycle: 0, business_seconds: 60 },
            B::OutreachOpened { rule: "40-outreach.rhai".into() },
            B::ScriptError {
                file: "a.rhai".into(),
                hook: "on_message".into(),
                message: "no".into(),
                line: Some(1),
                column: None,
            },
            B::PluginError { plugin: "email".into(), hook: "deliver".into(), kind: "trap".into(), message: "x".into() },
            B::ReplyDelivered {
                plugin: "email".into(),
                reply_event: EventId::new(2),
                message_id: "<m@x>".into(),
                provider_id: None,
                attempts: 1,
            },
            B::DeliveryFailed {
                plugin: "email".into(),
                outbox_id: 1,
                work: "deliver".into(),
                message: "x".into(),
                attempts: 5,
            },
            B::HealthChanged {
                score: 30,
                band: "critical".into(),
                reasons: vec![],
                previous_score: None,
                previous_band: None,
                plugin: "health".into(),
            },
            B::CustomerUpdated {
                created: false,
                name: None,
                tier: None,
                identities_added: vec![identity],
                attributes_set: vec![],
                source: None,
            },
        ];
        let unchanged = timeline_only.into_iter().map(|body| (new_case(), body, new_case()));
        for (before, body, mut expected) in table.into_iter().chain(unchanged) {
            let version = before.version;
            let got = apply(Some(before), &event(20, 10, body.clone()));
            expected.updated_at = at(10);
            expected.version = version + 1;
            expected.last_event_id = EventId::new(20);
            assert_eq!(got, Ok(expected), "{body:?}");
        }
    }

    #[test]
    fn histories_that_cannot_happen_are_errors() {
        let reply = event(2, 1, B::ReplySent { body: "hi".into() });
        assert_eq!(apply(None, &reply), Err(ProjectionError::NotCreated(EventId::new(2))));
        let again = Event { id: EventId::new(3), ..created() };
        assert_eq!(apply(Some(new_case()), &again), Err(ProjectionError::AlreadyCreated(EventId::new(3))));
        let customer_only = Event { case_id: None, ..event(4, 1, B::NoteAdded { body: "x".into() }) };
        assert_eq!(apply(Some(new_case()), &customer_only), Err(ProjectionError::NoCase(EventId::new(4))));
        assert_eq!(apply(None, &Event { case_id: None, ..created() }), Err(ProjectionError::NoCase(EventId::new(1))));
        assert_eq!(fold([&created(), &again]), Err(ProjectionError::AlreadyCreated(EventId::new(3))));
    }

    #[test]
    fn replaying_a_history_gives_the_row_and_nothing_gives_no_row() {
        assert_eq!(fold(&Vec::new()), Ok(None));
        let history = [
            created(),
            event(2, 1, B::MessageReceived { body: "It smokes".into(), via: None }),
            event(3, 2, B::ReplySent { body: "On it".into() }),
            event(4, 2, B::StatusChanged { from: S::New, to: S::Open }),
            event(5, 3, B::StatusChanged { from: S::Open, to: S::Solved }),
            event(6, 4, B::StatusChanged { from: S::Solved, to: S::Open }),
            event(7, 5, B::StatusChanged { from: S::Open, to: S::Solved }),
            event(8, 6, B::StatusChanged { from: S::Solved, to: S::Closed }),
        ];
        let expected = Case {
            status: S::Closed,
            first_response_at: Some(at(2)),
            agent_replies: 1,
            solved_at: Some(at(5)),
            closed_at: Some(at(6)),
            reopen_count: 1,
            updated_at: at(6),
            version: 8,
            last_event_id: EventId::new(8),
            ..new_case()
        };
        assert_eq!(fold(&history), Ok(Some(expected)));
    }
}
