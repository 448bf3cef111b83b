//! The inbox: the agent's queues with their counts, and one queue's cases.
//! The whole region re-renders when the live feed says a case changed, so
//! counts and rows are never stale and always agree (they are read from
//! one snapshot each).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use frontdesk_core::domain::{CaseId, CaseStatus, CustomerId};
use frontdesk_core::runtime::{CaseQuery, SlaFilter};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{ConsoleError, urlencode};
use super::format;
use super::page::{self, Shell};
use super::session::SignedIn;
use crate::http::AppState;

/// Cases per page.
pub const PAGE: usize = 50;

/// A queue an agent works from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// Unsolved cases assigned to me.
    Mine,
    /// Unsolved cases nobody has.
    Unassigned,
    /// Every unsolved case.
    Unsolved,
    /// Cases whose SLA deadline passed.
    Breached,
    /// Cases past their SLA warning.
    AtRisk,
    /// A team's unsolved cases.
    Team(String),
    /// Cases in one status.
    Status(CaseStatus),
    /// Cases with a tag.
    Tag(String),
    /// An agent's unsolved cases.
    Assignee(String),
}

impl View {
    /// The view named in a query string (`mine`, `team:billing`, ...).
    pub fn parse(text: &str) -> Option<View> {
        Some(match text {
            "mine" => View::Mine,
            "unassigned" => View::Unassigned,
            "unsolved" => View::Unsolved,
            "breached" => View::Breached,
            "at_risk" => View::AtRisk,
            _ => match text.split_once(':')? {
                ("team", t) if !t.is_empty() => View::Team(t.to_owned()),
                ("status", s) => View::Status(s.parse().ok()?),
                ("tag", t) if !t.is_empty() => View::Tag(t.to_owned()),
                ("agent", a) if !a.is_empty() => View::Assignee(a.to_owned()),
                _ => return None,
            },
        })
    }

    /// The name [`View::parse`] reads.
    pub fn key(&self) -> String {
        match self {
            View::Mine => "mine".into(),
            View::Unassigned => "unassigned".into(),
            View::Unsolved => "unsolved".into(),
            View::Breached => "breached".into(),
            View::AtRisk => "at_risk".into(),
            View::Team(t) => format!("team:{t}"),
            View::Status(s) => format!("status:{s}"),
            View::Tag(t) => format!("tag:{t}"),
            View::Assignee(a) => format!("agent:{a}"),
        }
    }

    /// The heading.
    pub fn title(&self) -> String {
        match self {
            View::Mine => "My unsolved cases".into(),
            View::Unassigned => "Unassigned".into(),
            View::Unsolved => "All unsolved".into(),
            View::Breached => "SLA breached".into(),
            View::AtRisk => "SLA at risk".into(),
            View::Team(t) => format!("Team {t}"),
            View::Status(s) => format!("Status: {}", format::status_label(*s)),
            View::Tag(t) => format!("Tagged {t}"),
            View::Assignee(a) => format!("{a}'s unsolved cases"),
        }
    }

    /// The listing this view shows to agent `me`.
    pub fn query(&self, me: &str) -> CaseQuery {
        let queue = CaseQuery { unsolved: true, limit: PAGE, ..CaseQuery::default() };
        match self {
            View::Mine => CaseQuery { assignee: Some(me.to_owned()), ..queue },
            View::Unassigned => CaseQuery { unassigned: true, ..queue },
            View::Unsolved => queue,
            View::Breached => CaseQuery { sla: Some(SlaFilter::Breached), limit: PAGE, ..CaseQuery::default() },
            View::AtRisk => CaseQuery { sla: Some(SlaFilter::AtRisk), limit: PAGE, ..CaseQuery::default() },
            View::Team(t) => CaseQuery { team: Some(t.clone()), ..queue },
            View::Status(s) => CaseQuery { status: Some(*s), limit: PAGE, ..CaseQuery::default() },
            View::Tag(t) => CaseQuery { tag: Some(t.clone()), ..queue },
            View::Assignee(a) => CaseQuery { assignee: Some(a.clone()), ..queue },
        }
    }
}

/// The queues in the sidebar of agent `me`, in teams `teams`.
fn sidebar_views(teams: &[String]) -> Vec<(&'static str, Vec<View>)> {
    vec![
        ("Queues", vec![View::Mine, View::Unassigned, View::Unsolved]),
        ("SLA", vec![View::Breached, View::AtRisk]),
        ("Teams", teams.iter().map(|t| View::Team(t.clone())).collect()),
        (
            "Status",
            [CaseStatus::New, CaseStatus::Open, CaseStatus::Pending, CaseStatus::OnHold, CaseStatus::Solved]
                .into_iter()
                .map(View::Status)
                .collect(),
        ),
    ]
}

/// The inbox's query string.
#[derive(Debug, Default, Deserialize)]
pub struct InboxQuery {
    view: Option<String>,
    /// Continue below this case id.
    before: Option<u64>,
}

impl InboxQuery {
    fn view(&self) -> Result<View, ConsoleError> {
        match self.view.as_deref() {
            None | Some("") => Ok(View::Mine),
            Some(v) => View::parse(v).ok_or_else(|| ConsoleError::NotFound(format!("no view named {v:?}"))),
        }
    }
}

/// `GET /`: the inbox page.
pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(query): Query<InboxQuery>,
) -> Result<Response, ConsoleError> {
    let view = query.view()?;
    let region = region(&state, &me, &view, query.before).await?;
    Ok(page::render(&Shell { title: &view.title(), me: Some(&me), live: true, case: None }, region))
}

