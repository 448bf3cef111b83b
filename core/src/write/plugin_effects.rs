//! What plugins change in the core, as commands: a failure on a timeline, a
//! customer's health, what a CRM knows about a customer.

use std::collections::BTreeMap;

use serde_json::json;

use crate::domain::{Actor, CaseId, CustomerId, EventBody};
use crate::store::WriteTxn;
use crate::write::command::{AttemptResult, CommandError, Effect, Outcome};
use crate::write::commit::{commit_case, load_case, stamp};
use crate::write::context::ExecContext;
use crate::write::decide::{Cause, Draft};
use crate::write::outbox_rows::{MAX_ATTEMPTS, backoff, jitter};

/// Health bands, by the plugin's own judgement of its score.
pub const BANDS: [&str; 3] = ["healthy", "at_risk", "critical"];

/// Writes `body` on the case's timeline (when there is a case) or the
/// customer's.
///
/// # Errors
/// An unknown customer or case, or storage failures.
pub fn record(
    txn: &mut dyn WriteTxn,
    customer_id: CustomerId,
    case_id: Option<CaseId>,
    actor: Actor,
    body: EventBody,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
    if let Some(case_id) = case_id {
        let case = load_case(txn, case_id)?;
        let draft =
            Draft { case_id: Some(case.id), customer_id: case.customer_id, actor, caused_by: Cause::None, body };
        return commit_case(txn, Some(case), vec![draft], ctx, false);
    }
    let customer = txn.customer(customer_id)?.ok_or(CommandError::CustomerNotFound(customer_id))?;
    let draft = Draft { case_id: None, customer_id, actor, caused_by: Cause::None, body };
    for event in stamp(txn, vec![draft], ctx)? {
        txn.append_event(&event)?;
    }
    Ok(Outcome::Customer { customer, created: false, events: Vec::new() })
}

/// Sets the customer's health; a changed score or band records
/// `health_changed` (which runs `on_health_changed`).
///
/// # Errors
/// An unknown customer, a score over 100 or an unknown band, or storage failures.
pub fn set_health(
    txn: &mut dyn WriteTxn,
    customer_id: CustomerId,
    score: u8,
    band: &str,
    reasons: &[String],
    plugin: &Actor,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
    if score > 100 || !BANDS.contains(&band) {
        return Err(CommandError::invalid(format!("health {score} / {band} is out of range")));
    }
    let mut customer = txn.customer(customer_id)?.ok_or(CommandError::CustomerNotFound(customer_id))?;
    let previous = customer.health.clone();
    let previous_score = previous.as_ref().and_then(|h| h["score"].as_u64()).and_then(|s| u8::try_from(s).ok());
    let previous_band = previous.as_ref().and_then(|h| h["band"].as_str()).map(str::to_owned);
    customer.health = Some(json!({"score": score, "band": band, "reasons": reasons, "updated_at": ctx.now}));
    customer.updated_at = ctx.now;
    txn.put_customer(&customer)?;
    if previous_score != Some(score) || previous_band.as_deref() != Some(band) {
        let plugin_name = match plugin {
            Actor::Plugin { name, .. } => name.clone(),
            other => other.to_string(),
        };
        let body = EventBody::HealthChanged {
            score,
            band: band.to_owned(),
            reasons: reasons.to_vec(),
            previous_score,
            previous_band,
            plugin: plugin_name,
        };
        let draft = Draft { case_id: None, customer_id, actor: plugin.clone(), caused_by: Cause::None, body };
        let events = stamp(txn, vec![draft], ctx)?;
        for event in &events {
            txn.append_event(event)?;
        }
        return Ok(Outcome::Customer { customer, created: false, events });
    }
    Ok(Outcome::Customer { customer, created: false, events: Vec::new() })
}

