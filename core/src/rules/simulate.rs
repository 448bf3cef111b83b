//! Dry runs: replays the recorded events of recent cases through a candidate
//! rule set, on a read snapshot, writing nothing, and reports per rule file
//! how many cases it would have changed and how.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::actions::Action;
use super::hooks::hook_args_for;
use super::host::RulesHost;
use crate::domain::projection;
use crate::domain::{Case, CaseId};
use crate::store::{CaseQuery, Store, StoreError};

/// Most example case ids listed per rule.
const EXAMPLES: usize = 5;

/// What a candidate rule set would have done.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SimulationReport {
    /// Cases created at or after this were replayed.
    pub since: Timestamp,
    /// How many cases were replayed.
    pub cases_examined: u64,
    /// Whether the replay stopped at its case limit.
    pub truncated: bool,
    /// Per rule file.
    pub rules: BTreeMap<String, RuleReport>,
}

/// One rule file's would-be effect.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RuleReport {
    /// Cases it would have changed.
    pub cases_changed: u64,
    /// Changes by kind: `priority`, `tags`, `team`, `assignee`, `fields`,
    /// `escalations`, `replies`, `notes`, `notifications`, `outreach`.
    pub changes: BTreeMap<&'static str, u64>,
    /// Hook calls that failed.
    pub errors: u64,
    /// A few of the cases it would have changed.
    pub example_case_ids: Vec<CaseId>,
}

/// What an action would change on `case`, if anything.
fn change_kind(action: &Action, case: &Case) -> Option<&'static str> {
    match action {
        Action::SetPriority(p) => (p.parse().ok() != Some(case.priority)).then_some("priority"),
        Action::AddTag(t) => (!case.tags.contains(t)).then_some("tags"),
        Action::RemoveTag(t) => case.tags.contains(t).then_some("tags"),
        Action::RouteTo(team) => (case.team.as_ref() != Some(team)).then_some("team"),
        Action::Assign(agent) => (case.assignee.as_ref() != Some(agent)).then_some("assignee"),
        Action::AssignLeastLoaded(agents) => {
            case.assignee.as_ref().is_none_or(|a| !agents.contains(a)).then_some("assignee")
        }
        Action::SetField { key, value } => (case.fields.get(key) != Some(value)).then_some("fields"),
        Action::Escalate { .. } => Some("escalations"),
        Action::Reply { .. } | Action::FollowUp { .. } => Some("replies"),
        Action::Note(_) => Some("notes"),
        Action::Notify { .. } => Some("notifications"),
        Action::OpenCase { .. } => Some("outreach"),
        Action::Failed { .. } => None,
    }
}

/// Replays up to `max_cases` cases created since `since` through `host`'s
/// rules.
///
/// # Errors
/// Storage failures.
pub fn simulate(
    host: &RulesHost,
    store: &dyn Store,
    since: Timestamp,
    now: Timestamp,
    max_cases: usize,
) -> Result<SimulationReport, StoreError> {
    let set = host.current();
    // One snapshot of the teams for the whole dry run.
    let _teams = super::query::TeamScope::enter(super::query::Teams::snapshot(store)?);
    let mut report = SimulationReport { since, cases_examined: 0, truncated: false, rules: BTreeMap::new() };
    let mut before = None;
    'pages: loop {
        let page = store.list_cases(&CaseQuery { before, limit: 200, ..CaseQuery::default() })?;
        for case in &page.items {
            if case.created_at < since {
                break 'pages;
            }
            if report.cases_examined as usize == max_cases {
                report.truncated = true;
                break 'pages;
            }
            report.cases_examined += 1;
            replay(host, &set, store, case.id, now, &mut report)?;
        }
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    Ok(report)
}

fn replay(
    host: &RulesHost,
    set: &super::host::RuleSet,
    store: &dyn Store,
    id: CaseId,
    now: Timestamp,
    report: &mut SimulationReport,
) -> Result<(), StoreError> {
    let events = store.case_events(id, None, 10_000)?.items;
    let mut state: Option<Case> = None;
    let mut changed: BTreeMap<String, bool> = BTreeMap::new();
    for event in &events {
        let Ok(next) = projection::apply(state.take(), event) else { return Ok(()) };
        let customer = store.customer(next.customer_id)?;
        state = Some(next);
        let case = state.as_ref().expect("just set");
        let Some((hook, args)) = hook_args_for(event, case, customer.as_ref(), now) else { continue };
        for file in set.files_with(hook) {
            let entry = report.rules.entry(file.name.clone()).or_default();
            for rule in host.call_file(file, hook, args.clone(), None, now) {
                if matches!(rule.action, Action::Failed { .. }) {
                    entry.errors += 1;
                } else if let Some(kind) = change_kind(&rule.action, case) {
                    *entry.changes.entry(kind).or_default() += 1;
                    changed.insert(file.name.clone(), true);
                }
            }
        }
    }
    for file in changed.into_keys() {
        let entry = report.rules.entry(file).or_default();
        entry.cases_changed += 1;
        if entry.example_case_ids.len() < EXAMPLES {
            entry.example_case_ids.push(id);
        }
    }
    Ok(())
}
