//! [`Frontdesk`]: the core as the binary sees it. Reads go straight to the
//! store; writes go through the rules (evaluated off the writer, on a blocking
//! thread) and then the writer queue. Also keeps the in-flight set of
//! idempotency keys, so a duplicate that arrives while the first is still
//! being written is told so instead of racing it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::clock::{Clock, ClockJumps};
use crate::command::{Command, CommandError, Outcome};
use crate::execute::ExecContext;
use crate::rules::plan::{plan, plan_tick};
use crate::rules::{RulePlan, RulesHost};
use crate::sla::SlaBook;
use crate::store::Store;
use crate::timers;
use crate::writer::{Writer, WriterConfig};

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
    in_flight: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Frontdesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frontdesk").finish_non_exhaustive()
    }
}

/// What must be stopped, in order, when the server shuts down.
#[derive(Debug)]
pub struct Running {
    frontdesk: Arc<Frontdesk>,
    writer_thread: std::thread::JoinHandle<()>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Frontdesk {
    /// Starts the writer, the timer scheduler and the rule ticker on the
    /// current tokio runtime.
    pub fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rules: Arc<RulesHost>,
        config: WriterConfig,
        tick_every: Duration,
    ) -> Running {
        let timers_changed = Arc::new(Notify::new());
        // Subscribed here, not when the ticker first runs, so no jump is missed.
        let jumps = ClockJumps::of(clock.as_ref());
        let (writer, writer_thread) =
            Writer::spawn(store.clone(), clock.clone(), config.clone(), timers_changed.clone());
        let frontdesk =
            Arc::new(Frontdesk { store, rules, config, writer, clock, in_flight: Mutex::new(HashSet::new()) });
        let (stop, stopped) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(timers::run(frontdesk.clone(), timers_changed, stopped.clone())),
            tokio::spawn(tick(frontdesk.clone(), tick_every, jumps, stopped)),
        ];
        Running { frontdesk, writer_thread, tasks, stop }
    }

    /// The read side.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// SLA calendars and policies.
    pub fn sla(&self) -> &SlaBook {
        &self.config.sla
    }

    /// The rules host.
    pub fn rules(&self) -> &RulesHost {
        &self.rules
    }

    /// The clock everything uses.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Executes a command (with its rules) through the writer and waits for
    /// its durable commit.
    ///
    /// # Errors
    /// The command's refusal; see [`CommandError`].
    pub async fn execute(&self, command: Command) -> Result<Outcome, CommandError> {
        let key = match &command {
            Command::CreateCase(new) => new.idempotency.as_ref().map(|c| c.key.clone()),
            _ => None,
        };
        let Some(key) = key else {
            return self.execute_with_rules(command).await;
        };
        if !self.lock_in_flight().insert(key.clone()) {
            return Err(CommandError::IdempotencyInFlight);
        }
        let _release = InFlight { frontdesk: self, key };
        self.execute_with_rules(command).await
    }

    async fn execute_with_rules(&self, command: Command) -> Result<Outcome, CommandError> {
        for _ in 0..MAX_REPLANS {
            let plan = self.plan(&command).await?;
            match self.writer.submit(command.clone(), plan).await {
                Err(CommandError::Stale) => continue,
                other => return other,
            }
        }
        Err(CommandError::Overloaded)
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
    /// a runaway script holds this worker briefly (a create whose hook spins
    /// to the default limit took about 10 ms), and the other workers steal
    /// its queued tasks meanwhile. `block_in_place` avoided even that, but
    /// handing the worker's tasks to another thread on every request cost
    /// about 10% of creates/s (BENCHMARKS.md). `plan` returns at once when
    /// no script has a hook the command can reach (an empty set has none).
    async fn plan(&self, command: &Command) -> Result<Option<RulePlan>, CommandError> {
        Ok(plan(&self.rules, self.store.as_ref(), command, &self.context())?)
    }

    /// Runs `on_tick` once and commits what it asks for.
    ///
    /// # Errors
    /// Storage failures or a refused write.
    pub async fn tick(&self) -> Result<(), CommandError> {
        let plan = tokio::task::block_in_place(|| plan_tick(&self.rules, &self.store, &self.context()))?;
        if let Some(plan) = plan {
            self.writer.submit(Command::RunRules, Some(plan)).await?;
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
async fn tick(frontdesk: Arc<Frontdesk>, every: Duration, mut jumps: ClockJumps, mut stop: watch::Receiver<bool>) {
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

impl Running {
    /// The core, to share with request handlers.
    pub fn frontdesk(&self) -> &Arc<Frontdesk> {
        &self.frontdesk
    }

    /// Runs a background task (the outbox worker) that stops, before the
    /// writer does, when its receiver turns true.
    pub fn spawn_until_shutdown<F>(&mut self, task: impl FnOnce(watch::Receiver<bool>) -> F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.push(tokio::spawn(task(self.stop.subscribe())));
    }

    /// Stops the scheduler and ticker, lets the writer commit what is queued,
    /// and waits for all of them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.frontdesk.writer.stop().await;
        let thread = self.writer_thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}
