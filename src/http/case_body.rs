//! The shapes the API shows: a case with its SLA state, and the explanation
//! of an SLA. Serialisation only; the binary decides where they go.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use frontdesk_core::domain::Case;
use frontdesk_core::sla::{CaseSla, Metric, MetricState, MetricStatus, SlaBook, SlaSpan};

/// A case as the API returns it: its fields plus `sla`.
#[derive(Debug, Serialize)]
pub struct CaseBody<'a> {
    /// The case.
    #[serde(flatten)]
    pub case: &'a Case,
    /// Its SLA.
    pub sla: SlaSummary<'a>,
}

impl<'a> CaseBody<'a> {
    /// The body of `case` with `sla`.
    pub fn new(case: &'a Case, sla: &'a CaseSla) -> Self {
        Self { case, sla: SlaSummary::new(sla) }
    }
}

/// `sla` on a case: the policy and each metric's current state.
#[derive(Debug, Serialize)]
pub struct SlaSummary<'a> {
    /// The policy applied (`null` when none applies).
    pub policy: Option<&'a str>,
    /// Current cycle of each tracked metric.
    pub metrics: BTreeMap<Metric, MetricSummary>,
}

impl<'a> SlaSummary<'a> {
    /// The summary of `sla`.
    pub fn new(sla: &'a CaseSla) -> Self {
        Self {
            policy: sla.policy.as_deref(),
            metrics: sla.metrics.iter().map(|(m, s)| (*m, MetricSummary::from(s))).collect(),
        }
    }
}

/// One metric on a case.
#[derive(Debug, Serialize)]
pub struct MetricSummary {
    /// running, paused, met or breached.
    pub state: MetricStatus,
    /// The deadline while running.
    #[serde(serialize_with = "frontdesk_core::timestamp_text::serialize_opt")]
    pub due_at: Option<Timestamp>,
    /// When it breached.
    #[serde(serialize_with = "frontdesk_core::timestamp_text::serialize_opt")]
    pub breached_at: Option<Timestamp>,
    /// When it was met (or fulfilled after a breach).
    #[serde(serialize_with = "frontdesk_core::timestamp_text::serialize_opt")]
    pub completed_at: Option<Timestamp>,
    /// The cycle (next_response counts them).
    pub cycle: u32,
    /// The target in business seconds.
    pub target_seconds: u64,
    /// Business seconds counted when the state was last written.
    pub elapsed_seconds: u64,
}

impl From<&MetricState> for MetricSummary {
    fn from(s: &MetricState) -> Self {
        Self {
            state: s.status(),
            due_at: s.due_at,
            breached_at: s.breached_at,
            completed_at: s.completed_at,
            cycle: s.cycle,
            target_seconds: s.target_seconds,
            elapsed_seconds: s.elapsed_seconds,
        }
    }
}

/// `GET /cases/{id}/sla`: why each deadline is where it is.
#[derive(Debug, Serialize)]
pub struct SlaExplanation {
    /// The case.
    pub case_id: String,
    /// The instant the explanation was computed for.
    #[serde(serialize_with = "frontdesk_core::timestamp_text::serialize")]
    pub now: Timestamp,
    /// The policy applied.
    pub policy: Option<String>,
    /// The calendar its time counts in.
    pub calendar: Option<CalendarInfo>,
    /// The warning threshold (fraction of each target).
    pub warning_at: Option<f64>,
    /// Statuses that pause the clock.
    pub pause_on: Vec<String>,
    /// Every cycle of every metric, oldest first.
    pub metrics: BTreeMap<Metric, Vec<CycleExplanation>>,
}

/// A calendar, named.
#[derive(Debug, Serialize)]
pub struct CalendarInfo {
    /// Its name (`24x7` for the built-in one).
    pub name: String,
    /// Its IANA time zone.
    pub time_zone: String,
}

/// One cycle of a metric with its spans.
#[derive(Debug, Serialize)]
pub struct CycleExplanation {
    /// The cycle number.
    pub cycle: u32,
    /// Its state.
    pub state: MetricStatus,
    /// When it started.
    #[serde(serialize_with = "frontdesk_core::timestamp_text::serialize")]
    pub started_at: Timestamp,
    /// The target.
    pub target_seconds: u64,
    /// Business seconds counted up to `now` (or its end).
    pub elapsed_seconds: u64,
    /// Business seconds left before the deadline.
    pub remaining_seconds: u64,
    /// The deadline, while running.
    #[serde(serialize_with = "frontdesk_core::timestamp_text::serialize_opt")]
    pub due_at: Option<Timestamp>,
    /// When the warning fires, if still ahead.
    #[serde(serialize_with = "frontdesk_core::timestamp_text::serialize_opt")]
    pub warning_at: Option<Timestamp>,
    /// When it breached.
    #[serde(serialize_with = "frontdesk_core::timestamp_text::serialize_opt")]
    pub breached_at: Option<Timestamp>,
    /// When it was completed.
    #[serde(serialize_with = "frontdesk_core::timestamp_text::serialize_opt")]
    pub completed_at: Option<Timestamp>,
    /// Running and paused stretches with the business seconds each counted.
    pub spans: Vec<SlaSpan>,
}

impl SlaExplanation {
    /// Explains `sla` as of `now`.
    pub fn new(case: &Case, sla: &CaseSla, book: &SlaBook, now: Timestamp) -> Self {
        let mut live = sla.clone();
        live.advance(now, book);
        let policy = live.policy.as_deref().and_then(|p| book.policy(p));
        let mut metrics: BTreeMap<Metric, Vec<CycleExplanation>> = BTreeMap::new();
        for state in live.history.iter().chain(live.metrics.values()) {
            metrics.entry(state.metric).or_default().push(CycleExplanation {
                cycle: state.cycle,
                state: state.status(),
                started_at: state.started_at,
                target_seconds: state.target_seconds,
                elapsed_seconds: state.elapsed_seconds,
                remaining_seconds: state.target_seconds.saturating_sub(state.elapsed_seconds),
                due_at: state.due_at,
                warning_at: state.warning_at.filter(|_| !state.warned),
                breached_at: state.breached_at,
                completed_at: state.completed_at,
                spans: state.spans.clone(),
            });
        }
        Self {
            case_id: case.id.to_string(),
            now,
            policy: live.policy.clone(),
            calendar: policy.map(|p| CalendarInfo {
                name: p.calendar.name().to_owned(),
                time_zone: p.calendar.time_zone().iana_name().unwrap_or("UTC").to_owned(),
            }),
            warning_at: policy.map(|p| p.warning_at),
            pause_on: live.pause_on(book).iter().map(|s| s.as_str().to_owned()).collect(),
            metrics,
        }
    }
}
