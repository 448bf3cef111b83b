//! Customer messages from channel plugins: dedupe by the channel's message
//! id, resolve the sender to one customer by identity, and thread into a
//! case (by the message ids it answers, then a verified case reference, then
//! the conversation key), or open one. Auto-replies and bounces go to
//! [`automatic`](crate::write::automatic) once their case is found.

use crate::domain::{Actor, Case, CaseId, ChannelVia, CustomerId};
use crate::store::{Sequence, WriteTxn};
use crate::write::automatic::{self, AUTO_REPLY_TAG, BOUNCE_TAG};
use crate::write::command::{
    CommandError, CustomerInput, InboundKind, InboundMessage, MessageKind, Outcome, Refusal, limits,
};
use crate::write::commit::{commit_case, load_case};
use crate::write::context::ExecContext;
use crate::write::customers::write_customer;
use crate::write::decide::{self, CaseStart};
use crate::write::messages::{mark_via, write_message};
use crate::write::outbox_rows::{message_key, thread_key};

/// Longest subject taken from a message's first line when it has none.
const SUBJECT_FROM_TEXT: usize = 120;

/// Writes a [`Command::ChannelMessage`](crate::write::command::Command::ChannelMessage). A message id seen
/// before answers with its case and writes nothing.
///
/// # Errors
/// Storage failures, or a message the domain refuses (empty text).
pub fn receive(txn: &mut dyn WriteTxn, m: &InboundMessage, ctx: &ExecContext<'_>) -> Result<Outcome, CommandError> {
    let seen = message_key(&m.channel, &m.message_id);
    if let Some(case_id) = txn.channel_ref(&seen)? {
        let case = load_case(txn, case_id)?;
        let sla = txn.case_sla(case_id)?.unwrap_or_default();
        return Ok(Outcome::Case { case, sla, events: Vec::new(), created: false });
    }
    let body = if m.text.trim().is_empty() { m.full_text.as_deref().unwrap_or(&m.text) } else { &m.text };
    // A bounce found its case: recorded there, and the reporting server
    // (`MAILER-DAEMON@...`) never becomes a customer.
    if let InboundKind::Bounce(report) = &m.kind
        && let Some(case) = thread(txn, m, None)?
    {
        let outcome = automatic::record_bounce(txn, case, m, report, body, ctx)?;
        return remember(txn, m, &seen, outcome);
    }
    let customer_id = resolve_customer(txn, m, ctx)?;
    let auto_reply = match &m.kind {
        InboundKind::Normal => None,
        InboundKind::AutoReply { reason } => Some(reason.clone()),
        InboundKind::Bounce(_) => Some("a bounce that names no case of ours".to_owned()),
    };
    let via = ChannelVia {
        plugin: m.channel.clone(),
        message_id: m.message_id.clone(),
        sender: m.sender.clone(),
        thread_key: m.thread_key.clone(),
        full_body: m.full_text.clone(),
        auto_reply: auto_reply.clone(),
    };
    let outcome = match thread(txn, m, Some(customer_id))? {
        Some(case) if auto_reply.is_some() => automatic::record_auto_reply(txn, case, customer_id, body, via, ctx)?,
        Some(case) => {
            write_message(txn, case, MessageKind::Customer, body, &Actor::Customer(customer_id), Some(via), ctx)?
        }
        None => {
            let subject = subject_of(m);
            // Nothing is lost: a robot's mail that threads nowhere opens a
            // case, tagged so that a view can keep it out of the way.
            let tags = match &m.kind {
                InboundKind::Normal => Default::default(),
                InboundKind::AutoReply { .. } => [AUTO_REPLY_TAG.to_owned()].into(),
                InboundKind::Bounce(_) => [BOUNCE_TAG.to_owned()].into(),
            };
            let start = CaseStart {
                subject: &subject,
                channel: &m.channel,
                priority: Default::default(),
                message: Some(body),
                tags: &tags,
                fields: &Default::default(),
                team: None,
                assignee: None,
                follow_up_of: None,
            };
            let id = CaseId::new(txn.allocate(Sequence::Case)?);
            let mut drafts = decide::open_case(&start, id, customer_id, &m.plugin)?;
            mark_via(&mut drafts, Some(via));
            commit_case(txn, None, drafts, ctx, true)?
        }
    };
    remember(txn, m, &seen, outcome)
}

/// Indexes the message id (and conversation key) of `m` to its case, so a
/// duplicate is answered with it and answers thread into it.
fn remember(txn: &mut dyn WriteTxn, m: &InboundMessage, seen: &str, outcome: Outcome) -> Result<Outcome, CommandError> {
    if let Outcome::Case { case, .. } = &outcome {
        txn.set_channel_ref(seen, case.id)?;
        if let Some(key) = &m.thread_key {
            txn.set_channel_ref(&thread_key(&m.channel, key), case.id)?;
        }
    }
    Ok(outcome)
}

/// The sender's customer, created if new. Identities the sender gave that
/// already belong to someone else are left out rather than refusing the
/// message: the message is never lost over a conflict.
fn resolve_customer(
    txn: &mut dyn WriteTxn,
    m: &InboundMessage,
    ctx: &ExecContext<'_>,
) -> Result<CustomerId, CommandError> {
    let mut identities = vec![m.sender.clone()];
    identities.extend(m.other_identities.iter().cloned());
    let input = CustomerInput { name: m.sender_name.clone(), identities, ..Default::default() };
    match write_customer(txn, &input, &m.plugin, ctx) {
        Ok((customer, ..)) => Ok(customer.id),
        Err(CommandError::Refused(Refusal::IdentityConflict { .. })) => {
            let input =
                CustomerInput { name: m.sender_name.clone(), identities: vec![m.sender.clone()], ..Default::default() };
            Ok(write_customer(txn, &input, &m.plugin, ctx)?.0.id)
        }
        Err(e) => Err(e),
    }
}

/// The case `m` continues, if any: by a message id it answers, then by a
/// verified case reference, then by its conversation key. A case of another
/// customer (or, with no `customer`, any case) is not continued by the
/// conversation key alone.
fn thread(
    txn: &mut dyn WriteTxn,
    m: &InboundMessage,
    customer: Option<CustomerId>,
) -> Result<Option<Case>, CommandError> {
    let mut candidates: Vec<CaseId> = Vec::new();
    for reference in &m.references {
        if let Some(id) = txn.channel_ref(&message_key(&m.channel, reference))? {
            candidates.push(id);
            break;
        }
    }
    candidates.extend(m.verified_case);
    if let Some(key) = &m.thread_key
        && let Some(id) = txn.channel_ref(&thread_key(&m.channel, key))?
        && txn.case(id)?.is_some_and(|c| Some(c.customer_id) == customer)
    {
        candidates.push(id);
    }
    for id in candidates {
        if let Some(case) = txn.case(id)? {
            return Ok(Some(case));
        }
    }
    Ok(None)
}

fn subject_of(m: &InboundMessage) -> String {
    if let Some(subject) = m.subject.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        return subject.chars().take(limits::SUBJECT).collect();
    }
    let first = m.text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("(no subject)");
    let mut subject: String = first.chars().take(SUBJECT_FROM_TEXT).collect();
    if first.chars().count() > SUBJECT_FROM_TEXT {
        subject.push('…');
    }
    subject
}
