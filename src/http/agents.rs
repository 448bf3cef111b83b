//! `/agents` and `/teams`: admins add and change people; every person's
//! role lists them (assignment pickers). Passwords are hashed here, on the
//! blocking pool, before the command reaches the writer; no answer ever
//! carries a password hash (agents are answered as [`AgentProfile`]s).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json, Router};
use frontdesk_core::auth::password::hash_password;
use frontdesk_core::auth::{Agent, AgentProfile, Permission, Role};
use frontdesk_core::write::Refusal;
use frontdesk_core::write::command::{Command, Outcome};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Principal;
use super::customers::unexpected;
use super::extract::ApiJson;
use super::{ApiError, AppState};

/// The routes of `/agents` and `/teams`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/agents", get(list_agents).post(create_agent))
        .route("/agents/{name}", patch(update_agent))
        .route("/teams", get(list_teams))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAgentBody {
    name: String,
    email: String,
    role: Role,
    #[serde(default)]
    teams: Vec<String>,
    password: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateAgentBody {
    role: Option<Role>,
    teams: Option<Vec<String>>,
    active: Option<bool>,
    email: Option<String>,
    password: Option<String>,
}

/// The PHC string of `password`, hashed on the blocking pool (argon2id takes
/// tens of milliseconds, which must not hold a request worker).
///
/// # Errors
/// 400 `invalid_input` for a password of the wrong length.
pub async fn hash_off_worker(password: String) -> Result<String, ApiError> {
    let hashed = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| ApiError::Internal("password hashing was interrupted".into()))?;
    hashed.map_err(|e| ApiError::from(Refusal::Invalid(e.to_string())))
}

fn agent_json(agent: &Agent) -> Json<Value> {
    Json(json!(agent.profile()))
}

async fn create_agent(
    State(state): State<AppState>,
    principal: Principal,
    json: ApiJson<CreateAgentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(Permission::ManageAgents, "manage agents")?;
    let (body, _) = json.parse()?;
    let password_hash = hash_off_worker(body.password).await?;
    let agent = Agent {
        name: body.name,
        email: body.email,
        role: body.role,
        teams: body.teams,
        password_hash,
        active: true,
        created_at: state.frontdesk.clock().now(),
    };
    match state.frontdesk.submit(Command::CreateAgent(agent)).await? {
        Outcome::Agent(agent) => {
            tracing::info!(agent = %agent.name, role = %agent.role, by = %principal.name, "agent created");
            Ok((StatusCode::CREATED, agent_json(&agent)))
        }
        other => Err(unexpected(other)),
    }
}

async fn update_agent(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
    json: ApiJson<UpdateAgentBody>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ManageAgents, "manage agents")?;
    let (body, _) = json.parse()?;
    let password_hash = match body.password {
        Some(password) => Some(hash_off_worker(password).await?),
        None => None,
    };
    let command = Command::UpdateAgent {
        name,
        password_hash,
        role: body.role,
        teams: body.teams,
        active: body.active,
        email: body.email,
    };
    match state.frontdesk.submit(command).await? {
        Outcome::Agent(agent) => {
            tracing::info!(agent = %agent.name, by = %principal.name, "agent changed");
            Ok(agent_json(&agent))
        }
        other => Err(unexpected(other)),
    }
}

async fn list_agents(State(state): State<AppState>, principal: Principal) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ReadAgents, "list agents")?;
    let agents: Vec<AgentProfile> = state.frontdesk.agents().await?.iter().map(Agent::profile).collect();
    Ok(Json(json!({ "agents": agents })))
}

async fn list_teams(State(state): State<AppState>, principal: Principal) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ReadAgents, "list teams")?;
    let mut teams: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for agent in state.frontdesk.agents().await?.into_iter().filter(|a| a.active) {
        for team in agent.teams {
            teams.entry(team).or_default().push(agent.name.clone());
        }
    }
    let teams: Vec<Value> =
        teams.into_iter().map(|(name, members)| json!({ "name": name, "members": members })).collect();
    Ok(Json(json!({ "teams": teams })))
}
