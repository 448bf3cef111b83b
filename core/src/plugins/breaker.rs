//! A circuit breaker per plugin: after repeated failures the plugin is not
//! called for a cool-down, then one trial call decides whether it closes
//! again. Keeps a broken plugin from costing every request its deadline.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures in a row that open the circuit.
pub const DEFAULT_THRESHOLD: u32 = 5;
/// How long an open circuit refuses calls before a trial.
pub const DEFAULT_COOL_DOWN: Duration = Duration::from_secs(30);

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are refused until the cool-down ends.
    Open,
    /// The cool-down ended: one trial call is let through.
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    failures_in_a_row: u32,
    opened_at: Option<Instant>,
    trial_in_flight: bool,
}

/// One plugin's breaker.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cool_down: Duration,
    inner: Mutex<Inner>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cool_down,
            inner: Mutex::new(Inner { failures_in_a_row: 0, opened_at: None, trial_in_flight: false }),
        }
    }

    /// Whether a call may go ahead now. In half-open, only the first caller
    /// gets `true` until that trial reports back.
    pub fn admit(&self, now: Instant) -> bool {
        let mut inner = self.lock();
        match inner.opened_at {
            None => true,
            Some(at) if now.duration_since(at) >= self.cool_down && !inner.trial_in_flight => {
                inner.trial_in_flight = true;
                true
            }
            Some(_) => false,
        }
    }

    /// The call went well: close.
    pub fn succeeded(&self) {
        let mut inner = self.lock();
        inner.failures_in_a_row = 0;
        inner.opened_at = None;
        inner.trial_in_flight = false;
    }

    /// The call failed by the plugin's fault; opens the circuit at the
    /// threshold, or again after a failed trial. Returns whether it opened now.
    pub fn failed(&self, now: Instant) -> bool {
        let mut inner = self.lock();
        inner.failures_in_a_row = inner.failures_in_a_row.saturating_add(1);
        let reopen = inner.trial_in_flight;
        inner.trial_in_flight = false;
        if reopen || (inner.opened_at.is_none() && inner.failures_in_a_row >= self.threshold) {
            inner.opened_at = Some(now);
            return true;
        }
        false
    }

    /// The state at `now`.
    pub fn state(&self, now: Instant) -> BreakerState {
        let inner = self.lock();
        match inner.opened_at {
            None => BreakerState::Closed,
            Some(at) if now.duration_since(at) >= self.cool_down => BreakerState::HalfOpen,
            Some(_) => BreakerState::Open,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_refuses_until_the_cool_down() {
        let breaker = Breaker::new(3, Duration::from_secs(10));
        let t0 = Instant::now();
        assert!(!breaker.failed(t0));
        assert!(!breaker.failed(t0));
        assert!(breaker.admit(t0));
        assert!(breaker.failed(t0));
        assert_eq!(breaker.state(t0), BreakerState::Open);
        assert!(!breaker.admit(t0 + Duration::from_secs(9)));
        assert_eq!(breaker.state(t0 + Duration::from_secs(10)), BreakerState::HalfOpen);
    }

    #[test]
    fn half_open_lets_one_trial_through_and_its_outcome_decides() {
        let breaker = Breaker::new(1, Duration::from_secs(10));
        let t0 = Instant::now();
        breaker.failed(t0);
        let later = t0 + Duration::from_secs(11);
        assert!(breaker.admit(later));
        assert!(!breaker.admit(later), "only one trial at a time");
        assert!(breaker.failed(later), "a failed trial opens it again");
        assert!(!breaker.admit(later + Duration::from_secs(5)));
        let much_later = later + Duration::from_secs(10);
        assert!(breaker.admit(much_later));
        breaker.succeeded();
        assert_eq!(breaker.state(much_later), BreakerState::Closed);
        assert!(breaker.admit(much_later));
    }

    #[test]
    fn a_success_resets_the_count() {
        let breaker = Breaker::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        breaker.failed(t0);
        breaker.succeeded();
        assert!(!breaker.failed(t0));
        assert_eq!(breaker.state(t0), BreakerState::Closed);
    }
}
