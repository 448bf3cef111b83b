//! The per-case SLA state machine. A case's events move each metric between
//! running, paused, met and breached; elapsed business time is kept across
//! pauses, priority changes and policy changes, and every change of counting
//! opens a span so the state can be explained later.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::calendar::BusinessCalendar;
use super::policy::{SlaBook, SlaPolicy};
use crate::domain::{Case, CaseStatus, Customer, Event, EventBody, Metric};

/// Where a metric stands, as the API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricStatus {
    /// Counting business time.
    Running,
    /// Not counting (a pausing status, or the case is solved or closed).
    Paused,
    /// Done within its target.
    Met,
    /// Its deadline passed (it may still be completed later).
    Breached,
}

/// A stretch of a metric's life with one counting state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaSpan {
    /// Start.
    #[serde(serialize_with = "crate::timestamp_text::serialize")]
    pub from: Timestamp,
    /// End; `None` while current.
    #[serde(serialize_with = "crate::timestamp_text::serialize_opt")]
    pub to: Option<Timestamp>,
    /// Whether business time counted.
    pub running: bool,
    /// Why it started: `created`, `status pending`, `reopened`, ...
    pub reason: String,
    /// Business seconds counted in it (so far).
    pub business_seconds: u64,
}

/// Most spans kept per cycle; older ones are dropped (their seconds stay in
/// `elapsed_seconds`).
const MAX_SPANS: usize = 64;
/// Most completed cycles kept for explanations.
const MAX_HISTORY: usize = 32;

/// One cycle of one metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricState {
    /// Which metric.
    pub metric: Metric,
    /// Cycle number (next_response counts its cycles from 1; others are 1).
    pub cycle: u32,
    /// When the cycle started.
    #[serde(serialize_with = "crate::timestamp_text::serialize")]
    pub started_at: Timestamp,
    /// The target in business seconds.
    pub target_seconds: u64,
    /// Business seconds counted up to `counted_to`.
    pub elapsed_seconds: u64,
    /// Up to when `elapsed_seconds` is counted.
    #[serde(serialize_with = "crate::timestamp_text::serialize")]
    pub counted_to: Timestamp,
    /// Whether business time is counting now.
    pub counting: bool,
    /// When the cycle was completed (reply sent, case solved).
    #[serde(serialize_with = "crate::timestamp_text::serialize_opt")]
    pub completed_at: Option<Timestamp>,
    /// When the deadline passed.
    #[serde(serialize_with = "crate::timestamp_text::serialize_opt")]
    pub breached_at: Option<Timestamp>,
    /// Whether the warning was emitted.
    pub warned: bool,
    /// The deadline, while counting.
    #[serde(serialize_with = "crate::timestamp_text::serialize_opt")]
    pub due_at: Option<Timestamp>,
    /// When the warning is due, while counting and not yet warned.
    #[serde(serialize_with = "crate::timestamp_text::serialize_opt")]
    pub warning_at: Option<Timestamp>,
    /// The cycle's history.
    pub spans: Vec<SlaSpan>,
}

impl MetricState {
    fn start(metric: Metric, cycle: u32, at: Timestamp, target_seconds: u64, counting: bool, reason: &str) -> Self {
        Self {
            metric,
            cycle,
            started_at: at,
            target_seconds,
            elapsed_seconds: 0,
            counted_to: at,
            counting,
            completed_at: None,
            breached_at: None,
            warned: false,
            due_at: None,
            warning_at: None,
            spans: vec![SlaSpan {
                from: at,
                to: None,
                running: counting,
                reason: reason.to_owned(),
                business_seconds: 0,
            }],
        }
    }

    /// The API state.
    pub fn status(&self) -> MetricStatus {
        match (self.breached_at, self.completed_at, self.counting) {
            (Some(_), _, _) => MetricStatus::Breached,
            (None, Some(_), _) => MetricStatus::Met,
            (None, None, true) => MetricStatus::Running,
            (None, None, false) => MetricStatus::Paused,
        }
    }

