//! Channel messages that a machine sent, as their plugin tells: an
//! auto-reply (out-of-office, list or bulk mail) is recorded on its case as
//! a customer message that changes no status, and a bounce as a
//! `reply_bounced` event. Neither runs rules (see
//! [`reachable_hooks`](crate::write::plan::reachable_hooks)), so two robots
//! never answer each other.

use crate::domain::{Actor, Case, ChannelVia, CustomerId, EventBody};
use crate::store::WriteTxn;
use crate::write::command::{BounceReport, CommandError, InboundMessage, Outcome, limits};
use crate::write::commit::commit_case;
use crate::write::context::ExecContext;
use crate::write::decide::{self, Cause, Draft};

/// The tag of a case opened by an auto-reply that threads into no case.
pub const AUTO_REPLY_TAG: &str = "auto-reply";
/// The tag of a case opened by a bounce that threads into no case.
pub const BOUNCE_TAG: &str = "bounce";

/// Records an auto-reply on `case` (closed ones included: a robot's answer
/// is no reason for a follow-up case), leaving its status as it is.
///
/// # Errors
/// Storage failures, or an empty or oversized body.
pub(crate) fn record_auto_reply(
    txn: &mut dyn WriteTxn,
    case: Case,
    sender: CustomerId,
    body: &str,
    via: ChannelVia,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
    decide::check_body(body)?;
    let draft = Draft {
        case_id: Some(case.id),
        customer_id: case.customer_id,
        actor: Actor::Customer(sender),
        caused_by: Cause::None,
        body: EventBody::MessageReceived { body: body.to_owned(), via: Some(via) },
    };
    commit_case(txn, Some(case), vec![draft], ctx, false)
}

/// Records a bounce of one of the server's mails on `case`.
///
/// # Errors
/// Storage failures.
pub(crate) fn record_bounce(
    txn: &mut dyn WriteTxn,
    case: Case,
    m: &InboundMessage,
    report: &BounceReport,
    body: &str,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
    let draft = Draft {
        case_id: Some(case.id),
        customer_id: case.customer_id,
        actor: m.plugin.clone(),
        caused_by: Cause::None,
        body: EventBody::ReplyBounced {
            plugin: m.channel.clone(),
            message_id: m.message_id.clone(),
            reported_by: m.sender.clone(),
            recipients: report.recipients.clone(),
            permanent: report.permanent,
            status: report.status.clone(),
            diagnostic: report.diagnostic.clone(),
            // The report is evidence, not conversation: keep it whole but bounded.
            body: body.chars().take(limits::BODY / 4).collect(),
        },
    };
    commit_case(txn, Some(case), vec![draft], ctx, false)
}
