//! The one place "now" comes from. Core logic takes a [`Clock`] so that
//! lifecycle and SLA behaviour can be tested deterministically.
//!
//! Time normally flows: the tasks that wait for a deadline (the timer
//! scheduler, the rule ticker) sleep on tokio's timer, which follows the wall
//! clock. A [`ManualClock`] jumps instead, so it also tells those tasks when
//! it moved ([`Clock::jumps`], [`ClockJumps`]); otherwise a test that advances
//! it by an hour would wait for a sleep of up to the scheduler's cap in real
//! time.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

/// Source of "now" for everything in `core`.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;

    /// For a clock that is moved by hand: a receiver that sees every move.
    /// `None` (the default) for a clock whose time flows with the wall
    /// clock, where sleeping until a deadline is already enough.
    fn jumps(&self) -> Option<watch::Receiver<Timestamp>> {
        None
    }
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Test clock: moves only when told, and tells [`Clock::jumps`] receivers
/// each time it does.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<watch::Sender<Timestamp>>);

impl ManualClock {
    /// A clock standing still at `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(Arc::new(watch::Sender::new(at)))
    }

    /// Moves the clock forward (or back, with a negative duration).
    ///
    /// # Panics
    /// When the result is outside the range of [`Timestamp`].
    pub fn advance(&self, by: SignedDuration) {
        self.0.send_modify(|now| *now = now.checked_add(by).expect("test clock overflow"));
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        self.0.send_replace(at);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.borrow()
    }

    fn jumps(&self) -> Option<watch::Receiver<Timestamp>> {
        Some(self.0.subscribe())
    }
}

/// What a waiting task selects on, beside its sleep, to wake when its clock
/// jumps.
#[derive(Debug)]
pub struct ClockJumps(Option<watch::Receiver<Timestamp>>);

impl ClockJumps {
    /// The jumps of `clock` from now on (none for a clock that flows).
    pub fn of(clock: &dyn Clock) -> Self {
        Self(clock.jumps())
    }

    /// Resolves at the clock's next jump; never for a clock that does not
    /// jump. Cancel-safe, so it can sit in a `select!` loop.
    pub async fn next(&mut self) {
        if let Some(moves) = &mut self.0
            && moves.changed().await.is_ok()
        {
            return;
        }
        // No jumps, or the clock is gone: nothing will ever wake us here.
        std::future::pending().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_its_waiters_when_moved_and_a_system_clock_never_does() {
        let clock = ManualClock::new("2026-03-02T09:00:00Z".parse().unwrap());
        let mut jumps = ClockJumps::of(&clock);
        let waiter = tokio::spawn(async move { jumps.next().await });
        clock.advance(SignedDuration::from_hours(1));
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.expect("woken").unwrap();
        assert_eq!(clock.now(), "2026-03-02T10:00:00Z".parse::<Timestamp>().unwrap());

        // A move made before the waiter looks is not lost.
        let mut jumps = ClockJumps::of(&clock);
        clock.set("2026-03-03T09:00:00Z".parse().unwrap());
        tokio::time::timeout(std::time::Duration::from_secs(5), jumps.next()).await.expect("woken");

        let mut never = ClockJumps::of(&SystemClock);
        assert!(tokio::time::timeout(std::time::Duration::from_millis(20), never.next()).await.is_err());
    }
}
