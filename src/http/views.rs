//! `/views`: saved inbox views. Every person (or person's token) lists the
//! views they see, their own and the shared ones, each with its case count,
//! and saves private views; who may share, rename or delete which view is the
//! core's decision (`frontdesk_core::write::views`), so the API and the
//! console answer alike.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use axum::{Json, Router};
use frontdesk_core::CaseStatus;
use frontdesk_core::domain::ViewId;
use frontdesk_core::runtime::{CaseSort, SavedView, SlaFilter, ViewFilters};
use frontdesk_core::write::command::{Command, Outcome, ViewCommand, ViewEditor};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Principal;
use super::customers::unexpected;
use super::extract::{ApiJson, parse_id};
use super::{ApiError, AppState};

/// The routes of `/views`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/views", get(list_views).post(create_view))
        .route("/views/{id}", patch(update_view).delete(delete_view))
}

/// A view's filters as the API takes them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FiltersBody {
    status: Option<CaseStatus>,
    team: Option<String>,
    /// An agent's name, or `me` for whoever looks.
    assignee: Option<String>,
    #[serde(default)]
    unassigned: bool,
    tag: Option<String>,
    sla: Option<SlaFilter>,
    #[serde(default)]
    unsolved: bool,
}

impl From<FiltersBody> for ViewFilters {
    fn from(body: FiltersBody) -> Self {
        ViewFilters {
            status: body.status,
            team: body.team,
            assignee: body.assignee,
            unassigned: body.unassigned,
            tag: body.tag,
            sla: body.sla,
            unsolved: body.unsolved,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateViewBody {
    name: String,
    #[serde(default)]
    shared: bool,
    #[serde(default)]
    filters: FiltersBody,
    #[serde(default)]
    sort: CaseSort,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateViewBody {
    name: Option<String>,
    shared: Option<bool>,
    filters: Option<FiltersBody>,
    sort: Option<CaseSort>,
}

/// A view as the API answers it; `count` when it was counted.
pub fn view_json(view: &SavedView, count: Option<u64>) -> Value {
    let mut body = json!({
        "id": view.id,
        "name": view.name,
        "owner": view.owner,
        "shared": view.shared,
        "filters": view.filters,
        "sort": view.sort,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
    });
    if let Some(count) = count {
        body["count"] = json!(count);
    }
    body
}

/// Who changes views through this request; views belong to people, so
/// integration tokens are refused here already.
fn editor(principal: &Principal, action: &'static str) -> Result<ViewEditor, ApiError> {
    if !principal.role.is_person() {
        return Err(ApiError::Forbidden { role: principal.role.as_str(), action });
    }
    Ok(ViewEditor { name: principal.name.clone(), role: principal.role })
}

/// Saves, changes or deletes a view through the writer.
///
/// # Errors
/// The core's refusal (403, 404, 409, 400) or a failed write.
pub async fn submit(state: &AppState, command: ViewCommand) -> Result<SavedView, ApiError> {
    match state.frontdesk().submit(Command::View(command)).await? {
        Outcome::View(view) => Ok(view),
        other => Err(unexpected(other)),
    }
}

/// The views `viewer` sees, each with how many cases it shows them now, all
/// counted from one snapshot.
///
/// # Errors
/// A failed read.
pub async fn views_with_counts(state: &AppState, viewer: &str) -> Result<Vec<(SavedView, u64)>, ApiError> {
    let views = state.frontdesk().views_for(viewer.to_owned()).await?;
    let queries = views.iter().map(|v| v.filters.query(viewer, usize::MAX)).collect();
    let counts = state.frontdesk().count_cases(queries).await?;
    Ok(views.into_iter().zip(counts).collect())
}

/// Every view the caller sees, by name, each with its count.
async fn list_views(State(state): State<AppState>, principal: Principal) -> Result<Json<Value>, ApiError> {
    editor(&principal, "use saved views")?;
    let views = views_with_counts(&state, &principal.name).await?;
    Ok(Json(json!({ "views": views.iter().map(|(v, n)| view_json(v, Some(*n))).collect::<Vec<_>>() })))
}

async fn create_view(
    State(state): State<AppState>,
    principal: Principal,
    json: ApiJson<CreateViewBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let by = editor(&principal, "save views")?;
    let (body, _) = json.parse()?;
    let command =
        ViewCommand::Create { by, name: body.name, shared: body.shared, filters: body.filters.into(), sort: body.sort };
    let view = submit(&state, command).await?;
    tracing::info!(view.id = %view.id, shared = view.shared, "view saved");
    Ok((StatusCode::CREATED, Json(view_json(&view, None))))
}

async fn update_view(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    json: ApiJson<UpdateViewBody>,
) -> Result<Json<Value>, ApiError> {
    let by = editor(&principal, "change views")?;
    let (body, _) = json.parse()?;
    let id: ViewId = parse_id("view", &id)?;
    let command = ViewCommand::Update {
        by,
        id,
        name: body.name,
        shared: body.shared,
        filters: body.filters.map(Into::into),
        sort: body.sort,
    };
    Ok(Json(view_json(&submit(&state, command).await?, None)))
}

async fn delete_view(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let by = editor(&principal, "delete views")?;
    let id: ViewId = parse_id("view", &id)?;
    let view = submit(&state, ViewCommand::Delete { by, id }).await?;
    tracing::info!(view.id = %view.id, "view deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}
