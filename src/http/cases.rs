//! `/cases`: create, list, read, patch, messages, timeline, CSAT.

use std::collections::{BTreeMap, BTreeSet};

use super::case_body::SlaExplanation;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use frontdesk_core::auth::{Permission, hash_secret, may_assign_without_reassign};
use frontdesk_core::runtime::{CaseQuery, CaseSort, DuePosition, IdempotentAnswer, SlaFilter};
use frontdesk_core::sla::CaseSla;
use frontdesk_core::write::command::{
    CasePatch, Command, CustomerRef, IdempotencyClaim, MessageKind, NewCase, Outcome,
};
use frontdesk_core::{Case, CaseId, CaseStatus, CustomerId, Event, Priority};
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

use super::auth::Principal;
use super::customers::{CustomerBody, EventsQuery, events_json, unexpected};
use super::extract::{ApiJson, ApiQuery, decode_cursor, encode_cursor, page_limit, parse_id};
use super::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases", get(list_cases).post(create_case))
        .route("/cases/{id}", get(get_case).patch(update_case))
        .route("/cases/{id}/messages", post(add_message))
        .route("/cases/{id}/events", get(list_case_events))
        .route("/cases/{id}/csat", post(record_csat))
        .route("/cases/{id}/sla", get(explain_sla))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCaseBody {
    subject: String,
    customer: CustomerBody,
    #[serde(default = "default_channel")]
    channel: String,
    #[serde(default)]
    priority: Priority,
    message: Option<MessageText>,
    #[serde(default)]
    tags: BTreeSet<String>,
    #[serde(default)]
    fields: BTreeMap<String, Value>,
    team: Option<String>,
    assignee: Option<String>,
}

fn default_channel() -> String {
    "api".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageText {
    body: String,
}

/// The longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The request's `Idempotency-Key`, scoped to the token and bound to the
/// body it came with.
pub(crate) fn idempotency_claim(
    headers: &HeaderMap,
    principal: &Principal,
    raw: &[u8],
) -> Result<Option<IdempotencyClaim>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().ok().map(str::trim).filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY);
    let key = key.ok_or_else(|| {
        ApiError::InvalidBody(format!("Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} visible characters"))
    })?;
    // Keys are scoped to the token, so two clients cannot collide.
    Ok(Some(IdempotencyClaim {
        key: format!("{}:{key}", principal.name),
        request_hash: hash_secret(&String::from_utf8_lossy(raw)),
    }))
}

