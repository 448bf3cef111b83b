//! Works off the outbox: picks due items, calls their plugin off the async
//! threads, and commits each outcome through the writer. An item that was
//! attempted but whose outcome was not committed (a crash) is attempted
//! again: delivery is at least once, and each delivery carries the same
//! message id so a provider can drop a repeat.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use tokio::sync::watch;

use crate::case_ref::CaseRefKey;
use crate::domain::{Actor, Case, CaseId, Customer, Event, EventBody, IdentityKind};
use crate::plugins::{CallError, PluginHost, v0_1};
use crate::runtime::notify::NotifyConfig;
use crate::runtime::service::Frontdesk;
use crate::store::{OutboxItem, Store, StoreError};
use crate::write::Command;
use crate::write::command::{AttemptResult, Effect};
use crate::write::outbox_rows::{kind, outbound_message_id};

/// How often the outbox is scanned for due items.
const POLL: Duration = Duration::from_millis(250);
/// Items attempted at once.
const CONCURRENCY: usize = 8;
/// Items read per scan page.
const PAGE: usize = 512;
/// A notification not sent within this long is marked failed, not sent
/// late: "case 42 missed its target" a day later helps nobody.
const NOTIFY_MAX_AGE: SignedDuration = SignedDuration::from_hours(24);
/// How long to wait before trying a plugin whose circuit is open.
const DEFERRAL: SignedDuration = SignedDuration::from_secs(5);

/// What the worker needs.
#[derive(Clone)]
pub struct OutboxWorker {
    /// The core, for reads and for committing outcomes.
    pub frontdesk: Arc<Frontdesk>,
    /// The plugins that do the work.
    pub plugins: Arc<PluginHost>,
    /// Signs case references in outbound messages.
    pub case_refs: CaseRefKey,
    /// Where rules' notifications go.
    pub notify: NotifyConfig,
}

impl std::fmt::Debug for OutboxWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWorker").finish_non_exhaustive()
    }
}