    fn active(&self) -> bool {
        self.completed_at.is_none()
    }

    fn advance(&mut self, now: Timestamp, calendar: &BusinessCalendar) {
        if now <= self.counted_to {
            return;
        }
        if !(self.counting && self.active()) {
            self.counted_to = now;
            return;
        }
        let seconds = calendar.business_seconds_between(self.counted_to, now);
        self.elapsed_seconds = self.elapsed_seconds.saturating_add(seconds);
        if let Some(span) = self.spans.last_mut() {
            span.business_seconds = span.business_seconds.saturating_add(seconds);
        }
        // Count whole business seconds only, and move to the instant they were
        // complete: the fraction left over keeps counting, so deadlines computed
        // from `counted_to` never drift.
        self.counted_to = calendar.due(self.counted_to, seconds).map_or(now, |t| t.min(now));
    }

    fn set_counting(&mut self, counting: bool, now: Timestamp, reason: &str) {
        if self.counting == counting {
            return;
        }
        self.counting = counting;
        if let Some(span) = self.spans.last_mut() {
            span.to = Some(now);
        }
        if self.spans.len() == MAX_SPANS {
            self.spans.remove(0);
        }
        self.spans.push(SlaSpan {
            from: now,
            to: None,
            running: counting,
            reason: reason.to_owned(),
            business_seconds: 0,
        });
    }

    fn complete(&mut self, now: Timestamp) {
        self.completed_at = Some(now);
        self.counting = false;
        if let Some(span) = self.spans.last_mut() {
            span.to = Some(now);
        }
    }

    fn schedule(&mut self, calendar: &BusinessCalendar, warning_fraction: f64) {
        self.due_at = None;
        self.warning_at = None;
        if !self.active() || !self.counting || self.breached_at.is_some() {
            return;
        }
        let remaining = self.target_seconds.saturating_sub(self.elapsed_seconds);
        self.due_at = calendar.due(self.counted_to, remaining).ok();
        if !self.warned {
            // Rounded up, so the warning never comes before the fraction is reached.
            let warn_after = ((self.target_seconds as f64) * warning_fraction).ceil() as u64;
            let remaining = warn_after.min(self.target_seconds).saturating_sub(self.elapsed_seconds);
            self.warning_at = calendar.due(self.counted_to, remaining).ok();
        }
    }

    /// The next instant the scheduler must look at this metric.
    pub fn next_check(&self) -> Option<Timestamp> {
        match (self.warning_at, self.due_at) {
            (Some(w), Some(d)) => Some(w.min(d)),
            (w, d) => w.or(d),
        }
    }
}

/// An SLA event the tracker decided on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlaOutcome {
    /// A metric passed its warning threshold.
    Warning(Metric, u32, Timestamp),
    /// A metric's deadline passed (at the given instant).
    Breached(Metric, u32, Timestamp),
    /// A metric was completed within its target, after these business seconds.
    Met(Metric, u32, u64),
}

/// A case's SLA: the policy applied and each metric's current cycle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CaseSla {
    /// The policy applied, if any.
    pub policy: Option<String>,
    /// Its calendar.
    pub calendar: Option<String>,
    /// Current cycle of each tracked metric.
    pub metrics: BTreeMap<Metric, MetricState>,
    /// Earlier cycles (next_response), oldest first.
    pub history: Vec<MetricState>,
}