/// Applies a CRM's view of the customer: name and tier when the CRM has
/// them, attributes merged. Records `customer_updated` when anything changed.
///
/// # Errors
/// An unknown customer, or storage failures.
pub fn enrich(
    txn: &mut dyn WriteTxn,
    customer_id: CustomerId,
    name: Option<&str>,
    tier: Option<&str>,
    attributes: &BTreeMap<String, serde_json::Value>,
    plugin: &Actor,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
    let mut customer = txn.customer(customer_id)?.ok_or(CommandError::CustomerNotFound(customer_id))?;
    let name = name.filter(|n| customer.name.as_deref() != Some(*n));
    let tier = tier.filter(|t| customer.tier.as_deref() != Some(*t));
    let attributes_set: Vec<String> =
        attributes.iter().filter(|(k, v)| customer.attributes.get(*k) != Some(*v)).map(|(k, _)| k.clone()).collect();
    if name.is_none() && tier.is_none() && attributes_set.is_empty() {
        return Ok(Outcome::Customer { customer, created: false, events: Vec::new() });
    }
    if let Some(name) = name {
        customer.name = Some(name.to_owned());
    }
    if let Some(tier) = tier {
        customer.tier = Some(tier.to_owned());
    }
    for key in &attributes_set {
        customer.attributes.insert(key.clone(), attributes[key].clone());
    }
    customer.updated_at = ctx.now;
    txn.put_customer(&customer)?;
    let source = match plugin {
        Actor::Plugin { name, .. } => Some(name.clone()),
        _ => None,
    };
    let body = EventBody::CustomerUpdated {
        created: false,
        name: name.map(str::to_owned),
        tier: tier.map(str::to_owned),
        identities_added: Vec::new(),
        attributes_set,
        source,
    };
    let draft = Draft { case_id: None, customer_id, actor: plugin.clone(), caused_by: Cause::None, body };
    for event in stamp(txn, vec![draft], ctx)? {
        txn.append_event(&event)?;
    }
    Ok(Outcome::Customer { customer, created: false, events: Vec::new() })
}

/// Records an attempt: removes a finished item (applying its effect),
/// reschedules a retryable failure with backoff, or marks the item failed.
///
/// # Errors
/// Storage failures.
pub fn record_attempt(
    txn: &mut dyn WriteTxn,
    id: u64,
    result: &AttemptResult,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
    let Some(mut item) = txn.outbox_item(id)? else { return Ok(Outcome::Nothing) };
    let customer = item.customer_id;
    let on_timeline = |txn: &mut dyn WriteTxn, body: EventBody| -> Result<(), CommandError> {
        match customer {
            Some(c) => record(txn, c, item.case_id, Actor::System, body, ctx).map(drop),
            None => Ok(()),
        }
    };
    match result {
        AttemptResult::Done(effect) => {
            txn.remove_outbox(id)?;
            match effect {
                Some(Effect::Delivered { event }) => on_timeline(txn, event.clone())?,
                Some(Effect::Enriched { name, tier, attributes, plugin }) => {
                    if let Some(customer) = customer {
                        enrich(txn, customer, name.as_deref(), tier.as_deref(), attributes, plugin, ctx)?;
                    }
                }
                None => {}
            }
        }
        AttemptResult::Deferred(at) => {
            item.next_try_at = *at;
            txn.enqueue_outbox(&item)?;
        }
        AttemptResult::Failed { message, retryable, fault } => {
            item.attempts += 1;
            item.last_error = Some(message.clone());
            if let Some((hook, kind)) = fault {
                let body = EventBody::PluginError {
                    plugin: item.target.clone(),
                    hook: hook.clone(),
                    kind: kind.clone(),
                    message: message.clone(),
                };
                on_timeline(txn, body)?;
            }
            if *retryable && item.attempts < MAX_ATTEMPTS {
                item.next_try_at = ctx.now + backoff(item.attempts, jitter());
            } else {
                item.status = "failed".into();
                let body = EventBody::DeliveryFailed {
                    plugin: item.target.clone(),
                    outbox_id: item.id,
                    work: item.kind.clone(),
                    message: message.clone(),
                    attempts: item.attempts,
                };
                on_timeline(txn, body)?;
            }
            txn.enqueue_outbox(&item)?;
        }
    }
    Ok(Outcome::Nothing)
}
