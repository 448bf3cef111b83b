//! The durable outbox: outbound work (a reply to deliver through a channel
//! plugin, a case event or a new customer for a CRM) is written in the same
//! transaction as the change that caused it, and `runtime::outbox_worker`
//! works it off with retries. An item leaves the outbox only when its attempt's outcome
//! is committed, so a crash at any point loses nothing.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::domain::{Case, CaseId, CaseStatus, CustomerId, Event, EventBody, EventId};
use crate::store::{OutboxItem, Sequence, StoreError, WriteTxn};
use crate::write::command::{CommandError, Outcome, Refusal};
use crate::write::context::ExecContext;

/// The channel reference key of a message id.
pub fn message_key(channel: &str, message_id: &str) -> String {
    format!("msg|{channel}|{message_id}")
}

/// The channel reference key of a conversation.
pub fn thread_key(channel: &str, key: &str) -> String {
    format!("thread|{channel}|{key}")
}

/// Attempts before an item is marked failed.
pub const MAX_ATTEMPTS: u32 = 10;
/// The first retry's delay; each retry doubles it (with jitter).
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest delay between attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(300);

/// Kinds of outbound work.
pub mod kind {
    /// Deliver an agent reply through a channel plugin.
    pub const DELIVER: &str = "deliver";
    /// Send a case event to a CRM plugin.
    pub const CRM_EVENT: &str = "crm_event";
    /// Ask a CRM plugin about a new customer.
    pub const CRM_ENRICH: &str = "crm_enrich";
    /// Send a rule's `notify(target, text)` through the notification channel.
    pub const NOTIFY: &str = "notify";
}

/// The message id a reply is sent with; indexed so that an answer to it
/// threads back into its case.
pub fn outbound_message_id(case: CaseId, reply_event: EventId) -> String {
    format!("<case-{case}.{reply_event}@frontdesk>")
}

/// Queues the work `events` (just written on `case`) cause.
///
/// # Errors
/// Storage failures.
pub fn enqueue_for_case(
    txn: &mut dyn WriteTxn,
    case: &Case,
    events: &[Event],
    ctx: &ExecContext<'_>,
) -> Result<(), StoreError> {
    let routes = ctx.plugins;
    if routes.channels.is_empty() && routes.crms.is_empty() {
        return Ok(());
    }
    for event in events {
        match &event.body {
            EventBody::ReplySent { .. } if routes.channels.contains(&case.channel) => {
                let message_id = outbound_message_id(case.id, event.id);
                txn.set_channel_ref(&message_key(&case.channel, &message_id), case.id)?;
                let payload = json!({"reply_event": event.id, "message_id": message_id});
                push(txn, kind::DELIVER, &case.channel, payload, Some(case.id), case.customer_id, ctx)?;
            }
            EventBody::CaseCreated { .. }
            | EventBody::StatusChanged { to: CaseStatus::Solved, .. }
            | EventBody::CsatReceived { .. } => {
                for crm in &routes.crms {
                    let payload = json!({"event_id": event.id});
                    push(txn, kind::CRM_EVENT, crm, payload, Some(case.id), case.customer_id, ctx)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Queues an enrichment of a new customer by every CRM plugin.
///
/// # Errors
/// Storage failures.
pub fn enqueue_enrichment(
    txn: &mut dyn WriteTxn,
    customer: CustomerId,
    ctx: &ExecContext<'_>,
) -> Result<(), StoreError> {
    for crm in &ctx.plugins.crms {
        push(txn, kind::CRM_ENRICH, crm, json!({}), None, customer, ctx)?;
    }
    Ok(())
}

fn push(
    txn: &mut dyn WriteTxn,
    kind: &str,
    target: &str,
    payload: serde_json::Value,
    case_id: Option<CaseId>,
    customer_id: CustomerId,
    ctx: &ExecContext<'_>,
) -> Result<(), StoreError> {
    let item = OutboxItem {
        id: txn.allocate(Sequence::Outbox)?,
        kind: kind.into(),
        target: target.into(),
        payload,
        case_id,
        created_at: ctx.now,
        attempts: 0,
        next_try_at: ctx.now,
        status: "pending".into(),
        customer_id: Some(customer_id),
        last_error: None,
    };
    txn.enqueue_outbox(&item)
}

/// Puts a failed item back in the queue, due now, with a fresh count of
/// attempts; its last error stays until the next attempt replaces it.
///
/// # Errors
/// [`Refusal::OutboxItemNotFound`], [`Refusal::OutboxItemNotFailed`],
/// storage failures.
pub fn retry(txn: &mut dyn WriteTxn, id: u64, now: Timestamp) -> Result<Outcome, CommandError> {
    let mut item = txn.outbox_item(id)?.ok_or(Refusal::OutboxItemNotFound(id))?;
    if item.status != "failed" {
        return Err(Refusal::OutboxItemNotFailed { id, status: item.status }.into());
    }
    item.status = "pending".into();
    item.attempts = 0;
    item.next_try_at = now;
    txn.enqueue_outbox(&item)?;
    Ok(Outcome::Nothing)
}

/// The delay before attempt `attempts + 1`: doubling from [`FIRST_RETRY`]
/// up to [`MAX_RETRY`], scaled by `jitter` (0.75 to 1.25) so that items
/// that failed together do not retry together.
pub fn backoff(attempts: u32, jitter: f64) -> SignedDuration {
    let doubled = FIRST_RETRY.saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    let base = doubled.min(MAX_RETRY);
    SignedDuration::try_from(base.mul_f64(jitter.clamp(0.75, 1.25))).unwrap_or(SignedDuration::from_secs(300))
}

pub(crate) fn jitter() -> f64 {
    let mut byte = [0u8; 2];
    let _ = getrandom::fill(&mut byte);
    0.75 + f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX) * 0.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        assert_eq!(backoff(1, 1.0), SignedDuration::from_secs(1));
        assert_eq!(backoff(2, 1.0), SignedDuration::from_secs(2));
        assert_eq!(backoff(5, 1.0), SignedDuration::from_secs(16));
        assert_eq!(backoff(30, 1.0), SignedDuration::from_secs(300));
        assert_eq!(backoff(3, 0.75), SignedDuration::from_secs(3));
        assert_eq!(backoff(3, 9.0), SignedDuration::from_secs(5), "jitter is clamped");
        for _ in 0..100 {
            let j = jitter();
            assert!((0.75..=1.25).contains(&j));
        }
    }
}
