//! The SLA clock: business calendars ([`calendar`]), policies chosen per case
//! by a Rhai condition ([`policy`]) over read-only views ([`condition`]), and the per-case metric state machine
//! ([`track`]). Everything here is pure and takes "now" as an argument.

pub mod calendar;
pub mod condition;
pub mod policy;
pub mod track;

pub use crate::domain::Metric;
pub use calendar::{BusinessCalendar, CalendarConfig, CalendarError};
pub use policy::{PolicyConfig, PolicyError, SlaBook, SlaConfig, SlaPolicy};
pub use track::{CaseSla, MetricState, MetricStatus, SlaSpan};