impl CaseSla {
    /// The policy and calendar in force, if any.
    fn policy<'b>(&self, book: &'b SlaBook) -> Option<&'b SlaPolicy> {
        self.policy.as_deref().and_then(|name| book.policy(name))
    }

    fn calendar<'b>(&self, book: &'b SlaBook) -> Option<&'b BusinessCalendar> {
        self.policy(book).map(|p| p.calendar.as_ref())
    }

    /// Brings every metric's elapsed time up to `now`.
    pub fn advance(&mut self, now: Timestamp, book: &SlaBook) {
        if let Some(calendar) = self.calendar(book) {
            for state in self.metrics.values_mut() {
                state.advance(now, calendar);
            }
        }
    }

    /// Follows a command's events. `case` is the case after them (shared
    /// with the policy conditions). Returns `sla_met` outcomes.
    pub fn observe(
        &mut self,
        events: &[Event],
        case: &Arc<Case>,
        customer: Option<&Arc<Customer>>,
        book: &SlaBook,
        now: Timestamp,
    ) -> Vec<SlaOutcome> {
        self.advance(now, book);
        self.apply_policy(book.select(case, customer), case, now);
        let mut outcomes = Vec::new();
        let Some(policy) = self.policy(book).cloned() else {
            return outcomes;
        };
        let creating = events.iter().any(|e| matches!(e.body, EventBody::CaseCreated { .. }));
        if !creating {
            self.start_late(&policy, case, now);
        }
        for event in events {
            match &event.body {
                EventBody::CaseCreated { .. } => {
                    for metric in [Metric::FirstResponse, Metric::Resolution] {
                        if let Some(target) = policy.target(case.priority, metric) {
                            self.metrics
                                .insert(metric, MetricState::start(metric, 1, event.at, target, true, "created"));
                        }
                    }
                }
                EventBody::ReplySent { .. } => {
                    for metric in [Metric::FirstResponse, Metric::NextResponse] {
                        if let Some(state) = self.metrics.get_mut(&metric).filter(|s| s.active()) {
                            state.complete(event.at);
                            if state.breached_at.is_none() {
                                outcomes.push(SlaOutcome::Met(metric, state.cycle, state.elapsed_seconds));
                            }
                        }
                    }
                }
                // An out-of-office is not the customer waiting on an answer.
                EventBody::MessageReceived { via: Some(via), .. } if via.auto_reply.is_some() => {}
                EventBody::MessageReceived { .. } => {
                    let replied = case.first_response_at.is_some_and(|at| at <= event.at);
                    let waiting = self.metrics.get(&Metric::NextResponse).is_some_and(MetricState::active);
                    if let (true, false, Some(target)) =
                        (replied, waiting, policy.target(case.priority, Metric::NextResponse))
                    {
                        let cycle = match self.metrics.remove(&Metric::NextResponse) {
                            Some(previous) => {
                                let cycle = previous.cycle + 1;
                                self.archive(previous);
                                cycle
                            }
                            None => 1,
                        };
                        let counting = !policy.pause_on.contains(&case.status) && counts_in(case.status);
                        let state = MetricState::start(
                            Metric::NextResponse,
                            cycle,
                            event.at,
                            target,
                            counting,
                            "customer message",
                        );
                        self.metrics.insert(Metric::NextResponse, state);
                    }
                }
                EventBody::StatusChanged { from, to } => {
                    if *to == CaseStatus::Solved
                        && let Some(state) = self.metrics.get_mut(&Metric::Resolution).filter(|s| s.active())
                    {
                        state.complete(event.at);
                        if state.breached_at.is_none() {
                            outcomes.push(SlaOutcome::Met(Metric::Resolution, state.cycle, state.elapsed_seconds));
                        }
                    }
                    if *from == CaseStatus::Solved
                        && *to != CaseStatus::Closed
                        && let Some(state) = self.metrics.get_mut(&Metric::Resolution)
                    {
                        // Resolution resumes on reopen, keeping the time already counted.
                        state.completed_at = None;
                        state.counting = false;
                        state.set_counting(!policy.pause_on.contains(to), event.at, "reopened");
                    }
                    let counting = counts_in(*to) && !policy.pause_on.contains(to);
                    let reason = format!("status {to}");
                    for state in self.metrics.values_mut().filter(|s| s.active()) {
                        state.set_counting(counting, event.at, &reason);
                    }
                }
                _ => {}
            }
        }
        self.schedule(book);
        outcomes
    }

    /// Applies a (possibly new) policy: elapsed business time is kept, targets
    /// follow the policy and the case's priority, and metrics the policy does
    /// not measure stop being tracked.
    fn apply_policy(&mut self, policy: Option<&SlaPolicy>, case: &Case, now: Timestamp) {
        let name = policy.map(|p| p.name.clone());
        if name != self.policy {
            self.policy = name;
            self.calendar = policy.map(|p| p.calendar.name().to_owned());
            for state in self.metrics.values_mut() {
                // Start counting in the new calendar from now on.
                state.counted_to = state.counted_to.max(now);
            }
        }
        let Some(policy) = policy else {
            self.metrics.clear();
            return;
        };
        self.metrics.retain(|metric, state| match policy.target(case.priority, *metric) {
            Some(target) => {
                state.target_seconds = target;
                true
            }
            None => false,
        });
    }

    /// A policy that starts to apply to a case already open measures its
    /// resolution from creation, in the policy's calendar.
    fn start_late(&mut self, policy: &SlaPolicy, case: &Case, now: Timestamp) {
        let measured = self.metrics.contains_key(&Metric::Resolution);
        let done = case.solved_at.is_some() || case.status == CaseStatus::Closed;
        if measured || done {
            return;
        }
        if let Some(target) = policy.target(case.priority, Metric::Resolution) {
            let mut state = MetricState::start(Metric::Resolution, 1, case.created_at, target, false, "policy applied");
            state.elapsed_seconds = policy.calendar.business_seconds_between(case.created_at, now);
            state.counted_to = now;
            state.set_counting(
                counts_in(case.status) && !policy.pause_on.contains(&case.status),
                now,
                "policy applied",
            );
            self.metrics.insert(Metric::Resolution, state);
        }
    }

    fn archive(&mut self, state: MetricState) {
        if self.history.len() == MAX_HISTORY {
            self.history.remove(0);
        }
        self.history.push(state);
    }

    /// Recomputes every deadline and warning time.
    pub fn schedule(&mut self, book: &SlaBook) {
        let Some(policy) = self.policy(book) else { return };
        let (calendar, fraction) = (policy.calendar.clone(), policy.warning_at);
        for state in self.metrics.values_mut() {
            state.schedule(&calendar, fraction);
        }
    }

    /// The scheduler's check at `now`: emits warnings and breaches that are
    /// due, each once, with the instant they became due.
    pub fn check(&mut self, book: &SlaBook, now: Timestamp) -> Vec<SlaOutcome> {
        self.advance(now, book);
        let mut outcomes = Vec::new();
        for state in self.metrics.values_mut().filter(|s| s.active() && s.counting && s.breached_at.is_none()) {
            if let Some(at) = state.warning_at.filter(|at| *at <= now && !state.warned) {
                state.warned = true;
                outcomes.push(SlaOutcome::Warning(state.metric, state.cycle, at));
            }
            if let Some(due) = state.due_at.filter(|due| *due <= now) {
                state.breached_at = Some(due);
                state.warned = true;
                outcomes.push(SlaOutcome::Breached(state.metric, state.cycle, due));
            }
        }
        self.schedule(book);
        outcomes
    }

    /// When the scheduler must next look at this case's SLA, per metric.
    pub fn timers(&self) -> BTreeMap<Metric, Option<Timestamp>> {
        Metric::ALL.into_iter().map(|m| (m, self.metrics.get(&m).and_then(MetricState::next_check))).collect()
    }

    /// Whether any metric is breached on a case still in progress.
    pub fn is_breached(&self, status: CaseStatus) -> bool {
        status != CaseStatus::Closed && self.metrics.values().any(|s| s.breached_at.is_some() && s.active())
    }

    /// Whether a running metric is past its warning but not breached.
    pub fn is_at_risk(&self, status: CaseStatus) -> bool {
        status != CaseStatus::Closed && self.metrics.values().any(|s| s.active() && s.warned && s.breached_at.is_none())
    }

    /// The deadline to beat next, which orders the inbox's "SLA due" sort:
    /// the earliest deadline of a metric that is running on an unsolved
    /// case. A running metric that is already breached counts with the
    /// deadline it missed, so overdue cases sort first; a paused clock has
    /// no deadline, since nothing an agent does makes it come sooner.
    pub fn next_due(&self, status: CaseStatus) -> Option<Timestamp> {
        if !counts_in(status) {
            return None;
        }
        self.metrics.values().filter(|s| s.active() && s.counting).filter_map(|s| s.breached_at.or(s.due_at)).min()
    }

    /// The statuses that pause this case's clock.
    pub fn pause_on(&self, book: &SlaBook) -> BTreeSet<CaseStatus> {
        self.policy(book).map(|p| p.pause_on.clone()).unwrap_or_default()
    }
}

