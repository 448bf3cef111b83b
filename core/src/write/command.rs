//! Commands: what a caller asks the core to do, already parsed and
//! authenticated, and what comes back. Every write goes through
//! the writer as one of these.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::auth::{Agent, ApiToken, InvalidAgent, Role, Session};
use crate::domain::lifecycle::TransitionError;
use crate::domain::{
    Actor, Case, CaseId, CaseStatus, Customer, CustomerId, Event, EventBody, Identity, Macro, Priority, ViewId,
};
pub use crate::domain::{BounceReport, InboundKind};
use crate::sla::CaseSla;
use crate::store::{CaseSort, IdempotentAnswer, SavedView, StoreError, ViewFilters};

/// A request to change state.
#[derive(Debug, Clone)]
pub enum Command {
    /// Open a case.
    CreateCase(NewCase),
    /// Add a reply, note or customer message to a case.
    AddMessage {
        /// Target case.
        case_id: CaseId,
        /// Which kind of message.
        kind: MessageKind,
        /// Text.
        body: String,
        /// Who sends it (for customer messages the customer becomes the actor).
        actor: Actor,
        /// Replay protection: a retried send (a double click, a lost
        /// answer) is answered as the first and sends nothing again.
        idempotency: Option<IdempotencyClaim>,
    },
    /// Change status, priority, team, assignee, tags or fields.
    UpdateCase {
        /// Target case.
        case_id: CaseId,
        /// The changes.
        patch: CasePatch,
        /// Who changes it.
        actor: Actor,
    },
    /// Apply a stored macro to a case: its message and changes, in one
    /// commit, caused by one `macro_applied` event.
    ApplyMacro {
        /// Target case.
        case_id: CaseId,
        /// The macro's name.
        name: String,
        /// Who applies it.
        actor: Actor,
        /// Whether the caller may give the case to, or take it from, someone
        /// else (checked against the assignee at the moment of the write).
        may_reassign: bool,
        /// Replay protection: a double click applies it once.
        idempotency: Option<IdempotencyClaim>,
    },
    /// Record a satisfaction rating on a solved or closed case.
    RecordCsat {
        /// Target case.
        case_id: CaseId,
        /// 1 to 5.
        score: u8,
        /// Optional text.
        comment: Option<String>,
    },
    /// Create a customer, or match an existing one by any identity.
    UpsertCustomer {
        /// Who they are.
        input: CustomerInput,
        /// Who asks.
        actor: Actor,
    },
    /// Store a new API token (the secret is hashed by the caller).
    CreateToken(ApiToken),
    /// Revoke a token by name; revoking a revoked token changes nothing.
    RevokeToken {
        /// Which token.
        name: String,
    },
    /// Note that a token authenticated a request at `at`; nothing if it is gone.
    TouchToken {
        /// The token's hash.
        hash: String,
        /// When it was used.
        at: Timestamp,
    },
    /// Store a new macro (refused if the name is taken).
    CreateMacro(Macro),
    /// Replace a macro's content; who wrote it first and when are kept.
    UpdateMacro(Macro),
    /// Delete a macro by name.
    DeleteMacro {
        /// Which macro.
        name: String,
    },
    /// Send a failed outbox item again, from a fresh count of attempts.
    RetryOutbox {
        /// Which item.
        id: u64,
    },
    /// Add a person (the password is hashed by the caller, off the writer).
    /// The email is stored lower case.
    CreateAgent(Agent),
    /// Change a person; `None` leaves a part as it is. A new password or
    /// role, or deactivation, ends all the agent's sessions in the same
    /// transaction.
    UpdateAgent {
        /// Which agent.
        name: String,
        /// A new password's PHC string (hashed by the caller).
        password_hash: Option<String>,
        /// A new role (`agent`, `lead`, `admin`).
        role: Option<Role>,
        /// The new team memberships, replacing the old ones.
        teams: Option<Vec<String>>,
        /// Activate or deactivate.
        active: Option<bool>,
        /// A new email.
        email: Option<String>,
    },
    /// Store a new console session; refused if its agent is missing or
    /// inactive. The agent's expired sessions are dropped on the way.
    StartSession(Session),
    /// Note that a session was used at `at`; nothing if it is gone.
    TouchSession {
        /// The session's hash.
        hash: String,
        /// When it was used.
        at: Timestamp,
    },
    /// End a session (sign out); nothing if it is gone.
    EndSession {
        /// The session's hash.
        hash: String,
    },
    /// Close a solved case whose auto-close time has come.
    AutoClose {
        /// Target case.
        case_id: CaseId,
    },
    /// Record SLA warnings and breaches that are due on a case.
    SlaCheck {
        /// Target case.
        case_id: CaseId,
        /// The instant to check at. Fixed by the scheduler, so the rules'
        /// preview and the write see the same warnings and breaches.
        at: Timestamp,
    },
    /// Nothing by itself: carries the actions of `on_tick`.
    RunRules,
    /// A customer message that came in through a channel plugin: deduped by
    /// its message id, threaded into a case or opening one.
    ChannelMessage(Box<InboundMessage>),
    /// Record a plugin failure on a customer's (and case's) timeline.
    RecordPluginError {
        /// Whose timeline.
        customer_id: CustomerId,
        /// The case, when the call served one.
        case_id: Option<CaseId>,
        /// The plugin.
        plugin: String,
        /// The hook.
        hook: String,
        /// `trap`, `timeout`, `memory_limit`, `bad_output`.
        kind: String,
        /// Details.
        message: String,
    },
    /// Set a customer's health from a health plugin's score.
    SetHealth {
        /// The customer.
        customer_id: CustomerId,
        /// 0-100.
        score: u8,
        /// `healthy`, `at_risk`, `critical`.
        band: String,
        /// Why.
        reasons: Vec<String>,
        /// The plugin that scored it (and its version), the actor.
        plugin: Actor,
    },
    /// Apply what a CRM knows about a customer.
    EnrichCustomer {
        /// The customer.
        customer_id: CustomerId,
        /// Name, if the CRM knows it.
        name: Option<String>,
        /// Tier, if the CRM knows it.
        tier: Option<String>,
        /// Attributes to set.
        attributes: BTreeMap<String, serde_json::Value>,
        /// The CRM plugin, the actor.
        plugin: Actor,
    },
    /// Record how an outbox item's delivery attempt went.
    OutboxAttempt {
        /// The item.
        id: u64,
        /// What happened.
        result: AttemptResult,
    },
    /// Save, change or delete a saved inbox view.
    View(ViewCommand),
}

