//! The case status machine. Every (status, trigger) pair is listed: a pair not
//! named as legal is refused, never silently applied.

use std::fmt;

use super::CaseStatus;

/// Something that may move a case's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An agent asks for a status explicitly (`PATCH status`).
    SetStatus(CaseStatus),
    /// A public agent reply.
    AgentReply,
    /// An internal note.
    Note,
    /// A message from the customer.
    CustomerMessage,
    /// Any other edit: priority, team, assignee, tags, fields.
    Edit,
    /// A satisfaction rating.
    Csat,
    /// The auto-close timer of a solved case fired.
    AutoClose,
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::SetStatus(to) => write!(f, "set status to {to}"),
            Trigger::AgentReply => f.write_str("reply"),
            Trigger::Note => f.write_str("add a note"),
            Trigger::CustomerMessage => f.write_str("add a customer message"),
            Trigger::Edit => f.write_str("edit"),
            Trigger::Csat => f.write_str("rate"),
            Trigger::AutoClose => f.write_str("auto-close"),
        }
    }
}

/// What a legal trigger does to the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusEffect {
    /// The status stays as it is.
    Unchanged,
    /// The status moves to this one.
    MoveTo(CaseStatus),
    /// The case stays closed and a new follow-up case is opened, linked to it.
    OpenFollowUp,
}

/// A trigger the current status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {trigger} on a case that is {from}")]
pub struct TransitionError {
    /// The status the case is in.
    pub from: CaseStatus,
    /// What was attempted.
    pub trigger: Trigger,
}

impl CaseStatus {
    /// Decides what `trigger` does to a case in this status.
    ///
    /// # Errors
    /// [`TransitionError`] when the trigger is illegal in this status.
    pub fn apply(self, trigger: Trigger) -> Result<StatusEffect, TransitionError> {
        use {CaseStatus as S, StatusEffect as E, Trigger as T};
        let refuse = Err(TransitionError { from: self, trigger });
        match (self, trigger) {
            // Closed is final; only a rating or a customer writing again is accepted.
            (S::Closed, T::Csat) => Ok(E::Unchanged),
            (S::Closed, T::CustomerMessage) => Ok(E::OpenFollowUp),
            (S::Closed, T::SetStatus(_) | T::AgentReply | T::Note | T::Edit | T::AutoClose) => refuse,

            // Explicit status changes between the working statuses.
            (S::New | S::Open | S::Pending | S::OnHold, T::SetStatus(to)) if to == self => Ok(E::Unchanged),
            (S::New | S::Open | S::Pending | S::OnHold, T::SetStatus(to)) => match to {
                S::Open | S::Pending | S::OnHold | S::Solved => Ok(E::MoveTo(to)),
                // A case is never new again, and closes only once solved.
                S::New | S::Closed => refuse,
            },
            (S::Solved, T::SetStatus(to)) => match to {
                S::Solved => Ok(E::Unchanged),
                S::Open | S::Closed => Ok(E::MoveTo(to)),
                S::New | S::Pending | S::OnHold => refuse,
            },

            // Replies and messages.
            (S::New, T::AgentReply) => Ok(E::MoveTo(S::Open)),
            (S::Open | S::Pending | S::OnHold | S::Solved, T::AgentReply) => Ok(E::Unchanged),
            (S::New | S::Open | S::Pending | S::OnHold | S::Solved, T::Note | T::Edit) => Ok(E::Unchanged),
            (S::New | S::Open | S::OnHold, T::CustomerMessage) => Ok(E::Unchanged),
            (S::Pending | S::Solved, T::CustomerMessage) => Ok(E::MoveTo(S::Open)),

            // Ratings come after the work is done.
            (S::Solved, T::Csat) => Ok(E::Unchanged),
            (S::New | S::Open | S::Pending | S::OnHold, T::Csat) => refuse,

            // A timer that outlived the solve (the case reopened) does nothing.
            (S::Solved, T::AutoClose) => Ok(E::MoveTo(S::Closed)),
            (S::New | S::Open | S::Pending | S::OnHold, T::AutoClose) => Ok(E::Unchanged),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseStatus as S;
    use StatusEffect as E;
    use Trigger as T;

    #[test]
    fn explicit_status_changes_follow_the_machine() {
        let legal = [
            (S::New, S::Open),
            (S::New, S::Pending),
            (S::New, S::OnHold),
            (S::New, S::Solved),
            (S::Open, S::Pending),
            (S::Open, S::OnHold),
            (S::Open, S::Solved),
            (S::Pending, S::Open),
            (S::Pending, S::OnHold),
            (S::Pending, S::Solved),
            (S::OnHold, S::Open),
            (S::OnHold, S::Pending),
            (S::OnHold, S::Solved),
            (S::Solved, S::Open),
            (S::Solved, S::Closed),
        ];
        for from in CaseStatus::ALL {
            for to in CaseStatus::ALL {
                let got = from.apply(T::SetStatus(to));
                if legal.contains(&(from, to)) {
                    assert_eq!(got, Ok(E::MoveTo(to)), "{from} -> {to}");
                } else if from == to && from != S::Closed {
                    assert_eq!(got, Ok(E::Unchanged), "{from} -> {to}");
                } else {
                    assert!(got.is_err(), "{from} -> {to} must be refused");
                }
            }
        }
    }

    #[test]
    fn messages_move_the_status_as_designed() {
        assert_eq!(S::New.apply(T::AgentReply), Ok(E::MoveTo(S::Open)));
        assert_eq!(S::Pending.apply(T::CustomerMessage), Ok(E::MoveTo(S::Open)));
        assert_eq!(S::Solved.apply(T::CustomerMessage), Ok(E::MoveTo(S::Open)));
        assert_eq!(S::OnHold.apply(T::CustomerMessage), Ok(E::Unchanged));
        assert_eq!(S::Closed.apply(T::CustomerMessage), Ok(E::OpenFollowUp));
        assert!(S::Closed.apply(T::AgentReply).is_err());
        assert!(S::Closed.apply(T::Edit).is_err());
        assert!(S::Open.apply(T::Csat).is_err());
        assert_eq!(S::Closed.apply(T::Csat), Ok(E::Unchanged));
        assert_eq!(S::Solved.apply(T::AutoClose), Ok(E::MoveTo(S::Closed)));
        assert_eq!(S::Open.apply(T::AutoClose), Ok(E::Unchanged));
    }
}