async fn create_case(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    json: ApiJson<CreateCaseBody>,
) -> Result<Response, ApiError> {
    principal.require(Permission::CreateCases, "create cases")?;
    let (body, raw) = json.parse()?;
    let idempotency = idempotency_claim(&headers, &principal, &raw)?;
    let customer = match body.customer.id {
        Some(id) => CustomerRef::Id(id),
        None => CustomerRef::Match(body.customer.into_input()?),
    };
    let command = Command::CreateCase(NewCase {
        subject: body.subject,
        customer,
        channel: body.channel,
        priority: body.priority,
        message: body.message.map(|m| m.body),
        tags: body.tags,
        fields: body.fields,
        team: body.team,
        assignee: body.assignee,
        actor: principal.actor(),
        idempotency,
    });
    match state.frontdesk.submit(command).await? {
        Outcome::Case { case, sla, .. } => {
            tracing::Span::current().record("case.id", tracing::field::display(case.id));
            Ok(json_answer(StatusCode::CREATED, state.rendered.render(case, sla)))
        }
        Outcome::Replayed(answer) => {
            let mut response = match answer {
                IdempotentAnswer::Created { case, sla } | IdempotentAnswer::Posted { case, sla, .. } => {
                    json_answer(StatusCode::CREATED, state.rendered.render(*case, *sla))
                }
                IdempotentAnswer::Rendered { status, body } => {
                    json_answer(StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED), body.into())
                }
            };
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        other => Err(unexpected(other)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<CaseStatus>,
    priority: Option<Priority>,
    team: Option<String>,
    assignee: Option<String>,
    tag: Option<String>,
    customer: Option<String>,
    sla: Option<String>,
    /// Only cases not solved or closed (the agents' queues).
    unsolved: Option<bool>,
    /// Only cases nobody is assigned to.
    unassigned: Option<bool>,
    /// `created` (newest first, the default) or `sla_due` (soonest SLA
    /// deadline first, then the cases without one).
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<usize>,
}

async fn list_cases(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    principal.require(Permission::ReadCases, "read cases")?;
    let sla = match query.sla.as_deref() {
        None => None,
        Some("breached") => Some(SlaFilter::Breached),
        Some("at_risk") => Some(SlaFilter::AtRisk),
        Some(other) => return Err(ApiError::InvalidQuery(format!("sla must be breached or at_risk, got {other:?}"))),
    };
    let customer = match &query.customer {
        Some(raw) => Some(
            raw.parse::<CustomerId>().map_err(|_| ApiError::InvalidQuery(format!("invalid customer id {raw:?}")))?,
        ),
        None => None,
    };
    let sort = match query.sort.as_deref() {
        None => CaseSort::Created,
        Some(name) => CaseSort::parse(name)
            .ok_or_else(|| ApiError::InvalidQuery(format!("sort must be created or sla_due, got {name:?}")))?,
    };
    let mut case_query = CaseQuery {
        status: query.status,
        priority: query.priority,
        team: query.team,
        assignee: query.assignee,
        tag: query.tag,
        customer,
        sla,
        unsolved: query.unsolved.unwrap_or(false),
        unassigned: query.unassigned.unwrap_or(false),
        oldest_first: false,
        before: None,
        limit: page_limit(query.limit, 50, 200)?,
    };
    let (items, next_cursor) = match sort {
        CaseSort::Created => {
            case_query.before = query.cursor.as_deref().map(decode_cursor).transpose()?.map(CaseId::new);
            let page = state.frontdesk.cases(case_query).await?;
            (page.items, page.next.map(|id| encode_cursor(id.get())))
        }
        CaseSort::SlaDue => {
            let after = match query.cursor.as_deref() {
                Some(cursor) => Some(
                    cursor
                        .parse::<DuePosition>()
                        .map_err(|_| ApiError::InvalidQuery(format!("invalid cursor {cursor:?}")))?,
                ),
                None => None,
            };
            let page = state.frontdesk.cases_by_sla_due(case_query, after).await?;
            (page.items, page.next.map(|at| at.to_string()))
        }
    };
    // `{"cases":[...],"next_cursor":...}` from the rendered case bodies, not
    // built as a `serde_json::Value` (a large share of the HTTP side's CPU
    // under the mixed load, BENCHMARKS.md) nor serialized again case by case.
    let mut body = Vec::with_capacity(64 + items.len() * 1024);
    body.extend_from_slice(br#"{"cases":["#);
    for (i, (case, sla)) in items.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&state.rendered.render(case, sla));
    }
    body.extend_from_slice(br#"],"next_cursor":"#);
    serde_json::to_writer(&mut body, &next_cursor).expect("a cursor serializes");
    body.push(b'}');
    Ok(json_answer(StatusCode::OK, body.into()))
}

/// A JSON answer whose body is already serialized.
fn json_answer(status: StatusCode, body: Bytes) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

async fn get_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Permission::ReadCases, "read cases")?;
    let id: CaseId = parse_id("case", &id)?;
    let (case, sla) = load_case(&state, id).await?;
    Ok(json_answer(StatusCode::OK, state.rendered.render(case, sla)))
}

/// A case and its SLA state, or 404.
async fn load_case(state: &AppState, id: CaseId) -> Result<(Case, CaseSla), ApiError> {
    state.frontdesk.case(id).await?.ok_or_else(|| ApiError::NotFound(format!("case {id} not found")))
}

async fn explain_sla(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ReadCases, "read cases")?;
    let id: CaseId = parse_id("case", &id)?;
    let (case, sla) = load_case(&state, id).await?;
    let now = state.frontdesk.clock().now();
    Ok(Json(json!(SlaExplanation::new(&case, &sla, state.frontdesk.sla(), now))))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    status: Option<CaseStatus>,
    priority: Option<Priority>,
    #[serde(default, deserialize_with = "present")]
    team: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    assignee: Option<Option<String>>,
    tags: Option<TagsPatch>,
    #[serde(default)]
    fields: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagsPatch {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
}

/// Tells "absent" (leave as is) from `null` (clear) for optional fields.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

