//! Which hook an event triggers and the arguments its scripts get: the
//! read-only views of the case, customer and message.

use jiff::Timestamp;

use super::host::Hook;
use crate::domain::{Case, Customer, Event, EventBody};
use crate::script_views::{CustomerView, MessageView, TicketView};
use crate::store::{StoreError, WriteTxn};

/// The hook an event triggers, if any.
pub fn hook_for(event: &Event) -> Option<Hook> {
    match &event.body {
        EventBody::CaseCreated { .. } => Some(Hook::CaseCreated),
        // A robot's message runs no rules (see `write::automatic`).
        EventBody::MessageReceived { via: Some(via), .. } if via.auto_reply.is_some() => None,
        EventBody::MessageReceived { .. } => Some(Hook::Message),
        EventBody::StatusChanged { .. } => Some(Hook::StatusChanged),
        EventBody::SlaWarning { .. } => Some(Hook::SlaWarning),
        EventBody::SlaBreached { .. } => Some(Hook::SlaBreach),
        EventBody::HealthChanged { .. } => Some(Hook::HealthChanged),
        _ => None,
    }
}

/// A score the rules compare against when a customer had none before: an
/// unknown customer counts as healthy, so a first score of critical is a drop.
pub const UNKNOWN_HEALTH: i64 = 100;

/// The arguments of `hook` for `event`, from the overlay's current state.
pub(crate) fn hook_args(
    txn: &dyn WriteTxn,
    event: &Event,
    now: Timestamp,
) -> Result<Option<Vec<rhai::Dynamic>>, StoreError> {
    if let EventBody::HealthChanged { score, previous_score, .. } = &event.body {
        let Some(customer) = txn.customer(event.customer_id)? else { return Ok(None) };
        let before = previous_score.map_or(UNKNOWN_HEALTH, i64::from);
        return Ok(Some(vec![
            rhai::Dynamic::from(CustomerView::new(&customer)),
            before.into(),
            i64::from(*score).into(),
        ]));
    }
    let Some(case) = event.case_id.map(|id| txn.case(id)).transpose()?.flatten() else { return Ok(None) };
    let customer = txn.customer(case.customer_id)?;
    Ok(hook_args_for(event, &case, customer.as_ref(), now).map(|(_, args)| args))
}

/// The hook `event` triggers on `case`, with its arguments.
pub fn hook_args_for(
    event: &Event,
    case: &Case,
    customer: Option<&Customer>,
    now: Timestamp,
) -> Option<(Hook, Vec<rhai::Dynamic>)> {
    let hook = hook_for(event)?;
    let ticket = rhai::Dynamic::from(TicketView::new(case, now));
    let customer = rhai::Dynamic::from(customer.map_or_else(CustomerView::unknown, CustomerView::new));
    let args = match &event.body {
        EventBody::CaseCreated { .. } => vec![ticket, customer],
        EventBody::MessageReceived { body, .. } => {
            vec![ticket, rhai::Dynamic::from(MessageView::new(body, event.actor.to_string())), customer]
        }
        EventBody::StatusChanged { from, to } => vec![ticket, from.as_str().into(), to.as_str().into()],
        EventBody::SlaWarning { metric, .. } | EventBody::SlaBreached { metric, .. } => {
            vec![ticket, metric.as_str().into()]
        }
        _ => return None,
    };
    Some((hook, args))
}