/// `GET /console/inbox`: the inbox region alone, for live refreshes.
pub async fn fragment(
    State(state): State<AppState>,
    me: SignedIn,
    Query(query): Query<InboxQuery>,
) -> Result<Response, ConsoleError> {
    let view = query.view()?;
    Ok(page::page_response(region(&state, &me, &view, query.before).await?))
}

/// The sidebar and the list, re-rendered together.
async fn region(state: &AppState, me: &SignedIn, view: &View, before: Option<u64>) -> Result<Markup, ConsoleError> {
    let groups = sidebar_views(&me.agent.teams);
    let mut queries: Vec<CaseQuery> =
        groups.iter().flat_map(|(_, views)| views.iter().map(|v| v.query(&me.agent.name))).collect();
    queries.push(view.query(&me.agent.name));
    let counts = state.frontdesk().count_cases(queries).await?;
    let listing = CaseQuery { before: before.map(CaseId::new), ..view.query(&me.agent.name) };
    let page = state.frontdesk().cases(listing).await?;
    let names = customer_names(state, page.items.iter().map(|(c, _)| c.customer_id)).await?;
    let refresh = format!(
        "/console/inbox?view={}{}",
        urlencode(&view.key()),
        before.map_or(String::new(), |b| format!("&before={b}"))
    );
    let mut count = counts.iter();
    Ok(html! {
        main #inbox .layout hx-get=(refresh) hx-trigger="fd:changed from:body" hx-swap="outerHTML" {
            aside.queues aria-label="Queues" {
                @for (heading, views) in &groups {
                    @if !views.is_empty() {
                        h2 { (heading) }
                        ul {
                            @for v in views {
                                @let n = count.next().copied().unwrap_or(0);
                                li {
                                    a.current[v == view] href={ "/?view=" (urlencode(&v.key())) }
                                        aria-current=[(v == view).then_some("page")] {
                                        span { (v.title()) }
                                        span.count.hot[n > 0 && matches!(v, View::Breached)] data-count=(v.key()) { (n) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section #main .content {
                div.toolbar {
                    h1 { (view.title()) }
                    span.count aria-label="cases in this view" { "(" (count.next().copied().unwrap_or(0)) ")" }
                    span.spacer {}
                    span.hint { "Press " kbd { "?" } " for shortcuts" }
                }
                @if page.items.is_empty() {
                    div.empty { "No cases here." }
                } @else {
                    table.cases {
                        thead { tr {
                            th scope="col" { "#" } th scope="col" { "Subject" } th scope="col" { "Customer" }
                            th scope="col" { "Status" } th scope="col" { "Priority" } th scope="col" { "Assignee" }
                            th scope="col" { "SLA" } th scope="col" { "Updated" }
                        } }
                        tbody {
                            @for (case, sla) in &page.items {
                                tr data-href={ "/cases/" (case.id) } data-id=(case.id) {
                                    td { (case.id) }
                                    td.subject { a href={ "/cases/" (case.id) "?view=" (urlencode(&view.key())) } { (case.subject) } }
                                    td { (names.get(&case.customer_id).map_or("", String::as_str)) }
                                    td { (format::status(case.status)) }
                                    td { (format::priority(case.priority)) }
                                    td { (case.assignee.as_deref().unwrap_or("—")) }
                                    td { @if let Some(state) = format::most_urgent(sla) { (format::sla_badge(state)) } }
                                    td { (format::time(case.updated_at)) }
                                }
                            }
                        }
                    }
                    @if let Some(next) = page.next {
                        div.pager {
                            a.button href={ "/?view=" (urlencode(&view.key())) "&before=" (next) } { "Older cases" }
                        }
                    }
                }
            }
        }
    })
}

/// The names of `customers`, for listing rows.
pub async fn customer_names(
    state: &AppState,
    customers: impl Iterator<Item = CustomerId>,
) -> Result<HashMap<CustomerId, String>, ConsoleError> {
    let mut names = HashMap::new();
    for id in customers {
        if names.contains_key(&id) {
            continue;
        }
        let name = match state.frontdesk().customer(id).await? {
            Some(c) => format::customer_name(&c),
            None => String::new(),
        };
        names.insert(id, name);
    }
    Ok(names)
}

/// The query of `GET /next`.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    view: Option<String>,
    after: Option<u64>,
}

/// `GET /next`: the case after `after` in the view (the oldest first when
/// there is none after it), for the "next case" key.
pub async fn next(
    State(state): State<AppState>,
    me: SignedIn,
    Query(query): Query<NextQuery>,
) -> Result<Response, ConsoleError> {
    let view = InboxQuery { view: query.view, before: None }.view()?;
    let key = urlencode(&view.key());
    let listing = CaseQuery { before: query.after.map(CaseId::new), limit: 1, ..view.query(&me.agent.name) };
    let mut page = state.frontdesk().cases(listing).await?;
    if page.items.is_empty() && query.after.is_some() {
        page = state.frontdesk().cases(CaseQuery { limit: 1, ..view.query(&me.agent.name) }).await?;
    }
    Ok(match page.items.first() {
        Some((case, _)) => Redirect::to(&format!("/cases/{}?view={key}", case.id)).into_response(),
        None => Redirect::to(&format!("/?view={key}")).into_response(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_round_trip_through_their_keys() {
        for view in [
            View::Mine,
            View::Unassigned,
            View::Unsolved,
            View::Breached,
            View::AtRisk,
            View::Team("billing".into()),
            View::Status(CaseStatus::OnHold),
            View::Tag("vip".into()),
            View::Assignee("sam".into()),
        ] {
            assert_eq!(View::parse(&view.key()), Some(view));
        }
        assert_eq!(View::parse("status:nonsense"), None);
        assert_eq!(View::parse("team:"), None);
    }
}
