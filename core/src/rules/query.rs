//! Read helpers scripts may call: `cases_waiting` and `team_members`. They
//! read the store that the current hook call was given, through a
//! per-thread handle: the cases for the duration of `on_tick`, the teams for
//! every hook (a rule plan, a tick, a dry run; fixtures give theirs).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;

use crate::domain::CaseStatus;
use crate::script_views::TicketView;
use crate::store::{CaseQuery, Store};

/// Most cases one `cases_waiting` call returns.
const MAX_RESULTS: usize = 100;

thread_local! {
    static STORE: RefCell<Option<(Arc<dyn Store>, Timestamp)>> = const { RefCell::new(None) };
}

/// Makes `store` readable by scripts on this thread until dropped.
pub(crate) struct QueryScope;

impl QueryScope {
    pub(crate) fn enter(store: Arc<dyn Store>, now: Timestamp) -> Self {
        STORE.with(|s| *s.borrow_mut() = Some((store, now)));
        QueryScope
    }
}

impl Drop for QueryScope {
    fn drop(&mut self) {
        STORE.with(|s| *s.borrow_mut() = None);
    }
}

/// `cases_waiting(status, older_than_seconds)`: up to 100 cases in `status`
/// whose last change is older than that, as tickets. Empty outside `on_tick`
/// or for an unknown status.
pub(crate) fn cases_waiting(status: &str, older_than_seconds: i64) -> rhai::Array {
    let Ok(status) = status.parse::<CaseStatus>() else { return rhai::Array::new() };
    STORE.with(|s| {
        let guard = s.borrow();
        let Some((store, now)) = guard.as_ref() else { return rhai::Array::new() };
        let Ok(cutoff) = now.checked_sub(jiff::SignedDuration::from_secs(older_than_seconds.max(0))) else {
            return rhai::Array::new();
        };
        // Oldest first, so the cases waiting longest are always among the results.
        let query = CaseQuery { status: Some(status), limit: 1000, oldest_first: true, ..CaseQuery::default() };
        match store.list_cases(&query) {
            Ok(page) => page
                .items
                .iter()
                .filter(|c| c.updated_at <= cutoff)
                .take(MAX_RESULTS)
                .map(|c| rhai::Dynamic::from(TicketView::new(c, *now)))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cases_waiting failed");
                rhai::Array::new()
            }
        }
    })
}

/// Where `team_members` reads teams from.
#[derive(Clone)]
pub(crate) enum Teams {
    /// The store's agents, read at each call.
    Store(Arc<dyn Store>),
    /// A fixed map, team -> members (a fixture, a dry run's snapshot).
    Fixed(Arc<BTreeMap<String, Vec<String>>>),
}

impl Teams {
    /// Team -> its active members, from the agents in `store`.
    pub(crate) fn snapshot(store: &dyn Store) -> Result<Self, crate::store::StoreError> {
        let mut teams: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for agent in store.agents()?.into_iter().filter(|a| a.active) {
            for team in &agent.teams {
                teams.entry(team.clone()).or_default().push(agent.name.clone());
            }
        }
        Ok(Teams::Fixed(Arc::new(teams)))
    }
}

thread_local! {
    static TEAMS: RefCell<Option<Teams>> = const { RefCell::new(None) };
}

/// Makes `teams` what `team_members` reads on this thread until dropped;
/// the scope it replaced comes back then.
pub(crate) struct TeamScope(Option<Teams>);

impl TeamScope {
    pub(crate) fn enter(teams: Teams) -> Self {
        TeamScope(TEAMS.with(|t| t.borrow_mut().replace(teams)))
    }
}

impl Drop for TeamScope {
    fn drop(&mut self) {
        let previous = self.0.take();
        TEAMS.with(|t| *t.borrow_mut() = previous);
    }
}

/// `team_members(team)`: the names of the active agents in `team`, by
/// name; empty for a team nobody is in, or where no teams are readable.
pub(crate) fn team_members(team: &str) -> rhai::Array {
    let teams = TEAMS.with(|t| t.borrow().clone());
    let names: Vec<String> = match teams {
        None => Vec::new(),
        Some(Teams::Fixed(map)) => map.get(team).cloned().unwrap_or_default(),
        Some(Teams::Store(store)) => match store.agents() {
            Ok(agents) => agents.into_iter().filter(|a| a.active && a.in_team(team)).map(|a| a.name).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "team_members failed");
                Vec::new()
            }
        },
    };
    names.into_iter().map(rhai::Dynamic::from).collect()
}
