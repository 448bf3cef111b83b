//! The inbox: the agent's queues and saved views with their counts, and one
//! queue's cases, newest first or by SLA due. The whole region re-renders
//! when the live feed says a case changed, so counts and rows are never
//! stale and always agree (they are read from one snapshot each). Saved
//! views themselves (resolving, saving, renaming) are [`super::views`].

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use frontdesk_core::domain::{Case, CaseId, CaseStatus, CustomerId};
use frontdesk_core::runtime::{CaseQuery, CaseSort, DuePosition, SlaFilter, ViewFilters};
use frontdesk_core::sla::CaseSla;
use jiff::Timestamp;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{ConsoleError, urlencode};
use super::format;
use super::page::{self, Shell};
use super::session::SignedIn;
use super::views::{self, Shown};
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

    /// The filters of this queue: what "Save current view" keeps of it.
    pub fn filters(&self) -> ViewFilters {
        let queue = ViewFilters { unsolved: true, ..ViewFilters::default() };
        match self {
            View::Mine => ViewFilters { assignee: Some(ViewFilters::ME.to_owned()), ..queue },
            View::Unassigned => ViewFilters { unassigned: true, ..queue },
            View::Unsolved => queue,
            View::Breached => ViewFilters { sla: Some(SlaFilter::Breached), ..ViewFilters::default() },
            View::AtRisk => ViewFilters { sla: Some(SlaFilter::AtRisk), ..ViewFilters::default() },
            View::Team(t) => ViewFilters { team: Some(t.clone()), ..queue },
            View::Status(s) => ViewFilters { status: Some(*s), ..ViewFilters::default() },
            View::Tag(t) => ViewFilters { tag: Some(t.clone()), ..queue },
            View::Assignee(a) => ViewFilters { assignee: Some(a.clone()), ..queue },
        }
    }

    /// The listing this view shows to agent `me`.
    pub fn query(&self, me: &str) -> CaseQuery {
        self.filters().query(me, PAGE)
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
    /// Continue below this case id (sorted by creation).
    before: Option<u64>,
    /// `created` or `sla_due`; a saved view's own sort when absent.
    sort: Option<String>,
    /// Continue after this position (sorted by SLA due).
    after: Option<String>,
}

impl InboxQuery {
    /// The sort asked for, else the view's own.
    fn sort(&self, shown: &Shown) -> Result<CaseSort, ConsoleError> {
        match self.sort.as_deref() {
            None | Some("") => Ok(shown.sort),
            Some(name) => CaseSort::parse(name).ok_or_else(|| ConsoleError::BadRequest(format!("no sort {name:?}"))),
        }
    }

    /// Where the page starts.
    fn start(&self, sort: CaseSort) -> Result<Start, ConsoleError> {
        Ok(match sort {
            CaseSort::Created => Start::Before(self.before.map(CaseId::new)),
            CaseSort::SlaDue => Start::After(match self.after.as_deref() {
                None | Some("") => None,
                Some(text) => Some(text.parse().map_err(|_| ConsoleError::BadRequest(format!("bad cursor {text:?}")))?),
            }),
        })
    }
}

/// Where a page of the inbox starts, in the sort it is in.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// Newest first, below this case.
    Before(Option<CaseId>),
    /// By SLA due, after this position.
    After(Option<DuePosition>),
}

impl Start {
    fn sort(self) -> CaseSort {
        match self {
            Start::Before(_) => CaseSort::Created,
            Start::After(_) => CaseSort::SlaDue,
        }
    }

    /// The query string that continues here (with a leading `&`), if not the first page.
    fn param(self) -> String {
        match self {
            Start::Before(Some(id)) => format!("&before={id}"),
            Start::After(Some(at)) => format!("&after={}", urlencode(&at.to_string())),
            Start::Before(None) | Start::After(None) => String::new(),
        }
    }
}

