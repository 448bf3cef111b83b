//! Property test: any sequence of commands keeps the case invariants. The
//! stored row equals the fold of the case's events, every status change is
//! one the lifecycle allows from the status the case was in, every event has
//! an actor, a refused command changes nothing, no event triggers a hook its
//! command was not expected to reach, and a case's SLA timers and its place
//! in the breached and at-risk listings are what its stored SLA state says.

use std::collections::BTreeSet;

use frontdesk_core::domain::lifecycle::{StatusEffect, Trigger};
use frontdesk_core::store::{CaseQuery, RedbStore, SlaFilter, Store, TimerKind};
use frontdesk_core::write::command::{
    CasePatch, Command, CommandError, CustomerInput, CustomerRef, MessageKind, NewCase, Outcome,
};
use frontdesk_core::write::{ExecContext, execute::execute_alone};
use frontdesk_core::{Actor, CaseId, CaseStatus, EventBody, Identity, Priority, projection};
use frontdesk_core::{rules::hooks::hook_for, write::plan::reachable_hooks};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Create { customer: u8 },
    Message { case: u8, kind: MessageKind },
    SetStatus { case: u8, status: CaseStatus },
    SetPriority { case: u8, priority: Priority },
    Tag { case: u8, add: bool, tag: u8 },
    Csat { case: u8, score: u8 },
    Wait { hours: u8 },
    AutoClose { case: u8 },
    SlaCheck { case: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![Just(MessageKind::Reply), Just(MessageKind::Note), Just(MessageKind::Customer)];
    let status = proptest::sample::select(CaseStatus::ALL.to_vec());
    let priority = proptest::sample::select(Priority::ALL.to_vec());
    prop_oneof![
        2 => (0..3u8).prop_map(|customer| Op::Create { customer }),
        3 => (0..8u8, kind).prop_map(|(case, kind)| Op::Message { case, kind }),
        3 => (0..8u8, status).prop_map(|(case, status)| Op::SetStatus { case, status }),
        1 => (0..8u8, priority).prop_map(|(case, priority)| Op::SetPriority { case, priority }),
        1 => (0..8u8, any::<bool>(), 0..3u8).prop_map(|(case, add, tag)| Op::Tag { case, add, tag }),
        1 => (0..8u8, 0..7u8).prop_map(|(case, score)| Op::Csat { case, score }),
        1 => (0..120u8).prop_map(|hours| Op::Wait { hours }),
        1 => (0..8u8).prop_map(|case| Op::AutoClose { case }),
        1 => (0..8u8).prop_map(|case| Op::SlaCheck { case }),
    ]
}

fn run(store: &RedbStore, command: &Command, now: Timestamp) -> Result<Outcome, CommandError> {
    let book = policies();
    let ctx = ExecContext {
        now,
        auto_close_after: SignedDuration::from_hours(96),
        sla: &book,
        outreach_window: SignedDuration::from_hours(24 * 7),
        plugins: frontdesk_core::write::context::PluginRoutes::NONE,
    };
    execute_alone(store, command, &ctx)
}

/// A policy measuring every metric, so the SLA tracker follows every case.
fn policies() -> frontdesk_core::sla::SlaBook {
    let config: frontdesk_core::sla::SlaConfig = serde_json::from_value(serde_json::json!({"policies": [{
        "name": "all", "warning_at": 0.5,
        "targets": {"normal": {"first_response": "1h", "next_response": "2h", "resolution": "1d"},
                    "urgent": {"first_response": "10m", "resolution": "4h"}}
    }]}))
    .unwrap();
    frontdesk_core::sla::SlaBook::new(&Default::default(), &config).unwrap()
}

