//! Service metrics over a time range: first contact resolution, time to
//! resolution, SLA compliance, CSAT, and the current backlog. Computed from
//! aggregate tables kept up to date by every write (see
//! [`crate::store::WriteTxn`]), so a request reads rows proportional to what
//! happened in the range, never every event.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{CaseId, CaseStatus};
use crate::sla::Metric;

/// A case's latest resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The case.
    pub case_id: CaseId,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was (last) solved.
    pub solved_at: Timestamp,
    /// Public agent replies before it was solved.
    pub agent_replies: u32,
    /// How often it had been reopened.
    pub reopen_count: u32,
}

impl Resolution {
    /// Solved with a single agent reply and never reopened.
    pub fn first_contact(&self) -> bool {
        self.agent_replies <= 1 && self.reopen_count == 0
    }
}

/// Unsolved cases created on one day, in one status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacklogRow {
    /// Days since 1970-01-01 (UTC) of creation.
    pub created_day: i64,
    /// Their status.
    pub status: CaseStatus,
    /// How many.
    pub count: u64,
}

/// What the store returns for a metrics request.
#[derive(Debug, Clone, Default)]
pub struct MetricsInput {
    /// Resolutions solved in the range.
    pub resolutions: Vec<Resolution>,
    /// SLA outcomes in the range: metric and whether it was met.
    pub sla: Vec<(Metric, bool)>,
    /// CSAT scores given in the range.
    pub csat: Vec<u8>,
    /// The backlog now.
    pub backlog: Vec<BacklogRow>,
    /// Unsolved cases that were reopened at least once.
    pub reopened: u64,
}

/// `GET /api/v1/metrics`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceMetrics {
    /// Range start (inclusive).
    pub from: Timestamp,
    /// Range end (exclusive).
    pub to: Timestamp,
    /// Share of cases solved in the range with one agent reply and no reopen.
    pub first_contact_resolution: Rate,
    /// Creation to (last) solve, for cases solved in the range.
    pub time_to_resolution: Durations,
    /// Met share per metric, for outcomes in the range.
    pub sla_compliance: BTreeMap<Metric, Compliance>,
    /// Ratings given in the range.
    pub csat: Csat,
    /// Unsolved cases now.
    pub backlog: Backlog,
}

/// A share of a count.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rate {
    /// `hits / of`, or `null` when `of` is 0.
    pub rate: Option<f64>,
    /// Matching cases.
    pub hits: u64,
    /// All cases considered.
    pub of: u64,
}

/// Summary of durations, in seconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Durations {
    /// How many.
    pub count: u64,
    /// Mean, or `null` when none.
    pub mean_seconds: Option<f64>,
    /// Median, or `null` when none.
    pub median_seconds: Option<f64>,
}

/// SLA compliance of one metric.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Compliance {
    /// Met in time.
    pub met: u64,
    /// Breached.
    pub breached: u64,
    /// `met / (met + breached)`, or `null`.
    pub rate: Option<f64>,
}

/// CSAT summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Csat {
    /// Ratings.
    pub count: u64,
    /// Mean score, or `null`.
    pub average: Option<f64>,
}

/// The backlog of unsolved cases.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Backlog {
    /// All unsolved cases.
    pub total: u64,
    /// By status (`new`, `open`, `pending`, `on_hold`).
    pub by_status: BTreeMap<&'static str, u64>,
    /// By age: `under_1d`, `1d_to_3d`, `3d_to_7d`, `over_7d`.
    pub by_age: BTreeMap<&'static str, u64>,
    /// Unsolved cases reopened at least once.
    pub reopened: u64,
}

fn ratio(hits: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| hits as f64 / of as f64)
}

