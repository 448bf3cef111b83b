//! One case: its properties, SLA clocks, the timeline (with who did each
//! thing and why), the reply and note composer, and the changes an agent
//! makes. Live: the properties and new events arrive over the feed, other
//! agents on the case show up, and a reply to a case that changed since it
//! was loaded asks before it is sent.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use frontdesk_core::auth::{Permission, generate_secret, hash_secret};
use frontdesk_core::domain::{Actor, Case, CaseId, CaseStatus, Customer, Event, EventBody, EventId, Priority};
use frontdesk_core::runtime::{IdempotentAnswer, Page};
use frontdesk_core::sla::CaseSla;
use frontdesk_core::write::command::{CasePatch, Command, IdempotencyClaim, MessageKind, Outcome};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{ConsoleError, urlencode};
use super::format;
use super::page::{self, Shell};
use super::session::SignedIn;
use crate::http::AppState;

/// Events per timeline page: a long thread renders its first page at once
/// and loads the rest on demand.
pub const TIMELINE_PAGE: usize = 100;

/// The case page's query string.
#[derive(Debug, Default, Deserialize)]
pub struct CaseQueryString {
    /// The inbox view the agent came from ("next case" stays in it).
    view: Option<String>,
    /// The order it was sorted in ("next case" follows it).
    sort: Option<String>,
}

/// The case a path names; anything else is the console's 404.
pub(super) fn case_id(raw: &str) -> Result<CaseId, ConsoleError> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(CaseId::new)
        .ok_or_else(|| ConsoleError::NotFound(format!("no case {raw:?}")))
}

/// `GET /cases/{id}`.
pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Query(query): Query<CaseQueryString>,
) -> Result<Response, ConsoleError> {
    let id = case_id(&raw)?;
    let (case, sla) = load_case(&state, id).await?;
    let customer = state.frontdesk().customer(case.customer_id).await?;
    let (events, earlier) = newest_events(&state, id, None).await?;
    let agents = state.frontdesk().agents().await?;
    let macros = state.frontdesk().macros().await?;
    let view = query.view.unwrap_or_else(|| "mine".to_owned());
    let sort = query.sort.filter(|s| frontdesk_core::runtime::CaseSort::parse(s).is_some());
    let name = customer_name(customer.as_ref());
    let last = events.last().map(|e| e.id);
    let content = html! {
        main #main .content {
            div.toolbar {
                a href={ "/?view=" (urlencode(&view)) @if let Some(s) = &sort { "&sort=" (s) } } { "← Inbox" }
                span.spacer {}
                a.button #next-case href={ "/next?view=" (urlencode(&view)) "&after=" (id) @if let Some(s) = &sort { "&sort=" (s) } } { "Next case (n)" }
            }
            div #presence .presence aria-live="polite" {}
            div #case-alert aria-live="assertive" {}
            div.case-grid {
                div {
                    (head(&case, &sla, name.as_deref()))
                    ol #timeline .timeline aria-label="Timeline" {
                        (start_sentinel(id, earlier))
                        @for event in &events { (event_item(event, name.as_deref())) }
                        (sentinel(id, last))
                    }
                    (composer(&case, &me, &Draft::new(&me, last), None))
                }
                aside {
                    (properties(&case, &me, &agents.iter().filter(|a| a.active).map(|a| a.name.clone()).collect::<Vec<_>>()))
                    (super::macros_page::picker(id, &macros, None))
                    (customer_panel(customer.as_ref()))
                }
            }
        }
    };
    Ok(page::render(&Shell { title: &case.subject, me: Some(&me), live: true, case: Some(id.get()) }, content))
}

/// The case and its SLA state, or the console's 404.
async fn load_case(state: &AppState, id: CaseId) -> Result<(Case, CaseSla), ConsoleError> {
    state.frontdesk().case(id).await?.ok_or_else(|| ConsoleError::NotFound(format!("case {id} not found")))
}

