//! The behaviour every [`Store`] backend must show, through the trait and
//! through the write path that uses it (which is why it sits above both). A backend's tests call
//! [`run_all`] with a function that opens a fresh, empty store.

use jiff::{SignedDuration, Timestamp};

use crate::auth::Role;
use crate::domain::{Actor, CaseId, CaseStatus, Identity, Priority};
use crate::sla::{CaseSla, SlaBook};
use crate::store::{CaseQuery, IdempotencyRecord, Sequence, Store, StoreError, TimerKind};
use crate::write::ExecContext;
use crate::write::command::{CasePatch, Command, CommandError, CustomerInput, CustomerRef, NewCase, Outcome};
use crate::write::execute::execute;
use crate::write::outbox_rows::PluginRoutes;

/// Runs every conformance check, each on a fresh store from `open`.
pub fn run_all(open: &dyn Fn() -> Box<dyn Store>) {
    failed_transactions_write_nothing(open().as_ref());
    listing_uses_indexes_that_follow_changes(open().as_ref());
    changes_to_one_case_in_one_transaction_all_show(open().as_ref());
    cursors_page_through_everything_once(open().as_ref());
    listing_by_customer_pages_both_ways(open().as_ref());
    identities_resolve_to_their_customer(open().as_ref());
    timelines_are_in_commit_order(open().as_ref());
    timers_come_due_in_order(open().as_ref());
    tokens_and_idempotency_round_trip(open().as_ref());
    cases_are_read_with_their_sla_state(open().as_ref());
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("valid timestamp")
}

fn ctx(now: Timestamp) -> ExecContext<'static> {
    static BOOK: std::sync::LazyLock<SlaBook> = std::sync::LazyLock::new(SlaBook::default);
    ExecContext {
        now,
        auto_close_after: SignedDuration::from_hours(96),
        sla: &BOOK,
        outreach_window: SignedDuration::from_hours(24 * 7),
        plugins: PluginRoutes::NONE,
    }
}

/// Executes one command in its own transaction.
fn run(store: &dyn Store, command: &Command, now: Timestamp) -> Result<Outcome, CommandError> {
    crate::write::execute::execute_alone(store, command, &ctx(now))
}

fn new_case(subject: &str, email: &str) -> Command {
    Command::CreateCase(NewCase {
        subject: subject.into(),
        customer: CustomerRef::Match(CustomerInput {
            identities: vec![Identity::email(email).expect("valid email")],
            ..CustomerInput::default()
        }),
        channel: "api".into(),
        priority: Priority::Normal,
        message: Some("hello".into()),
        tags: Default::default(),
        fields: Default::default(),
        team: None,
        assignee: None,
        actor: Actor::Agent("test".into()),
        idempotency: None,
    })
}

fn created(outcome: Result<Outcome, CommandError>) -> CaseId {
    match outcome {
        Ok(Outcome::Case { case, .. }) => case.id,
        other => panic!("expected a case, got {other:?}"),
    }
}

fn failed_transactions_write_nothing(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let mut drawn = 0;
    let result = store.transact(&mut |txn| {
        drawn = txn.allocate(Sequence::Case)?;
        execute(txn, &new_case("doomed", "a@example.com"), &ctx(now))
            .map_err(|e| StoreError::Inconsistent(e.to_string()))?;
        Err(StoreError::Inconsistent("abort on purpose".into()))
    });
    assert!(result.is_err());
    assert!(store.list_cases(&CaseQuery { limit: 10, ..CaseQuery::default() }).unwrap().items.is_empty());
    assert!(store.customer_by_identity(&Identity::email("a@example.com").unwrap()).unwrap().is_none());
    let id = created(run(store, &new_case("kept", "a@example.com"), now));
    assert_eq!(id.get(), drawn, "ids of an aborted transaction are not burnt");

    // An aborted edit of a stored case is not what the next transaction sees.
    let customer = store.case(id).unwrap().expect("the kept case").customer_id;
    let result = store.transact(&mut |txn| {
        let patch = CasePatch { status: Some(CaseStatus::Pending), ..CasePatch::default() };
        execute(txn, &Command::UpdateCase { case_id: id, patch, actor: Actor::System }, &ctx(now))
            .map_err(|e| StoreError::Inconsistent(e.to_string()))?;
        let mut renamed = txn.customer(customer)?.expect("the customer");
        renamed.name = Some("Doomed".into());
        txn.put_customer(&renamed)?;
        assert_eq!(txn.customer(customer)?.expect("the customer").name.as_deref(), Some("Doomed"));
        Err(StoreError::Inconsistent("abort on purpose".into()))
    });
    assert!(result.is_err());
    store
        .transact(&mut |txn| {
            assert_eq!(txn.case(id)?.expect("the kept case").status, CaseStatus::New);
            assert_eq!(txn.case_sla(id)?, store.case_sla(id)?);
            assert_eq!(txn.customer(customer)?.expect("the customer").name, None);
            Ok(())
        })
        .unwrap();
}