impl Command {
    /// The case this command targets, for tracing.
    pub fn case_id(&self) -> Option<CaseId> {
        match self {
            Command::AddMessage { case_id, .. }
            | Command::UpdateCase { case_id, .. }
            | Command::ApplyMacro { case_id, .. }
            | Command::RecordCsat { case_id, .. }
            | Command::AutoClose { case_id }
            | Command::SlaCheck { case_id, .. } => Some(*case_id),
            Command::RecordPluginError { case_id, .. } => *case_id,
            Command::CreateCase(_)
            | Command::UpsertCustomer { .. }
            | Command::CreateToken(_)
            | Command::RevokeToken { .. }
            | Command::TouchToken { .. }
            | Command::RetryOutbox { .. }
            | Command::CreateMacro(_)
            | Command::UpdateMacro(_)
            | Command::DeleteMacro { .. }
            | Command::CreateAgent(_)
            | Command::UpdateAgent { .. }
            | Command::StartSession(_)
            | Command::TouchSession { .. }
            | Command::EndSession { .. }
            | Command::RunRules
            | Command::ChannelMessage(_)
            | Command::SetHealth { .. }
            | Command::EnrichCustomer { .. }
            | Command::OutboxAttempt { .. }
            | Command::View(_) => None,
        }
    }
}

