//! The admin page: agents and teams (with a form to add an agent), the
//! rules' scripts with their last errors, the plugins with their circuits,
//! and the outbox. Admins only; every read is one the API offers too.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::response::Response;
use frontdesk_core::auth::{Agent, ApiToken, Permission, Role};
use frontdesk_core::runtime::OutboxItem;
use frontdesk_core::runtime::SubmitError;
use frontdesk_core::write::command::{Command, Outcome};
use jiff::{SignedDuration, Timestamp};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::{ConsoleError, urlencode};
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
    let tokens = state.frontdesk().tokens().await?;
    let now = state.frontdesk().clock().now();
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
            section.panel aria-label="API tokens" {
                h2 { "API tokens" }
                div #token-alert aria-live="assertive" {}
                table.plain {
                    thead { tr { th { "Name" } th { "Role" } th { "Created" } th { "Expires" } th { "Last used" } th { "State" } th {} } }
                    (token_rows(&tokens, now))
                }
                h2 { "Create a token" }
                form hx-post="/admin/tokens" hx-target="#token-alert" {
                    div.row {
                        div { label for="token-name" { "Name" } input #token-name name="name" required pattern="[A-Za-z0-9._-]{1,64}"; }
                        div { label for="token-role" { "Role" }
                            select #token-role name="role" {
                                option value="integration" { "integration" } option value="agent" { "agent" }
                                option value="lead" { "lead" } option value="admin" { "admin" }
                            } }
                        div { label for="token-days" { "Expires after (days, empty for never)" } input #token-days name="expires_in_days" type="number" min="1" max="3650"; }
                    }
                    button.primary type="submit" { "Create token" }
                }
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
            section.panel aria-label="Simulate rules" {
                h2 { "Simulate rules" }
                p.hint { "Replays the cases created in the chosen period through the rules and reports what each file would have changed. Nothing is written." }
                form hx-post="/admin/simulate" hx-target="#simulation" {
                    div.row {
                        div { label for="sim-since" { "Cases created in the last" } input #sim-since name="since" value="7d" required pattern="[0-9]+[smhd]"; }
                        div { label for="sim-file" { "Candidate file name (optional)" } input #sim-file name="file" placeholder="30-triage.rhai"; }
                    }
                    label for="sim-source" { "Candidate script (optional: simulated alone instead of the running rules)" }
                    textarea #sim-source name="source" rows="6" spellcheck="false" {}
                    button.primary type="submit" { "Simulate" }
                }
                div #simulation aria-live="polite" {}
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
                    thead { tr { th { "#" } th { "Work" } th { "Case" } th { "Status" } th { "Attempts" } th { "Next try" } th { "Last error" } th {} } }
                    tbody {
                        @for item in &outbox.items { (outbox_row(item)) }
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
        Err(e) => return refused_as_bad_request(Err(e)),
    };
    tracing::info!(agent = %name, by = %me.agent.name, "agent added in the console");
    let mut response = page::page_response(html! { div.alert.good role="status" { "Added " (name) "." } });
    response.headers_mut().insert("hx-refresh", HeaderValue::from_static("true"));
    Ok(response)
}

/// The outbox row of `item`, with a retry button when it failed.
fn outbox_row(item: &OutboxItem) -> Markup {
    html! {
        tr id={ "outbox-" (item.id) } {
            td { (item.id) }
            td { (item.kind) " → " (item.target) }
            td { @if let Some(c) = item.case_id { a href={ "/cases/" (c) } { "#" (c) } } }
            td { (item.status) }
            td { (item.attempts) }
            td { (format::time(item.next_try_at)) }
            td { (item.last_error.as_deref().unwrap_or("")) }
            td {
                @if item.status == "failed" {
                    button type="button" hx-post={ "/admin/outbox/" (item.id) "/retry" } hx-target="closest tr" hx-swap="outerHTML"
                        aria-label={ "Retry outbox item " (item.id) } { "Retry" }
                }
            }
        }
    }
}

/// `POST /admin/outbox/{id}/retry`: sends failed work again; answers with the row.
pub async fn retry_outbox(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<u64>,
) -> Result<Response, ConsoleError> {
    require_admin(&me)?;
    refused_as_bad_request(state.frontdesk().submit(Command::RetryOutbox { id }).await)?;
    tracing::info!(outbox_id = id, by = %me.agent.name, "outbox item retried in the console");
    let outbox = state.frontdesk().outbox(OUTBOX_SHOWN).await?;
    let row = outbox.items.iter().find(|item| item.id == id).map(outbox_row);
    Ok(page::page_response(row.unwrap_or_default()))
}

/// The token table's body; replaced whole (out of band) when a token is added.
fn token_rows(tokens: &[ApiToken], now: Timestamp) -> Markup {
    html! {
        tbody #token-rows {
            @for token in tokens { (token_row(token, now)) }
        }
    }
}

fn token_row(token: &ApiToken, now: Timestamp) -> Markup {
    let state = if token.revoked_at.is_some() {
        "revoked"
    } else if token.usable_at(now) {
        "active"
    } else {
        "expired"
    };
    html! {
        tr id={ "token-" (token.name) } {
            td { code { (token.name) } } td { (token.role.as_str()) } td { (format::time(token.created_at)) }
            td { @if let Some(end) = token.expires_at { (format::time(end)) } @else { "never" } }
            td { @if let Some(seen) = token.last_used_at { (format::time(seen)) } @else { "never" } }
            td { (state) @if let Some(at) = token.revoked_at { " " (format::time(at)) } }
            td {
                @if token.revoked_at.is_none() {
                    button type="button" hx-post={ "/admin/tokens/" (urlencode(&token.name)) "/revoke" } hx-target="closest tr" hx-swap="outerHTML"
                        hx-confirm={ "Revoke the token " (token.name) "? Every client using it is refused at once." }
                        aria-label={ "Revoke token " (token.name) } { "Revoke" }
                }
            }
        }
    }
}

/// The create-a-token form.
#[derive(Debug, Deserialize)]
pub struct NewTokenForm {
    name: String,
    role: String,
    #[serde(default)]
    expires_in_days: String,
}

/// `POST /admin/tokens`: creates a token and shows its secret once, with the
/// refreshed list beside it.
pub async fn create_token(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<NewTokenForm>,
) -> Result<Response, ConsoleError> {
    require_admin(&me)?;
    let role: Role =
        form.role.parse().map_err(|e: frontdesk_core::auth::UnknownRole| ConsoleError::BadRequest(e.to_string()))?;
    let now = state.frontdesk().clock().now();
    let expires_at = match form.expires_in_days.trim() {
        "" => None,
        days => {
            let days: i64 = days
                .parse()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| ConsoleError::BadRequest("expiry must be 1 to 3650 days".into()))?;
            Some(now + SignedDuration::from_hours(days * 24))
        }
    };
    let (token, secret) = match crate::http::tokens::create(&state, form.name.trim(), role, expires_at).await {
        Ok(created) => created,
        Err(e) => return Err(ConsoleError::BadRequest(e.to_string())),
    };
    tracing::info!(token = %token.name, by = %me.agent.name, "token created in the console");
    let tokens = state.frontdesk().tokens().await?;
    Ok(page::page_response(html! {
        div.alert.good role="status" {
            "Created " code { (token.name) } ". Copy its secret now; it is not shown again: "
            code #new-token-secret { (secret) }
        }
        table hx-swap-oob="outerHTML:#token-rows" { (token_rows(&tokens, now)) }
    }))
}

/// `POST /admin/tokens/{name}/revoke`: answers with the token's new row.
pub async fn revoke_token(
    State(state): State<AppState>,
    me: SignedIn,
    Path(name): Path<String>,
) -> Result<Response, ConsoleError> {
    require_admin(&me)?;
    let token = match crate::http::tokens::revoke(&state, &name).await {
        Ok(token) => token,
        Err(e) => return Err(ConsoleError::BadRequest(e.to_string())),
    };
    tracing::info!(token = %token.name, by = %me.agent.name, "token revoked in the console");
    Ok(page::page_response(token_row(&token, state.frontdesk().clock().now())))
}

/// The simulate form.
#[derive(Debug, Deserialize)]
pub struct SimulateForm {
    since: String,
    #[serde(default)]
    file: String,
    #[serde(default)]
    source: String,
}

/// `POST /admin/simulate`: the report as a table.
pub async fn simulate(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<SimulateForm>,
) -> Result<Response, ConsoleError> {
    require_admin(&me)?;
    let candidate = match (form.file.trim(), form.source.trim()) {
        (_, "") => None,
        ("", _) => return Err(ConsoleError::BadRequest("name the candidate file (for example 30-triage.rhai)".into())),
        (file, _) => Some(BTreeMap::from([(file.to_owned(), form.source.clone())])),
    };
    let report = match crate::http::admin::simulate(&state, form.since.trim(), candidate.as_ref()).await {
        Ok(report) => report,
        Err(e) => return Err(ConsoleError::BadRequest(e.to_string())),
    };
    Ok(page::page_response(html! {
        p { (report.cases_examined) " cases created since " (format::time(report.since)) " replayed"
            @if report.truncated { " (stopped at the limit)" } "." }
        table.plain {
            thead { tr { th { "File" } th { "Cases changed" } th { "Changes" } th { "Errors" } th { "Examples" } } }
            tbody {
                @for (file, rule) in &report.rules {
                    tr {
                        td { code { (file) } }
                        td { (rule.cases_changed) }
                        td { @for (kind, n) in &rule.changes { span.badge { (kind) " " (n) } " " } }
                        td { (rule.errors) }
                        td { @for id in &rule.example_case_ids { a href={ "/cases/" (id) } { "#" (id) } " " } }
                    }
                }
            }
        }
    }))
}

/// A refused command as the console's 400 with the refusal's words.
fn refused_as_bad_request<T>(result: Result<T, SubmitError>) -> Result<T, ConsoleError> {
    match result {
        Ok(value) => Ok(value),
        Err(e @ SubmitError::Refused(_)) => Err(ConsoleError::BadRequest(e.to_string())),
        Err(e) => Err(e.into()),
    }
}