impl OutboxWorker {
    /// Runs until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            let scan = tokio::task::spawn_blocking({
                let worker = self.clone();
                move || worker.due_items()
            });
            match scan.await.unwrap_or_else(|e| Err(StoreError::Inconsistent(format!("the outbox scan panicked: {e}"))))
            {
                Ok(items) if !items.is_empty() => self.attempt_all(items).await,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox scan failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    /// Pending items whose time has come, oldest first, at most a few
    /// batches' worth. Work for one case and target (a plugin, or for a
    /// notification its recipient) goes out in the order it was queued: an
    /// item waits while an older one of the same case and target is pending
    /// (a customer reads two replies in the order they were written; a CRM
    /// sees a case created before it is solved).
    fn due_items(&self) -> Result<Vec<OutboxItem>, StoreError> {
        let now = self.frontdesk.clock().now();
        let store = self.frontdesk.store();
        let mut due = Vec::new();
        let mut queued_behind: BTreeSet<(String, CaseId)> = BTreeSet::new();
        let mut after = None;
        loop {
            let page = store.outbox_items(after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let full = page.len() == PAGE;
            for item in page {
                if item.status != "pending" || !self.handles(&item) {
                    continue;
                }
                let first_of_its_case =
                    item.case_id.is_none_or(|case| queued_behind.insert((item.target.clone(), case)));
                if first_of_its_case && item.next_try_at <= now {
                    due.push(item);
                }
            }
            if !full || due.len() >= CONCURRENCY * 4 {
                break;
            }
        }
        Ok(due)
    }

    /// Kinds this worker delivers; others wait in the outbox.
    fn handles(&self, item: &OutboxItem) -> bool {
        matches!(item.kind.as_str(), kind::DELIVER | kind::CRM_EVENT | kind::CRM_ENRICH | kind::NOTIFY)
    }

    async fn attempt_all(&self, items: Vec<OutboxItem>) {
        for chunk in items.chunks(CONCURRENCY) {
            let mut running = tokio::task::JoinSet::new();
            for item in chunk.iter().cloned() {
                let worker = self.clone();
                running.spawn(async move {
                    let id = item.id;
                    let result = tokio::task::spawn_blocking({
                        let worker = worker.clone();
                        move || worker.attempt(&item)
                    })
                    .await
                    .unwrap_or_else(|e| AttemptResult::Failed {
                        message: format!("the attempt panicked: {e}"),
                        retryable: true,
                        fault: None,
                    });
                    if let Err(e) = worker.frontdesk.submit(Command::OutboxAttempt { id, result }).await {
                        // Not recorded: the item stays due and is tried again.
                        tracing::warn!(outbox.id = id, error = %e, "could not record an outbox attempt");
                    }
                });
            }
            while running.join_next().await.is_some() {}
        }
    }

    /// One attempt, blocking: reads what the plugin needs and calls it.
    #[tracing::instrument(skip_all, fields(outbox.id = item.id, case.id = item.case_id.map(tracing::field::display), plugin = %item.target))]
    fn attempt(&self, item: &OutboxItem) -> AttemptResult {
        let store = self.frontdesk.store();
        let outcome = match item.kind.as_str() {
            kind::DELIVER => self.deliver(store, item),
            kind::CRM_EVENT => self.crm_event(store, item),
            kind::CRM_ENRICH => self.crm_enrich(store, item),
            kind::NOTIFY => self.notify(store, item),
            other => Err(Failure::Gone(format!("unknown outbox work `{other}`"))),
        };
        match outcome {
            Ok(effect) => AttemptResult::Done(effect),
            Err(Failure::Gone(message)) => AttemptResult::Failed { message, retryable: false, fault: None },
            Err(Failure::Store(e)) => AttemptResult::Failed { message: e.to_string(), retryable: true, fault: None },
            Err(Failure::Call(e)) => self.result_of_failed_call(e),
        }
    }

    fn result_of_failed_call(&self, error: CallError) -> AttemptResult {
        let message = error.to_string();
        match error {
            CallError::CircuitOpen(_) | CallError::Busy(_) | CallError::Disabled(_) => {
                AttemptResult::Deferred(self.frontdesk.clock().now() + DEFERRAL)
            }
            CallError::Failed { hook, kind, .. } => {
                AttemptResult::Failed { message, retryable: true, fault: Some((hook.to_owned(), kind.to_string())) }
            }
            CallError::Reported { retryable, .. } => AttemptResult::Failed { message, retryable, fault: None },
            CallError::NotFound(_) | CallError::WrongKind { .. } | CallError::InputRefused(_) => {
                AttemptResult::Failed { message, retryable: false, fault: None }
            }
        }
    }

    fn deliver(&self, store: &dyn Store, item: &OutboxItem) -> Result<Option<Effect>, Failure> {
        let case = load_case(store, item)?;
        let reply_id = item.payload["reply_event"].as_str().unwrap_or_default().to_owned();
        let message_id = item.payload["message_id"].as_str().unwrap_or_default().to_owned();
        let events = case_events(store, &case)?;
        let reply = events
            .iter()
            .find(|e| e.id.to_string() == reply_id)
            .ok_or_else(|| Failure::Gone(format!("reply event {reply_id} is not on case {}", case.id)))?;
        let EventBody::ReplySent { body } = &reply.body else {
            return Err(Failure::Gone(format!("event {reply_id} is not a reply")));
        };
        let customer = store.customer(case.customer_id)?;
        // What the customer sent through this channel before the reply.
        let vias: Vec<_> = events
            .iter()
            .filter(|e| e.id < reply.id)
            .filter_map(|e| match &e.body {
                // Replies go to the customer, not to their robot.
                EventBody::MessageReceived { via: Some(via), .. }
                    if via.plugin == case.channel && via.auto_reply.is_none() =>
                {
                    Some(via)
                }
                _ => None,
            })
            .collect();
        // Every message id seen on the case, inbound and outbound, oldest first.
        let references: Vec<String> = events
            .iter()
            .filter(|e| e.id < reply.id)
            .filter_map(|e| match &e.body {
                EventBody::MessageReceived { via: Some(via), .. } => Some(via.message_id.clone()),
                EventBody::ReplySent { .. } => Some(outbound_message_id(case.id, e.id)),
                _ => None,
            })
            .collect();
        let last = vias.last();
        let to = last
            .map(|v| v.sender.clone())
            .or_else(|| customer.as_ref().and_then(|c| c.identities.first().cloned()))
            .ok_or_else(|| Failure::Gone(format!("customer {} has no identity to reply to", case.customer_id)))?;
        let message = v0_1::OutboundMessage {
            case_id: case.id.to_string(),
            case_ref: self.case_refs.sign(case.id),
            message_id: message_id.clone(),
            to: wit_identity(&to),
            to_name: customer.as_ref().and_then(|c| c.name.clone()),
            subject: case.subject.clone(),
            text: body.clone(),
            in_reply_to: last.map(|v| v.message_id.clone()),
            references,
            thread_key: vias.iter().rev().find_map(|v| v.thread_key.clone()),
        };
        let (receipt, _) = self.plugins.deliver(&item.target, &message).map_err(Failure::Call)?;
        Ok(Some(Effect::Delivered {
            event: EventBody::ReplyDelivered {
                plugin: item.target.clone(),
                reply_event: reply.id,
                message_id,
                provider_id: receipt.provider_id,
                attempts: item.attempts + 1,
            },
        }))
    }

    /// A rule's notification, as a message through the notification
    /// channel. It carries no case reference, so an answer to it does not
    /// thread into the case as if the customer had written.
    fn notify(&self, store: &dyn Store, item: &OutboxItem) -> Result<Option<Effect>, Failure> {
        let age = self.frontdesk.clock().now().duration_since(item.created_at);
        if age > NOTIFY_MAX_AGE {
            return Err(Failure::Gone(format!(
                "not sent: queued {} h ago, notifications older than {} h are dropped",
                age.as_hours(),
                NOTIFY_MAX_AGE.as_hours()
            )));
        }
        let address = self.notify.address(&item.target).map_err(Failure::Gone)?;
        let text = item.payload["text"].as_str().unwrap_or_default().to_owned();
        let case = match item.case_id {
            Some(id) => store.case(id)?,
            None => None,
        };
        let subject = match &case {
            Some(case) => format!("[Frontdesk] Case #{}: {}", case.id, case.subject),
            None => "[Frontdesk] Notification".to_owned(),
        };
        let message = v0_1::OutboundMessage {
            case_id: case.as_ref().map(|c| c.id.to_string()).unwrap_or_default(),
            case_ref: String::new(),
            message_id: format!("<notify-{}@frontdesk>", item.id),
            to: wit_identity(&address),
            to_name: None,
            subject,
            text,
            in_reply_to: None,
            references: Vec::new(),
            thread_key: None,
        };
        self.plugins.deliver(&self.notify.channel, &message).map_err(Failure::Call)?;
        tracing::info!(target = %item.target, address = %address.value, "notification sent");
        Ok(None)
    }

    fn crm_event(&self, store: &dyn Store, item: &OutboxItem) -> Result<Option<Effect>, Failure> {
        let case = load_case(store, item)?;
        let event_id = item.payload["event_id"].as_str().unwrap_or_default();
        let events = case_events(store, &case)?;
        let event = events
            .iter()
            .find(|e| e.id.to_string() == event_id)
            .ok_or_else(|| Failure::Gone(format!("event {event_id} is not on case {}", case.id)))?;
        let customer = store
            .customer(case.customer_id)?
            .ok_or_else(|| Failure::Gone(format!("customer {} is gone", case.customer_id)))?;
        let json = serde_json::to_value(event).unwrap_or_default();
        let wit_event = v0_1::CaseEvent {
            id: event.id.to_string(),
            case_id: case.id.to_string(),
            event_type: json["type"].as_str().unwrap_or_default().to_owned(),
            at: event.at.to_string(),
            actor: event.actor.to_string(),
            data: json.get("data").map(ToString::to_string).unwrap_or_else(|| "{}".into()),
            customer: wit_customer(&customer),
        };
        self.plugins.on_case_event(&item.target, &wit_event).map_err(Failure::Call)?;
        Ok(None)
    }

    fn crm_enrich(&self, store: &dyn Store, item: &OutboxItem) -> Result<Option<Effect>, Failure> {
        let id = item.customer_id.ok_or_else(|| Failure::Gone("no customer on the item".into()))?;
        let customer = store.customer(id)?.ok_or_else(|| Failure::Gone(format!("customer {id} is gone")))?;
        let (patch, _) = self.plugins.enrich(&item.target, &wit_customer(&customer)).map_err(Failure::Call)?;
        let mut attributes: BTreeMap<String, serde_json::Value> = patch
            .attributes
            .into_iter()
            .map(|(k, v)| {
                let value = serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v));
                (k, value)
            })
            .collect();
        if let Some(company) = patch.company {
            attributes.insert("company".into(), serde_json::Value::String(company));
        }
        let version = self
            .plugins
            .statuses()
            .into_iter()
            .find(|s| s.name == item.target)
            .and_then(|s| s.version)
            .unwrap_or_default();
        Ok(Some(Effect::Enriched {
            name: patch.name,
            tier: patch.tier,
            attributes,
            plugin: Actor::Plugin { name: item.target.clone(), version },
        }))
    }
}

