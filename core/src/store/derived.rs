//! Rows derived from a case that every backend keeps in step with it: the
//! index keys its listings are served from, its slot in the backlog, and
//! whose open load it counts in. Kept here, not in an adapter, so that two
//! backends list, count and route the same way.

use std::collections::BTreeSet;

use super::CaseQuery;
use crate::domain::{Case, CaseStatus};

/// The index keys a case is listed under (`status:open`, `tag:vip`, ...).
pub fn index_keys(case: &Case) -> BTreeSet<String> {
    let mut keys = BTreeSet::from([format!("status:{}", case.status), format!("priority:{}", case.priority)]);
    keys.extend(case.team.iter().map(|t| format!("team:{t}")));
    keys.extend(case.assignee.iter().map(|a| format!("assignee:{a}")));
    keys.extend(case.tags.iter().map(|t| format!("tag:{t}")));
    keys
}

/// The index key that drives a listing without SLA or customer filter: the
/// most selective filter given, if any has an index.
pub fn listing_key(query: &CaseQuery) -> Option<String> {
    Some(if let Some(a) = &query.assignee {
        format!("assignee:{a}")
    } else if let Some(t) = &query.tag {
        format!("tag:{t}")
    } else if let Some(t) = &query.team {
        format!("team:{t}")
    } else if let Some(s) = query.status {
        format!("status:{s}")
    } else if let Some(p) = query.priority {
        format!("priority:{p}")
    } else {
        return None;
    })
}

/// Where an unsolved case counts in the backlog: creation day (days since
/// the epoch), status, and whether it was reopened. Solved and closed cases
/// are not backlog.
pub fn backlog_slot(case: &Case) -> Option<(i64, CaseStatus, bool)> {
    match case.status {
        CaseStatus::New | CaseStatus::Open | CaseStatus::Pending | CaseStatus::OnHold => {
            Some((case.created_at.as_second().div_euclid(86_400), case.status, case.reopen_count > 0))
        }
        CaseStatus::Solved | CaseStatus::Closed => None,
    }
}

/// Whose open load an unsolved, assigned case counts in.
pub fn load_slot(case: &Case) -> Option<&str> {
    backlog_slot(case).and(case.assignee.as_deref())
}