/// The parts of a new case.
#[derive(Debug, Clone)]
pub struct NewCase {
    /// One-line summary.
    pub subject: String,
    /// Whose case.
    pub customer: CustomerRef,
    /// Channel name (`api`, `email`, `chat`, ...).
    pub channel: String,
    /// Initial priority.
    pub priority: Priority,
    /// The customer's first message, if any.
    pub message: Option<String>,
    /// Initial tags.
    pub tags: BTreeSet<String>,
    /// Initial custom fields.
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Initial team.
    pub team: Option<String>,
    /// Initial assignee.
    pub assignee: Option<String>,
    /// Who creates it.
    pub actor: Actor,
    /// Replay protection for retried creates.
    pub idempotency: Option<IdempotencyClaim>,
}

/// A customer message parsed by a channel plugin, with its identities
/// already normalised.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    /// The channel plugin (also the case's channel).
    pub plugin: Actor,
    /// The plugin's name.
    pub channel: String,
    /// Who sent it.
    pub sender: Identity,
    /// The sender's name, if given.
    pub sender_name: Option<String>,
    /// Other identities the sender gave.
    pub other_identities: Vec<Identity>,
    /// Subject, if the channel has one.
    pub subject: Option<String>,
    /// The text to show (quotes and signature trimmed).
    pub text: String,
    /// The whole body, when different.
    pub full_text: Option<String>,
    /// The channel's id for the message (dedupe).
    pub message_id: String,
    /// The conversation key, if the channel has one.
    pub thread_key: Option<String>,
    /// Message ids it answers.
    pub references: Vec<String>,
    /// The case named by a reference token whose signature checked out.
    pub verified_case: Option<CaseId>,
    /// Whether a person wrote it, as the plugin tells (contract 0.1.2).
    pub kind: InboundKind,
}

/// How a command names its customer.
#[derive(Debug, Clone)]
pub enum CustomerRef {
    /// An existing customer by id.
    Id(CustomerId),
    /// Match by any identity, or create.
    Match(CustomerInput),
}

/// A customer as given by a caller: identities to match, details to fill in.
#[derive(Debug, Clone, Default)]
pub struct CustomerInput {
    /// Display name.
    pub name: Option<String>,
    /// Service tier.
    pub tier: Option<String>,
    /// Identities; at least one.
    pub identities: Vec<Identity>,
    /// Attributes to set.
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// An `Idempotency-Key` with the fingerprint of the request that used it.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    /// The key, scoped to the token that sent it.
    pub key: String,
    /// SHA-256 (hex) of the request body.
    pub request_hash: String,
}

/// Which kind of message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// A public agent reply.
    Reply,
    /// An internal note.
    Note,
    /// A message from the customer.
    Customer,
}

/// Changes to a case; `None` leaves a part as it is.
#[derive(Debug, Clone, Default)]
pub struct CasePatch {
    /// New status.
    pub status: Option<CaseStatus>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New team (`Some(None)` removes it).
    pub team: Option<Option<String>>,
    /// New assignee (`Some(None)` unassigns).
    pub assignee: Option<Option<String>>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// Custom fields to set (`null` clears).
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Refuse unless the case is still assigned to this (`Some(None)`:
    /// still unassigned) when the command is applied: a caller that checked
    /// who holds the case before asking cannot be overtaken between its
    /// check and the write.
    pub expected_assignee: Option<Option<String>>,
}

/// What a command produced.
// An outcome moves once, from the writer to its caller: boxing the large
// variant would only add an allocation per command.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A case was created or changed: its new row and the events written. For
    /// a customer message on a closed case, this is the new follow-up case.
    Case {
        /// The case after the command.
        case: Case,
        /// Its SLA state after the command.
        sla: CaseSla,
        /// Events written, in order.
        events: Vec<Event>,
        /// Whether the case is new.
        created: bool,
    },
    /// A customer was created or matched.
    Customer {
        /// The customer after the command.
        customer: Customer,
        /// Whether it is new.
        created: bool,
        /// Events written that rules react to (`health_changed`).
        events: Vec<Event>,
    },
    /// A token was stored.
    Token(ApiToken),
    /// A macro was stored or deleted: the macro as stored (or as it was).
    Macro(Macro),
    /// An agent was created or changed: the agent as stored.
    Agent(Agent),
    /// A session was started or touched: the session as stored.
    Session(Session),
    /// A view was saved or changed: the view as stored; or deleted: the
    /// view as it was.
    View(SavedView),
    /// An idempotent create seen before: the first answer.
    Replayed(IdempotentAnswer),
    /// Nothing to do (a stale timer).
    Nothing,
}