enum Failure {
    /// The work cannot be done, ever (its case or event is gone).
    Gone(String),
    /// Reading failed; try again.
    Store(StoreError),
    /// The plugin call failed.
    Call(CallError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

fn load_case(store: &dyn Store, item: &OutboxItem) -> Result<Case, Failure> {
    let id = item.case_id.ok_or_else(|| Failure::Gone("no case on the item".into()))?;
    store.case(id)?.ok_or_else(|| Failure::Gone(format!("case {id} is gone")))
}

fn case_events(store: &dyn Store, case: &Case) -> Result<Vec<Event>, Failure> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store.case_events(case.id, after, 500)?;
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

/// A customer as plugins see it.
pub fn wit_customer(customer: &Customer) -> v0_1::Customer {
    v0_1::Customer {
        id: customer.id.to_string(),
        name: customer.name.clone(),
        tier: customer.tier.clone(),
        identities: customer.identities.iter().map(wit_identity).collect(),
        attributes: customer.attributes.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
    }
}

/// An identity as plugins see it: `email`, `phone` or `handle`.
pub fn wit_identity(identity: &crate::domain::Identity) -> v0_1::Identity {
    let kind = match &identity.kind {
        IdentityKind::Email => "email".to_owned(),
        IdentityKind::Chat => "handle".to_owned(),
        IdentityKind::Phone => "phone".to_owned(),
        IdentityKind::External(system) => format!("external:{system}"),
    };
    v0_1::Identity { kind, value: identity.value.clone() }
}
