//! Customer health: a 0-100 score from usage signals, a band, and the
//! reasons for it, most important first.
//!
//! Each known signal maps to a sub-score from 0 to 100; the score is the
//! weighted mean of the sub-scores of the signals present. A missing signal
//! is neutral: it moves the score neither way. Unknown signals are ignored.
//!
//! | signal             | weight | sub-score                                         |
//! |--------------------|-------:|---------------------------------------------------|
//! | `logins_30d`       |     30 | 0 logins = 0, 20 or more = 100, linear between    |
//! | `seats_used_ratio` |     25 | 0 = 0, 0.8 or more = 100, linear between          |
//! | `csat_avg`         |     20 | 1 = 0, 5 = 100, linear between (a 1-5 scale)      |
//! | `days_to_renewal`  |     15 | 0 or overdue = 0, 90 or more = 100, linear between |
//! | `open_cases`       |     10 | 0 = 100, minus 20 per open case, down to 0        |

use frontdesk_plugin_sdk::config;
use frontdesk_plugin_sdk::health::{Band, Customer, Guest, Health, PluginError, Signal};

struct HealthScore;

impl Guest for HealthScore {
    fn score(_customer: Customer, signals: Vec<Signal>) -> Result<Health, PluginError> {
        let thresholds = Thresholds::parse(config::get("healthy_at"), config::get("critical_below"))
            .map_err(PluginError::permanent)?;
        let signals: Vec<(&str, f64)> = signals.iter().map(|s| (s.name.as_str(), s.value)).collect();
        let (score, reasons) = score(&signals);
        Ok(Health { score, band: thresholds.band(score), reasons })
    }
}

frontdesk_plugin_sdk::export_health!(HealthScore);

/// The score returned when no known signal is present: neither healthy nor
/// critical, since there is nothing to judge by.
pub const NO_SIGNALS_SCORE: u8 = 50;

/// A known signal's part in the score.
struct Assessment {
    /// 0 to 100.
    sub_score: f64,
    weight: f64,
    reason: String,
}

impl Assessment {
    /// Score points this signal costs against a perfect 100.
    fn points_lost(&self) -> f64 {
        self.weight * (100.0 - self.sub_score) / 100.0
    }
}

/// Scores `signals` (name, value): the score and the reasons, ordered by
/// how many points each signal costs. For a signal given twice, the last
/// value counts.
pub fn score(signals: &[(&str, f64)]) -> (u8, Vec<String>) {
    let mut assessments: Vec<(&str, Assessment)> = Vec::new();
    for &(name, value) in signals {
        if let Some(assessment) = assess(name, value) {
            assessments.retain(|(seen, _)| *seen != name);
            assessments.push((name, assessment));
        }
    }
    if assessments.is_empty() {
        return (NO_SIGNALS_SCORE, vec!["No known usage signals; the score is neutral".to_owned()]);
    }
    let weight: f64 = assessments.iter().map(|(_, a)| a.weight).sum();
    let weighted: f64 = assessments.iter().map(|(_, a)| a.weight * a.sub_score).sum();
    let score = (weighted / weight).round().clamp(0.0, 100.0) as u8;
    assessments.sort_by(|(_, a), (_, b)| b.points_lost().total_cmp(&a.points_lost()));
    (score, assessments.into_iter().map(|(_, a)| a.reason).collect())
}