async fn update_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    json: ApiJson<PatchBody>,
) -> Result<Response, ApiError> {
    principal.require(Permission::UpdateCases, "update cases")?;
    let (body, _) = json.parse()?;
    let case_id: CaseId = parse_id("case", &id)?;
    // Without Reassign, the change is allowed against the assignee read
    // here, and the writer refuses it if that changed in the meantime.
    let mut expected_assignee = None;
    if let Some(assignee) = &body.assignee
        && !principal.role.allows(Permission::Reassign)
        && let Some((case, _)) = state.frontdesk.case(case_id).await?
    {
        if !may_assign_without_reassign(&principal.name, case.assignee.as_deref(), assignee.as_deref()) {
            return Err(ApiError::Forbidden {
                role: principal.role.as_str(),
                action: "assign a case to someone else or take it from someone else",
            });
        }
        expected_assignee = Some(case.assignee);
    }
    let tags = body.tags.unwrap_or_default();
    let patch = CasePatch {
        status: body.status,
        priority: body.priority,
        team: body.team,
        assignee: body.assignee,
        add_tags: tags.add,
        remove_tags: tags.remove,
        fields: body.fields,
        expected_assignee,
    };
    let command = Command::UpdateCase { case_id, patch, actor: principal.actor() };
    case_json(&state, state.frontdesk.submit(command).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    #[serde(rename = "type")]
    kind: MessageKind,
    body: String,
}

async fn add_message(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    json: ApiJson<MessageBody>,
) -> Result<Response, ApiError> {
    let (body, raw) = json.parse()?;
    match body.kind {
        MessageKind::Reply => principal.require(Permission::Reply, "send replies")?,
        MessageKind::Note => principal.require(Permission::AddNote, "add notes")?,
        MessageKind::Customer => principal.require(Permission::AddCustomerMessage, "add customer messages")?,
    }
    let case_id: CaseId = parse_id("case", &id)?;
    let idempotency = idempotency_claim(&headers, &principal, &raw)?;
    let command =
        Command::AddMessage { case_id, kind: body.kind, body: body.body, actor: principal.actor(), idempotency };
    message_answer_or_replay(&state, state.frontdesk.submit(command).await?)
}

/// The answer to a posted message (or applied macro), also when it was the
/// replay of an earlier send with the same `Idempotency-Key`.
pub(crate) fn message_answer_or_replay(state: &AppState, outcome: Outcome) -> Result<Response, ApiError> {
    match outcome {
        Outcome::Case { case, sla, events, created } => Ok(message_answer(state, case, sla, &events, created)),
        Outcome::Replayed(IdempotentAnswer::Posted { case, sla, events, follow_up }) => {
            let mut response = message_answer(state, *case, *sla, &events, follow_up);
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        Outcome::Replayed(_) => Err(ApiError::Submit(frontdesk_core::runtime::SubmitError::Refused(
            frontdesk_core::write::Refusal::IdempotencyKeyReused,
        ))),
        other => Err(unexpected(other)),
    }
}

/// `{"case":...,"events":[...],"follow_up":...}`, the case rendered once.
fn message_answer(state: &AppState, case: Case, sla: CaseSla, events: &[Event], follow_up: bool) -> Response {
    let mut body = br#"{"case":"#.to_vec();
    body.extend_from_slice(&state.rendered.render(case, sla));
    body.extend_from_slice(br#","events":"#);
    serde_json::to_writer(&mut body, events).expect("events serialize");
    body.extend_from_slice(if follow_up { br#","follow_up":true}"# } else { br#","follow_up":false}"# });
    json_answer(StatusCode::CREATED, body.into())
}

async fn list_case_events(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<CaseEventsQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ReadCases, "read cases")?;
    let id: CaseId = parse_id("case", &id)?;
    let newest_first = match query.order.as_deref() {
        None | Some("oldest") => false,
        Some("newest") => true,
        Some(other) => return Err(ApiError::InvalidQuery(format!("order must be oldest or newest, not {other:?}"))),
    };
    let (cursor, limit) = EventsQuery { cursor: query.cursor, limit: query.limit }.parse()?;
    let page = if newest_first {
        state.frontdesk.case_events_before(id, cursor, limit).await?
    } else {
        state.frontdesk.case_events(id, cursor, limit).await?
    };
    Ok(events_json(page.ok_or_else(|| ApiError::NotFound(format!("case {id} not found")))?))
}

/// `?cursor=&limit=&order=oldest|newest`: a timeline page; newest first
/// opens a long thread at its end and its cursor pages back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseEventsQuery {
    cursor: Option<String>,
    limit: Option<usize>,
    order: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsatBody {
    score: u8,
    comment: Option<String>,
}

async fn record_csat(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    json: ApiJson<CsatBody>,
) -> Result<Response, ApiError> {
    principal.require(Permission::RecordCsat, "record CSAT")?;
    let (body, _) = json.parse()?;
    let case_id: CaseId = parse_id("case", &id)?;
    let command = Command::RecordCsat { case_id, score: body.score, comment: body.comment };
    case_json(&state, state.frontdesk.submit(command).await?)
}

fn case_json(state: &AppState, outcome: Outcome) -> Result<Response, ApiError> {
    match outcome {
        Outcome::Case { case, sla, .. } => Ok(json_answer(StatusCode::OK, state.rendered.render(case, sla))),
        other => Err(unexpected(other)),
    }
}