fn listing_uses_indexes_that_follow_changes(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let a = created(run(store, &new_case("a", "a@example.com"), now));
    let b = created(run(store, &new_case("b", "b@example.com"), now));
    let patch = CasePatch {
        status: Some(CaseStatus::Pending),
        priority: Some(Priority::High),
        team: Some(Some("billing".into())),
        add_tags: vec!["vip".into()],
        ..CasePatch::default()
    };
    run(store, &Command::UpdateCase { case_id: a, patch, actor: Actor::System }, now).unwrap();
    let ids = |query: CaseQuery| -> Vec<CaseId> {
        store.list_cases(&CaseQuery { limit: 50, ..query }).unwrap().items.iter().map(|c| c.id).collect()
    };
    assert_eq!(ids(CaseQuery::default()), [b, a]);
    assert_eq!(ids(CaseQuery { status: Some(CaseStatus::New), ..CaseQuery::default() }), [b]);
    assert_eq!(ids(CaseQuery { status: Some(CaseStatus::Pending), ..CaseQuery::default() }), [a]);
    assert_eq!(ids(CaseQuery { tag: Some("vip".into()), priority: Some(Priority::High), ..CaseQuery::default() }), [a]);
    assert_eq!(
        ids(CaseQuery { team: Some("billing".into()), status: Some(CaseStatus::New), ..CaseQuery::default() }),
        []
    );
    let untag = CasePatch { remove_tags: vec!["vip".into()], team: Some(None), ..CasePatch::default() };
    run(store, &Command::UpdateCase { case_id: a, patch: untag, actor: Actor::System }, now).unwrap();
    assert_eq!(ids(CaseQuery { tag: Some("vip".into()), ..CaseQuery::default() }), []);
    assert_eq!(ids(CaseQuery { team: Some("billing".into()), ..CaseQuery::default() }), []);
}

