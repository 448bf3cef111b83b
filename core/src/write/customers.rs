//! Writes a customer: match by identity or create, merge what the caller
//! gave, and record the change.

use crate::domain::{Actor, Customer, CustomerId, EventId};
use crate::store::{Sequence, StoreError, WriteTxn};
use crate::write::command::{CommandError, CustomerInput, Refusal};
use crate::write::commit::stamp;
use crate::write::context::ExecContext;
use crate::write::decide;
use crate::write::outbox_rows;

/// Matches `input` to one customer by its identities (or creates one) and
/// writes the merge. Returns the customer, whether it is new, and the id of
/// the event recording the change.
pub(crate) fn write_customer(
    txn: &mut dyn WriteTxn,
    input: &CustomerInput,
    actor: &Actor,
    ctx: &ExecContext<'_>,
) -> Result<(Customer, bool, Option<EventId>), CommandError> {
    let mut owner: Option<(CustomerId, String)> = None;
    for identity in &input.identities {
        if let Some(id) = txn.customer_id_by_identity(identity)? {
            match &owner {
                Some((other, _)) if *other != id => {
                    return Err(Refusal::IdentityConflict { identity: identity.key(), owner: id, other: *other }.into());
                }
                _ => owner = Some((id, identity.key())),
            }
        }
    }
    let existing = match &owner {
        Some((id, key)) => Some(
            txn.customer(*id)?
                .ok_or_else(|| StoreError::Inconsistent(format!("identity {key} points to missing customer {id}")))?,
        ),
        None => None,
    };
    let created = existing.is_none();
    let new_id = match &existing {
        Some(c) => c.id,
        None => CustomerId::new(txn.allocate(Sequence::Customer)?),
    };
    let (customer, draft) = decide::upsert_customer(existing.as_ref(), new_id, input, ctx.now, actor)?;
    let event_id = match draft {
        Some(draft) => {
            txn.put_customer(&customer)?;
            let events = stamp(txn, vec![draft], ctx)?;
            for event in &events {
                txn.append_event(event)?;
            }
            if created {
                outbox_rows::enqueue_enrichment(txn, customer.id, ctx)?;
            }
            events.first().map(|e| e.id)
        }
        None => None,
    };
    Ok((customer, created, event_id))
}
