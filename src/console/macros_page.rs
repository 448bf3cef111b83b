//! Macros in the console: the leads' page to write, edit and delete them
//! (`/macros`), and the case view's picker that applies one in one step
//! (`m`, then Enter). Both use the API's own code ([`crate::http::macros`]).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::response::Response;
use frontdesk_core::auth::{Permission, generate_secret, hash_secret};
use frontdesk_core::domain::{CaseId, CaseStatus, Macro, MacroAssignee, MacroMessage, MacroMessageKind, Priority};
use frontdesk_core::runtime::IdempotentAnswer;
use frontdesk_core::write::command::{IdempotencyClaim, Outcome};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{ConsoleError, urlencode};
use super::format;
use super::page::{self, Shell};
use super::session::SignedIn;
use crate::http::AppState;
use crate::http::auth::Principal;
use crate::http::macros::{self, MacroBody};

fn require_lead(me: &SignedIn) -> Result<(), ConsoleError> {
    if me.agent.role.allows(Permission::ManageMacros) {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden("manage macros (leads can)"))
    }
}

/// `?edit=NAME`: the macro the form opens with.
#[derive(Debug, Default, Deserialize)]
pub struct MacrosQuery {
    edit: Option<String>,
}

/// `GET /macros`.
pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(query): Query<MacrosQuery>,
) -> Result<Response, ConsoleError> {
    require_lead(&me)?;
    let macros = state.frontdesk().macros().await?;
    let agents: Vec<String> =
        state.frontdesk().agents().await?.into_iter().filter(|a| a.active).map(|a| a.name).collect();
    let editing = match &query.edit {
        Some(name) => Some(
            macros
                .iter()
                .find(|m| &m.name == name)
                .ok_or_else(|| ConsoleError::NotFound(format!("no macro {name:?}")))?,
        ),
        None => None,
    };
    let content = html! {
        main #main .content {
            h1 { "Macros" }
            p.hint { "A macro adds a reply or note and changes the case in one step. Agents apply one from the case view (m). "
                "Replies may use " @for (i, p) in frontdesk_core::domain::PLACEHOLDERS.iter().enumerate() { @if i > 0 { ", " } code { "{{" (p) "}}" } }
                "; " code { "{{customer.first_name | there}}" } " gives a fallback." }
            section.panel aria-label="Macros" {
                h2 { "Macros (" (macros.len()) ")" }
                table.plain {
                    thead { tr { th { "Title" } th { "Name" } th { "Does" } th { "Changed" } th {} } }
                    tbody #macro-rows { @for record in &macros { (macro_row(record)) } }
                }
            }
            (macro_form(editing, &agents))
        }
    };
    Ok(page::render(&Shell { title: "Macros", me: Some(&me), live: false, case: None }, content))
}

/// What a macro does, in a few words.
pub fn summary(record: &Macro) -> String {
    let mut parts = Vec::new();
    if let Some(message) = &record.message {
        parts.push(match message.kind {
            MacroMessageKind::Reply => "reply".to_owned(),
            MacroMessageKind::Note => "note".to_owned(),
        });
    }
    if let Some(status) = record.status {
        parts.push(format!("status {}", format::status_label(status)));
    }
    if let Some(priority) = record.priority {
        parts.push(format!("priority {priority}"));
    }
    match &record.assignee {
        Some(MacroAssignee::Me) => parts.push("assign to me".into()),
        Some(MacroAssignee::Nobody) => parts.push("unassign".into()),
        Some(MacroAssignee::Agent(name)) => parts.push(format!("assign to {name}")),
        None => {}
    }
    parts.extend(record.add_tags.iter().map(|t| format!("+{t}")));
    parts.extend(record.remove_tags.iter().map(|t| format!("-{t}")));
    parts.extend(record.fields.keys().map(|k| format!("set {k}")));
    parts.join(", ")
}

fn macro_row(record: &Macro) -> Markup {
    html! {
        tr id={ "macro-" (record.name) } {
            td { (record.title) } td { code { (record.name) } } td { (summary(record)) }
            td { (format::time(record.updated_at)) " by " (record.updated_by) }
            td {
                a href={ "/macros?edit=" (urlencode(&record.name)) "#macro-form" } aria-label={ "Edit macro " (record.title) } { "Edit" } " "
                button type="button" hx-post={ "/macros/" (urlencode(&record.name)) "/delete" } hx-target="closest tr" hx-swap="outerHTML"
                    hx-confirm={ "Delete the macro " (record.title) "? Cases it was applied to keep their history." }
                    aria-label={ "Delete macro " (record.title) } { "Delete" }
            }
        }
    }
}

