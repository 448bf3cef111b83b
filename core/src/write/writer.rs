//! The single writer: takes every queued command (up to a batch limit),
//! executes them in one write transaction, commits durably, and only then
//! answers each waiting caller (group commit). A command that is refused
//! writes nothing and does not disturb its neighbours; a command that hits a
//! storage failure is answered with it and the rest of the batch is retried
//! without it.

use std::sync::Arc;

use jiff::SignedDuration;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::domain::Event;
use crate::rules::RulePlan;
use crate::sla::SlaBook;
use crate::store::{Store, StoreError};
use crate::write::command::{Command, CommandError, Outcome};
use crate::write::context::ExecContext;
use crate::write::context::PluginRoutes;
use crate::write::execute::execute_planned;
use crate::write::recording::Recording;

/// Tuning of the write path.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Commands that may wait in the queue; beyond it callers get
    /// [`QueueError::Full`].
    pub queue_capacity: usize,
    /// Most commands in one transaction.
    pub batch_limit: usize,
    /// How long a solved case stays solved before it closes.
    pub auto_close_after: SignedDuration,
    /// SLA calendars and policies.
    pub sla: Arc<SlaBook>,
    /// A rule opens the same outreach for a customer at most once in this window.
    pub outreach_window: SignedDuration,
    /// Which plugins outbound work goes to.
    pub plugins: Arc<PluginRoutes>,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 4096,
            batch_limit: 512,
            auto_close_after: SignedDuration::from_hours(96),
            sla: Arc::new(SlaBook::default()),
            outreach_window: SignedDuration::from_hours(24 * 7),
            plugins: Arc::default(),
        }
    }
}

/// Told about every durable commit, on the writer thread: keep it quick.
pub trait CommitListener: Send + Sync + 'static {
    /// Whether the next batch's events should be collected for
    /// [`CommitListener::committed`]; when nobody listens, they are not.
    fn wants_events(&self) -> bool;

    /// A batch committed durably. `events` are its events in commit order
    /// (empty unless [`CommitListener::wants_events`] said so).
    fn committed(&self, events: Vec<Event>);
}

/// Why the writer did not take a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The queue is full: the server is overloaded.
    #[error("the write queue is full")]
    Full,
    /// The writer has stopped (shutting down).
    #[error("the writer has stopped")]
    Stopped,
}

enum Job {
    Run {
        command: Box<Command>,
        plan: Option<RulePlan>,
        reply: oneshot::Sender<Result<Outcome, CommandError>>,
        span: tracing::Span,
    },
    Stop,
}

/// A handle to submit commands to the writer.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer thread. `listener` hears of every commit (the
    /// scheduler re-reads its next due time; subscribers get the events).
    pub fn spawn(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: WriterConfig,
        listener: Arc<dyn CommitListener>,
    ) -> (Writer, std::thread::JoinHandle<()>) {
        let (queue, mut jobs) = mpsc::channel(config.queue_capacity.max(1));
        let thread = std::thread::Builder::new()
            .name("frontdesk-writer".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(config.batch_limit);
                while let Some(job) = jobs.blocking_recv() {
                    let mut stop = matches!(job, Job::Stop);
                    batch.extend(into_run(job));
                    while !stop && batch.len() < config.batch_limit {
                        match jobs.try_recv() {
                            Ok(Job::Stop) => stop = true,
                            Ok(job) => batch.extend(into_run(job)),
                            Err(_) => break,
                        }
                    }
                    if !batch.is_empty() {
                        let events =
                            run_batch(store.as_ref(), clock.as_ref(), &config, &mut batch, listener.wants_events());
                        listener.committed(events);
                    }
                    if stop {
                        break;
                    }
                }
                tracing::info!("writer stopped");
            })
            .expect("spawn the writer thread");
        (Writer { queue }, thread)
    }

    /// Queues `command` and waits until it is durably committed (or refused).
    ///
    /// # Errors
    /// [`QueueError`] when the writer did not take the command; inside, the
    /// command's own answer.
    pub async fn submit(
        &self,
        command: Command,
        plan: Option<RulePlan>,
    ) -> Result<Result<Outcome, CommandError>, QueueError> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Run { command: Box::new(command), plan, reply, span: tracing::Span::current() };
        self.queue.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => QueueError::Full,
            mpsc::error::TrySendError::Closed(_) => QueueError::Stopped,
        })?;
        answer.await.map_err(|_| QueueError::Stopped)
    }

    /// Asks the writer to finish what is queued and stop. Commands submitted
    /// afterwards are refused with [`QueueError::Stopped`].
    pub async fn stop(&self) {
        let _ = self.queue.send(Job::Stop).await;
    }
}

type RunJob = (Box<Command>, Option<RulePlan>, oneshot::Sender<Result<Outcome, CommandError>>, tracing::Span);

fn into_run(job: Job) -> Option<RunJob> {
    match job {
        Job::Run { command, plan, reply, span } => Some((command, plan, reply, span)),
        Job::Stop => None,
    }
}

/// Runs and commits one batch, answers its callers, and returns the events
/// it committed (when `collect`).
fn run_batch(
    store: &dyn Store,
    clock: &dyn Clock,
    config: &WriterConfig,
    batch: &mut Vec<RunJob>,
    collect: bool,
) -> Vec<Event> {
    let ctx = ExecContext {
        now: clock.now(),
        auto_close_after: config.auto_close_after,
        sla: &config.sla,
        outreach_window: config.outreach_window,
        plugins: &config.plugins,
    };
    let mut results: Vec<Option<Result<Outcome, CommandError>>> = (0..batch.len()).map(|_| None).collect();
    let mut published = Vec::new();
    loop {
        let mut failed: Option<usize> = None;
        let mut answers = Vec::new();
        let mut events = Vec::new();
        let committed = store.transact(&mut |txn| {
            answers.clear();
            let mut txn = Recording { txn, events: collect.then(Vec::new) };
            for (index, (command, plan, _, span)) in batch.iter().enumerate() {
                if results[index].is_some() {
                    continue;
                }
                let _entered = span.enter();
                match execute_planned(&mut txn, command, plan.as_ref(), &ctx) {
                    Err(CommandError::Store(e)) => {
                        failed = Some(index);
                        return Err(e);
                    }
                    answer => answers.push((index, answer)),
                }
            }
            events = txn.events.unwrap_or_default();
            Ok(())
        });
        match (committed, failed) {
            (Ok(()), _) => {
                for (index, answer) in answers.drain(..) {
                    results[index] = Some(answer);
                }
                published = events;
                break;
            }
            (Err(e), Some(index)) => {
                // One command's storage failure: answer it, retry the others.
                tracing::error!(error = %e, "command failed in storage; retrying the rest of its batch");
                results[index] = Some(Err(CommandError::Store(e)));
            }
            (Err(e), None) => {
                tracing::error!(error = %e, commands = batch.len(), "batch commit failed");
                let message = e.to_string();
                for slot in results.iter_mut().filter(|r| r.is_none()) {
                    *slot = Some(Err(CommandError::Store(StoreError::RolledBack(message.clone()))));
                }
                break;
            }
        }
    }
    for ((_, _, reply, _), result) in batch.drain(..).zip(results) {
        let result = result.unwrap_or_else(|| Err(StoreError::RolledBack("the batch did not run".into()).into()));
        // A caller that gave up (timeout, disconnect) still had its command committed.
        let _ = reply.send(result);
    }
    published
}
