//! The domain: cases, customers and the events that change them, the case
//! lifecycle ([`lifecycle`]) and the fold of events into case rows
//! ([`projection`]). Pure: no storage, no clock.

mod actor;
mod case;
mod customer;
mod event;
mod ids;
pub mod lifecycle;
mod metric;
pub mod projection;

pub use actor::Actor;
pub use case::{Case, CaseStatus, Csat, Priority, UnknownName};
pub use customer::{Customer, Identity, IdentityKind, InvalidIdentity};
pub use event::{ChannelVia, Event, EventBody};
pub use ids::{CaseId, CustomerId, EventId, ViewId};
pub use metric::Metric;
