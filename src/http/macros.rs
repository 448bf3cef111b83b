//! `/macros`: leads write canned replies with actions; agents list them
//! and apply one to a case (`POST /cases/{id}/macros`), which writes its
//! message and changes in one commit. The console shares [`save`] and
//! [`apply`].

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use frontdesk_core::auth::Permission;
use frontdesk_core::domain::{CaseId, CaseStatus, Macro, MacroAssignee, MacroMessage, MacroMessageKind, Priority};
use frontdesk_core::write::command::{Command, IdempotencyClaim, Outcome};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Principal;
use super::cases::{idempotency_claim, message_answer_or_replay};
use super::customers::unexpected;
use super::extract::{ApiJson, parse_id};
use super::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/macros", get(list_macros).post(create_macro))
        .route("/macros/{name}", get(get_macro).put(replace_macro).delete(delete_macro))
        .route("/cases/{id}/macros", post(apply_macro))
}

/// A macro as written by a lead: everything but who wrote it and when.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacroBody {
    /// The key; on `PUT` it may be left out (the path names it).
    #[serde(default)]
    pub name: Option<String>,
    /// What agents see.
    pub title: String,
    /// The reply or note it adds.
    #[serde(default)]
    pub message: Option<MacroMessage>,
    /// The status it sets.
    #[serde(default)]
    pub status: Option<CaseStatus>,
    /// The priority it sets.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// `@me`, `@nobody` or an agent's name.
    #[serde(default)]
    pub assignee: Option<MacroAssignee>,
    /// Tags it adds.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// Tags it removes.
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// Custom fields it sets.
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
}

/// Creates (`create`) or replaces the macro `name` from `body`, written by
/// `author`.
///
/// # Errors
/// A name in the body that differs from `name`, or the core's refusal (a
/// taken name, an unknown placeholder or assignee, nothing to do).
pub async fn save(
    state: &AppState,
    author: &str,
    name: &str,
    body: MacroBody,
    create: bool,
) -> Result<Macro, ApiError> {
    if body.name.as_deref().is_some_and(|n| n != name) {
        return Err(ApiError::InvalidBody(format!("the body names macro {:?}, the path {name:?}", body.name)));
    }
    let now = state.frontdesk.clock().now();
    let record = Macro {
        name: name.to_owned(),
        title: body.title.trim().to_owned(),
        message: body.message,
        status: body.status,
        priority: body.priority,
        assignee: body.assignee,
        add_tags: body.add_tags,
        remove_tags: body.remove_tags,
        fields: body.fields,
        created_by: author.to_owned(),
        created_at: now,
        updated_by: author.to_owned(),
        updated_at: now,
    };
    let command = if create { Command::CreateMacro(record) } else { Command::UpdateMacro(record) };
    match state.frontdesk.submit(command).await? {
        Outcome::Macro(record) => Ok(record),
        other => Err(unexpected(other)),
    }
}

/// Deletes the macro `name`.
///
/// # Errors
/// The core's refusal (no such macro) or a storage failure.
pub async fn delete(state: &AppState, name: &str) -> Result<Macro, ApiError> {
    match state.frontdesk.submit(Command::DeleteMacro { name: name.to_owned() }).await? {
        Outcome::Macro(record) => Ok(record),
        other => Err(unexpected(other)),
    }
}

/// The permissions applying `record` needs beyond reading the case: its
/// message's, and changing cases if it changes anything.
pub fn required(record: &Macro) -> Vec<(Permission, &'static str)> {
    let mut needs = Vec::new();
    match record.message.as_ref().map(|m| m.kind) {
        Some(MacroMessageKind::Reply) => needs.push((Permission::Reply, "send replies")),
        Some(MacroMessageKind::Note) => needs.push((Permission::AddNote, "add notes")),
        None => {}
    }
    if record.changes_case() {
        needs.push((Permission::UpdateCases, "change cases"));
    }
    needs
}

