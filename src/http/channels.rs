//! `/channels/{plugin}/inbound`: webhooks into channel plugins. The signature
//! is checked before the plugin sees the body; each message the plugin finds
//! is deduped, resolved to a customer and threaded by the core.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use frontdesk_core::domain::{Actor, Identity};
use frontdesk_core::plugins::{Kind, v0_1};
use frontdesk_core::write::command::{Command, InboundKind, InboundMessage, Outcome};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/channels/{plugin}/inbound", post(inbound))
}

/// The signature header: `sha256=<hex HMAC-SHA256 of the raw body>`.
pub const SIGNATURE_HEADER: &str = "x-frontdesk-signature";

async fn inbound(
    State(state): State<AppState>,
    Path(plugin): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !state.plugins.is(&plugin, Kind::Channel) {
        return Err(ApiError::NotFound(format!("no channel plugin named `{plugin}`")));
    }
    let secret = state.plugins.secret(&plugin).ok_or_else(|| {
        ApiError::BadSignature(format!("channel `{plugin}` has no secret configured ([plugins.{plugin}] secret)"))
    })?;
    check_signature(secret, &headers, &body)?;
    let limit = state.plugins.max_inbound_bytes(&plugin).unwrap_or(0);
    if body.len() > limit {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let header_list: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| *name != SIGNATURE_HEADER)
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let plugins = state.plugins.clone();
    let name = plugin.clone();
    let parsed = tokio::task::spawn_blocking(move || plugins.parse_inbound_with_kinds(&name, &header_list, &body))
        .await
        .map_err(|e| ApiError::Unavailable(format!("the plugin call was cancelled: {e}")))?;
    let messages = match parsed {
        Ok((messages, _)) => messages,
        Err(e) => return Err(ApiError::Plugin(e)),
    };
    let actor = plugin_actor(&state, &plugin);
    let mut commands = Vec::with_capacity(messages.len());
    for (index, (message, kind)) in messages.into_iter().enumerate() {
        let message = to_command(&state, &plugin, &actor, message, kind)
            .map_err(|why| ApiError::InvalidBody(format!("message {index}: {why}")))?;
        commands.push(message);
    }
    let mut answered = Vec::with_capacity(commands.len());
    for message in commands {
        let message_id = message.message_id.clone();
        let kind = kind_name(&message.kind);
        match state.frontdesk.submit(Command::ChannelMessage(Box::new(message))).await? {
            Outcome::Case { case, events, created, .. } => answered.push(json!({
                "message_id": message_id,
                "case_id": case.id,
                "created": created,
                "duplicate": events.is_empty(),
                "kind": kind,
            })),
            _ => return Err(ApiError::Unavailable("the core gave no case for a message".into())),
        }
    }
    let case_ids: Vec<Value> = answered.iter().map(|m| m["case_id"].clone()).collect();
    Ok((StatusCode::ACCEPTED, Json(json!({ "cases": case_ids, "messages": answered }))))
}

/// Checks `X-Frontdesk-Signature` in constant time; a missing or malformed
/// header is refused outright.
fn check_signature(secret: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let header = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::BadSignature("missing X-Frontdesk-Signature header".into()))?;
    let given = header
        .trim()
        .strip_prefix("sha256=")
        .and_then(|hex| hex::decode(hex).ok())
        .filter(|bytes| bytes.len() == 32)
        .ok_or_else(|| ApiError::BadSignature("X-Frontdesk-Signature must be sha256=<64 hex digits>".into()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| ApiError::BadSignature("the signature does not match the body".into()))
}

/// How the answer names a message's kind.
fn kind_name(kind: &InboundKind) -> &'static str {
    match kind {
        InboundKind::Normal => "normal",
        InboundKind::AutoReply { .. } => "auto_reply",
        InboundKind::Bounce(_) => "bounce",
    }
}

fn plugin_actor(state: &AppState, plugin: &str) -> Actor {
    let version = state.plugins.statuses().into_iter().find(|s| s.name == plugin).and_then(|s| s.version);
    Actor::Plugin { name: plugin.to_owned(), version: version.unwrap_or_default() }
}

/// A parsed message as a core command, identities normalised and the case
/// reference verified.
fn to_command(
    state: &AppState,
    plugin: &str,
    actor: &Actor,
    message: v0_1::InboundMessage,
    kind: InboundKind,
) -> Result<InboundMessage, String> {
    let sender = identity(&message.sender)?;
    let other_identities = message.other_identities.iter().map(identity).collect::<Result<Vec<_>, _>>()?;
    let verified_case = message.case_ref.as_deref().and_then(|r| state.case_refs.verify(r));
    if message.case_ref.is_some() && verified_case.is_none() {
        tracing::info!(plugin, case_ref = ?message.case_ref, "a case reference did not verify; not threading by it");
    }
    Ok(InboundMessage {
        plugin: actor.clone(),
        channel: plugin.to_owned(),
        sender,
        sender_name: message.sender_name.filter(|n| !n.trim().is_empty()),
        other_identities,
        subject: message.subject,
        text: message.text,
        full_text: message.full_text,
        message_id: message.channel_message_id,
        thread_key: message.thread_key,
        references: message.references,
        verified_case,
        kind,
    })
}

fn identity(identity: &v0_1::Identity) -> Result<Identity, String> {
    let parsed = match identity.kind.as_str() {
        "email" => Identity::email(&identity.value),
        "phone" => Identity::phone(&identity.value),
        "handle" => Identity::chat(&identity.value),
        other => return Err(format!("identity kind `{other}` is not email, phone or handle")),
    };
    parsed.map_err(|e| e.to_string())
}
