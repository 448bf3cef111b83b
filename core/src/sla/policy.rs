//! SLA policies: which targets apply to a case. Each policy has an optional
//! Rhai condition over `ticket` (the case) and `customer`; the first policy
//! whose condition holds (or that has none) applies.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde::Deserialize;

use super::calendar::{BusinessCalendar, CalendarConfig, CalendarError};
use super::condition::{CustomerProps, TicketProps};
use crate::domain::Metric;
use crate::domain::{Case, CaseStatus, Customer, Priority};
use crate::duration::parse_duration;

/// `[sla]` in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    /// `[[sla.policies]]`, in priority order.
    #[serde(default)]
    pub policies: Vec<PolicyConfig>,
}

/// One `[[sla.policies]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Unique name, shown on cases.
    pub name: String,
    /// Rhai condition over `ticket` and `customer`; omitted = always.
    pub when: Option<String>,
    /// Calendar name, or `24x7` (the default).
    #[serde(default = "default_calendar")]
    pub calendar: String,
    /// Fraction of a target after which `sla_warning` fires (default 0.75).
    #[serde(default = "default_warning_at")]
    pub warning_at: f64,
    /// Statuses that pause the clock (default `pending`, `on_hold`).
    #[serde(default = "default_pause_on")]
    pub pause_on: Vec<CaseStatus>,
    /// Targets per priority.
    #[serde(default)]
    pub targets: BTreeMap<Priority, TargetsConfig>,
}

/// Targets for one priority, as durations (`30m`, `4h`, `2d`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsConfig {
    /// Creation to first public agent reply.
    pub first_response: Option<String>,
    /// Customer message (after an agent reply) to the next agent reply.
    pub next_response: Option<String>,
    /// Creation to solved.
    pub resolution: Option<String>,
}

fn default_calendar() -> String {
    super::calendar::ALWAYS_OPEN_NAME.to_owned()
}

fn default_warning_at() -> f64 {
    0.75
}

fn default_pause_on() -> Vec<CaseStatus> {
    vec![CaseStatus::Pending, CaseStatus::OnHold]
}

/// A policy or calendar that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A calendar is invalid.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// A calendar may not take the built-in name.
    #[error("calendar name {0:?} is built in and cannot be redefined")]
    ReservedCalendar(String),
    /// A policy names an unknown calendar.
    #[error("sla policy {policy:?}: unknown calendar {calendar:?}")]
    UnknownCalendar {
        /// The policy.
        policy: String,
        /// The calendar it names.
        calendar: String,
    },
    /// The `when` condition does not compile.
    #[error("sla policy {policy:?}: condition does not compile: {message} (line {line}, column {column} of `when`)")]
    Condition {
        /// The policy.
        policy: String,
        /// The parser's message.
        message: String,
        /// Line within the condition.
        line: usize,
        /// Column within the condition.
        column: usize,
    },
    /// Any other bad value.
    #[error("sla policy {policy:?}: {message}")]
    Invalid {
        /// The policy.
        policy: String,
        /// What is wrong.
        message: String,
    },
}

/// A validated policy.
#[derive(Debug, Clone)]
pub struct SlaPolicy {
    /// Name.
    pub name: String,
    /// Compiled condition.
    when: Option<Arc<rhai::AST>>,
    /// The calendar its time counts in.
    pub calendar: Arc<BusinessCalendar>,
    /// Warning threshold, a fraction of the target.
    pub warning_at: f64,
    /// Statuses that pause the clock.
    pub pause_on: BTreeSet<CaseStatus>,
    /// Target seconds per priority and metric.
    pub targets: BTreeMap<Priority, BTreeMap<Metric, u64>>,
}

impl SlaPolicy {
    /// The target for `metric` at `priority`, in business seconds.
    pub fn target(&self, priority: Priority, metric: Metric) -> Option<u64> {
        self.targets.get(&priority).and_then(|t| t.get(&metric)).copied()
    }
}

/// Every calendar and policy from the config, ready to evaluate.
#[derive(Clone)]
pub struct SlaBook {
    engine: Arc<rhai::Engine>,
    calendars: HashMap<String, Arc<BusinessCalendar>>,
    policies: Vec<SlaPolicy>,
}

impl std::fmt::Debug for SlaBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlaBook").field("policies", &self.policies.len()).finish_non_exhaustive()
    }
}

