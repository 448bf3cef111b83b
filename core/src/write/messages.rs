//! Writes a message on a case: the decision ([`decide::add_message`]) and,
//! for a customer message on a closed case, the linked follow-up case.

use crate::domain::{Actor, Case, CaseId, ChannelVia, EventBody};
use crate::store::{Sequence, WriteTxn};
use crate::write::command::{CommandError, MessageKind, Outcome};
use crate::write::commit::commit_case;
use crate::write::context::ExecContext;
use crate::write::decide::{self, CaseStart, Draft, MessageDecision};

/// Adds a message to `case` (a customer message on a closed case opens a
/// linked follow-up instead). `via` marks a message from a channel plugin.
pub(crate) fn write_message(
    txn: &mut dyn WriteTxn,
    case: Case,
    kind: MessageKind,
    body: &str,
    actor: &Actor,
    via: Option<ChannelVia>,
    ctx: &ExecContext<'_>,
) -> Result<Outcome, CommandError> {
    match decide::add_message(&case, kind, body, actor)? {
        MessageDecision::OnCase(mut drafts) => {
            mark_via(&mut drafts, via);
            commit_case(txn, Some(case), drafts, ctx, false)
        }
        MessageDecision::FollowUp => {
            let id = CaseId::new(txn.allocate(Sequence::Case)?);
            let start = CaseStart {
                subject: &case.subject,
                channel: &case.channel,
                priority: case.priority,
                message: Some(body),
                tags: &Default::default(),
                fields: &Default::default(),
                team: case.team.as_deref(),
                assignee: None,
                follow_up_of: Some(case.id),
            };
            let mut drafts = decide::open_case(&start, id, case.customer_id, &Actor::Customer(case.customer_id))?;
            mark_via(&mut drafts, via);
            commit_case(txn, None, drafts, ctx, true)
        }
    }
}

/// Notes on the customer message among `drafts` which channel it came through.
pub(crate) fn mark_via(drafts: &mut [Draft], via: Option<ChannelVia>) {
    let Some(via) = via else { return };
    if let Some(EventBody::MessageReceived { via: slot, .. }) =
        drafts.iter_mut().map(|d| &mut d.body).find(|b| matches!(b, EventBody::MessageReceived { .. }))
    {
        *slot = Some(via);
    }
}
