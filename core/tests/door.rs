//! The one door: a command submitted through [`Frontdesk`] is read back
//! through its async reads, and its events reach a subscriber only after
//! they are durable, in commit order, with a rule's effects included.

use std::sync::Arc;
use std::time::Duration;

use frontdesk_core::rules::{RulesHost, ScriptLimits};
use frontdesk_core::runtime::{self, SubmitError};
use frontdesk_core::store::{RedbStore, Store};
use frontdesk_core::write::command::{Command, CustomerInput, CustomerRef, MessageKind, NewCase, Outcome};
use frontdesk_core::write::{Refusal, WriterConfig};
use frontdesk_core::{Actor, CaseId, Clock, Event, Identity, ManualClock, Priority};

/// An event's `type`, as the API names it.
fn kind(event: &Event) -> String {
    serde_json::to_value(event).unwrap()["type"].as_str().unwrap().to_owned()
}

fn new_case(subject: &str) -> Command {
    Command::CreateCase(NewCase {
        subject: subject.into(),
        customer: CustomerRef::Match(CustomerInput {
            identities: vec![Identity::email("ann@example.com").unwrap()],
            ..Default::default()
        }),
        channel: "api".into(),
        priority: Priority::Normal,
        message: Some("help".into()),
        tags: Default::default(),
        fields: Default::default(),
        team: None,
        assignee: None,
        actor: Actor::System,
        idempotency: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submitted_events_reach_subscribers_after_commit_and_reads_see_them() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(RedbStore::open(dir.path().join("db.redb")).unwrap());
    let clock = Arc::new(ManualClock::new("2026-03-02T09:00:00Z".parse().unwrap()));
    let rules = Arc::new(RulesHost::new(ScriptLimits::default()));
    rules.update("route.rhai", Some(r#"fn on_case_created(ticket, customer) { route_to("billing"); }"#), clock.now());
    let running = runtime::start(store, clock, rules, WriterConfig::default(), Duration::from_secs(3600));
    let frontdesk = running.frontdesk().clone();
    let mut feed = frontdesk.subscribe();

    let Outcome::Case { case, .. } = frontdesk.submit(new_case("Printer on fire")).await.unwrap() else {
        panic!("a create answers with its case")
    };
    assert_eq!(case.team.as_deref(), Some("billing"), "the answer shows the case after its rules");

    let committed = tokio::time::timeout(Duration::from_secs(5), feed.recv()).await.unwrap().unwrap();
    let kinds: Vec<String> = committed.iter().map(kind).collect();
    assert_eq!(kinds, ["customer_updated", "case_created", "message_received", "team_changed"]);
    assert!(committed.windows(2).all(|w| w[0].id < w[1].id), "in commit order");

    let (read, _) = frontdesk.case(case.id).await.unwrap().expect("the case reads back");
    assert_eq!(read, case);
    let timeline = frontdesk.case_events(case.id, None, 100).await.unwrap().unwrap();
    let ids: Vec<_> = timeline.items.iter().map(|e| e.id).collect();
    let published: Vec<_> = committed.iter().filter(|e| e.case_id == Some(case.id)).map(|e| e.id).collect();
    assert_eq!(ids, published, "subscribers saw exactly what the timeline holds");

    // A refused command publishes nothing and says why.
    let reply = Command::AddMessage {
        idempotency: None,
        case_id: CaseId::new(999),
        kind: MessageKind::Reply,
        body: "x".into(),
        actor: Actor::System,
    };
    assert!(matches!(frontdesk.submit(reply).await, Err(SubmitError::CaseNotFound(_))));
    let solve_new = Command::AddMessage {
        idempotency: None,
        case_id: case.id,
        kind: MessageKind::Reply,
        body: String::new(),
        actor: Actor::System,
    };
    assert!(matches!(frontdesk.submit(solve_new).await, Err(SubmitError::Refused(Refusal::Invalid(_)))));
    assert!(feed.try_recv().is_err(), "refused commands publish no events");
    assert!(frontdesk.case(CaseId::new(999)).await.unwrap().is_none());
    running.shutdown().await;
}
