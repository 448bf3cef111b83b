//! The admin page: agents and teams (with a form to add an agent), the
//! rules' scripts with their last errors, the plugins with their circuits,
//! and the outbox. Admins only; every read is one the API offers too.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::Response;
use frontdesk_core::auth::{Agent, Permission, Role};
use frontdesk_core::write::command::{Command, Outcome};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::ConsoleError;
use super::format;
use super::page::{self, Shell};
use super::session::SignedIn;
use crate::http::AppState;

/// Outbox items listed.
const OUTBOX_SHOWN: usize = 50;

fn require_admin(me: &SignedIn) -> Result<(), ConsoleError> {
    if me.agent.role.allows(Permission::Administer) {
        Ok(())
    } else {
        Err(ConsoleError::Forbidden("administer Frontdesk"))
    }
}

/// `GET /admin`.
pub async fn page(State(state): State<AppState>, me: SignedIn) -> Result<Response, ConsoleError> {
    require_admin(&me)?;
    let agents = state.frontdesk().agents().await?;
    let outbox = state.frontdesk().outbox(OUTBOX_SHOWN).await?;
    let scripts = state.frontdesk().rules().statuses();
    let plugins = state.plugins().statuses();
    let mut teams: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for agent in agents.iter().filter(|a| a.active) {
        for team in &agent.teams {
            teams.entry(team).or_default().push(&agent.name);
        }
    }
    let content = html! {
        main #main .content {
            h1 { "Administration" }
            div #admin-alert aria-live="assertive" {}
            section.panel aria-label="Agents" {
                h2 { "Agents (" (agents.len()) ")" }
                table.plain {
                    thead { tr { th { "Name" } th { "Email" } th { "Role" } th { "Teams" } th { "Active" } } }
                    tbody #agent-rows {
                        @for agent in &agents { (agent_row(agent)) }
                    }
                }
                h2 { "Add an agent" }
                form hx-post="/admin/agents" hx-target="#admin-alert" {
                    div.row {
                        div { label for="new-name" { "Name" } input #new-name name="name" required pattern="[a-z0-9._-]{1,64}"; }
                        div { label for="new-email" { "Email" } input #new-email name="email" type="email" required; }
                    }
                    div.row {
                        div { label for="new-role" { "Role" }
                            select #new-role name="role" { option value="agent" { "agent" } option value="lead" { "lead" } option value="admin" { "admin" } } }
                        div { label for="new-teams" { "Teams (comma-separated)" } input #new-teams name="teams"; }
                    }
                    label for="new-password" { "Initial password (10+ characters)" }
                    input #new-password name="password" type="password" required minlength="10" autocomplete="new-password";
                    button.primary type="submit" { "Add agent" }
                }
            }
            section.panel aria-label="Teams" {
                h2 { "Teams" }
                @if teams.is_empty() { p.hint { "No teams yet: give agents teams above." } }
                dl { @for (team, members) in &teams { dt { (team) } dd { (members.join(", ")) } } }
            }
            section.panel aria-label="Scripts" {
                h2 { "Rules (scripts/)" }
                table.plain {
                    thead { tr { th { "File" } th { "Status" } th { "Hash" } th { "Hooks" } th { "Last problem" } } }
                    tbody {
                        @for s in &scripts {
                            tr {
                                td { code { (s.file) } }
                                td { (s.status) }
                                td { code { (s.hash.as_deref().map_or("", |h| h.get(..12).unwrap_or(h))) } }
                                td { (s.hooks.join(", ")) }
                                td {
                                    @for p in s.compile_error.iter().chain(&s.runtime_error) {
                                        div.ev-error {
                                            (p.kind) @if let (Some(l), Some(c)) = (p.line, p.column) { " at " (l) ":" (c) } ": " (p.message)
                                            " (" (format::time(p.at)) ")"
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.panel aria-label="Plugins" {
                h2 { "Plugins" }
                table.plain {
                    thead { tr { th { "Plugin" } th { "Status" } th { "Calls" } th { "Failures" } th { "Last error" } } }
                    tbody {
                        @for p in &plugins {
                            tr {
                                td { (p.name) " " (p.version.as_deref().unwrap_or("")) }
                                td { (p.status) @if let Some(r) = &p.reason { div.hint { (r) } } }
                                td { (p.calls) }
                                td { (p.failures) }
                                td { @if let Some(e) = &p.last_error { span.ev-error { (e.hook) ": " (e.message) } " (" (format::time(e.at)) ")" } }
                            }
                        }
                    }
                }
            }
            section.panel aria-label="Outbox" {
                h2 { "Outbox: " (outbox.pending) " pending, " (outbox.failed) " failed" }
                table.plain {
                    thead { tr { th { "#" } th { "Work" } th { "Case" } th { "Status" } th { "Attempts" } th { "Next try" } th { "Last error" } } }
                    tbody {
                        @for item in &outbox.items {
                            tr {
                                td { (item.id) }
                                td { (item.kind) " → " (item.target) }
                                td { @if let Some(c) = item.case_id { a href={ "/cases/" (c) } { "#" (c) } } }
                                td { (item.status) }
                                td { (item.attempts) }
                                td { (format::time(item.next_try_at)) }
                                td { (item.last_error.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page::render(&Shell { title: "Administration", me: Some(&me), live: false, case: None }, content))
}

fn agent_row(agent: &Agent) -> Markup {
    html! {
        tr {
            td { (agent.name) } td { (agent.email) } td { (agent.role.as_str()) }
            td { (agent.teams.join(", ")) } td { @if agent.active { "yes" } @else { "no" } }
        }
    }
}

/// The add-an-agent form.
#[derive(Debug, Deserialize)]
pub struct NewAgentForm {
    name: String,
    email: String,
    role: String,
    teams: String,
    password: String,
}

/// `POST /admin/agents`: adds an agent; the page reloads to show it.
pub async fn create_agent(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<NewAgentForm>,
) -> Result<Response, ConsoleError> {
    require_admin(&me)?;
    let role: Role =
        form.role.parse().map_err(|e: frontdesk_core::auth::UnknownRole| ConsoleError::BadRequest(e.to_string()))?;
    let password_hash = match crate::http::agents::hash_off_worker(form.password).await {
        Ok(hash) => hash,
        Err(e) => return Err(ConsoleError::BadRequest(e.to_string())),
    };
    let agent = Agent {
        name: form.name.trim().to_owned(),
        email: form.email.trim().to_owned(),
        role,
        teams: form.teams.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
        password_hash,
        active: true,
        created_at: state.frontdesk().clock().now(),
    };
    let name = match state.frontdesk().submit(Command::CreateAgent(agent)).await {
        Ok(Outcome::Agent(agent)) => agent.name,
        Ok(other) => return Err(ConsoleError::BadRequest(format!("unexpected answer: {other:?}"))),
        Err(e @ frontdesk_core::runtime::SubmitError::Refused(_)) => {
            return Err(ConsoleError::BadRequest(e.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(agent = %name, by = %me.agent.name, "agent added in the console");
    let mut response = page::page_response(html! { div.alert.good role="status" { "Added " (name) "." } });
    response.headers_mut().insert("hx-refresh", HeaderValue::from_static("true"));
    Ok(response)
}
