//! The timer scheduler: sleeps until the earliest entry of the deadline index
//! (or until a commit may have moved it), then submits the commands that are
//! due. Work per wake-up is proportional to what is due, never to the number
//! of open cases.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tracing::Instrument;

use crate::clock::ClockJumps;
use crate::runtime::service::Frontdesk;
use crate::store::TimerKind;
use crate::write::Command;

/// Longest sleep: bounds how late a timer fires if the clock jumps.
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// Timers handled per wake-up before looking again.
const BATCH: usize = 256;

/// Runs until `stop` turns true.
pub async fn run(frontdesk: Arc<Frontdesk>, changed: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    // The sleep follows the wall clock; a test clock that jumps past a
    // deadline wakes us here instead. A jump before this line is not missed:
    // the first round below looks at the clock as it is.
    let mut jumps = ClockJumps::of(frontdesk.clock());
    loop {
        let wait = match fire_due(&frontdesk).await {
            Ok(true) => Duration::ZERO,
            Ok(false) => next_wait(&frontdesk).await,
            Err(()) => Duration::from_secs(1),
        };
        if wait.is_zero() && !*stop.borrow() {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = changed.notified() => {}
            _ = jumps.next() => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            break;
        }
    }
}

/// Fires what is due. `Ok(true)` if there may be more right away.
async fn fire_due(frontdesk: &Frontdesk) -> Result<bool, ()> {
    let now = frontdesk.clock().now();
    let due = frontdesk.read(move |store| store.due_timers(now, BATCH)).await.map_err(|e| {
        tracing::error!(error = %e, "reading due timers failed");
    })?;
    let mut failed = false;
    for timer in &due {
        let command = match timer.kind {
            TimerKind::AutoClose => Command::AutoClose { case_id: timer.case_id },
            TimerKind::Sla(_) => Command::SlaCheck { case_id: timer.case_id, at: now },
        };
        let span = tracing::info_span!("timer", case.id = %timer.case_id, kind = timer.kind.as_str());
        if let Err(e) = frontdesk.submit(command).instrument(span).await {
            tracing::warn!(error = %e, "timer command failed; will retry");
            failed = true;
        }
    }
    if failed {
        return Err(());
    }
    Ok(due.len() == BATCH)
}

async fn next_wait(frontdesk: &Frontdesk) -> Duration {
    let next = match frontdesk.read(|store| store.next_timer_at()).await {
        Ok(next) => next,
        Err(e) => {
            tracing::error!(error = %e, "reading the next timer failed");
            return Duration::from_secs(1);
        }
    };
    let Some(next) = next else { return MAX_SLEEP };
    let now = frontdesk.clock().now();
    let until = next.duration_since(now);
    if until.is_negative() || until.is_zero() {
        return Duration::ZERO;
    }
    Duration::try_from(until).unwrap_or(MAX_SLEEP).min(MAX_SLEEP)
}