/// A batch can create a case and change it again (its rules' edits, a second
/// message): each command sees the one before, and the stored row and its
/// indexes end as the last change left them.
fn changes_to_one_case_in_one_transaction_all_show(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let mut id = None;
    store
        .transact(&mut |txn| {
            let fail = |e: CommandError| StoreError::Inconsistent(e.to_string());
            let case = created(Ok(execute(txn, &new_case("a", "a@example.com"), &ctx(now)).map_err(fail)?));
            id = Some(case);
            let tag = CasePatch {
                add_tags: vec!["vip".into()],
                team: Some(Some("billing".into())),
                assignee: Some(Some("ida".into())),
                ..CasePatch::default()
            };
            execute(txn, &Command::UpdateCase { case_id: case, patch: tag, actor: Actor::System }, &ctx(now))
                .map_err(fail)?;
            let seen = txn.case(case)?.expect("the case, within the transaction");
            assert!(seen.tags.contains("vip") && seen.team.as_deref() == Some("billing"), "{seen:?}");
            let next = CasePatch {
                status: Some(CaseStatus::Pending),
                remove_tags: vec!["vip".into()],
                add_tags: vec!["later".into()],
                assignee: Some(Some("bo".into())),
                ..CasePatch::default()
            };
            execute(txn, &Command::UpdateCase { case_id: case, patch: next, actor: Actor::System }, &ctx(now))
                .map_err(fail)?;
            Ok(())
        })
        .unwrap();
    let id = id.unwrap();
    let ids = |query: CaseQuery| -> Vec<CaseId> {
        store.list_cases(&CaseQuery { limit: 50, ..query }).unwrap().items.iter().map(|c| c.id).collect()
    };
    assert_eq!(ids(CaseQuery { status: Some(CaseStatus::Pending), ..CaseQuery::default() }), [id]);
    assert_eq!(ids(CaseQuery { status: Some(CaseStatus::New), ..CaseQuery::default() }), []);
    assert_eq!(
        ids(CaseQuery { tag: Some("later".into()), team: Some("billing".into()), ..CaseQuery::default() }),
        [id]
    );
    assert_eq!(ids(CaseQuery { tag: Some("vip".into()), ..CaseQuery::default() }), []);
    let stored = store.case(id).unwrap().unwrap();
    assert_eq!(stored.status, CaseStatus::Pending);
    assert_eq!(ids(CaseQuery { assignee: Some("bo".into()), ..CaseQuery::default() }), [id]);
    assert_eq!(ids(CaseQuery { assignee: Some("ida".into()), ..CaseQuery::default() }), []);
    // Counters follow every step: the case is bo's load now, not ida's.
    assert_eq!((store.open_load("ida").unwrap(), store.open_load("bo").unwrap()), (0, 1));
    // Created with its message (2), tagged, routed and assigned (3), then
    // pending, untagged, tagged again and reassigned (4).
    assert_eq!(store.case_events(id, None, 50).unwrap().items.len(), 9, "every change is an event");
}

