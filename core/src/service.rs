//! [`Frontdesk`]: the core as the binary sees it. Reads go straight to the
//! store; writes go through the writer queue. Also keeps the in-flight set of
//! idempotency keys, so a duplicate that arrives while the first is still
//! being written is told so instead of racing it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::command::{Command, CommandError, Outcome};
use crate::sla::SlaBook;
use crate::store::Store;
use crate::timers;
use crate::writer::{Writer, WriterConfig};

/// The running core: store, writer and timers.
pub struct Frontdesk {
    store: Arc<dyn Store>,
    sla: Arc<SlaBook>,
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
    timers: tokio::task::JoinHandle<()>,
    stop_timers: watch::Sender<bool>,
}

impl Frontdesk {
    /// Starts the writer and the timer scheduler on the current tokio runtime.
    pub fn start(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: WriterConfig) -> Running {
        let timers_changed = Arc::new(Notify::new());
        let sla = config.sla.clone();
        let (writer, writer_thread) = Writer::spawn(store.clone(), clock.clone(), config, timers_changed.clone());
        let frontdesk = Arc::new(Frontdesk { store, sla, writer, clock, in_flight: Mutex::new(HashSet::new()) });
        let (stop_timers, stopped) = watch::channel(false);
        let timers = tokio::spawn(timers::run(frontdesk.clone(), timers_changed, stopped));
        Running { frontdesk, writer_thread, timers, stop_timers }
    }

    /// The read side.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// SLA calendars and policies.
    pub fn sla(&self) -> &SlaBook {
        &self.sla
    }

    /// The clock everything uses.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Executes a command through the writer and waits for its durable commit.
    ///
    /// # Errors
    /// The command's refusal; see [`CommandError`].
    pub async fn execute(&self, command: Command) -> Result<Outcome, CommandError> {
        let key = match &command {
            Command::CreateCase(new) => new.idempotency.as_ref().map(|c| c.key.clone()),
            _ => None,
        };
        let Some(key) = key else {
            return self.writer.submit(command).await;
        };
        if !self.lock_in_flight().insert(key.clone()) {
            return Err(CommandError::IdempotencyInFlight);
        }
        let _release = InFlight { frontdesk: self, key };
        self.writer.submit(command).await
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
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

    /// Stops the scheduler, lets the writer commit what is queued, and waits
    /// for both.
    pub async fn shutdown(self) {
        let _ = self.stop_timers.send(true);
        let _ = self.timers.await;
        self.frontdesk.writer.stop().await;
        let thread = self.writer_thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}