/// `GET /`: the inbox page.
pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(query): Query<InboxQuery>,
) -> Result<Response, ConsoleError> {
    let shown = views::resolve(&state, &me, query.view.as_deref()).await?;
    let start = query.start(query.sort(&shown)?)?;
    let region = region(&state, &me, &shown, start).await?;
    Ok(page::render(&Shell { title: &shown.title, me: Some(&me), live: true, case: None }, region))
}

/// `GET /console/inbox`: the inbox region alone, for live refreshes.
pub async fn fragment(
    State(state): State<AppState>,
    me: SignedIn,
    Query(query): Query<InboxQuery>,
) -> Result<Response, ConsoleError> {
    let shown = views::resolve(&state, &me, query.view.as_deref()).await?;
    let start = query.start(query.sort(&shown)?)?;
    Ok(page::page_response(region(&state, &me, &shown, start).await?))
}

/// One page of `query` from `start`, with where the next page starts.
async fn listing(
    state: &AppState,
    query: CaseQuery,
    start: Start,
) -> Result<(Vec<(frontdesk_core::Case, CaseSla)>, Option<Start>), ConsoleError> {
    Ok(match start {
        Start::Before(before) => {
            let page = state.frontdesk().cases(CaseQuery { before, ..query }).await?;
            (page.items, page.next.map(|id| Start::Before(Some(id))))
        }
        Start::After(after) => {
            let page = state.frontdesk().cases_by_sla_due(query, after).await?;
            (page.items, page.next.map(|at| Start::After(Some(at))))
        }
    })
}