/// Solved and closed cases never count, whatever the policy says.
fn counts_in(status: CaseStatus) -> bool {
    match status {
        CaseStatus::New | CaseStatus::Open | CaseStatus::Pending | CaseStatus::OnHold => true,
        CaseStatus::Solved | CaseStatus::Closed => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::{Actor, CaseId, CustomerId, EventId, Priority};
    use crate::sla::{CalendarConfig, SlaConfig};

    fn book(toml_policies: &str) -> SlaBook {
        let config: SlaConfig = toml_like(toml_policies);
        let mut calendars = BTreeMap::new();
        calendars.insert(
            "office".to_owned(),
            CalendarConfig {
                time_zone: "Europe/Berlin".into(),
                hours: ["mon", "tue", "wed", "thu", "fri"]
                    .iter()
                    .map(|d| ((*d).to_owned(), vec!["09:00-17:00".to_owned()]))
                    .collect(),
                holidays: vec![],
            },
        );
        SlaBook::new(&calendars, &config).unwrap()
    }

    /// Policies written as JSON (the core does not depend on a TOML parser).
    fn toml_like(json: &str) -> SlaConfig {
        serde_json::from_str(json).unwrap()
    }

    const POLICY: &str = r#"{"policies": [{"name": "std", "calendar": "24x7", "warning_at": 0.5,
        "targets": {"normal": {"first_response": "1h", "next_response": "30m", "resolution": "4h"},
                    "urgent": {"first_response": "10m", "resolution": "1h"}}}]}"#;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    struct Sim {
        book: SlaBook,
        case: Case,
        sla: CaseSla,
        next_id: u64,
    }

    impl Sim {
        fn new(book: SlaBook, created: &str) -> Self {
            let mut sim = Sim { book, case: placeholder(), sla: CaseSla::default(), next_id: 1 };
            let body = EventBody::CaseCreated {
                subject: "s".into(),
                channel: "api".into(),
                priority: Priority::Normal,
                team: None,
                assignee: None,
                tags: Default::default(),
                fields: Default::default(),
                follow_up_of: None,
            };
            sim.event(created, body);
            sim
        }

        fn event(&mut self, when: &str, body: EventBody) -> Vec<SlaOutcome> {
            let event = Event {
                id: EventId::new(self.next_id),
                case_id: Some(CaseId::new(1)),
                customer_id: CustomerId::new(1),
                at: at(when),
                actor: Actor::System,
                caused_by: None,
                body,
            };
            self.next_id += 1;
            let previous = (self.next_id > 2).then(|| self.case.clone());
            let case = Arc::new(crate::domain::projection::apply(previous, &event).unwrap());
            let met = self.sla.observe(std::slice::from_ref(&event), &case, None, &self.book, at(when));
            self.case = Arc::unwrap_or_clone(case);
            met
        }

        fn status(&mut self, when: &str, to: CaseStatus) -> Vec<SlaOutcome> {
            self.event(when, EventBody::StatusChanged { from: self.case.status, to })
        }

        fn metric(&self, metric: Metric) -> &MetricState {
            &self.sla.metrics[&metric]
        }
    }

    /// A case before its first event; `Sim::new` folds `case_created` over it.
    fn placeholder() -> Case {
        serde_json::from_value(serde_json::json!({
            "id": "1", "subject": "s", "status": "new", "priority": "normal", "channel": "api", "customer_id": "1",
            "team": null, "assignee": null, "tags": [], "fields": {}, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "first_response_at": null, "solved_at": null, "closed_at": null,
            "reopen_count": 0, "agent_replies": 0, "escalation_level": 0, "csat": null, "linked_case_ids": [], "version": 0, "last_event_id": "0"
        }))
        .unwrap()
    }

    #[test]
    fn first_response_met_in_time_records_met() {
        let mut sim = Sim::new(book(POLICY), "2026-03-02T09:00:00Z");
        assert_eq!(sim.metric(Metric::FirstResponse).due_at, Some(at("2026-03-02T10:00:00Z")));
        assert_eq!(sim.metric(Metric::FirstResponse).warning_at, Some(at("2026-03-02T09:30:00Z")));
        let met = sim.event("2026-03-02T09:40:00Z", EventBody::ReplySent { body: "hi".into() });
        assert_eq!(met, [SlaOutcome::Met(Metric::FirstResponse, 1, 40 * 60)]);
        assert_eq!(sim.metric(Metric::FirstResponse).status(), MetricStatus::Met);
        assert_eq!(sim.metric(Metric::Resolution).status(), MetricStatus::Running);
    }

    #[test]
    fn warnings_and_breaches_fire_once_with_their_real_time() {
        let mut sim = Sim::new(book(POLICY), "2026-03-02T09:00:00Z");
        assert!(sim.sla.check(&sim.book, at("2026-03-02T09:29:59Z")).is_empty());
        let warned = sim.sla.check(&sim.book, at("2026-03-02T09:30:00Z"));
        assert_eq!(warned, [SlaOutcome::Warning(Metric::FirstResponse, 1, at("2026-03-02T09:30:00Z"))]);
        assert!(sim.sla.check(&sim.book, at("2026-03-02T09:45:00Z")).is_empty(), "warned once");
        // The scheduler was late (a restart): the breach keeps its real time.
        let late = sim.sla.check(&sim.book, at("2026-03-02T12:30:00Z"));
        assert!(late.contains(&SlaOutcome::Breached(Metric::FirstResponse, 1, at("2026-03-02T10:00:00Z"))));
        assert!(late.contains(&SlaOutcome::Warning(Metric::Resolution, 1, at("2026-03-02T11:00:00Z"))));
        assert!(sim.sla.check(&sim.book, at("2026-03-02T12:31:00Z")).is_empty(), "breached once");
        assert!(sim.sla.is_breached(CaseStatus::New));
        // A reply after the breach completes the metric but does not "meet" it.
        let after = sim.event("2026-03-02T12:40:00Z", EventBody::ReplySent { body: "sorry".into() });
        assert!(after.is_empty());
        assert_eq!(sim.metric(Metric::FirstResponse).status(), MetricStatus::Breached);
        assert!(!sim.sla.is_breached(sim.case.status), "nothing breached is still waiting");
    }

    #[test]
    fn checks_at_odd_instants_never_move_the_deadline() {
        let mut sim = Sim::new(book(POLICY), "2026-03-02T09:00:00.250Z");
        let due = sim.metric(Metric::FirstResponse).due_at;
        for check in
            ["2026-03-02T09:00:00.9Z", "2026-03-02T09:10:01.3Z", "2026-03-02T09:29:59.999Z", "2026-03-02T09:31:00.5Z"]
        {
            sim.sla.check(&sim.book, at(check));
            assert_eq!(sim.metric(Metric::FirstResponse).due_at, due, "after a check at {check}");
        }
    }

    #[test]
    fn pausing_keeps_elapsed_time_and_moves_the_deadline() {
        let mut sim = Sim::new(book(POLICY), "2026-03-02T09:00:00Z");
        sim.event("2026-03-02T09:10:00Z", EventBody::ReplySent { body: "hi".into() });
        sim.status("2026-03-02T09:10:00Z", CaseStatus::Open);
        sim.status("2026-03-02T10:00:00Z", CaseStatus::Pending);
        let resolution = sim.metric(Metric::Resolution);
        assert_eq!(resolution.status(), MetricStatus::Paused);
        assert_eq!(resolution.elapsed_seconds, 3600);
        assert_eq!(resolution.due_at, None);
        sim.status("2026-03-02T15:00:00Z", CaseStatus::Open);
        let resolution = sim.metric(Metric::Resolution);
        assert_eq!(resolution.elapsed_seconds, 3600, "paused time does not count");
        assert_eq!(resolution.due_at, Some(at("2026-03-02T18:00:00Z")));
        let spans: Vec<(bool, &str)> = resolution.spans.iter().map(|s| (s.running, s.reason.as_str())).collect();
        assert_eq!(spans, [(true, "created"), (false, "status pending"), (true, "status open")]);
    }

    #[test]
    fn a_priority_change_keeps_elapsed_time_and_recomputes_the_deadline() {
        let mut sim = Sim::new(book(POLICY), "2026-03-02T09:00:00Z");
        sim.event("2026-03-02T09:05:00Z", EventBody::PriorityChanged { from: Priority::Normal, to: Priority::Urgent });
        let first = sim.metric(Metric::FirstResponse);
        assert_eq!(first.target_seconds, 600);
        assert_eq!(first.elapsed_seconds, 300);
        assert_eq!(first.due_at, Some(at("2026-03-02T09:10:00Z")));
        assert_eq!(sim.metric(Metric::Resolution).due_at, Some(at("2026-03-02T10:00:00Z")));
    }

    #[test]
    fn the_next_due_deadline_follows_the_running_metrics() {
        let mut sim = Sim::new(book(POLICY), "2026-03-02T09:00:00Z");
        let next = |sim: &Sim| sim.sla.next_due(sim.case.status);
        assert_eq!(next(&sim), Some(at("2026-03-02T10:00:00Z")), "first response comes before resolution");
        sim.event("2026-03-02T09:05:00Z", EventBody::PriorityChanged { from: Priority::Normal, to: Priority::Urgent });
        assert_eq!(next(&sim), Some(at("2026-03-02T09:10:00Z")), "a tighter target moves it earlier");
        sim.sla.check(&sim.book, at("2026-03-02T09:20:00Z"));
        assert_eq!(next(&sim), Some(at("2026-03-02T09:10:00Z")), "a missed deadline still counts, so it sorts first");
        sim.event("2026-03-02T09:30:00Z", EventBody::ReplySent { body: "hi".into() });
        sim.status("2026-03-02T09:30:00Z", CaseStatus::Open);
        assert_eq!(next(&sim), Some(at("2026-03-02T10:00:00Z")), "then the resolution deadline");
        sim.status("2026-03-02T09:40:00Z", CaseStatus::Pending);
        assert_eq!(next(&sim), None, "a paused clock has no deadline");
        sim.status("2026-03-02T09:50:00Z", CaseStatus::Open);
        sim.status("2026-03-02T09:55:00Z", CaseStatus::Solved);
        assert_eq!(next(&sim), None, "solved cases have none");
    }

    #[test]
    fn resolution_resumes_on_reopen() {
        let mut sim = Sim::new(book(POLICY), "2026-03-02T09:00:00Z");
        let met = sim.status("2026-03-02T10:00:00Z", CaseStatus::Solved);
        assert!(met.contains(&SlaOutcome::Met(Metric::Resolution, 1, 3600)));
        sim.status("2026-03-02T20:00:00Z", CaseStatus::Open);
        let resolution = sim.metric(Metric::Resolution);
        assert_eq!(resolution.status(), MetricStatus::Running);
        assert_eq!(resolution.elapsed_seconds, 3600);
        assert_eq!(resolution.due_at, Some(at("2026-03-02T23:00:00Z")));
    }

    #[test]
    fn next_response_counts_its_cycles() {
        let mut sim = Sim::new(book(POLICY), "2026-03-02T09:00:00Z");
        sim.event("2026-03-02T09:01:00Z", EventBody::ReplySent { body: "a".into() });
        sim.event("2026-03-02T09:02:00Z", EventBody::MessageReceived { body: "b".into(), via: None });
        assert_eq!(sim.metric(Metric::NextResponse).cycle, 1);
        sim.event("2026-03-02T09:03:00Z", EventBody::MessageReceived { body: "c".into(), via: None });
        assert_eq!(sim.metric(Metric::NextResponse).started_at, at("2026-03-02T09:02:00Z"), "still the first wait");
        let met = sim.event("2026-03-02T09:12:00Z", EventBody::ReplySent { body: "d".into() });
        assert_eq!(met, [SlaOutcome::Met(Metric::NextResponse, 1, 600)]);
        sim.event("2026-03-02T09:20:00Z", EventBody::MessageReceived { body: "e".into(), via: None });
        assert_eq!(sim.metric(Metric::NextResponse).cycle, 2);
        assert_eq!(sim.sla.history.len(), 1);
    }

    #[test]
    fn business_hours_count_only_inside_the_calendar() {
        let policy = r#"{"policies": [{"name": "office", "calendar": "office",
            "targets": {"normal": {"first_response": "7h"}}}]}"#;
        // Monday 10:00 in Berlin (09:00Z) + 7 business hours is Monday 17:00, the closing time.
        let sim = Sim::new(book(policy), "2026-03-02T09:00:00Z");
        assert_eq!(sim.metric(Metric::FirstResponse).due_at, Some(at("2026-03-02T16:00:00Z")));
        // Friday 16:00 Berlin + 2h lands on Monday 10:00 Berlin.
        let sim = Sim::new(book(policy.replace("7h", "2h").as_str()), "2026-03-06T15:00:00Z");
        assert_eq!(sim.metric(Metric::FirstResponse).due_at, Some(at("2026-03-09T09:00:00Z")));
    }

    #[test]
    fn policies_are_chosen_by_condition_first_match_wins() {
        let policies = r#"{"policies": [
            {"name": "vip", "when": "customer.tier == \"enterprise\" || ticket.priority == \"urgent\"",
             "targets": {"normal": {"first_response": "30m"}, "urgent": {"first_response": "10m"}}},
            {"name": "default", "targets": {"normal": {"first_response": "4h"}}}]}"#;
        let book = book(policies);
        let mut case = placeholder();
        assert_eq!(book.select(&Arc::new(case.clone()), None).map(|p| p.name.as_str()), Some("default"));
        case.priority = Priority::Urgent;
        assert_eq!(book.select(&Arc::new(case), None).map(|p| p.name.as_str()), Some("vip"));
    }

    #[test]
    fn a_broken_condition_is_a_config_error_with_its_position() {
        let config = toml_like(r#"{"policies": [{"name": "bad", "when": "ticket.priority == ", "targets": {}}]}"#);
        let err = SlaBook::new(&BTreeMap::new(), &config).unwrap_err().to_string();
        assert!(err.contains("bad") && err.contains("column"), "{err}");
        let config = toml_like(r#"{"policies": [{"name": "p", "calendar": "nowhere", "targets": {}}]}"#);
        assert!(SlaBook::new(&BTreeMap::new(), &config).unwrap_err().to_string().contains("nowhere"));
    }
}