fn cursors_page_through_everything_once(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let all: Vec<CaseId> =
        (0..25).map(|i| created(run(store, &new_case(&format!("c{i}"), "p@example.com"), now))).collect();
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store.list_cases(&CaseQuery { before, limit: 10, ..CaseQuery::default() }).unwrap();
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    let mut expected = all.clone();
    expected.reverse();
    assert_eq!(seen, expected);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_cases(&CaseQuery { before: after, limit: 7, oldest_first: true, ..CaseQuery::default() })
            .unwrap();
        seen.extend(page.items.iter().map(|c| c.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, all, "oldest first pages forward");
}

/// A customer's cases, newest or oldest first, page by page, with other
/// filters on top; the customer's timeline holds only events.
fn listing_by_customer_pages_both_ways(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let mut mine = Vec::new();
    for i in 0..12 {
        mine.push(created(run(store, &new_case(&format!("m{i}"), "me@example.com"), now)));
        created(run(store, &new_case(&format!("o{i}"), "other@example.com"), now));
    }
    let customer = store.case(mine[0]).unwrap().unwrap().customer_id;
    let pages = |oldest_first: bool, status: Option<CaseStatus>| -> Vec<CaseId> {
        let (mut seen, mut before) = (Vec::new(), None);
        loop {
            let query =
                CaseQuery { customer: Some(customer), status, before, limit: 5, oldest_first, ..CaseQuery::default() };
            let page = store.list_cases(&query).unwrap();
            seen.extend(page.items.iter().map(|c| c.id));
            match page.next {
                Some(next) => before = Some(next),
                None => return seen,
            }
        }
    };
    assert_eq!(pages(true, None), mine);
    assert_eq!(pages(false, None), mine.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(pages(true, Some(CaseStatus::New)), mine);
    assert_eq!(pages(true, Some(CaseStatus::Open)), []);
    let timeline = store.customer_events(customer, None, 1000).unwrap().items;
    assert_eq!(timeline.len(), 1 + 12 * 2, "customer_created, then each case_created and message");
    assert!(timeline.iter().all(|e| e.customer_id == customer));
}

/// A case and its SLA state come back together, singly and in a listing, and
/// a case without SLA state gets the default one.
fn cases_are_read_with_their_sla_state(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let tracked = created(run(store, &new_case("tracked", "t@example.com"), now));
    let untracked = created(run(store, &new_case("untracked", "u@example.com"), now));
    let sla = CaseSla { policy: Some("gold".into()), calendar: Some("berlin".into()), ..CaseSla::default() };
    store.transact(&mut |txn| txn.put_sla(tracked, &sla)).unwrap();

    let (case, read) = store.case_with_sla(tracked).unwrap().expect("the tracked case");
    assert_eq!((case.id, &read), (tracked, &sla));
    assert_eq!(store.case_with_sla(untracked).unwrap().expect("the untracked case").1, CaseSla::default());
    assert!(store.case_with_sla(CaseId::new(9_999)).unwrap().is_none());

    let page = store.list_cases_with_sla(&CaseQuery { limit: 10, ..CaseQuery::default() }).unwrap();
    let listed: Vec<_> = page.items.iter().map(|(case, sla)| (case.id, sla.policy.as_deref())).collect();
    assert_eq!(listed, [(untracked, None), (tracked, Some("gold"))], "newest first, each with its own state");
    let plain = store.list_cases(&CaseQuery { limit: 10, ..CaseQuery::default() }).unwrap();
    assert_eq!(plain.items.iter().map(|c| c.id).collect::<Vec<_>>(), [untracked, tracked]);
}

fn identities_resolve_to_their_customer(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let input = CustomerInput {
        name: Some("Ann".into()),
        identities: vec![Identity::email("ann@example.com").unwrap(), Identity::chat("ann").unwrap()],
        ..CustomerInput::default()
    };
    let Ok(Outcome::Customer { customer, created: true, .. }) =
        run(store, &Command::UpsertCustomer { input, actor: Actor::System }, now)
    else {
        panic!("customer not created");
    };
    for identity in [Identity::email("ANN@example.com").unwrap(), Identity::chat("ann").unwrap()] {
        assert_eq!(store.customer_by_identity(&identity).unwrap().map(|c| c.id), Some(customer.id));
    }
    assert!(store.customer_by_identity(&Identity::chat("someone").unwrap()).unwrap().is_none());
}

fn timelines_are_in_commit_order(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let a = created(run(store, &new_case("a", "t@example.com"), now));
    let b = created(run(store, &new_case("b", "t@example.com"), now));
    let reply = |case_id| Command::AddMessage {
        case_id,
        kind: crate::write::command::MessageKind::Reply,
        body: "hi".into(),
        actor: Actor::Agent("x".into()),
    };
    run(store, &reply(a), now).unwrap();
    run(store, &reply(b), now).unwrap();
    let case = store.case(a).unwrap().unwrap();
    let events = store.case_events(a, None, 100).unwrap().items;
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|e| e.case_id == Some(a)));
    assert_eq!(
        crate::domain::projection::fold(&events).unwrap().as_ref(),
        Some(&case),
        "row is the fold of its events"
    );
    let page = store.case_events(a, None, 2).unwrap();
    assert_eq!(page.items.len(), 2);
    let rest = store.case_events(a, page.next, 100).unwrap();
    assert_eq!(rest.items, events[2..]);
    let timeline = store.customer_events(case.customer_id, None, 100).unwrap().items;
    assert!(timeline.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(timeline.iter().filter(|e| e.case_id == Some(b)).count(), 4);
}

fn timers_come_due_in_order(store: &dyn Store) {
    let t = |h: i64| at("2026-03-02T09:00:00Z").checked_add(SignedDuration::from_hours(h)).unwrap();
    store
        .transact(&mut |txn| {
            txn.set_timer(CaseId::new(2), TimerKind::AutoClose, Some(t(2)))?;
            txn.set_timer(CaseId::new(1), TimerKind::AutoClose, Some(t(1)))?;
            txn.set_timer(CaseId::new(3), TimerKind::AutoClose, Some(t(3)))?;
            // Moving a timer replaces it.
            txn.set_timer(CaseId::new(3), TimerKind::AutoClose, Some(t(5)))
        })
        .unwrap();
    assert_eq!(store.next_timer_at().unwrap(), Some(t(1)));
    let due: Vec<u64> = store.due_timers(t(3), 10).unwrap().iter().map(|d| d.case_id.get()).collect();
    assert_eq!(due, [1, 2]);
    store.transact(&mut |txn| txn.set_timer(CaseId::new(1), TimerKind::AutoClose, None)).unwrap();
    assert_eq!(store.next_timer_at().unwrap(), Some(t(2)));
    assert_eq!(store.due_timers(t(10), 10).unwrap().iter().map(|d| d.due_at).collect::<Vec<_>>(), [t(2), t(5)]);
}

fn tokens_and_idempotency_round_trip(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let token = Role::Agent.token("dana", "fd_secret", now);
    run(store, &Command::CreateToken(token.clone()), now).unwrap();
    assert_eq!(store.token_by_hash(&token.hash).unwrap(), Some(token.clone()));
    assert!(matches!(
        run(store, &Command::CreateToken(token), now),
        Err(CommandError::Refused(crate::write::command::Refusal::TokenNameTaken(_)))
    ));
    let record = IdempotencyRecord {
        request_hash: "h".into(),
        created_at: now,
        answer: crate::store::IdempotentAnswer::Rendered { status: 201, body: "{}".into() },
    };
    store.transact(&mut |txn| txn.put_idempotency("k", &record)).unwrap();
    assert_eq!(store.idempotency("k").unwrap(), Some(record));
    assert_eq!(store.idempotency("other").unwrap(), None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RedbStore;
    use crate::store::redb::tables::{CASE_INDEX, CUSTOMER_CASE, CUSTOMER_EVENTS};

    /// A file from before the customer's cases moved to `CUSTOMER_EVENTS`
    /// and unfiltered listings to `CASES` (rows `customer:N` and `all` in
    /// `CASE_INDEX`) lists the same cases once opened, without those rows.
    #[test]
    fn an_older_files_case_index_is_upgraded_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.redb");
        let now = at("2026-03-02T09:00:00Z");
        let (customer, cases) = {
            let store = RedbStore::open(&path).unwrap();
            let cases: Vec<CaseId> =
                (0..3).map(|i| created(run(&store, &new_case(&format!("c{i}"), "old@example.com"), now))).collect();
            (store.case(cases[0]).unwrap().unwrap().customer_id, cases)
        };
        {
            // Rewrite the file into the older layout.
            let db = redb::Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut by_customer = txn.open_table(CUSTOMER_EVENTS).unwrap();
                let mut index = txn.open_table(CASE_INDEX).unwrap();
                let key = format!("customer:{customer}");
                for case in &cases {
                    assert!(by_customer.remove((customer.get(), CUSTOMER_CASE | case.get())).unwrap().is_some());
                    index.insert((key.as_str(), case.get()), ()).unwrap();
                    index.insert(("all", case.get()), ()).unwrap();
                }
            }
            txn.commit().unwrap();
        }
        let store = RedbStore::open(&path).unwrap();
        let query = CaseQuery { customer: Some(customer), limit: 10, oldest_first: true, ..CaseQuery::default() };
        assert_eq!(store.list_cases(&query).unwrap().items.iter().map(|c| c.id).collect::<Vec<_>>(), cases);
        let all = CaseQuery { limit: 10, ..CaseQuery::default() };
        let newest_first: Vec<CaseId> = cases.iter().rev().copied().collect();
        assert_eq!(store.list_cases(&all).unwrap().items.iter().map(|c| c.id).collect::<Vec<_>>(), newest_first);
        drop(store);
        let db = redb::Database::create(&path).unwrap();
        let txn = redb::ReadableDatabase::begin_read(&db).unwrap();
        let index = txn.open_table(CASE_INDEX).unwrap();
        assert_eq!(index.range(("customer:", 0)..("customer;", 0)).unwrap().count(), 0, "old rows are gone");
        assert_eq!(index.range(("all", 0)..=("all", u64::MAX)).unwrap().count(), 0);
    }

    #[test]
    fn redb_store_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let counter = std::sync::atomic::AtomicUsize::new(0);
        super::run_all(&|| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Box::new(RedbStore::open(dir.path().join(format!("{n}.redb"))).unwrap())
        });
    }
}
