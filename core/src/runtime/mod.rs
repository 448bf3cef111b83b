//! The running core: [`start`] wires the writer thread, the timer scheduler
//! ([`timers`]), the rule ticker and the committed-event feed ([`events`])
//! around one [`Frontdesk`] ([`service`]), the door every request goes
//! through, for writes ([`Frontdesk::submit`]), reads ([`reads`]) and the
//! committed events ([`Frontdesk::subscribe`], and [`feed`] over the store); [`outbox_worker`] delivers outbound work through plugins, with
//! [`notify`] saying where rule notifications go.

pub mod events;
pub mod feed;
pub mod notify;
pub mod outbox_worker;
pub mod reads;
pub mod service;
pub mod timers;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// The query shapes the door takes and the pages it answers with.
pub use crate::store::{
    CaseQuery, CaseSort, DuePosition, IdempotentAnswer, OutboxItem, Page, SavedView, SlaFilter, ViewFilters,
};
pub use events::Committed;
pub use feed::{FeedFilter, FeedPage};
pub use notify::NotifyConfig;
pub use outbox_worker::OutboxWorker;
pub use reads::{OutboxSummary, ReadError};
pub use service::{Frontdesk, SubmitError};

use crate::clock::{Clock, ClockJumps};
use crate::rules::RulesHost;
use crate::store::Store;
use crate::write::{Writer, WriterConfig};

/// What must be stopped, in order, when the server shuts down.
#[derive(Debug)]
pub struct Running {
    frontdesk: Arc<Frontdesk>,
    writer_thread: std::thread::JoinHandle<()>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

/// Starts the writer, the timer scheduler and the rule ticker (every
/// `tick_every`) on the current tokio runtime.
pub fn start(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rules: Arc<RulesHost>,
    config: WriterConfig,
    tick_every: Duration,
) -> Running {
    // Subscribed here, not when the ticker first runs, so no jump is missed.
    let jumps = ClockJumps::of(clock.as_ref());
    let feed = Arc::new(events::CommitFeed::new());
    let timers_changed = feed.timers_changed.clone();
    let (writer, writer_thread) = Writer::spawn(store.clone(), clock.clone(), config.clone(), feed.clone());
    let frontdesk = Arc::new(Frontdesk::new(store, clock, rules, config, writer, feed));
    let (stop, stopped) = watch::channel(false);
    let tasks = vec![
        tokio::spawn(timers::run(frontdesk.clone(), timers_changed, stopped.clone())),
        tokio::spawn(service::tick_every(frontdesk.clone(), tick_every, jumps, stopped)),
    ];
    Running { frontdesk, writer_thread, tasks, stop }
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
        self.frontdesk.stop_writer().await;
        let thread = self.writer_thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}