/// Whether some trigger moves a case from `from` to `to`.
fn legal(from: CaseStatus, to: CaseStatus) -> bool {
    [Trigger::SetStatus(to), Trigger::AgentReply, Trigger::CustomerMessage, Trigger::AutoClose]
        .into_iter()
        .any(|t| from.apply(t) == Ok(StatusEffect::MoveTo(to)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_commands_keep_the_case_invariants(ops in proptest::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path().join("db.redb")).unwrap();
        let mut now: Timestamp = "2026-03-02T09:00:00Z".parse().unwrap();
        let mut cases: Vec<CaseId> = Vec::new();
        let pick = |cases: &[CaseId], i: u8| cases.get(usize::from(i) % cases.len().max(1)).copied();
        for op in ops {
            let agent = Actor::Agent("prop".into());
            let command = match op {
                Op::Create { customer } => Command::CreateCase(NewCase {
                    subject: "s".into(),
                    customer: CustomerRef::Match(CustomerInput {
                        identities: vec![Identity::email(&format!("c{customer}@example.com")).unwrap()],
                        ..CustomerInput::default()
                    }),
                    channel: "api".into(),
                    priority: Priority::Normal,
                    message: Some("m".into()),
                    tags: BTreeSet::new(),
                    fields: Default::default(),
                    team: None,
                    assignee: None,
                    actor: agent,
                    idempotency: None,
                }),
                Op::Wait { hours } => {
                    now = now.checked_add(SignedDuration::from_hours(i64::from(hours))).unwrap();
                    continue;
                }
                other => {
                    let Some(case_id) = pick(&cases, match other {
                        Op::Message { case, .. } | Op::SetStatus { case, .. } | Op::SetPriority { case, .. }
                        | Op::Tag { case, .. } | Op::Csat { case, .. } | Op::AutoClose { case } | Op::SlaCheck { case } => case,
                        Op::Create { .. } | Op::Wait { .. } => unreachable!(),
                    }) else { continue };
                    match other {
                        Op::Message { kind, .. } => Command::AddMessage { idempotency: None, case_id, kind, body: "b".into(), actor: agent },
                        Op::SetStatus { status, .. } => Command::UpdateCase {
                            case_id, patch: CasePatch { status: Some(status), ..CasePatch::default() }, actor: agent,
                        },
                        Op::SetPriority { priority, .. } => Command::UpdateCase {
                            case_id, patch: CasePatch { priority: Some(priority), ..CasePatch::default() }, actor: agent,
                        },
                        Op::Tag { add, tag, .. } => {
                            let tags = vec![format!("t{tag}")];
                            let patch = if add {
                                CasePatch { add_tags: tags, ..CasePatch::default() }
                            } else {
                                CasePatch { remove_tags: tags, ..CasePatch::default() }
                            };
                            Command::UpdateCase { case_id, patch, actor: agent }
                        }
                        Op::Csat { score, .. } => Command::RecordCsat { case_id, score, comment: None },
                        Op::AutoClose { .. } => Command::AutoClose { case_id },
                        Op::SlaCheck { .. } => Command::SlaCheck { case_id, at: now },
                        Op::Create { .. } | Op::Wait { .. } => unreachable!(),
                    }
                }
            };
            let target = command.case_id();
            let before = target.map(|id| store.case(id).unwrap());
            match run(&store, &command, now) {
                Ok(Outcome::Case { case, created, events, .. }) => {
                    // The rules skip previewing a command whose events cannot reach a hook.
                    for hook in events.iter().filter_map(hook_for) {
                        prop_assert!(reachable_hooks(&command).contains(&hook), "{:?} is not reachable from {:?}", hook, command);
                    }
                    if created {
                        cases.push(case.id);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    prop_assert!(!matches!(e, CommandError::Store(_)), "storage failed: {e}");
                    let after = target.map(|id| store.case(id).unwrap());
                    prop_assert_eq!(before, after, "a refused command changed the case");
                }
            }
        }
        let timers = store.due_timers(Timestamp::MAX, 100_000).unwrap();
        let listed = |filter| -> BTreeSet<CaseId> {
            let query = CaseQuery { sla: Some(filter), limit: 1_000, ..CaseQuery::default() };
            store.list_cases(&query).unwrap().items.into_iter().map(|c| c.id).collect()
        };
        let (breached, at_risk) = (listed(SlaFilter::Breached), listed(SlaFilter::AtRisk));
        for id in &cases {
            let row = store.case(*id).unwrap().unwrap();
            let sla = store.case_sla(*id).unwrap().unwrap_or_default();
            let expected: BTreeSet<_> =
                sla.timers().into_iter().filter_map(|(m, at)| at.map(|at| (TimerKind::Sla(m).as_str(), at))).collect();
            let stored: BTreeSet<_> = timers
                .iter()
                .filter(|t| t.case_id == *id && matches!(t.kind, TimerKind::Sla(_)))
                .map(|t| (t.kind.as_str(), t.due_at))
                .collect();
            prop_assert_eq!(stored, expected, "the SLA timers of case {} are not its state's", id);
            prop_assert_eq!(breached.contains(id), sla.is_breached(row.status), "breached listing of case {}", id);
            prop_assert_eq!(at_risk.contains(id), sla.is_at_risk(row.status), "at-risk listing of case {}", id);
            let events = store.case_events(*id, None, 10_000).unwrap().items;
            let folded = projection::fold(&events).unwrap();
            prop_assert_eq!(folded.as_ref(), Some(&row));
            prop_assert_eq!(row.version, events.len() as u64);
            let mut status = CaseStatus::New;
            for event in &events {
                prop_assert!(!event.actor.to_string().is_empty());
                if let EventBody::StatusChanged { from, to } = event.body {
                    prop_assert_eq!(from, status, "status change from a status the case was not in");
                    prop_assert!(legal(from, to), "illegal transition {} -> {}", from, to);
                    status = to;
                }
            }
            if let Some(follow_up_of) = row.linked_case_ids.first() {
                prop_assert_eq!(store.case(*follow_up_of).unwrap().unwrap().status, CaseStatus::Closed);
            }
        }
    }
}
