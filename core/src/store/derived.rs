//! Rows derived from a case that every backend keeps in step with it: the
//! index keys its listings are served from, its slot in the backlog, and
//! whose open load it counts in. Kept here, not in an adapter, so that two
//! backends list, count and route the same way.

use std::collections::BTreeSet;

use super::CaseQuery;
use crate::domain::{Case, CaseStatus};

/// The index keys a case is listed under (`status:open`, `tag:vip`, ...).
/// An unsolved case is also in the agents' queues (`unsolved`,
/// `unsolved:assignee:sam` or `unsolved:unassigned`, `unsolved:team:billing`),
/// so the inbox lists and counts each queue from one key.
pub fn index_keys(case: &Case) -> BTreeSet<String> {
    let mut keys = BTreeSet::from([format!("status:{}", case.status), format!("priority:{}", case.priority)]);
    keys.extend(case.team.iter().map(|t| format!("team:{t}")));
    keys.extend(case.assignee.iter().map(|a| format!("assignee:{a}")));
    keys.extend(case.tags.iter().map(|t| format!("tag:{t}")));
    if !case.status.is_done() {
        keys.insert(UNSOLVED.to_owned());
        keys.insert(match &case.assignee {
            Some(a) => format!("unsolved:assignee:{a}"),
            None => "unsolved:unassigned".to_owned(),
        });
        keys.extend(case.team.iter().map(|t| format!("unsolved:team:{t}")));
    }
    keys
}

/// The key of every unsolved case.
const UNSOLVED: &str = "unsolved";

/// The index key that drives a listing without SLA or customer filter: the
/// most selective filter given, if any has an index.
pub fn listing_key(query: &CaseQuery) -> Option<String> {
    if query.unsolved {
        return Some(if let Some(a) = &query.assignee {
            format!("unsolved:assignee:{a}")
        } else if query.unassigned {
            "unsolved:unassigned".to_owned()
        } else if let Some(t) = &query.tag {
            format!("tag:{t}")
        } else if let Some(t) = &query.team {
            format!("unsolved:team:{t}")
        } else {
            UNSOLVED.to_owned()
        });
    }
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

/// The one index key whose members are exactly the cases `query` matches,
/// when there is one: such a query is counted from the key's counter instead
/// of a scan.
pub fn counted_key(query: &CaseQuery) -> Option<String> {
    let filters = [
        query.status.is_some(),
        query.priority.is_some(),
        query.team.is_some(),
        query.assignee.is_some(),
        query.tag.is_some(),
        query.customer.is_some(),
        query.sla.is_some(),
        query.unassigned,
    ]
    .into_iter()
    .filter(|given| *given)
    .count();
    let queue = query.unsolved && query.tag.is_none() && query.sla.is_none() && query.customer.is_none();
    match (query.unsolved, filters) {
        (true, 0) => Some(UNSOLVED.to_owned()),
        (true, 1) if queue && query.status.is_none() && query.priority.is_none() => listing_key(query),
        (false, 1) if query.customer.is_none() && !query.unassigned => match query.sla {
            Some(sla) => Some(sla.index_key().to_owned()),
            None => listing_key(query),
        },
        _ => None,
    }
}

/// Where an unsolved case counts in the backlog: creation day (days since
/// the epoch), status, and whether it was reopened. Solved and closed cases
/// are not backlog.
pub fn backlog_slot(case: &Case) -> Option<(i64, CaseStatus, bool)> {
    match case.status {
        _ if !case.status.is_done() => {
            Some((case.created_at.as_second().div_euclid(86_400), case.status, case.reopen_count > 0))
        }
        _ => None,
    }
}

/// Whose open load an unsolved, assigned case counts in.
pub fn load_slot(case: &Case) -> Option<&str> {
    backlog_slot(case).and(case.assignee.as_deref())
}
