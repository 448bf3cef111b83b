//! Saved views in the console: what `?view=` names (a built-in queue or a
//! saved view the agent sees), the sidebar's "My views" and "Shared views"
//! with their counts, and the forms that save the current view, rename it
//! and delete it. Who may do which is the core's decision
//! (`frontdesk_core::write::views`); the page only hides what would be
//! refused.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::response::Response;
use frontdesk_core::auth::Permission;
use frontdesk_core::domain::ViewId;
use frontdesk_core::runtime::{CaseSort, SavedView, ViewFilters};
use frontdesk_core::write::command::{Command, Outcome, ViewCommand, ViewEditor};
use frontdesk_core::write::views::check_may_change;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{ConsoleError, urlencode};
use super::inbox::View;
use super::page;
use super::session::SignedIn;
use crate::http::AppState;

/// What the inbox shows: a built-in queue or a saved view, resolved.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The `?view=` value that names it (`mine`, `saved:7`, ...).
    pub key: String,
    /// The heading.
    pub title: String,
    /// Which cases it shows.
    pub filters: ViewFilters,
    /// Its own sort (built-in queues: newest first).
    pub sort: CaseSort,
    /// The saved view, when it is one.
    pub saved: Option<SavedView>,
}

/// The `?view=` value of a saved view.
pub fn saved_key(id: ViewId) -> String {
    format!("saved:{id}")
}

/// What `?view=key` names for `me` (their queue when absent); a saved view
/// they do not see is not found, like any unknown name.
///
/// # Errors
/// [`ConsoleError::NotFound`], or a failed read.
pub async fn resolve(state: &AppState, me: &SignedIn, key: Option<&str>) -> Result<Shown, ConsoleError> {
    let key = key.filter(|k| !k.is_empty()).unwrap_or("mine");
    let not_found = || ConsoleError::NotFound(format!("no view named {key:?}"));
    if let Some(id) = key.strip_prefix("saved:") {
        let id: ViewId = id.parse().map_err(|_| not_found())?;
        let view = state.frontdesk().view(id).await?.filter(|v| v.visible_to(&me.agent.name)).ok_or_else(not_found)?;
        return Ok(Shown {
            key: saved_key(id),
            title: view.name.clone(),
            filters: view.filters.clone(),
            sort: view.sort,
            saved: Some(view),
        });
    }
    let view = View::parse(key).ok_or_else(not_found)?;
    Ok(Shown { key: view.key(), title: view.title(), filters: view.filters(), sort: CaseSort::Created, saved: None })
}

fn editor(me: &SignedIn) -> ViewEditor {
    ViewEditor { name: me.agent.name.clone(), role: me.agent.role }
}

fn may_share(me: &SignedIn) -> bool {
    me.agent.role.allows(Permission::ManageViews)
}

/// The sidebar's saved views, `counts[i]` cases in `saved[i]`, and the form
/// that saves what is shown (`sort` included).
pub fn sidebar(me: &SignedIn, shown: &Shown, saved: &[SavedView], counts: &[u64], sort: CaseSort) -> Markup {
    let counted: Vec<(&SavedView, u64)> = saved.iter().zip(counts.iter().copied()).collect();
    let own: Vec<_> = counted.iter().filter(|(v, _)| !v.shared).collect();
    let shared: Vec<_> = counted.iter().filter(|(v, _)| v.shared).collect();
    html! {
        @for (heading, views) in [("My views", &own), ("Shared views", &shared)] {
            h2 { (heading) }
            @if views.is_empty() {
                p.hint { "None yet." }
            } @else {
                ul {
                    @for (view, n) in views.iter() {
                        @let key = saved_key(view.id);
                        @let current = key == shown.key;
                        li {
                            a.current[current] href={ "/?view=" (urlencode(&key)) } aria-current=[current.then_some("page")] {
                                span { (view.name) }
                                span.count data-count=(key) { (n) }
                            }
                        }
                    }
                }
            }
        }
        // Kept as it is when the live feed re-renders the inbox around it, so
        // an open form and a half-typed name survive a case changing.
        div #save-view hx-preserve="true" {
            details.save-view {
                summary { "Save current view" }
                form hx-post="/views" hx-target="#view-alert" hx-swap="innerHTML" {
                    input type="hidden" name="view" value=(shown.key);
                    input type="hidden" name="sort" value=(sort.as_str());
                    label for="view-name" { "Name" }
                    input #view-name name="name" required maxlength="80" autocomplete="off";
                    @if may_share(me) {
                        label.check for="view-shared" {
                            input #view-shared type="checkbox" name="shared" value="on";
                            " Shared with every agent"
                        }
                    }
                    button.primary type="submit" { "Save view" }
                }
            }
            div #view-alert aria-live="polite" {}
        }
    }
}