/// A known signal's sub-score, weight and reason; `None` for an unknown
/// signal or a value that is not a finite number.
fn assess(name: &str, value: f64) -> Option<Assessment> {
    if !value.is_finite() {
        return None;
    }
    let (weight, sub_score, reason) = match name {
        "logins_30d" => {
            let logins = value.max(0.0).round();
            let sub_score = linear(logins, 0.0, 20.0);
            let reason = match logins {
                0.0 => "No logins in 30 days".to_owned(),
                1.0 => "Only 1 login in 30 days".to_owned(),
                n if sub_score < 60.0 => format!("Only {n} logins in 30 days"),
                n => format!("{n} logins in 30 days"),
            };
            (30.0, sub_score, reason)
        }
        "seats_used_ratio" => {
            let sub_score = linear(value, 0.0, 0.8);
            let percent = (value.max(0.0) * 100.0).round();
            let reason = if sub_score < 60.0 {
                format!("Only {percent}% of seats in use")
            } else {
                format!("{percent}% of seats in use")
            };
            (25.0, sub_score, reason)
        }
        "csat_avg" => {
            let sub_score = linear(value, 1.0, 5.0);
            let reason = if sub_score < 60.0 {
                format!("Low CSAT average of {value:.1}")
            } else {
                format!("CSAT average of {value:.1}")
            };
            (20.0, sub_score, reason)
        }
        "days_to_renewal" => {
            let days = value.round();
            let reason = match days {
                d if d < 0.0 => format!("Renewal overdue by {} days", -d),
                0.0 => "Renewal due today".to_owned(),
                1.0 => "Renewal in 1 day".to_owned(),
                d => format!("Renewal in {d} days"),
            };
            (15.0, linear(days, 0.0, 90.0), reason)
        }
        "open_cases" => {
            let open = value.max(0.0).round();
            let reason = match open {
                0.0 => "No open cases".to_owned(),
                1.0 => "1 open case".to_owned(),
                n => format!("{n} open cases"),
            };
            (10.0, (100.0 - 20.0 * open).max(0.0), reason)
        }
        _ => return None,
    };
    Some(Assessment { sub_score, weight, reason })
}

/// 0 at or below `zero`, 100 at or above `full`, linear between.
fn linear(value: f64, zero: f64, full: f64) -> f64 {
    ((value - zero) / (full - zero) * 100.0).clamp(0.0, 100.0)
}

/// Where the bands start: healthy at `healthy_at` and above, critical below
/// `critical_below`, at risk between.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Lowest healthy score (config `healthy_at`, default 70).
    pub healthy_at: f64,
    /// Scores below this are critical (config `critical_below`, default 40).
    pub critical_below: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { healthy_at: 70.0, critical_below: 40.0 }
    }
}

impl Thresholds {
    /// Thresholds from the config values, defaults for those not set.
    ///
    /// # Errors
    /// A message naming the key when a value is not a number from 0 to 100,
    /// or `critical_below` is above `healthy_at`.
    pub fn parse(healthy_at: Option<String>, critical_below: Option<String>) -> Result<Self, String> {
        let number = |key: &str, value: Option<String>, default: f64| match value {
            None => Ok(default),
            Some(text) => match text.trim().parse::<f64>() {
                Ok(n) if (0.0..=100.0).contains(&n) => Ok(n),
                _ => Err(format!("config `{key}` must be a number from 0 to 100, not {text:?}")),
            },
        };
        let defaults = Self::default();
        let thresholds = Self {
            healthy_at: number("healthy_at", healthy_at, defaults.healthy_at)?,
            critical_below: number("critical_below", critical_below, defaults.critical_below)?,
        };
        if thresholds.critical_below > thresholds.healthy_at {
            return Err(format!(
                "config `critical_below` ({}) must not be above `healthy_at` ({})",
                thresholds.critical_below, thresholds.healthy_at
            ));
        }
        Ok(thresholds)
    }