fn macro_form(editing: Option<&Macro>, agents: &[String]) -> Markup {
    let kind = editing.and_then(|m| m.message.as_ref()).map(|m| m.kind);
    let body = editing.and_then(|m| m.message.as_ref()).map_or("", |m| m.body.as_str());
    let assignee: Option<String> = editing.and_then(|m| m.assignee.clone()).map(String::from);
    let tags = |list: Option<&Vec<String>>| list.map(|t| t.join(", ")).unwrap_or_default();
    html! {
        section.panel #macro-form aria-label={ @if editing.is_some() { "Edit macro" } @else { "New macro" } } {
            h2 { @if let Some(m) = editing { "Edit " (m.title) } @else { "New macro" } }
            div #macro-alert aria-live="assertive" {}
            form.grid hx-post="/macros" hx-target="#macro-alert" {
                @if let Some(m) = editing {
                    input type="hidden" name="original" value=(m.name);
                }
                label for="macro-name" { "Name (a key, no spaces)" }
                input #macro-name name="name" required value=[editing.map(|m| m.name.as_str())] readonly[editing.is_some()];
                label for="macro-title" { "Title" }
                input #macro-title name="title" required value=[editing.map(|m| m.title.as_str())];
                label for="macro-kind" { "Message" }
                select #macro-kind name="kind" {
                    option value="" selected[kind.is_none()] { "— none —" }
                    option value="reply" selected[kind == Some(MacroMessageKind::Reply)] { "Reply to customer" }
                    option value="note" selected[kind == Some(MacroMessageKind::Note)] { "Internal note" }
                }
                label for="macro-body" { "Text" }
                textarea #macro-body name="body" rows="6" { (body) }
                label for="macro-status" { "Set status" }
                select #macro-status name="status" {
                    option value="" { "— keep —" }
                    @for s in CaseStatus::ALL { option value=(s.as_str()) selected[editing.and_then(|m| m.status) == Some(s)] { (format::status_label(s)) } }
                }
                label for="macro-priority" { "Set priority" }
                select #macro-priority name="priority" {
                    option value="" { "— keep —" }
                    @for p in [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent] {
                        option value=(p.as_str()) selected[editing.and_then(|m| m.priority) == Some(p)] { (p.as_str()) }
                    }
                }
                label for="macro-assignee" { "Assign" }
                select #macro-assignee name="assignee" {
                    option value="" selected[assignee.is_none()] { "— keep —" }
                    option value="@me" selected[assignee.as_deref() == Some("@me")] { "to the agent applying it" }
                    option value="@nobody" selected[assignee.as_deref() == Some("@nobody")] { "to nobody (back to the queue)" }
                    @for a in agents { option value=(a) selected[assignee.as_deref() == Some(a.as_str())] { (a) } }
                }
                label for="macro-add-tags" { "Add tags (comma-separated)" }
                input #macro-add-tags name="add_tags" value=(tags(editing.map(|m| &m.add_tags)));
                label for="macro-remove-tags" { "Remove tags (comma-separated)" }
                input #macro-remove-tags name="remove_tags" value=(tags(editing.map(|m| &m.remove_tags)));
                div.actions {
                    button.primary type="submit" { @if editing.is_some() { "Save changes" } @else { "Create macro" } }
                    @if editing.is_some() { a href="/macros" { "New macro instead" } }
                }
            }
        }
    }
}

/// The macro form.
#[derive(Debug, Deserialize)]
pub struct MacroForm {
    /// Set when editing: the macro being replaced.
    original: Option<String>,
    name: String,
    title: String,
    kind: String,
    body: String,
    status: String,
    priority: String,
    assignee: String,
    add_tags: String,
    remove_tags: String,
}

fn list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

impl MacroForm {
    fn body(self) -> Result<(String, bool, MacroBody), ConsoleError> {
        let bad = |what: &str, value: &str| ConsoleError::BadRequest(format!("unknown {what} {value:?}"));
        let message = match self.kind.as_str() {
            "" => None,
            "reply" => Some(MacroMessage { kind: MacroMessageKind::Reply, body: self.body }),
            "note" => Some(MacroMessage { kind: MacroMessageKind::Note, body: self.body }),
            other => return Err(bad("message kind", other)),
        };
        let status = Some(self.status).filter(|s| !s.is_empty());
        let priority = Some(self.priority).filter(|p| !p.is_empty());
        let assignee = Some(self.assignee).filter(|a| !a.is_empty());
        let body = MacroBody {
            name: None,
            title: self.title,
            message,
            status: status.map(|s| s.parse().map_err(|_| bad("status", &s))).transpose()?,
            priority: priority.map(|p| p.parse().map_err(|_| bad("priority", &p))).transpose()?,
            assignee: assignee.map(|a| MacroAssignee::try_from(a).map_err(ConsoleError::BadRequest)).transpose()?,
            add_tags: list(&self.add_tags),
            remove_tags: list(&self.remove_tags),
            fields: Default::default(),
        };
        let create = self.original.is_none();
        let name = self.original.unwrap_or(self.name).trim().to_owned();
        Ok((name, create, body))
    }
}