fn customer_name(customer: Option<&Customer>) -> Option<String> {
    customer.map(format::customer_name).filter(|name| !name.is_empty())
}

/// Subject, status and SLA clocks; re-read when the case changes.
fn head(case: &Case, sla: &CaseSla, customer: Option<&str>) -> Markup {
    html! {
        div #case-head .case-head hx-get={ "/console/cases/" (case.id) "/head" } hx-trigger="fd:case-changed from:body" hx-swap="outerHTML" {
            h1 { "#" (case.id) " " (case.subject) }
            div.meta {
                (format::status(case.status))
                (format::priority(case.priority))
                span { "from " a href={ "/customers/" (case.customer_id) } { (customer.unwrap_or("customer")) } }
                span { "via " (case.channel) }
                span { "opened " (format::time(case.created_at)) }
                @if case.reopen_count > 0 { span { "reopened " (case.reopen_count) "×" } }
            }
            div.meta aria-label="SLA" {
                @for state in sla.metrics.values() { (format::sla_badge(state)) " " }
                @if let Some(policy) = &sla.policy { span.hint { "policy " (policy) } }
            }
            @if case.status == CaseStatus::Closed {
                div.alert.warn { "This case is closed. A new message from the customer opens a follow-up case." }
            }
        }
    }
}

/// `GET /console/cases/{id}/head`.
pub async fn head_fragment(
    State(state): State<AppState>,
    _me: SignedIn,
    Path(raw): Path<String>,
) -> Result<Response, ConsoleError> {
    let id = case_id(&raw)?;
    let (case, sla) = load_case(&state, id).await?;
    let customer = state.frontdesk().customer(case.customer_id).await?;
    Ok(page::page_response(head(&case, &sla, customer_name(customer.as_ref()).as_deref())))
}

/// The newest page of a case's events before `before`, oldest first, and
/// the event to page back from when there are earlier ones: a long thread
/// opens at its end, where the agent works.
async fn newest_events(
    state: &AppState,
    id: CaseId,
    before: Option<EventId>,
) -> Result<(Vec<Event>, Option<EventId>), ConsoleError> {
    let page = state
        .frontdesk()
        .case_events_before(id, before, TIMELINE_PAGE)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("case {id} not found")))?;
    let mut events = page.items;
    events.reverse();
    Ok((events, page.next))
}

/// The start of the timeline: a button for the earlier events of a long
/// thread, or nothing once the first event is shown.
fn start_sentinel(id: CaseId, earlier: Option<EventId>) -> Markup {
    html! {
        @if let Some(first) = earlier {
            li #timeline-start {
                button type="button" hx-get={ "/console/cases/" (id) "/events?before=" (first) } hx-target="#timeline-start" hx-swap="outerHTML" {
                    "Show earlier events"
                }
            }
        }
    }
}

/// The end of the timeline: the hook that fetches new events when the case
/// changes.
fn sentinel(id: CaseId, last: Option<EventId>) -> Markup {
    let url = format!("/console/cases/{id}/events?after={}", last.map_or(0, |e| e.get()));
    html! { li #timeline-end hx-get=(url) hx-trigger="fd:case-changed from:body" hx-swap="outerHTML" {} }
}

/// `?after=N` (newer events) or `?before=N` (an earlier page).
#[derive(Debug, Deserialize)]
pub struct TimelineQuery {
    after: Option<u64>,
    before: Option<u64>,
}

/// `GET /console/cases/{id}/events`: with `after=N`, the events after N and
/// the next end sentinel (new events, all of them); with `before=N`, the
/// page before N and the next start sentinel. The composer's "seen" mark
/// stays where the agent loaded the case: events that arrive live are still
/// news to a reply written before them.
pub async fn events_fragment(
    State(state): State<AppState>,
    _me: SignedIn,
    Path(raw): Path<String>,
    Query(query): Query<TimelineQuery>,
) -> Result<Response, ConsoleError> {
    let id = case_id(&raw)?;
    let (case, _) = load_case(&state, id).await?;
    let customer = state.frontdesk().customer(case.customer_id).await?;
    let name = customer_name(customer.as_ref());
    if let Some(before) = query.before {
        let (events, earlier) = newest_events(&state, id, Some(EventId::new(before))).await?;
        return Ok(page::page_response(html! {
            (start_sentinel(id, earlier))
            @for event in &events { (event_item(event, name.as_deref())) }
        }));
    }
    let after = query.after.filter(|a| *a > 0).map(EventId::new);
    // Everything new at once (up to ten pages): the end sentinel fires
    // only on the next change, and resumes after the last one shown.
    let events = state
        .frontdesk()
        .case_events(id, after, TIMELINE_PAGE * 10)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("case {id} not found")))?
        .items;
    let last = events.last().map(|e| e.id).or(after);
    Ok(page::page_response(html! {
        @for event in &events { (event_item(event, name.as_deref())) }
        (sentinel(id, last))
    }))
}

