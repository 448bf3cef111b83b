//! [`Frontdesk`]: the one door through which the binary reaches the core.
//! Writes go through the rules (evaluated on the calling worker, off the
//! writer) and then the writer queue; reads ([`crate::runtime::reads`])
//! run where the store says they cannot stall a request worker. Also keeps
//! the in-flight set of idempotency keys, so a duplicate that arrives while
//! the first is still being written is told so instead of racing it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::clock::{Clock, ClockJumps};
use crate::domain::{CaseId, CustomerId};
use crate::rules::{RulePlan, RulesHost};
use crate::runtime::events::{CommitFeed, Committed};
use crate::sla::SlaBook;
use crate::store::{Store, StoreError};
use crate::write::plan::{plan, plan_tick};
use crate::write::{Command, CommandError, ExecContext, Outcome, QueueError, Refusal, Writer, WriterConfig};

/// How often a command whose case moved under its rules is re-evaluated
/// before the caller is told to retry.
const MAX_REPLANS: usize = 5;

/// The running core: store, rules, writer and timers.
pub struct Frontdesk {
    store: Arc<dyn Store>,
    rules: Arc<RulesHost>,
    config: WriterConfig,
    writer: Writer,
    clock: Arc<dyn Clock>,
    feed: Arc<CommitFeed>,
    in_flight: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Frontdesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frontdesk").finish_non_exhaustive()
    }
}

impl Frontdesk {
    /// The core over `store`, writing through `writer`.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rules: Arc<RulesHost>,
        config: WriterConfig,
        writer: Writer,
        feed: Arc<CommitFeed>,
    ) -> Self {
        Frontdesk { store, rules, config, writer, clock, feed, in_flight: Mutex::new(HashSet::new()) }
    }

    /// Every event committed from now on, batch by batch in commit order,
    /// published only once durable. See [`crate::runtime::events`].
    pub fn subscribe(&self) -> broadcast::Receiver<Committed> {
        self.feed.subscribe()
    }

    /// Asks the writer to finish what is queued and stop.
    pub(crate) async fn stop_writer(&self) {
        self.writer.stop().await;
    }

    /// The store, for the core's own tasks. Blocking: call it from a
    /// blocking thread (see [`Frontdesk::read`]).
    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// A shared handle on the store, for reads moved to a blocking thread.
    pub(crate) fn store_handle(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// SLA calendars and policies.
    pub fn sla(&self) -> &SlaBook {
        &self.config.sla
    }

    /// The rules host.
    pub fn rules(&self) -> &Arc<RulesHost> {
        &self.rules
    }

    /// The clock everything uses.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Submits a command: evaluates its rules, queues it for the writer
    /// and waits for its durable commit.
    ///
    /// # Errors
    /// See [`SubmitError`].
    pub async fn submit(&self, command: Command) -> Result<Outcome, SubmitError> {
        let key = match &command {
            Command::CreateCase(new) => new.idempotency.as_ref().map(|c| c.key.clone()),
            Command::AddMessage { idempotency, .. } => idempotency.as_ref().map(|c| c.key.clone()),
            _ => None,
        };
        let Some(key) = key else {
            return self.submit_with_rules(command).await;
        };
        if !self.lock_in_flight().insert(key.clone()) {
            return Err(SubmitError::InFlight);
        }
        let _release = InFlight { frontdesk: self, key };
        self.submit_with_rules(command).await
    }

    async fn submit_with_rules(&self, command: Command) -> Result<Outcome, SubmitError> {
        for _ in 0..MAX_REPLANS {
            let plan = self.plan(&command).await.map_err(SubmitError::Storage)?;
            match self.writer.submit(command.clone(), plan).await? {
                Err(CommandError::Stale) => continue,
                other => return other.map_err(SubmitError::from_command),
            }
        }
        // Its case keeps moving under its rules: the case is busy.
        Err(SubmitError::Overloaded)
    }

    fn context(&self) -> ExecContext<'_> {
        ExecContext {
            now: self.clock.now(),
            auto_close_after: self.config.auto_close_after,
            sla: &self.config.sla,
            outreach_window: self.config.outreach_window,
            plugins: &self.config.plugins,
        }
    }

    /// The rules' plan for `command`, evaluated in place on this worker.
    /// A hook is cut off at `[scripts] max_operations` or `timeout_ms`, so
    /// a runaway script holds this worker briefly, and the other workers
    /// steal its queued tasks meanwhile. `block_in_place` avoided even that,
    /// but handing the worker's tasks to another thread on every request
    /// cost a measurable share of creates/s (BENCHMARKS.md, "rule plans").
    /// `plan` returns at once when no script has a hook the command can
    /// reach (an empty set has none).
    async fn plan(&self, command: &Command) -> Result<Option<RulePlan>, StoreError> {
        plan(&self.rules, &self.store, command, &self.context())
    }

    /// Runs `on_tick` once and commits what it asks for.
    ///
    /// # Errors
    /// Storage failures or a refused write.
    pub async fn tick(&self) -> Result<(), SubmitError> {
        let plan = tokio::task::block_in_place(|| plan_tick(&self.rules, &self.store, &self.context()))
            .map_err(SubmitError::Storage)?;
        if let Some(plan) = plan {
            self.writer.submit(Command::RunRules, Some(plan)).await?.map_err(SubmitError::from_command)?;
        }
        Ok(())
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs `on_tick` every `every` until stopped, and after each jump of a clock
/// moved by hand: the interval follows the wall clock, so it would not see
/// the time a test skips.
pub(crate) async fn tick_every(
    frontdesk: Arc<Frontdesk>,
    every: Duration,
    mut jumps: ClockJumps,
    mut stop: watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(every.max(Duration::from_millis(100)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = jumps.next() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        if let Err(e) = frontdesk.tick().await {
            tracing::warn!(error = %e, "on_tick failed");
        }
    }
}

/// Releases an idempotency key when its request ends, however it ends.
struct InFlight<'a> {
    frontdesk: &'a Frontdesk,
    key: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.frontdesk.lock_in_flight().remove(&self.key);
    }
}

/// Why a submitted command was not committed. Nothing of it is written.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The command was refused (bad input, or a state that does not allow it).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// No such case.
    #[error("case {0} not found")]
    CaseNotFound(CaseId),
    /// No such customer.
    #[error("customer {0} not found")]
    CustomerNotFound(CustomerId),
    /// Storage failed.
    #[error("storage failure")]
    Storage(#[source] StoreError),
    /// The write queue is full, or the case kept changing; retry shortly.
    #[error("the server is busy; retry shortly")]
    Overloaded,
    /// The writer has stopped (shutting down).
    #[error("the server is shutting down")]
    Unavailable,
    /// A request with the same `Idempotency-Key` is being written right now.
    #[error("a request with this Idempotency-Key is still in flight")]
    InFlight,
}

impl SubmitError {
    /// The client-facing error of a command's answer; a stale plan, which
    /// [`Frontdesk::submit`] retries, counts as overload if it gets here.
    fn from_command(error: CommandError) -> Self {
        match error {
            CommandError::Refused(r) => SubmitError::Refused(r),
            CommandError::CaseNotFound(id) => SubmitError::CaseNotFound(id),
            CommandError::CustomerNotFound(id) => SubmitError::CustomerNotFound(id),
            CommandError::Stale => SubmitError::Overloaded,
            CommandError::Store(e) => SubmitError::Storage(e),
        }
    }
}

impl From<QueueError> for SubmitError {
    fn from(error: QueueError) -> Self {
        match error {
            QueueError::Full => SubmitError::Overloaded,
            QueueError::Stopped => SubmitError::Unavailable,
        }
    }
}
