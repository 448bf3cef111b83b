//! What scripts ask for. Action functions push onto a per-thread buffer that
//! the host drains after each hook call (a hook runs on one thread, start to
//! finish, so no lock is needed).

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{Actor, CaseId};

/// One requested effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "args")]
pub enum Action {
    /// `set_priority(p)`.
    SetPriority(String),
    /// `add_tag(t)`.
    AddTag(String),
    /// `remove_tag(t)`.
    RemoveTag(String),
    /// `route_to(team)`.
    RouteTo(String),
    /// `assign(agent)`.
    Assign(String),
    /// `assign_least_loaded([agents])`: the one with the fewest unsolved cases.
    AssignLeastLoaded(Vec<String>),
    /// `escalate(level, reason)`.
    Escalate {
        /// Level, 1-9.
        level: i64,
        /// Why.
        reason: String,
    },
    /// `reply(template, vars)`: a public reply; `{{name}}` in the template is
    /// replaced by `vars.name`, or by the ticket's `id`, `subject`, `priority`.
    Reply {
        /// The text with placeholders.
        template: String,
        /// Values for placeholders.
        vars: BTreeMap<String, String>,
    },
    /// `note(text)`: an internal note.
    Note(String),
    /// `notify(target, text)`: an outbound notification through the outbox.
    Notify {
        /// Who (`team:billing`, `agent:dana`, `email:lead@acme.example`, ...).
        target: String,
        /// What.
        text: String,
    },
    /// `open_case(customer_id, subject, body)`: proactive outreach.
    OpenCase {
        /// The customer.
        customer_id: String,
        /// Subject of the new case.
        subject: String,
        /// Its first (internal) note.
        body: String,
    },
    /// `follow_up(case_id, text)`: a public reply on another case (for
    /// `on_tick`, which has no case of its own).
    FollowUp {
        /// The case.
        case_id: String,
        /// The reply.
        text: String,
    },
    /// `set_field(key, value)`.
    SetField {
        /// Field name.
        key: String,
        /// Value (`()` clears).
        value: serde_json::Value,
    },
    /// Not an action: the hook failed, recorded as `script_error`.
    Failed {
        /// The hook.
        hook: String,
        /// What went wrong.
        message: String,
        /// Line, when known.
        line: Option<usize>,
        /// Column, when known.
        column: Option<usize>,
    },
}

/// An action with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleAction {
    /// Index, among the events the command produced so far, of the event
    /// whose hook asked for it (`None` for `on_tick`).
    pub trigger: Option<usize>,
    /// `script:<file>@<hash>`.
    pub actor: Actor,
    /// What to do.
    pub action: Action,
    /// How many events applying it wrote in the preview; the writer treats a
    /// different count as a stale plan (later triggers would point elsewhere).
    #[serde(default)]
    pub produced: usize,
}

/// What the rules decided for one command, applied by the writer in order
/// after the command, in the same transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RulePlan {
    /// The case version the plan was computed against; if the case moved
    /// before the write, the plan is recomputed.
    pub expected_version: Option<(CaseId, u64)>,
    /// Actions in application order.
    pub actions: Vec<RuleAction>,
}

impl RulePlan {
    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

thread_local! {
    static BUFFER: RefCell<Vec<Action>> = const { RefCell::new(Vec::new()) };
}

/// Queues an action from a script call.
pub(crate) fn push(action: Action) {
    BUFFER.with(|b| b.borrow_mut().push(action));
}

/// Takes the actions queued since the last call.
pub(crate) fn take() -> Vec<Action> {
    BUFFER.with(|b| std::mem::take(&mut *b.borrow_mut()))
}