impl Default for SlaBook {
    fn default() -> Self {
        Self::new(&BTreeMap::new(), &SlaConfig::default()).expect("the empty config is valid")
    }
}

impl SlaBook {
    /// Validates calendars and policies.
    ///
    /// # Errors
    /// [`PolicyError`] naming the calendar or policy at fault.
    pub fn new(calendars: &BTreeMap<String, CalendarConfig>, config: &SlaConfig) -> Result<Self, PolicyError> {
        let engine = super::condition::engine();
        let mut built = HashMap::new();
        built.insert(super::calendar::ALWAYS_OPEN_NAME.to_owned(), Arc::new(BusinessCalendar::always_open()));
        for (name, calendar) in calendars {
            if name == super::calendar::ALWAYS_OPEN_NAME {
                return Err(PolicyError::ReservedCalendar(name.clone()));
            }
            built.insert(name.clone(), Arc::new(BusinessCalendar::try_from_config(name, calendar)?));
        }
        let mut policies = Vec::new();
        let mut names = BTreeSet::new();
        for p in &config.policies {
            let invalid = |message: String| PolicyError::Invalid { policy: p.name.clone(), message };
            if !names.insert(p.name.clone()) {
                return Err(invalid("the name is used twice".into()));
            }
            let calendar = built
                .get(&p.calendar)
                .cloned()
                .ok_or_else(|| PolicyError::UnknownCalendar { policy: p.name.clone(), calendar: p.calendar.clone() })?;
            if !(p.warning_at > 0.0 && p.warning_at <= 1.0) {
                return Err(invalid(format!("warning_at must be in (0, 1], got {}", p.warning_at)));
            }
            let when = match &p.when {
                Some(source) => Some(Arc::new(engine.compile_expression(source).map_err(|e| {
                    let position = e.position();
                    PolicyError::Condition {
                        policy: p.name.clone(),
                        message: e.to_string(),
                        line: position.line().unwrap_or(1),
                        column: position.position().unwrap_or(1),
                    }
                })?)),
                None => None,
            };
            let mut targets = BTreeMap::new();
            for (priority, t) in &p.targets {
                let mut per_metric = BTreeMap::new();
                for (metric, text) in [
                    (Metric::FirstResponse, &t.first_response),
                    (Metric::NextResponse, &t.next_response),
                    (Metric::Resolution, &t.resolution),
                ] {
                    if let Some(text) = text {
                        let seconds =
                            parse_duration(text).map_err(|e| invalid(format!("targets.{priority}.{metric}: {e}")))?;
                        if seconds == 0 {
                            return Err(invalid(format!("targets.{priority}.{metric} must be more than zero")));
                        }
                        per_metric.insert(metric, seconds);
                    }
                }
                targets.insert(*priority, per_metric);
            }
            policies.push(SlaPolicy {
                name: p.name.clone(),
                when,
                calendar,
                warning_at: p.warning_at,
                pause_on: p.pause_on.iter().copied().collect(),
                targets,
            });
        }
        Ok(Self { engine: Arc::new(engine), calendars: built, policies })
    }

    /// A calendar by name (`24x7` is always there).
    pub fn calendar(&self, name: &str) -> Option<&Arc<BusinessCalendar>> {
        self.calendars.get(name)
    }

    /// A policy by name.
    pub fn policy(&self, name: &str) -> Option<&SlaPolicy> {
        self.policies.iter().find(|p| p.name == name)
    }

    /// The first policy whose condition holds for `case` and `customer`. A
    /// condition that fails at run time counts as false (and is logged): a
    /// policy must never stop a case from being written. Both are shared
    /// with the conditions, which read them without copying.
    pub fn select(&self, case: &Arc<Case>, customer: Option<&Arc<Customer>>) -> Option<&SlaPolicy> {
        if self.policies.iter().all(|p| p.when.is_none()) {
            return self.policies.first();
        }
        let mut scope = rhai::Scope::new();
        scope.push_constant("ticket", TicketProps(Arc::clone(case)));
        scope.push_constant("customer", CustomerProps(customer.cloned()));
        self.policies.iter().find(|p| match &p.when {
            None => true,
            Some(ast) => match self.engine.eval_ast_with_scope::<bool>(&mut scope, ast) {
                Ok(holds) => holds,
                Err(e) => {
                    tracing::warn!(policy = %p.name, case.id = %case.id, error = %e, "sla policy condition failed; skipping it");
                    false
                }
            },
        })
    }
}
