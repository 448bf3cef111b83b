//! Read-only views that hooks receive: `ticket` (the case: `case` is a
//! reserved word in Rhai), `customer` and `message`. Scripts read them through
//! getters and change things only through actions. Strings are Rhai's
//! shared strings, so a getter hands out a reference count, not a copy.

use jiff::Timestamp;

use crate::domain::{Case, Customer, IdentityKind};

/// A JSON value as scripts read it (`()` for one Rhai cannot hold).
pub(crate) fn json(value: &serde_json::Value) -> rhai::Dynamic {
    rhai::serde::to_dynamic(value).unwrap_or(rhai::Dynamic::UNIT)
}

/// An optional text, `()` when absent.
pub(crate) fn text(value: Option<&String>) -> rhai::Dynamic {
    value.map_or(rhai::Dynamic::UNIT, |v| v.clone().into())
}

/// The case as a script sees it.
#[derive(Debug, Clone)]
pub struct TicketView {
    pub(crate) id: rhai::ImmutableString,
    pub(crate) subject: rhai::ImmutableString,
    pub(crate) status: rhai::ImmutableString,
    pub(crate) priority: rhai::ImmutableString,
    pub(crate) channel: rhai::ImmutableString,
    pub(crate) team: rhai::Dynamic,
    pub(crate) assignee: rhai::Dynamic,
    pub(crate) tags: rhai::Array,
    pub(crate) fields: rhai::Map,
    pub(crate) customer_id: rhai::ImmutableString,
    pub(crate) reopen_count: i64,
    pub(crate) escalation_level: i64,
    pub(crate) created_at: rhai::ImmutableString,
    pub(crate) age_seconds: i64,
    pub(crate) idle_seconds: i64,
}

impl TicketView {
    /// The view of `case` at `now`.
    pub fn new(case: &Case, now: Timestamp) -> Self {
        Self {
            id: case.id.to_string().into(),
            subject: case.subject.as_str().into(),
            status: case.status.as_str().into(),
            priority: case.priority.as_str().into(),
            channel: case.channel.as_str().into(),
            team: text(case.team.as_ref()),
            assignee: text(case.assignee.as_ref()),
            tags: case.tags.iter().map(|t| t.clone().into()).collect(),
            fields: case.fields.iter().map(|(k, v)| (k.as_str().into(), json(v))).collect(),
            customer_id: case.customer_id.to_string().into(),
            reopen_count: i64::from(case.reopen_count),
            escalation_level: i64::from(case.escalation_level),
            created_at: case.created_at.to_string().into(),
            age_seconds: now.duration_since(case.created_at).as_secs(),
            idle_seconds: now.duration_since(case.updated_at).as_secs(),
        }
    }
}

/// The customer as a script sees it.
#[derive(Debug, Clone)]
pub struct CustomerView {
    pub(crate) id: rhai::ImmutableString,
    pub(crate) name: rhai::Dynamic,
    pub(crate) tier: rhai::Dynamic,
    pub(crate) email: rhai::Dynamic,
    pub(crate) attributes: rhai::Map,
    pub(crate) health: rhai::Dynamic,
}

impl CustomerView {
    /// The view of `customer`.
    pub fn new(customer: &Customer) -> Self {
        let email = customer.identities.iter().find(|i| i.kind == IdentityKind::Email).map(|i| &i.value);
        Self {
            id: customer.id.to_string().into(),
            name: text(customer.name.as_ref()),
            tier: text(customer.tier.as_ref()),
            email: text(email),
            attributes: customer.attributes.iter().map(|(k, v)| (k.as_str().into(), json(v))).collect(),
            health: customer.health.as_ref().map_or(rhai::Dynamic::UNIT, json),
        }
    }

    /// An unknown customer: every field `()` except an empty `id`.
    pub fn unknown() -> Self {
        Self {
            id: rhai::ImmutableString::new(),
            name: rhai::Dynamic::UNIT,
            tier: rhai::Dynamic::UNIT,
            email: rhai::Dynamic::UNIT,
            attributes: rhai::Map::new(),
            health: rhai::Dynamic::UNIT,
        }
    }
}

/// A message as a script sees it.
#[derive(Debug, Clone)]
pub struct MessageView {
    pub(crate) body: rhai::ImmutableString,
    pub(crate) author: rhai::ImmutableString,
}

impl MessageView {
    /// A message with `body` written by `author` (an actor string).
    pub fn new(body: &str, author: String) -> Self {
        Self { body: body.into(), author: author.into() }
    }
}