/// One timeline entry. Messages are cards; changes are one line with who
/// made them and, for rules and plugins, what caused them.
fn event_item(event: &Event, customer: Option<&str>) -> Markup {
    let who = format::actor(&event.actor, customer);
    let when = format::time(event.at);
    let cause = event.caused_by.map(|c| html! { " " span.cause { "(caused by event " (c) ")" } });
    let line = |text: Markup| {
        html! {
            li.ev-change id={ "ev-" (event.id) } { (who) " " (text) " · " span.when { (when) } (cause.clone().unwrap_or_default()) }
        }
    };
    match &event.body {
        EventBody::MessageReceived { body, .. } => html! {
            li id={ "ev-" (event.id) } { div.ev-message.from-customer {
                (who) " " span.when { (when) }
                div.body { (body) }
            } }
        },
        EventBody::ReplySent { body } => html! {
            li id={ "ev-" (event.id) } { div.ev-message.from-agent {
                (who) " replied · " span.when { (when) } (cause.clone().unwrap_or_default())
                div.body { (body) }
            } }
        },
        EventBody::NoteAdded { body } => html! {
            li id={ "ev-" (event.id) } { div.ev-message.note {
                (who) " added an internal note · " span.when { (when) } (cause.clone().unwrap_or_default())
                div.body { (body) }
            } }
        },
        EventBody::CaseCreated { channel, .. } => line(html! { "opened the case via " (channel) }),
        EventBody::StatusChanged { from, to } => {
            line(html! { "changed status " (format::status(*from)) " → " (format::status(*to)) })
        }
        EventBody::PriorityChanged { from, to } => {
            line(html! { "changed priority " (from.as_str()) " → " (to.as_str()) })
        }
        EventBody::Assigned { to: Some(to), .. } => line(html! { "assigned it to " strong { (to) } }),
        EventBody::Assigned { to: None, .. } => line(html! { "unassigned it" }),
        EventBody::TeamChanged { to: Some(to), .. } => line(html! { "routed it to team " strong { (to) } }),
        EventBody::TeamChanged { to: None, .. } => line(html! { "removed the team" }),
        EventBody::TagAdded { tag } => line(html! { "tagged " code { (tag) } }),
        EventBody::TagRemoved { tag } => line(html! { "removed tag " code { (tag) } }),
        EventBody::FieldSet { key, value } => line(html! { "set " code { (key) } " = " code { (value.to_string()) } }),
        EventBody::CsatReceived { score, comment } => {
            line(html! { "rated it " strong { (score) "/5" } @if let Some(c) = comment { " — " (c) } })
        }
        EventBody::SlaWarning { metric, .. } => {
            line(html! { span.badge.sla-at_risk { (format::metric_label(*metric)) " SLA at risk" } })
        }
        EventBody::SlaBreached { metric, .. } => {
            line(html! { span.badge.sla-breached { (format::metric_label(*metric)) " SLA breached" } })
        }
        EventBody::SlaMet { metric, .. } => {
            line(html! { span.badge.sla-met { (format::metric_label(*metric)) " SLA met" } })
        }
        EventBody::MacroApplied { title, .. } => line(html! { "applied the macro " strong { (title) } }),
        EventBody::Escalated { level, reason } => line(html! { "escalated to level " (level) ": " (reason) }),
        EventBody::ScriptError { file, hook, message, line: l, column } => line(html! {
            span.ev-error { "rule error in " code { (file) } " (" (hook) ")" @if let (Some(l), Some(c)) = (l, column) { " at " (l) ":" (c) } ": " (message) }
        }),
        EventBody::PluginError { plugin, hook, kind, message } => line(html! {
            span.ev-error { "plugin " (plugin) " failed in " (hook) " (" (kind) "): " (message) }
        }),
        EventBody::ReplyDelivered { plugin, .. } => line(html! { "delivered the reply via " (plugin) }),
        EventBody::DeliveryFailed { plugin, message, .. } => {
            line(html! { span.ev-error { "could not deliver via " (plugin) ": " (message) } })
        }
        EventBody::ReplyBounced { recipients, permanent, status, diagnostic, .. } => line(html! {
            span.ev-error {
                @if *permanent { "mail to " } @else { "mail delayed to " }
                (recipients.join(", "))
                @if *permanent { " bounced" }
                @if let Some(s) = status { " (" (s) ")" }
                @if let Some(d) = diagnostic { ": " (d) }
            }
        }),
        other => line(html! { (format::event_kind(other)) }),
    }
}