/// Computes the report from the store's rows.
pub fn compute(input: &MetricsInput, from: Timestamp, to: Timestamp, now: Timestamp) -> ServiceMetrics {
    let solved = input.resolutions.len() as u64;
    let first_contact = input.resolutions.iter().filter(|r| r.first_contact()).count() as u64;
    let mut seconds: Vec<f64> =
        input.resolutions.iter().map(|r| r.solved_at.duration_since(r.created_at).as_secs_f64().max(0.0)).collect();
    seconds.sort_by(f64::total_cmp);
    let median = match seconds.len() {
        0 => None,
        n if n % 2 == 1 => Some(seconds[n / 2]),
        n => Some((seconds[n / 2 - 1] + seconds[n / 2]) / 2.0),
    };
    let mean = (!seconds.is_empty()).then(|| seconds.iter().sum::<f64>() / seconds.len() as f64);

    let mut sla_compliance = BTreeMap::new();
    for (metric, met) in &input.sla {
        let entry = sla_compliance.entry(*metric).or_insert(Compliance { met: 0, breached: 0, rate: None });
        if *met {
            entry.met += 1;
        } else {
            entry.breached += 1;
        }
    }
    for entry in sla_compliance.values_mut() {
        entry.rate = ratio(entry.met, entry.met + entry.breached);
    }

    let csat_sum: u64 = input.csat.iter().map(|s| u64::from(*s)).sum();
    let csat_count = input.csat.len() as u64;

    let today = now.as_second().div_euclid(86_400);
    let mut by_status: BTreeMap<&'static str, u64> =
        [CaseStatus::New, CaseStatus::Open, CaseStatus::Pending, CaseStatus::OnHold].map(|s| (s.as_str(), 0)).into();
    let mut by_age: BTreeMap<&'static str, u64> =
        ["under_1d", "1d_to_3d", "3d_to_7d", "over_7d"].map(|b| (b, 0)).into();
    for row in &input.backlog {
        *by_status.entry(row.status.as_str()).or_default() += row.count;
        let bucket = match today - row.created_day {
            ..=0 => "under_1d",
            1..=2 => "1d_to_3d",
            3..=6 => "3d_to_7d",
            _ => "over_7d",
        };
        *by_age.entry(bucket).or_default() += row.count;
    }
    ServiceMetrics {
        from,
        to,
        first_contact_resolution: Rate { rate: ratio(first_contact, solved), hits: first_contact, of: solved },
        time_to_resolution: Durations { count: solved, mean_seconds: mean, median_seconds: median },
        sla_compliance,
        csat: Csat { count: csat_count, average: ratio(csat_sum, csat_count) },
        backlog: Backlog { total: by_status.values().sum(), by_status, by_age, reopened: input.reopened },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn report_from_rows() {
        let resolution = |id, hours: i64, replies, reopens| Resolution {
            case_id: CaseId::new(id),
            created_at: at("2026-03-02T00:00:00Z"),
            solved_at: at("2026-03-02T00:00:00Z").checked_add(jiff::SignedDuration::from_hours(hours)).unwrap(),
            agent_replies: replies,
            reopen_count: reopens,
        };
        let input = MetricsInput {
            resolutions: vec![resolution(1, 1, 1, 0), resolution(2, 3, 2, 0), resolution(3, 10, 1, 1)],
            sla: vec![(Metric::FirstResponse, true), (Metric::FirstResponse, false), (Metric::Resolution, true)],
            csat: vec![5, 4],
            backlog: vec![
                BacklogRow {
                    created_day: at("2026-03-10T00:00:00Z").as_second() / 86_400,
                    status: CaseStatus::Open,
                    count: 2,
                },
                BacklogRow {
                    created_day: at("2026-03-01T00:00:00Z").as_second() / 86_400,
                    status: CaseStatus::New,
                    count: 1,
                },
            ],
            reopened: 1,
        };
        let report =
            compute(&input, at("2026-03-01T00:00:00Z"), at("2026-03-11T00:00:00Z"), at("2026-03-10T12:00:00Z"));
        assert_eq!(report.first_contact_resolution, Rate { rate: Some(1.0 / 3.0), hits: 1, of: 3 });
        assert_eq!(report.time_to_resolution.median_seconds, Some(3.0 * 3600.0));
        assert_eq!(report.time_to_resolution.mean_seconds, Some(14.0 * 3600.0 / 3.0));
        assert_eq!(report.sla_compliance[&Metric::FirstResponse].rate, Some(0.5));
        assert_eq!(report.csat.average, Some(4.5));
        assert_eq!(report.backlog.total, 3);
        assert_eq!(report.backlog.by_age["under_1d"], 2);
        assert_eq!(report.backlog.by_age["over_7d"], 1);
        assert_eq!(report.backlog.by_status["open"], 2);
    }
}