/// The sidebar and the list, re-rendered together.
async fn region(state: &AppState, me: &SignedIn, shown: &Shown, start: Start) -> Result<Markup, ConsoleError> {
    let me_name = &me.agent.name;
    let groups = sidebar_views(&me.agent.teams);
    let saved = state.frontdesk().views_for(me_name.clone()).await?;
    let mut queries: Vec<CaseQuery> =
        groups.iter().flat_map(|(_, views)| views.iter().map(|v| v.query(me_name))).collect();
    queries.extend(saved.iter().map(|v| v.filters.query(me_name, PAGE)));
    queries.push(shown.filters.query(me_name, PAGE));
    let counts = state.frontdesk().count_cases(queries).await?;
    let (items, next) = listing(state, shown.filters.query(me_name, PAGE), start).await?;
    let names = customer_names(state, items.iter().map(|(c, _)| c.customer_id)).await?;
    let sort = start.sort();
    let key = urlencode(&shown.key);
    let refresh = format!("/console/inbox?view={key}&sort={}{}", sort.as_str(), start.param());
    let mut count = counts.iter();
    let builtin_count: usize = groups.iter().map(|(_, views)| views.len()).sum();
    let saved_counts: Vec<u64> = counts.iter().skip(builtin_count).take(saved.len()).copied().collect();
    let total = counts.get(builtin_count + saved.len()).copied().unwrap_or(0);
    Ok(html! {
        main #inbox .layout hx-get=(refresh) hx-trigger="fd:changed from:body" hx-swap="outerHTML" {
            aside.queues aria-label="Queues" {
                @for (heading, views) in &groups {
                    @if !views.is_empty() {
                        h2 { (heading) }
                        ul {
                            @for v in views {
                                @let n = count.next().copied().unwrap_or(0);
                                @let current = v.key() == shown.key;
                                li {
                                    a.current[current] href={ "/?view=" (urlencode(&v.key())) }
                                        aria-current=[current.then_some("page")] {
                                        span { (v.title()) }
                                        span.count.hot[n > 0 && matches!(v, View::Breached)] data-count=(v.key()) { (n) }
                                    }
                                }
                            }
                        }
                    }
                }
                (views::sidebar(me, shown, &saved, &saved_counts, sort))
            }
            section #main .content {
                div.toolbar {
                    h1 { (shown.title) }
                    span.count aria-label="cases in this view" { "(" (total) ")" }
                    span.spacer {}
                    nav.sort aria-label="Sort" {
                        span.hint { "Sort:" }
                        @for (option, label) in [(CaseSort::Created, "Created"), (CaseSort::SlaDue, "SLA due")] {
                            " "
                            a.button.current[option == sort] href={ "/?view=" (key) "&sort=" (option.as_str()) }
                                aria-current=[(option == sort).then_some("true")] { (label) }
                        }
                    }
                    span.hint { "Press " kbd { "?" } " for shortcuts" }
                }
                (views::manage(me, shown))
                @if items.is_empty() {
                    div.empty { "No cases here." }
                } @else {
                    table.cases {
                        thead { tr {
                            th scope="col" { "#" } th scope="col" { "Subject" } th scope="col" { "Customer" }
                            th scope="col" { "Status" } th scope="col" { "Priority" } th scope="col" { "Assignee" }
                            th scope="col" { "SLA" } th scope="col" { "Updated" }
                        } }
                        tbody {
                            @for (case, sla) in &items {
                                tr data-href={ "/cases/" (case.id) } data-id=(case.id) {
                                    td { (case.id) }
                                    td.subject { a href={ "/cases/" (case.id) "?view=" (key) "&sort=" (sort.as_str()) } { (case.subject) } }
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
                    @if let Some(next) = next {
                        div.pager {
                            a.button href={ "/?view=" (key) "&sort=" (sort.as_str()) (next.param()) } {
                                @match sort {
                                    CaseSort::Created => { "Older cases" }
                                    CaseSort::SlaDue => { "Later deadlines" }
                                }
                            }
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
    /// `created` or `sla_due`; the view's own sort when absent.
    sort: Option<String>,
}

/// `GET /next`: the case after `after` in the view (the oldest first when
/// there is none after it), for the "next case" key.
pub async fn next(
    State(state): State<AppState>,
    me: SignedIn,
    Query(query): Query<NextQuery>,
) -> Result<Response, ConsoleError> {
    let shown = views::resolve(&state, &me, query.view.as_deref()).await?;
    let key = urlencode(&shown.key);
    let sort = match query.sort.as_deref() {
        None | Some("") => shown.sort,
        Some(name) => CaseSort::parse(name).ok_or_else(|| ConsoleError::BadRequest(format!("no sort {name:?}")))?,
    };
    let queue = shown.filters.query(&me.agent.name, 1);
    let after = query.after.map(CaseId::new);
    let next = match sort {
        CaseSort::Created => {
            let listing = CaseQuery { before: after, ..queue.clone() };
            let mut page = state.frontdesk().cases(listing).await?;
            if page.items.is_empty() && after.is_some() {
                page = state.frontdesk().cases(queue).await?;
            }
            page.items.into_iter().next()
        }
        CaseSort::SlaDue => {
            // After the current case's own place in the deadline order.
            let position = match after {
                Some(id) => state.frontdesk().case(id).await?.map(|(case, sla)| due_position(&case, &sla)),
                None => None,
            };
            let mut page = state.frontdesk().cases_by_sla_due(queue.clone(), position).await?;
            if page.items.is_empty() && position.is_some() {
                page = state.frontdesk().cases_by_sla_due(queue, None).await?;
            }
            page.items.into_iter().next()
        }
    };
    Ok(match next {
        Some((case, _)) => {
            Redirect::to(&format!("/cases/{}?view={key}&sort={}", case.id, sort.as_str())).into_response()
        }
        None => Redirect::to(&format!("/?view={key}&sort={}", sort.as_str())).into_response(),
    })
}

/// Where `case` stands in the "SLA due" order.
fn due_position(case: &Case, sla: &CaseSla) -> DuePosition {
    match sla.next_due(case.status) {
        // The index keeps deadlines to the millisecond.
        Some(due) => {
            DuePosition::Due { due_at: Timestamp::from_millisecond(due.as_millisecond()).unwrap_or(due), case: case.id }
        }
        None => DuePosition::Undated(Some(case.id)),
    }
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