/// What the composer holds: a new send (empty, with a fresh idempotency
/// key, so a double click or a retry of one send is answered once), or the
/// agent's text kept with its key when a send was answered with a question.
struct Draft<'a> {
    kind: MessageKind,
    body: &'a str,
    key: String,
    /// The newest event the agent had seen.
    seen: u64,
}

impl Draft<'_> {
    fn new(me: &SignedIn, seen: Option<EventId>) -> Self {
        let kind = if me.agent.role.allows(Permission::Reply) { MessageKind::Reply } else { MessageKind::Note };
        Draft { kind, body: "", key: generate_secret(), seen: seen.map_or(0, |e| e.get()) }
    }

    fn kept(form: &MessageForm) -> Draft<'_> {
        Draft { kind: form.kind, body: &form.body, key: form.key.clone(), seen: form.seen }
    }
}

/// The reply and note composer holding `draft`, with `alert` above it.
fn composer(case: &Case, me: &SignedIn, draft: &Draft<'_>, alert: Option<Markup>) -> Markup {
    let note = draft.kind == MessageKind::Note;
    html! {
        form #composer .composer .composer-form.note-mode[note] hx-post={ "/cases/" (case.id) "/messages" } hx-target="#composer" hx-swap="outerHTML" {
            div #composer-alert { (alert.unwrap_or_default()) }
            fieldset.kinds {
                legend.skip { "Message kind" }
                @if me.agent.role.allows(Permission::Reply) {
                    label { input type="radio" name="kind" value="reply" checked[!note]; " Reply to customer" }
                }
                label { input type="radio" name="kind" value="note" checked[note]; " Internal note" }
            }
            label.skip for="message-body" { "Message" }
            textarea #message-body name="body" required placeholder="Write a reply (r) or an internal note (i). Ctrl+Enter sends." { (draft.body) }
            input type="hidden" name="key" value=(draft.key);
            input #seen type="hidden" name="seen" value=(draft.seen);
            div.actions {
                button.primary type="submit" { "Send" }
                span.hint { "Replies go to the customer through " (case.channel) "; notes stay internal." }
            }
        }
    }
}

/// The composer's form.
#[derive(Debug, Deserialize)]
pub struct MessageForm {
    kind: MessageKind,
    body: String,
    key: String,
    /// The newest event the agent had seen when writing.
    seen: u64,
    /// Send even though the case changed.
    confirm: Option<String>,
}