/// Above the list of a saved view: rename and delete, for whoever may;
/// whose view it is, for the others.
pub fn manage(me: &SignedIn, shown: &Shown) -> Markup {
    let Some(view) = &shown.saved else { return html! {} };
    let editable = check_may_change(Some(view), &editor(me), view.shared).is_ok();
    html! {
        // Kept across live re-renders, as the save form is.
        div #view-tools .view-tools hx-preserve="true" {
            @if view.shared { span.badge { "Shared" } " " }
            @if editable {
                form.inline hx-post={ "/views/" (view.id) "/rename" } hx-target="#view-alert" hx-swap="innerHTML" {
                    label for="rename-view" { "Rename view" }
                    " "
                    input #rename-view name="name" value=(view.name) required maxlength="80" autocomplete="off";
                    " "
                    button type="submit" { "Rename" }
                }
                " "
                button type="button" hx-post={ "/views/" (view.id) "/delete" } hx-target="#view-alert" hx-swap="innerHTML"
                    hx-confirm={ "Delete the view “" (view.name) "”? This cannot be undone." } { "Delete view" }
            } @else if view.owner != me.agent.name {
                span.hint { "Saved by " (view.owner) }
            }
        }
    }
}

/// The save-a-view form.
#[derive(Debug, Deserialize)]
pub struct SaveForm {
    name: String,
    /// The `?view=` value of what is shown.
    view: String,
    /// Its sort.
    #[serde(default)]
    sort: String,
    /// `on` when ticked.
    shared: Option<String>,
}

/// A response that sends the browser (htmx) to `to`.
fn go_to(to: &str) -> Response {
    let mut response = page::page_response(html! { div.alert.good role="status" { "Saved." } });
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert("hx-redirect", value);
    }
    response
}

/// The view a submit answered with.
fn changed(outcome: Outcome) -> Result<SavedView, ConsoleError> {
    match outcome {
        Outcome::View(view) => Ok(view),
        other => Err(ConsoleError::BadRequest(format!("unexpected answer: {other:?}"))),
    }
}

/// `POST /views`: saves what is shown as a new view, then shows it.
pub async fn create(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<SaveForm>,
) -> Result<Response, ConsoleError> {
    let shown = resolve(&state, &me, Some(&form.view)).await?;
    let sort = match form.sort.as_str() {
        "" => shown.sort,
        name => CaseSort::parse(name).ok_or_else(|| ConsoleError::BadRequest(format!("no sort {name:?}")))?,
    };
    let command = ViewCommand::Create {
        by: editor(&me),
        name: form.name,
        shared: form.shared.is_some(),
        filters: shown.filters,
        sort,
    };
    let view = changed(state.frontdesk().submit(Command::View(command)).await?)?;
    tracing::info!(view.id = %view.id, shared = view.shared, "view saved in the console");
    Ok(go_to(&format!("/?view={}", urlencode(&saved_key(view.id)))))
}

/// The rename form.
#[derive(Debug, Deserialize)]
pub struct RenameForm {
    name: String,
}

fn view_id(raw: &str) -> Result<ViewId, ConsoleError> {
    raw.parse().map_err(|_| ConsoleError::NotFound(format!("view {raw} not found")))
}

/// `POST /views/{id}/rename`.
pub async fn rename(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<RenameForm>,
) -> Result<Response, ConsoleError> {
    let command = ViewCommand::Update {
        by: editor(&me),
        id: view_id(&id)?,
        name: Some(form.name),
        shared: None,
        filters: None,
        sort: None,
    };
    let view = changed(state.frontdesk().submit(Command::View(command)).await?)?;
    Ok(go_to(&format!("/?view={}", urlencode(&saved_key(view.id)))))
}

/// `POST /views/{id}/delete`: then back to the agent's queue.
pub async fn delete(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let command = ViewCommand::Delete { by: editor(&me), id: view_id(&id)? };
    let view = changed(state.frontdesk().submit(Command::View(command)).await?)?;
    tracing::info!(view.id = %view.id, "view deleted in the console");
    Ok(go_to("/"))
}
