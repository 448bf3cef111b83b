//! `/customers`: create-or-match by identity, profile, timeline across cases.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use frontdesk_core::auth::Permission;
use frontdesk_core::plugins::{CallError, Kind, v0_1};
use frontdesk_core::runtime::Page;
use frontdesk_core::runtime::outbox_worker::wit_customer;
use frontdesk_core::write::Refusal;
use frontdesk_core::write::command::{Command, CustomerInput, Outcome};
use frontdesk_core::{Actor, CustomerId, EventId, Identity};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Principal;
use super::extract::{ApiJson, ApiQuery, decode_cursor, encode_cursor, page_limit, parse_id};
use super::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", post(upsert_customer))
        .route("/customers/{id}", get(get_customer))
        .route("/customers/{id}/events", get(list_customer_events))
        .route("/customers/{id}/signals", post(post_signals))
}

/// `POST /customers/{id}/signals`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignalsBody {
    /// Signal name -> number. Names the health plugin does not know are ignored.
    signals: BTreeMap<String, Value>,
}

/// `?plugin=NAME`: which health plugin scores (default: `health`, else the first).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignalsQuery {
    plugin: Option<String>,
}

/// Most signals in one request.
const MAX_SIGNALS: usize = 100;

/// Scores the customer with the health plugin and records the result;
/// answers the customer with its new `health`.
async fn post_signals(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<SignalsQuery>,
    json: ApiJson<SignalsBody>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::SendSignals, "send usage signals")?;
    let (body, _) = json.parse()?;
    let id: CustomerId = parse_id("customer", &id)?;
    if body.signals.len() > MAX_SIGNALS {
        return Err(ApiError::InvalidBody(format!("at most {MAX_SIGNALS} signals")));
    }
    let mut signals = Vec::with_capacity(body.signals.len());
    for (name, value) in &body.signals {
        let value = value
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| ApiError::InvalidBody(format!("signal `{name}` must be a number")))?;
        signals.push(v0_1::Signal { name: name.clone(), value });
    }
    let customer =
        state.frontdesk.customer(id).await?.ok_or_else(|| ApiError::NotFound(format!("customer {id} not found")))?;
    let plugin = match query.plugin {
        Some(name) => name,
        None => health_plugin(&state)?,
    };
    let plugins = state.plugins.clone();
    let wit_customer = wit_customer(&customer);
    let name = plugin.clone();
    let scored = tokio::task::spawn_blocking(move || plugins.score(&name, &wit_customer, &signals))
        .await
        .map_err(|e| ApiError::Unavailable(format!("the plugin call was cancelled: {e}")))?;
    let health = match scored {
        Ok((health, _)) => health,
        Err(error) => {
            if let CallError::Failed { hook, kind, message, .. } = &error {
                let record = Command::RecordPluginError {
                    customer_id: id,
                    case_id: None,
                    plugin: plugin.clone(),
                    hook: (*hook).to_owned(),
                    kind: kind.to_string(),
                    message: message.clone(),
                };
                if let Err(e) = state.frontdesk.submit(record).await {
                    tracing::warn!(error = %e, "could not record a plugin error");
                }
            }
            return Err(ApiError::Plugin(error));
        }
    };
    let band = match health.band {
        v0_1::Band::Healthy => "healthy",
        v0_1::Band::AtRisk => "at_risk",
        v0_1::Band::Critical => "critical",
    };
    let version = state.plugins.statuses().into_iter().find(|s| s.name == plugin).and_then(|s| s.version);
    let command = Command::SetHealth {
        customer_id: id,
        score: health.score,
        band: band.to_owned(),
        reasons: health.reasons,
        plugin: Actor::Plugin { name: plugin, version: version.unwrap_or_default() },
    };
    match state.frontdesk.submit(command).await? {
        Outcome::Customer { customer, .. } => Ok(Json(json!(customer))),
        other => Err(unexpected(other)),
    }
}