/// `POST /cases/{id}/messages`: a reply or note from the composer.
pub async fn post_message(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Form<MessageForm>,
) -> Result<Response, ConsoleError> {
    let id = case_id(&raw)?;
    match form.kind {
        MessageKind::Reply if !me.agent.role.allows(Permission::Reply) => {
            return Err(ConsoleError::Forbidden("send replies"));
        }
        MessageKind::Customer => return Err(ConsoleError::BadRequest("the console sends replies and notes".into())),
        _ => {}
    }
    let (case, _) = load_case(&state, id).await?;
    if form.body.trim().is_empty() {
        return Ok(composer_again(
            &case,
            &me,
            &form,
            html! { div.alert.bad role="alert" { "Write something first." } },
            StatusCode::BAD_REQUEST,
        ));
    }
    if form.confirm.is_none() && form.kind == MessageKind::Reply {
        let changes = changed_since(&state, id, EventId::new(form.seen), &me.agent.name).await?;
        if !changes.is_empty() {
            let warning = html! {
                div.alert.warn role="alert" {
                    strong { "This case changed while you were writing: " }
                    (changes.join("; ")) ". "
                    button type="submit" name="confirm" value="1" { "Send anyway" }
                }
            };
            return Ok(composer_again(&case, &me, &form, warning, StatusCode::CONFLICT));
        }
    }
    let claim = IdempotencyClaim {
        key: format!("console/{}/{}", me.agent.name, form.key),
        request_hash: hash_secret(&format!("{}\n{}\n{}", id, kind_name(form.kind), form.body)),
    };
    let command = Command::AddMessage {
        case_id: id,
        kind: form.kind,
        body: form.body.clone(),
        actor: Actor::Agent(me.agent.name.clone()),
        idempotency: Some(claim),
    };
    let (case, events) = match state.frontdesk().submit(command).await? {
        Outcome::Case { case, events, .. } => (case, events),
        Outcome::Replayed(IdempotentAnswer::Posted { case, events, .. }) => (*case, events),
        other => return Err(ConsoleError::BadRequest(format!("unexpected answer: {other:?}"))),
    };
    let seen = events.iter().map(|e| e.id).max().map_or(form.seen, |e| e.get()).max(form.seen);
    let sent = html! { div.alert.good role="status" { (if form.kind == MessageKind::Note { "Note added." } else { "Reply sent." }) } };
    let mut response =
        page::page_response(composer(&case, &me, &Draft::new(&me, Some(EventId::new(seen))), Some(sent)));
    response.headers_mut().insert("hx-trigger", HeaderValue::from_static("fd:case-changed"));
    Ok(response)
}

fn kind_name(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Reply => "reply",
        MessageKind::Note => "note",
        MessageKind::Customer => "customer",
    }
}

/// The composer with the agent's text kept (same key: the send is still
/// the same send) and a message above it.
fn composer_again(case: &Case, me: &SignedIn, form: &MessageForm, alert: Markup, status: StatusCode) -> Response {
    let mut response = page::page_response(composer(case, me, &Draft::kept(form), Some(alert)));
    *response.status_mut() = status;
    response
}

/// What others did to the case after event `seen`, in words, for the
/// "changed while you were writing" question. The agent's own changes and
/// the system's bookkeeping (SLA checks, deliveries) do not count.
async fn changed_since(state: &AppState, id: CaseId, seen: EventId, me: &str) -> Result<Vec<String>, ConsoleError> {
    let page =
        state.frontdesk().case_events(id, Some(seen), 50).await?.unwrap_or(Page { items: Vec::new(), next: None });
    Ok(page
        .items
        .iter()
        .filter(|e| !matches!(&e.actor, Actor::Agent(name) if name == me))
        .filter_map(|e| {
            let who = match &e.actor {
                Actor::Agent(name) => name.clone(),
                Actor::Customer(_) => "the customer".into(),
                Actor::Script { file, .. } => format!("rule {file}"),
                Actor::Plugin { name, .. } => format!("plugin {name}"),
                Actor::System | Actor::Token(_) => "Frontdesk".into(),
            };
            Some(match &e.body {
                EventBody::MessageReceived { .. } => format!("{who} sent a new message"),
                EventBody::ReplySent { .. } => format!("{who} replied"),
                EventBody::NoteAdded { .. } => format!("{who} added a note"),
                EventBody::StatusChanged { to, .. } => format!("{who} set the status to {}", format::status_label(*to)),
                EventBody::Assigned { to, .. } => format!("{who} assigned it to {}", to.as_deref().unwrap_or("nobody")),
                _ => return None,
            })
        })
        .collect())
}