/// `POST /macros`: creates a macro, or replaces the one named `original`;
/// the page reloads to show it.
pub async fn save(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<MacroForm>,
) -> Result<Response, ConsoleError> {
    require_lead(&me)?;
    let (name, create, mut body) = form.body()?;
    if !create {
        // The form has no place for custom fields: keep the ones set over the API.
        let old = state.frontdesk().macros().await?.into_iter().find(|m| m.name == name);
        body.fields = old.map(|m| m.fields).unwrap_or_default();
    }
    let record = macros::save(&state, &me.agent.name, &name, body, create).await?;
    tracing::info!(r#macro = %record.name, by = %me.agent.name, create, "macro saved in the console");
    let mut response = page::page_response(html! { div.alert.good role="status" { "Saved " (record.title) "." } });
    response.headers_mut().insert("hx-redirect", HeaderValue::from_static("/macros"));
    Ok(response)
}

/// `POST /macros/{name}/delete`: answers with nothing, which removes the row.
pub async fn delete(
    State(state): State<AppState>,
    me: SignedIn,
    Path(name): Path<String>,
) -> Result<Response, ConsoleError> {
    require_lead(&me)?;
    let record = macros::delete(&state, &name).await?;
    tracing::info!(r#macro = %record.name, by = %me.agent.name, "macro deleted in the console");
    Ok(page::page_response(html! {}))
}

/// The case view's macro picker, with a fresh key for its next apply.
pub fn picker(case_id: CaseId, macros: &[Macro], alert: Option<Markup>) -> Markup {
    html! {
        section #macros .panel aria-label="Macros" {
            h2 { "Macros" }
            div #macro-result aria-live="polite" { (alert.unwrap_or_default()) }
            @if macros.is_empty() {
                p.hint { "No macros yet. Leads write them on the Macros page." }
            } @else {
                form hx-post={ "/cases/" (case_id) "/macros" } hx-target="#macros" hx-swap="outerHTML" {
                    label for="macro-picker" { "Apply a macro (m)" }
                    div.row {
                        select #macro-picker name="macro" required {
                            @for record in macros { option value=(record.name) title=(summary(record)) { (record.title) } }
                        }
                        input type="hidden" name="key" value=(generate_secret());
                        button type="submit" { "Apply" }
                    }
                }
            }
        }
    }
}

/// The picker's form.
#[derive(Debug, Deserialize)]
pub struct ApplyForm {
    #[serde(rename = "macro")]
    name: String,
    /// One per rendered picker: a double click applies the macro once.
    key: String,
}

/// `POST /cases/{id}/macros`: applies a macro; answers with the picker
/// (saying what was done) and tells the page the case changed.
pub async fn apply(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Form<ApplyForm>,
) -> Result<Response, ConsoleError> {
    let id = super::case_page::case_id(&raw)?;
    let claim = IdempotencyClaim {
        key: format!("console/{}/{}", me.agent.name, form.key),
        request_hash: hash_secret(&format!("macro\n{id}\n{}", form.name)),
    };
    let who = Principal { name: me.agent.name.clone(), role: me.agent.role };
    let applied = macros::apply(&state, id, &form.name, &who, Some(claim)).await;
    let macros_now = state.frontdesk().macros().await?;
    let alert = match applied {
        Ok((record, Outcome::Case { .. } | Outcome::Replayed(IdempotentAnswer::Posted { .. }))) => {
            html! { div.alert.good role="status" { "Applied " (record.title) "." } }
        }
        Ok((_, other)) => return Err(ConsoleError::BadRequest(format!("unexpected answer: {other:?}"))),
        Err(e) => {
            let status = e.status();
            let mut response = page::page_response(picker(
                id,
                &macros_now,
                Some(html! { div.alert.bad role="alert" { (e.to_string()) } }),
            ));
            *response.status_mut() = status;
            return Ok(response);
        }
    };
    let mut response = page::page_response(picker(id, &macros_now, Some(alert)));
    response.headers_mut().insert("hx-trigger", HeaderValue::from_static("fd:case-changed"));
    Ok(response)
}
