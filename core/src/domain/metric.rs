//! The measured SLA metrics. They live in the domain because events name
//! them (`sla_warning`, `sla_breached`, `sla_met`); the clock that measures
//! them is [`crate::sla`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// The measured things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Creation to the first public agent reply.
    FirstResponse,
    /// A customer message after an agent reply, to the next agent reply.
    NextResponse,
    /// Creation to solved; resumes on reopen.
    Resolution,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 3] = [Metric::FirstResponse, Metric::NextResponse, Metric::Resolution];

    /// The metric's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Metric::FirstResponse => "first_response",
            Metric::NextResponse => "next_response",
            Metric::Resolution => "resolution",
        }
    }

    /// Parses a metric name.
    pub fn parse(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