/// The health plugin: the one named `health` when installed, else the first.
fn health_plugin(state: &AppState) -> Result<String, ApiError> {
    let names = state.plugins.names_of(Kind::Health);
    names
        .iter()
        .find(|n| *n == "health")
        .or(names.first())
        .cloned()
        .ok_or_else(|| ApiError::Unavailable("no health plugin is running".into()))
}

/// A customer as callers describe one: any identities, plus details.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    /// An existing customer's id (cases only; identities are ignored then).
    pub id: Option<CustomerId>,
    /// Display name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Chat handle.
    pub chat: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Ids in external systems: `{"salesforce": "003..."}`.
    #[serde(default)]
    pub external_ids: BTreeMap<String, String>,
    /// Service tier.
    pub tier: Option<String>,
    /// Attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
}

impl CustomerBody {
    /// Validates identities into a core input.
    pub fn into_input(self) -> Result<CustomerInput, ApiError> {
        let invalid = |e: frontdesk_core::domain::InvalidIdentity| ApiError::from(Refusal::Invalid(e.to_string()));
        let mut identities = Vec::new();
        if let Some(email) = &self.email {
            identities.push(Identity::email(email).map_err(invalid)?);
        }
        if let Some(chat) = &self.chat {
            identities.push(Identity::chat(chat).map_err(invalid)?);
        }
        if let Some(phone) = &self.phone {
            identities.push(Identity::phone(phone).map_err(invalid)?);
        }
        for (system, id) in &self.external_ids {
            identities.push(Identity::external(system, id).map_err(invalid)?);
        }
        Ok(CustomerInput { name: self.name, tier: self.tier, identities, attributes: self.attributes })
    }
}

async fn upsert_customer(
    State(state): State<AppState>,
    principal: Principal,
    json: ApiJson<CustomerBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    principal.require(Permission::WriteCustomers, "create customers")?;
    let (body, _) = json.parse()?;
    if body.id.is_some() {
        return Err(ApiError::InvalidBody("`id` is assigned by the server".into()));
    }
    let command = Command::UpsertCustomer { input: body.into_input()?, actor: principal.actor() };
    match state.frontdesk.submit(command).await? {
        Outcome::Customer { customer, created, .. } => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, Json(json!(customer))))
        }
        other => Err(unexpected(other)),
    }
}

async fn get_customer(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ReadCustomers, "read customers")?;
    let id: CustomerId = parse_id("customer", &id)?;
    let customer =
        state.frontdesk.customer(id).await?.ok_or_else(|| ApiError::NotFound(format!("customer {id} not found")))?;
    Ok(Json(json!(customer)))
}

/// `?cursor=&limit=` for timelines.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Continue after this cursor.
    pub cursor: Option<String>,
    /// Page size (default 200, at most 1000).
    pub limit: Option<usize>,
}

impl EventsQuery {
    /// The cursor and limit, validated.
    pub fn parse(&self) -> Result<(Option<EventId>, usize), ApiError> {
        let after = self.cursor.as_deref().map(decode_cursor).transpose()?.map(EventId::new);
        Ok((after, page_limit(self.limit, 200, 1000)?))
    }
}

/// The events page as JSON.
pub fn events_json(page: Page<frontdesk_core::Event, EventId>) -> Json<Value> {
    Json(json!({ "events": page.items, "next_cursor": page.next.map(|id| encode_cursor(id.get())) }))
}

async fn list_customer_events(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Permission::ReadCustomers, "read customers")?;
    let id: CustomerId = parse_id("customer", &id)?;
    let (after, limit) = query.parse()?;
    let page = state.frontdesk.customer_events(id, after, limit).await?;
    Ok(events_json(page.ok_or_else(|| ApiError::NotFound(format!("customer {id} not found")))?))
}

/// An outcome a handler did not ask for: a bug, answered as a server error.
pub fn unexpected(outcome: Outcome) -> ApiError {
    ApiError::Internal(format!("unexpected outcome {outcome:?}"))
}