/// Why a decision refused a command: the caller's input, or what the
/// case's state allows. Pure decisions return only this.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The lifecycle does not allow it.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// Bad input that parsing could not catch (lengths, names, ranges).
    #[error("{0}")]
    Invalid(String),
    /// Identities given belong to different customers.
    #[error("identity {identity} belongs to customer {owner}, another identity to customer {other}")]
    IdentityConflict {
        /// The identity that conflicts.
        identity: String,
        /// Its owner.
        owner: CustomerId,
        /// The customer the other identities matched.
        other: CustomerId,
    },
    /// The idempotency key was used before with another body.
    #[error("Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    /// A token with this name exists.
    #[error("a token named {0:?} already exists")]
    TokenNameTaken(String),
    /// The case changed hands after the caller looked.
    #[error("the case is now assigned to {}; reload before changing it", .actual.as_deref().unwrap_or("nobody"))]
    AssigneeChanged {
        /// Who holds it now.
        actual: Option<String>,
    },
    /// A macro with this name exists.
    #[error("a macro named {0:?} already exists")]
    MacroNameTaken(String),
    /// No macro has this name.
    #[error("macro {0:?} not found")]
    MacroNotFound(String),
    /// A macro would give the case to someone else, or take it from
    /// someone else, and the caller may not reassign.
    #[error("the case is assigned to {}: only a lead may reassign it", .actual.as_deref().unwrap_or("nobody"))]
    ReassignNotAllowed {
        /// Who holds it.
        actual: Option<String>,
    },
    /// No token has this name.
    #[error("token {0:?} not found")]
    TokenNotFound(String),
    /// No outbox item has this id.
    #[error("outbox item {0} not found")]
    OutboxItemNotFound(u64),
    /// Only a failed outbox item can be retried.
    #[error("outbox item {id} is {status}, not failed: only failed work is retried")]
    OutboxItemNotFailed {
        /// The item.
        id: u64,
        /// Its status.
        status: String,
    },
    /// An agent with this name exists.
    #[error("an agent named {0:?} already exists")]
    AgentExists(String),
    /// Another agent has this email.
    #[error("another agent has the email {0:?}")]
    EmailTaken(String),
    /// No agent has this name (the agent a command names).
    #[error("agent {0:?} not found")]
    AgentNotFound(String),
    /// An assignee that is not an active agent.
    #[error("{0:?} is not an active agent")]
    UnknownAgent(String),
    /// The agent is deactivated (a session cannot start).
    #[error("agent {0:?} is deactivated")]
    AgentInactive(String),
    /// A bad agent name, email, team or role.
    #[error(transparent)]
    InvalidAgent(#[from] InvalidAgent),
    /// No view with this id that the caller sees (another agent's private
    /// view is not found either).
    #[error("view {0} not found")]
    ViewNotFound(ViewId),
    /// The view's owner already sees a view with this name.
    #[error("a view named {0:?} already exists")]
    ViewNameTaken(String),
    /// The caller's role may not make this change to a view.
    #[error("{0}")]
    ViewForbidden(&'static str),
}

/// Why a command did not commit. Nothing of it is written.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Refused by a decision.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// No such case.
    #[error("case {0} not found")]
    CaseNotFound(CaseId),
    /// No such customer.
    #[error("customer {0} not found")]
    CustomerNotFound(CustomerId),
    /// The case changed after its rules were evaluated and before anything
    /// of the command was written. Internal: the runtime evaluates the rules
    /// again, and no caller outside the core ever sees it.
    #[error("the case changed while its rules ran")]
    Stale,
    /// Storage failed; nothing of the batch was committed.
    #[error("storage failure")]
    Store(#[from] StoreError),
}

impl CommandError {
    /// A [`Refusal::Invalid`] with `message`.
    pub fn invalid(message: String) -> Self {
        CommandError::Refused(Refusal::Invalid(message))
    }
}

impl From<TransitionError> for CommandError {
    fn from(e: TransitionError) -> Self {
        CommandError::Refused(Refusal::Transition(e))
    }
}

/// Limits on free text and names, checked when commands are decided.
pub mod limits {
    /// Longest subject, in characters.
    pub const SUBJECT: usize = 500;
    /// Longest message body, in bytes.
    pub const BODY: usize = 256 * 1024;
    /// Longest tag, team, agent, channel or field name.
    pub const NAME: usize = 64;
    /// Most tags on a case.
    pub const TAGS: usize = 100;
    /// Most custom fields on a case.
    pub const FIELDS: usize = 100;
    /// Longest CSAT comment, in characters.
    pub const COMMENT: usize = 4000;
}

/// Checks a name-like value (tag, team, assignee, channel, field key): 1-64
/// characters, no whitespace or control characters.
///
/// # Errors
/// [`Refusal::Invalid`] naming `what`.
pub fn check_name(what: &str, value: &str) -> Result<(), Refusal> {
    let ok = !value.is_empty()
        && value.chars().count() <= limits::NAME
        && !value.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',');
    if ok {
        Ok(())
    } else {
        Err(Refusal::Invalid(format!(
            "{what} {value:?} must be 1-{} characters without spaces or commas",
            limits::NAME
        )))
    }
}