    /// The band `score` falls in.
    pub fn band(&self, score: u8) -> Band {
        let score = f64::from(score);
        if score >= self.healthy_at {
            Band::Healthy
        } else if score < self.critical_below {
            Band::Critical
        } else {
            Band::AtRisk
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_example_is_healthy() {
        let signals = [
            ("logins_30d", 12.0),
            ("seats_used_ratio", 0.8),
            ("open_cases", 1.0),
            ("csat_avg", 4.5),
            ("days_to_renewal", 40.0),
        ];
        let (score, reasons) = score(&signals);
        // (30*60 + 25*100 + 10*80 + 20*87.5 + 15*44.4) / 100 = 75.2
        assert_eq!(score, 75);
        assert_eq!(Thresholds::default().band(score), Band::Healthy);
        assert_eq!(
            reasons,
            ["12 logins in 30 days", "Renewal in 40 days", "CSAT average of 4.5", "1 open case", "80% of seats in use"]
        );
    }

    #[test]
    fn a_neglected_account_is_critical_with_the_worst_first() {
        let signals = [
            ("logins_30d", 2.0),
            ("seats_used_ratio", 0.1),
            ("open_cases", 4.0),
            ("csat_avg", 2.0),
            ("days_to_renewal", 12.0),
        ];
        let (score, reasons) = score(&signals);
        assert!(score < 40, "{score}");
        assert_eq!(Thresholds::default().band(score), Band::Critical);
        assert_eq!(reasons[0], "Only 2 logins in 30 days");
        assert!(reasons.contains(&"Renewal in 12 days".to_owned()));
        assert!(reasons.contains(&"Only 10% of seats in use".to_owned()));
        assert!(reasons.contains(&"Low CSAT average of 2.0".to_owned()));
    }

    #[test]
    fn missing_and_unknown_signals_are_neutral() {
        let (alone, _) = score(&[("csat_avg", 5.0)]);
        assert_eq!(alone, 100);
        let (with_unknown, reasons) = score(&[("csat_avg", 5.0), ("nps", -100.0), ("logins_30d", f64::NAN)]);
        assert_eq!(with_unknown, 100);
        assert_eq!(reasons, ["CSAT average of 5.0"]);
        let (none, reasons) = score(&[("nps", 3.0)]);
        assert_eq!(none, NO_SIGNALS_SCORE);
        assert_eq!(reasons.len(), 1);
        assert_eq!(score(&[]).0, NO_SIGNALS_SCORE);
    }

    #[test]
    fn the_last_value_of_a_repeated_signal_counts() {
        assert_eq!(score(&[("logins_30d", 0.0), ("logins_30d", 20.0)]), (100, vec!["20 logins in 30 days".to_owned()]));
    }

    #[test]
    fn scores_stay_in_range_and_move_the_right_way() {
        let values = [-1e9, -5.0, -0.5, 0.0, 0.3, 0.8, 1.0, 3.0, 4.5, 12.0, 40.0, 365.0, 1e12];
        let names = ["logins_30d", "seats_used_ratio", "csat_avg", "days_to_renewal", "open_cases"];
        for name in names {
            let mut previous: Option<u8> = None;
            for value in values {
                let others = [("logins_30d", 10.0), ("csat_avg", 3.0)];
                let mut signals: Vec<(&str, f64)> = others.iter().copied().filter(|(n, _)| *n != name).collect();
                signals.push((name, value));
                let (score, reasons) = score(&signals);
                assert!(score <= 100);
                assert!(!reasons.is_empty());
                // More of each signal is better, except open cases.
                if let Some(previous) = previous {
                    if name == "open_cases" {
                        assert!(score <= previous, "{name}={value}: {score} > {previous}");
                    } else {
                        assert!(score >= previous, "{name}={value}: {score} < {previous}");
                    }
                }
                previous = Some(score);
            }
        }
    }

    #[test]
    fn renewal_and_login_reasons_read_well() {
        let reason = |name, value| score(&[(name, value)]).1.remove(0);
        assert_eq!(reason("days_to_renewal", -3.0), "Renewal overdue by 3 days");
        assert_eq!(reason("days_to_renewal", 0.0), "Renewal due today");
        assert_eq!(reason("days_to_renewal", 1.0), "Renewal in 1 day");
        assert_eq!(reason("logins_30d", 0.0), "No logins in 30 days");
        assert_eq!(reason("logins_30d", 1.0), "Only 1 login in 30 days");
        assert_eq!(reason("logins_30d", 25.0), "25 logins in 30 days");
        assert_eq!(reason("open_cases", 0.0), "No open cases");
        assert_eq!(reason("open_cases", 3.0), "3 open cases");
        assert_eq!(reason("seats_used_ratio", 1.2), "120% of seats in use");
    }

    #[test]
    fn bands_follow_the_thresholds() {
        let defaults = Thresholds::default();
        let cases = [
            (100, Band::Healthy),
            (70, Band::Healthy),
            (69, Band::AtRisk),
            (40, Band::AtRisk),
            (39, Band::Critical),
            (0, Band::Critical),
        ];
        for (score, band) in cases {
            assert_eq!(defaults.band(score), band, "{score}");
        }
        let strict = Thresholds::parse(Some("85".into()), Some("60".into())).unwrap();
        assert_eq!(strict.band(80), Band::AtRisk);
        assert_eq!(strict.band(59), Band::Critical);
        assert_eq!(Thresholds::parse(None, None).unwrap(), defaults);
    }

    #[test]
    fn bad_thresholds_are_refused() {
        for (healthy_at, critical_below) in
            [(Some("high"), None), (Some("101"), None), (None, Some("-1")), (Some("30"), Some("50"))]
        {
            let result = Thresholds::parse(healthy_at.map(str::to_owned), critical_below.map(str::to_owned));
            assert!(result.is_err(), "{healthy_at:?} {critical_below:?}");
        }
    }
}