/// Applies the macro `name` to `case_id` as `who`: refused unless the
/// role may do everything the macro does. Answers with the macro as it was
/// checked, and what the core answered.
///
/// # Errors
/// [`ApiError::Forbidden`], an unknown macro (404), or the core's refusal.
pub async fn apply(
    state: &AppState,
    case_id: CaseId,
    name: &str,
    who: &Principal,
    idempotency: Option<IdempotencyClaim>,
) -> Result<(Macro, Outcome), ApiError> {
    let record = state
        .frontdesk
        .macros()
        .await?
        .into_iter()
        .find(|m| m.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("macro {name:?} not found")))?;
    for (permission, action) in required(&record) {
        who.require(permission, action)?;
    }
    let command = Command::ApplyMacro {
        case_id,
        name: name.to_owned(),
        actor: who.actor(),
        may_reassign: who.role.allows(Permission::Reassign),
        idempotency,
    };
    Ok((record, state.frontdesk.submit(command).await?))
}

fn macro_json(record: &Macro) -> Value {
    serde_json::to_value(record).expect("a macro serializes")
}

async fn list_macros(State(state): State<AppState>, principal: Principal) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ReadCases, "read macros")?;
    let macros = state.frontdesk.macros().await?;
    Ok(Json(json!({ "macros": macros.iter().map(macro_json).collect::<Vec<_>>() })))
}

async fn get_macro(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ReadCases, "read macros")?;
    let macros = state.frontdesk.macros().await?;
    let record = macros
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("macro {name:?} not found")))?;
    Ok(Json(macro_json(record)))
}

async fn create_macro(
    State(state): State<AppState>,
    principal: Principal,
    json: ApiJson<MacroBody>,
) -> Result<Response, ApiError> {
    principal.require(Permission::ManageMacros, "manage macros")?;
    let (body, _) = json.parse()?;
    let name = body.name.clone().ok_or_else(|| ApiError::InvalidBody("missing field `name`".into()))?;
    let record = save(&state, &principal.name, &name, body, true).await?;
    Ok((StatusCode::CREATED, Json(macro_json(&record))).into_response())
}

async fn replace_macro(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
    json: ApiJson<MacroBody>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ManageMacros, "manage macros")?;
    let (body, _) = json.parse()?;
    Ok(Json(macro_json(&save(&state, &principal.name, &name, body, false).await?)))
}

async fn delete_macro(
    State(state): State<AppState>,
    principal: Principal,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    principal.require(Permission::ManageMacros, "manage macros")?;
    delete(&state, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyBody {
    #[serde(rename = "macro")]
    name: String,
}

async fn apply_macro(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    json: ApiJson<ApplyBody>,
) -> Result<Response, ApiError> {
    // Every macro changes a case; what else it needs depends on the macro.
    principal.require(Permission::UpdateCases, "apply macros")?;
    let (body, raw) = json.parse()?;
    let case_id: CaseId = parse_id("case", &id)?;
    let idempotency = idempotency_claim(&headers, &principal, &raw)?;
    let (_, outcome) = apply(&state, case_id, &body.name, &principal, idempotency).await?;
    message_answer_or_replay(&state, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_macro_needs_the_permissions_of_what_it_does() {
        let at = "2026-03-01T00:00:00Z".parse().unwrap();
        let mut record = Macro {
            name: "n".into(),
            title: "t".into(),
            message: Some(MacroMessage { kind: MacroMessageKind::Note, body: "b".into() }),
            status: None,
            priority: None,
            assignee: None,
            add_tags: Vec::new(),
            remove_tags: Vec::new(),
            fields: BTreeMap::new(),
            created_by: "l".into(),
            created_at: at,
            updated_by: "l".into(),
            updated_at: at,
        };
        let perms = |r: &Macro| required(r).into_iter().map(|(p, _)| p).collect::<Vec<_>>();
        assert_eq!(perms(&record), [Permission::AddNote]);
        record.status = Some(CaseStatus::Pending);
        record.message.as_mut().unwrap().kind = MacroMessageKind::Reply;
        assert_eq!(perms(&record), [Permission::Reply, Permission::UpdateCases]);
    }
}