/// The properties panel: status, priority, assignee, team, tags.
fn properties(case: &Case, me: &SignedIn, agents: &[String]) -> Markup {
    let post = format!("/cases/{}/update", case.id);
    html! {
        section #properties .panel aria-label="Properties" hx-get={ "/console/cases/" (case.id) "/properties" } hx-trigger="fd:case-changed from:body" hx-swap="outerHTML" {
            h2 { "Properties" }
            div.row {
                @if !case.status.is_done() { button #solve type="button" hx-post=(post) hx-vals=r#"{"status":"solved"}"# hx-target="#case-alert" { "Solve (s)" } }
                @if case.assignee.as_deref() != Some(me.agent.name.as_str()) {
                    button #assign-me type="button" hx-post=(post) hx-vals={ r#"{"assignee":""# (me.agent.name) r#""}"# } hx-target="#case-alert" { "Assign to me (a)" }
                }
            }
            form hx-post=(post) hx-target="#case-alert" {
                label for="status" { "Status" }
                select #status name="status" {
                    @for s in CaseStatus::ALL { option value=(s.as_str()) selected[s == case.status] { (format::status_label(s)) } }
                }
                label for="priority" { "Priority" }
                select #priority name="priority" {
                    @for p in [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent] {
                        option value=(p.as_str()) selected[p == case.priority] { (p.as_str()) }
                    }
                }
                label for="assignee" { "Assignee" }
                select #assignee name="assignee" {
                    option value="" selected[case.assignee.is_none()] { "— nobody —" }
                    @for a in agents { option value=(a) selected[case.assignee.as_deref() == Some(a.as_str())] { (a) } }
                    @if let Some(a) = case.assignee.as_ref().filter(|a| !agents.contains(a)) { option value=(a) selected { (a) " (inactive)" } }
                }
                label for="team" { "Team" }
                input #team name="team" value=(case.team.as_deref().unwrap_or(""));
                button type="submit" { "Save" }
            }
            form hx-post=(post) hx-target="#case-alert" {
                label for="add-tag" { "Tags" }
                div {
                    @for tag in &case.tags {
                        span.badge { (tag) " " button.link type="button" hx-post=(post) hx-vals={ r#"{"remove_tag":"# (serde_json::Value::from(tag.as_str())) "}" } hx-target="#case-alert" aria-label={ "Remove tag " (tag) } { "×" } } " "
                    }
                }
                div.row { input #add-tag name="add_tag" placeholder="add a tag"; button type="submit" { "Add" } }
            }
        }
    }
}

/// `GET /console/cases/{id}/properties`.
pub async fn properties_fragment(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
) -> Result<Response, ConsoleError> {
    let id = case_id(&raw)?;
    let (case, _) = load_case(&state, id).await?;
    let agents = state.frontdesk().agents().await?;
    let names: Vec<String> = agents.into_iter().filter(|a| a.active).map(|a| a.name).collect();
    Ok(page::page_response(properties(&case, &me, &names)))
}

fn customer_panel(customer: Option<&Customer>) -> Markup {
    html! {
        @if let Some(c) = customer {
            section.panel aria-label="Customer" {
                h2 { "Customer" }
                dl {
                    dt { "Name" } dd { a href={ "/customers/" (c.id) } { (c.name.as_deref().unwrap_or("(no name)")) } }
                    @if let Some(tier) = &c.tier { dt { "Tier" } dd { (tier) } }
                    @for identity in &c.identities { dt { (format::identity_kind(&identity.kind)) } dd { (identity.value) } }
                    @if let Some(health) = &c.health { dt { "Health" } dd { (health.get("score").map_or_else(|| health.to_string(), ToString::to_string)) } }
                }
            }
        }
    }
}

