//! The domain: cases, customers and the events that change them, the case
//! lifecycle ([`lifecycle`]) and the fold of events into case rows
//! ([`projection`]). Pure: no storage, no clock.

mod actor;
mod canned;
mod case;
mod customer;
mod event;
mod ids;
mod inbound_kind;
pub mod lifecycle;
mod metric;
pub mod projection;

pub use actor::Actor;
pub use canned::{
    MAX_TITLE as MAX_MACRO_TITLE, Macro, MacroAssignee, MacroMessage, MacroMessageKind, PLACEHOLDERS, TemplateError,
    TemplateScope, check_template, render as render_template,
};
pub use case::{Case, CaseStatus, Csat, Priority, UnknownName};
pub use customer::{Customer, Identity, IdentityKind, InvalidIdentity};
pub use event::{ChannelVia, Event, EventBody};
pub use ids::{CaseId, CustomerId, EventId, ViewId};
pub use inbound_kind::{BounceReport, InboundKind};
pub use metric::Metric;
