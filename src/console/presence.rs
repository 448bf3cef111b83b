//! Who is on a case right now, and who is typing: the collision warning.
//! Pages report every few seconds; an agent not heard from in
//! [`STALE_AFTER`] has left. Kept in memory on this node (a multi-node
//! setup shares it once the live feed crosses nodes).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::error::ConsoleError;
use super::session::SignedIn;
use crate::http::AppState;

/// An agent who has not reported for this long has left the case.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

/// What an agent is doing on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Doing {
    /// Has the case open.
    Viewing,
    /// Is writing in the composer.
    Typing,
    /// Closed the page.
    Left,
}

/// One agent on a case, as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Here {
    /// The agent.
    pub name: String,
    /// Whether they are typing.
    pub typing: bool,
}

/// Everyone on one case, sent to the pages of that case.
#[derive(Debug, Clone, Serialize)]
pub struct OnCase {
    /// The case.
    pub case: u64,
    /// Who is on it.
    pub agents: Vec<Here>,
}

/// On one case: agent -> (typing, last heard from).
type OnCaseNow = HashMap<String, (bool, Instant)>;

/// The agents on each case.
#[derive(Debug)]
pub struct Presence {
    cases: Mutex<HashMap<u64, OnCaseNow>>,
    updates: broadcast::Sender<OnCase>,
}

impl Default for Presence {
    fn default() -> Self {
        Self { cases: Mutex::default(), updates: broadcast::channel(256).0 }
    }
}

impl Presence {
    /// Records what `agent` is doing on `case` and tells the case's pages.
    pub fn report(&self, case: u64, agent: &str, doing: Doing) {
        let now = Instant::now();
        let agents = {
            let mut cases = self.cases.lock().unwrap_or_else(|e| e.into_inner());
            let on_case = cases.entry(case).or_default();
            match doing {
                Doing::Left => {
                    on_case.remove(agent);
                }
                Doing::Viewing | Doing::Typing => {
                    on_case.insert(agent.to_owned(), (doing == Doing::Typing, now));
                }
            }
            on_case.retain(|_, (_, seen)| now.duration_since(*seen) < STALE_AFTER);
            let mut agents: Vec<Here> =
                on_case.iter().map(|(name, (typing, _))| Here { name: name.clone(), typing: *typing }).collect();
            agents.sort_by(|a, b| a.name.cmp(&b.name));
            if on_case.is_empty() {
                cases.remove(&case);
            }
            agents
        };
        // No page listening is fine.
        let _ = self.updates.send(OnCase { case, agents });
    }

    /// Who is on `case` now, for a page that has just connected.
    pub fn on_case(&self, case: u64) -> OnCase {
        let now = Instant::now();
        let cases = self.cases.lock().unwrap_or_else(|e| e.into_inner());
        let mut agents: Vec<Here> = cases
            .get(&case)
            .into_iter()
            .flatten()
            .filter(|(_, (_, seen))| now.duration_since(*seen) < STALE_AFTER)
            .map(|(name, (typing, _))| Here { name: name.clone(), typing: *typing })
            .collect();
        agents.sort_by(|a, b| a.name.cmp(&b.name));
        OnCase { case, agents }
    }

    /// Updates for every case, for a page's live feed to filter.
    pub fn subscribe(&self) -> broadcast::Receiver<OnCase> {
        self.updates.subscribe()
    }
}

/// What a page reports.
#[derive(Debug, Deserialize)]
pub struct PresenceForm {
    state: Doing,
}

/// `POST /console/cases/{id}/presence`.
pub async fn report(
    State(state): State<AppState>,
    me: SignedIn,
    Path(case): Path<u64>,
    Form(form): Form<PresenceForm>,
) -> Result<StatusCode, ConsoleError> {
    state.console().presence.report(case, &me.agent.name, form.state);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_arrive_type_and_leave() {
        let presence = Presence::default();
        let mut updates = presence.subscribe();
        presence.report(4, "sam", Doing::Viewing);
        presence.report(4, "sue", Doing::Typing);
        updates.try_recv().unwrap();
        let both = updates.try_recv().unwrap();
        assert_eq!(
            both.agents,
            [Here { name: "sam".into(), typing: false }, Here { name: "sue".into(), typing: true }]
        );
        presence.report(4, "sue", Doing::Left);
        assert_eq!(updates.try_recv().unwrap().agents, [Here { name: "sam".into(), typing: false }]);
    }
}