/// One change from the properties panel; absent fields stay as they are.
#[derive(Debug, Deserialize)]
pub struct UpdateForm {
    status: Option<String>,
    priority: Option<String>,
    /// An agent's name; empty unassigns.
    assignee: Option<String>,
    /// A team; empty removes it.
    team: Option<String>,
    add_tag: Option<String>,
    remove_tag: Option<String>,
}

/// `POST /cases/{id}/update`: one change from the properties panel or a
/// shortcut. Answers with the alert region (empty on success) and tells
/// the page the case changed.
pub async fn update(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Form<UpdateForm>,
) -> Result<Response, ConsoleError> {
    let id = case_id(&raw)?;
    let (case, _) = load_case(&state, id).await?;
    let bad = |what: &str, value: &str| ConsoleError::BadRequest(format!("unknown {what} {value:?}"));
    let status = form.status.as_deref().map(|s| s.parse::<CaseStatus>().map_err(|_| bad("status", s))).transpose()?;
    let priority =
        form.priority.as_deref().map(|p| p.parse::<Priority>().map_err(|_| bad("priority", p))).transpose()?;
    let assignee = form.assignee.map(|a| Some(a.trim().to_owned()).filter(|a| !a.is_empty()));
    let guarded =
        assignee.as_ref().is_some_and(|to| *to != case.assignee) && !me.agent.role.allows(Permission::Reassign);
    if guarded
        && let Some(to) = &assignee
        && !frontdesk_core::auth::may_assign_without_reassign(&me.agent.name, case.assignee.as_deref(), to.as_deref())
    {
        return Err(ConsoleError::Forbidden("assign a case to someone else or take it from someone else (leads can)"));
    }
    let patch = CasePatch {
        status: status.filter(|s| *s != case.status),
        priority: priority.filter(|p| *p != case.priority),
        assignee: assignee.filter(|a| *a != case.assignee),
        team: form.team.map(|t| Some(t.trim().to_owned()).filter(|t| !t.is_empty())).filter(|t| *t != case.team),
        add_tags: form.add_tag.into_iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect(),
        remove_tags: form.remove_tag.into_iter().collect(),
        // Checked against the assignee read above; refused if it changed since.
        expected_assignee: guarded.then(|| case.assignee.clone()),
        ..CasePatch::default()
    };
    let command = Command::UpdateCase { case_id: id, patch, actor: Actor::Agent(me.agent.name.clone()) };
    let answer = match state.frontdesk().submit(command).await {
        Ok(_) => html! {},
        Err(e @ frontdesk_core::runtime::SubmitError::Refused(_)) => {
            let mut response = page::page_response(html! { div.alert.bad role="alert" { (e.to_string()) } });
            *response.status_mut() = StatusCode::CONFLICT;
            return Ok(response);
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = page::page_response(answer);
    response.headers_mut().insert("hx-trigger", HeaderValue::from_static("fd:case-changed"));
    Ok(response.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use frontdesk_core::domain::CustomerId;

    #[test]
    fn hostile_text_in_the_timeline_stays_text() {
        let event = Event {
            id: EventId::new(7),
            case_id: Some(CaseId::new(1)),
            customer_id: CustomerId::new(1),
            at: "2026-03-02T09:00:00Z".parse().unwrap(),
            actor: Actor::Customer(CustomerId::new(1)),
            caused_by: None,
            body: EventBody::MessageReceived {
                body: "<script>alert(1)</script><img src=x onerror=alert(2)>".into(),
                via: None,
            },
        };
        let html = event_item(&event, Some("<b>Eve</b>")).into_string();
        assert!(!html.contains("<script>") && !html.contains("<img") && !html.contains("<b>Eve"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    }
}
