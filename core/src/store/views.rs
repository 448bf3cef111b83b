//! Saved inbox views: a person's named filters and sort, private or shared
//! with everyone, and the listing each stands for. Who may change one is
//! decided on the write path (`write::views`), not here.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{CaseQuery, CaseSort, SlaFilter};
use crate::domain::{CaseStatus, ViewId};

/// The inbox filters a view keeps: the same ones [`CaseQuery`] has, minus
/// the customer (a view is a queue, not one customer's history).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewFilters {
    /// Only this status.
    #[serde(default)]
    pub status: Option<CaseStatus>,
    /// Only this team.
    #[serde(default)]
    pub team: Option<String>,
    /// Only this assignee; [`ViewFilters::ME`] is whoever looks, so one
    /// shared "my urgent cases" view serves every agent.
    #[serde(default)]
    pub assignee: Option<String>,
    /// Only cases nobody is assigned to (ignored when `assignee` is given).
    #[serde(default)]
    pub unassigned: bool,
    /// Only cases with this tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// Only cases whose SLA is breached or at risk.
    #[serde(default)]
    pub sla: Option<SlaFilter>,
    /// Only cases not yet solved or closed.
    #[serde(default)]
    pub unsolved: bool,
}

impl ViewFilters {
    /// The `assignee` that means the agent looking at the view. An agent
    /// named `me` is therefore not named in views; they use this.
    pub const ME: &'static str = "me";

    /// The listing these filters give agent `viewer`, `limit` cases a page.
    pub fn query(&self, viewer: &str, limit: usize) -> CaseQuery {
        let assignee = self.assignee.as_deref().map(|a| if a == Self::ME { viewer } else { a });
        CaseQuery {
            status: self.status,
            team: self.team.clone(),
            assignee: assignee.map(str::to_owned),
            unassigned: self.unassigned && self.assignee.is_none(),
            tag: self.tag.clone(),
            sla: self.sla,
            unsolved: self.unsolved,
            limit,
            ..CaseQuery::default()
        }
    }
}

/// A named view of the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedView {
    /// Its id.
    pub id: ViewId,
    /// What the sidebar calls it; unique among the views its owner sees.
    pub name: String,
    /// The agent (or token) who saved it.
    pub owner: String,
    /// Whether every agent sees it (only leads and admins share views).
    pub shared: bool,
    /// Which cases it shows.
    pub filters: ViewFilters,
    /// In which order.
    #[serde(default)]
    pub sort: CaseSort,
    /// When it was saved.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

impl SavedView {
    /// Whether `agent` sees this view: their own, or a shared one.
    pub fn visible_to(&self, agent: &str) -> bool {
        self.shared || self.owner == agent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn me_is_whoever_looks_and_a_named_assignee_wins_over_unassigned() {
        let filters = ViewFilters {
            assignee: Some(ViewFilters::ME.into()),
            unassigned: true,
            unsolved: true,
            ..ViewFilters::default()
        };
        let query = filters.query("sam", 10);
        assert_eq!((query.assignee.as_deref(), query.unassigned, query.unsolved), (Some("sam"), false, true));
        assert_eq!(filters.query("bea", 10).assignee.as_deref(), Some("bea"));
        let named = ViewFilters { assignee: Some("lee".into()), ..ViewFilters::default() };
        assert_eq!(named.query("sam", 5).assignee.as_deref(), Some("lee"));
        let unassigned = ViewFilters { unassigned: true, ..ViewFilters::default() };
        assert!(unassigned.query("sam", 5).unassigned);
    }

    #[test]
    fn a_view_is_seen_by_its_owner_or_by_everyone_when_shared() {
        let view = SavedView {
            id: ViewId::new(1),
            name: "Urgent".into(),
            owner: "sam".into(),
            shared: false,
            filters: ViewFilters::default(),
            sort: CaseSort::SlaDue,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        };
        assert!(view.visible_to("sam") && !view.visible_to("bea"));
        assert!(SavedView { shared: true, ..view }.visible_to("bea"));
    }
}