/// A change to a saved view (decided in [`crate::write::views`]).
#[derive(Debug, Clone)]
pub enum ViewCommand {
    /// Save a new view, owned by `by`.
    Create {
        /// Who saves it.
        by: ViewEditor,
        /// Its name.
        name: String,
        /// Whether every agent sees it.
        shared: bool,
        /// Which cases it shows.
        filters: ViewFilters,
        /// In which order.
        sort: CaseSort,
    },
    /// Change a view; `None` leaves a part as it is.
    Update {
        /// Who changes it.
        by: ViewEditor,
        /// Which view.
        id: ViewId,
        /// A new name.
        name: Option<String>,
        /// Share it or stop sharing it.
        shared: Option<bool>,
        /// New filters, replacing the old ones.
        filters: Option<ViewFilters>,
        /// A new sort.
        sort: Option<CaseSort>,
    },
    /// Delete a view.
    Delete {
        /// Who deletes it.
        by: ViewEditor,
        /// Which view.
        id: ViewId,
    },
}

/// Who changes a view: a person (or a person's token) and their role, which
/// decides whether they may touch shared views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewEditor {
    /// The agent's (or token's) name; a view's owner.
    pub name: String,
    /// Their role.
    pub role: Role,
}

/// How an attempt at an outbox item went.
#[derive(Debug, Clone)]
pub enum AttemptResult {
    /// Done: the item leaves the outbox, with what it produced.
    Done(Option<Effect>),
    /// It failed.
    Failed {
        /// Why.
        message: String,
        /// Whether a later attempt may succeed.
        retryable: bool,
        /// When the plugin itself failed (trap, timeout, ...): the hook and
        /// kind, for a `plugin_error` event.
        fault: Option<(String, String)>,
    },
    /// Not attempted (the plugin's circuit is open, or it is busy): try again
    /// at this time without counting an attempt.
    Deferred(Timestamp),
}

/// What a successful attempt changes.
#[derive(Debug, Clone)]
pub enum Effect {
    /// A reply reached the provider.
    Delivered {
        /// The `reply_delivered` event.
        event: EventBody,
    },
    /// A CRM answered with what it knows of the customer.
    Enriched {
        /// Name.
        name: Option<String>,
        /// Tier.
        tier: Option<String>,
        /// Attributes.
        attributes: BTreeMap<String, serde_json::Value>,
        /// The plugin.
        plugin: Actor,
    },
}
