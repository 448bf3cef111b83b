//! The domain: cases, customers and the events that change them.

mod actor;
mod case;
mod customer;
mod event;
mod ids;

pub use actor::Actor;
pub use case::{Case, CaseStatus, Csat, Priority, UnknownName};
pub use customer::{Customer, Identity, IdentityKind, InvalidIdentity};
pub use event::{ChannelVia, Event, EventBody};
pub use ids::{CaseId, CustomerId, EventId};
