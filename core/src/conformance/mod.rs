//! The behaviour every [`Store`] backend must show, through the trait and
//! through the write path that uses it (which is why it sits above both). A
//! backend's tests call [`run_all`] with a function that opens a fresh,
//! empty store; redb's do so in `store/redb`.
//!
//! Every method of [`Store`] and [`WriteTxn`] is called by at least one check
//! that asserts on what it returns: [`COVERAGE`] says which, and a unit test
//! reads both traits from `store/mod.rs` and fails when a method has no entry
//! there, or when the check named does not call it. A method added to either
//! trait therefore comes with the check that states its contract. The checks
//! call [`Store`] methods on a value named `store` and [`WriteTxn`] methods on
//! one named `txn`, which is how that test tells `store.case(` from `txn.case(`.

#[cfg(test)]
mod redb;

use jiff::{SignedDuration, Timestamp};

use crate::auth::{Agent, Role, Session};
use crate::domain::ViewId;
use crate::domain::{Actor, Case, CaseId, CaseStatus, Event, EventBody, EventId, Identity, Metric, Priority};
use crate::metrics::{BacklogRow, Resolution};
use crate::sla::{CaseSla, SlaBook};
use crate::store::{
    CaseQuery, CaseSort, DuePosition, IdempotencyRecord, OutboxItem, SavedView, Sequence, SlaFilter, Store, StoreError,
    TimerKind, ViewFilters, WriteTxn,
};
use crate::write::ExecContext;
use crate::write::command::{CasePatch, Command, CommandError, CustomerInput, CustomerRef, NewCase, Outcome, Refusal};
use crate::write::context::PluginRoutes;
use crate::write::execute::execute;

/// Every method of [`Store`] (`"Store"`) and [`WriteTxn`] (`"WriteTxn"`),
/// with the check of [`run_all`] that calls it and asserts on its result.
/// Kept complete by a unit test; a method may have several checks, one is
/// named.
pub const COVERAGE: &[(&str, &str, &str)] = &[
    ("Store", "case", "timelines_are_in_commit_order"),
    ("Store", "case_sla", "failed_transactions_write_nothing"),
    ("Store", "list_cases", "listing_uses_indexes_that_follow_changes"),
    ("Store", "case_with_sla", "cases_are_read_with_their_sla_state"),
    ("Store", "list_cases_with_sla", "cases_are_read_with_their_sla_state"),
    ("Store", "count_cases", "queues_are_listed_and_counted"),
    ("Store", "case_events", "timelines_are_in_commit_order"),
    ("Store", "case_events_before", "timelines_are_in_commit_order"),
    ("Store", "events_after", "timelines_are_in_commit_order"),
    ("Store", "customer", "identities_resolve_to_their_customer"),
    ("Store", "customer_by_identity", "identities_resolve_to_their_customer"),
    ("Store", "customer_events", "listing_by_customer_pages_both_ways"),
    ("Store", "token_by_hash", "tokens_and_idempotency_round_trip"),
    ("Store", "tokens", "tokens_and_idempotency_round_trip"),
    ("Store", "idempotency", "tokens_and_idempotency_round_trip"),
    ("Store", "macros", "macros_round_trip_and_apply_in_one_commit"),
    ("Store", "agent", "agents_round_trip_with_unique_emails"),
    ("Store", "agent_by_email", "agents_round_trip_with_unique_emails"),
    ("Store", "agents", "agents_round_trip_with_unique_emails"),
    ("Store", "session", "sessions_round_trip_and_end_with_their_agent"),
    ("Store", "outreach_opened_at", "outreach_times_round_trip"),
    ("Store", "open_load", "changes_to_one_case_in_one_transaction_all_show"),
    ("Store", "due_timers", "timers_come_due_in_order"),
    ("Store", "next_timer_at", "timers_come_due_in_order"),
    ("Store", "metrics_input", "metrics_input_reads_the_window_and_the_backlog"),
    ("Store", "transact", "failed_transactions_write_nothing"),
    ("Store", "plugin_state", "plugin_state_is_per_plugin"),
    ("Store", "outbox_items", "outbox_items_come_back_in_id_order"),
    ("Store", "reads_wait", "reads_answer_alike_on_any_thread"),
    ("Store", "channel_ref", "channel_refs_point_at_their_case"),
    ("Store", "list_cases_by_sla_due", "cases_list_by_sla_due_soonest_first"),
    ("Store", "view", "views_are_seen_by_their_owner_or_everyone"),
    ("Store", "views_for", "views_are_seen_by_their_owner_or_everyone"),
    ("WriteTxn", "case", "rows_written_directly_read_back"),
    ("WriteTxn", "customer", "failed_transactions_write_nothing"),
    ("WriteTxn", "case_sla", "failed_transactions_write_nothing"),
    ("WriteTxn", "put_sla", "cases_are_read_with_their_sla_state"),
    ("WriteTxn", "set_case_index", "case_index_keys_are_set_and_cleared"),
    ("WriteTxn", "customer_id_by_identity", "identities_resolve_to_their_customer"),
    ("WriteTxn", "idempotency", "tokens_and_idempotency_round_trip"),
    ("WriteTxn", "token_named", "tokens_and_idempotency_round_trip"),
    ("WriteTxn", "token_by_hash", "tokens_and_idempotency_round_trip"),
    ("WriteTxn", "allocate", "rows_written_directly_read_back"),
    ("WriteTxn", "put_case", "rows_written_directly_read_back"),
    ("WriteTxn", "put_customer", "identities_resolve_to_their_customer"),
    ("WriteTxn", "append_event", "rows_written_directly_read_back"),
    ("WriteTxn", "put_idempotency", "tokens_and_idempotency_round_trip"),
    ("WriteTxn", "put_token", "tokens_and_idempotency_round_trip"),
    ("WriteTxn", "macro_named", "macros_round_trip_and_apply_in_one_commit"),
    ("WriteTxn", "put_macro", "macros_round_trip_and_apply_in_one_commit"),
    ("WriteTxn", "delete_macro", "macros_round_trip_and_apply_in_one_commit"),
    ("WriteTxn", "agent", "agents_round_trip_with_unique_emails"),
    ("WriteTxn", "agent_by_email", "agents_round_trip_with_unique_emails"),
    ("WriteTxn", "put_agent", "agents_round_trip_with_unique_emails"),
    ("WriteTxn", "session", "sessions_round_trip_and_end_with_their_agent"),
    ("WriteTxn", "put_session", "sessions_round_trip_and_end_with_their_agent"),
    ("WriteTxn", "remove_session", "sessions_round_trip_and_end_with_their_agent"),
    ("WriteTxn", "agent_sessions", "sessions_round_trip_and_end_with_their_agent"),
    ("WriteTxn", "remove_agent_sessions", "sessions_round_trip_and_end_with_their_agent"),
    ("WriteTxn", "record_resolution", "metrics_input_reads_the_window_and_the_backlog"),
    ("WriteTxn", "record_sla_outcome", "metrics_input_reads_the_window_and_the_backlog"),
    ("WriteTxn", "record_csat", "metrics_input_reads_the_window_and_the_backlog"),
    ("WriteTxn", "outreach_opened_at", "outreach_times_round_trip"),
    ("WriteTxn", "record_outreach", "outreach_times_round_trip"),
    ("WriteTxn", "open_load", "rows_written_directly_read_back"),
    ("WriteTxn", "enqueue_outbox", "outbox_items_come_back_in_id_order"),
    ("WriteTxn", "set_timer", "timers_come_due_in_order"),
    ("WriteTxn", "put_plugin_state", "plugin_state_is_per_plugin"),
    ("WriteTxn", "outbox_item", "outbox_items_come_back_in_id_order"),
    ("WriteTxn", "remove_outbox", "outbox_items_come_back_in_id_order"),
    ("WriteTxn", "channel_ref", "channel_refs_point_at_their_case"),
    ("WriteTxn", "set_channel_ref", "channel_refs_point_at_their_case"),
    ("WriteTxn", "set_sla_due", "cases_list_by_sla_due_soonest_first"),
    ("WriteTxn", "view", "views_are_seen_by_their_owner_or_everyone"),
    ("WriteTxn", "views_for", "views_are_seen_by_their_owner_or_everyone"),
    ("WriteTxn", "put_view", "views_are_seen_by_their_owner_or_everyone"),
    ("WriteTxn", "remove_view", "views_are_seen_by_their_owner_or_everyone"),
];

/// Runs every conformance check, each on a fresh store from `open`.
pub fn run_all(open: &dyn Fn() -> Box<dyn Store>) {
    failed_transactions_write_nothing(open().as_ref());
    listing_uses_indexes_that_follow_changes(open().as_ref());
    queues_are_listed_and_counted(open().as_ref());
    changes_to_one_case_in_one_transaction_all_show(open().as_ref());
    cursors_page_through_everything_once(open().as_ref());
    listing_by_customer_pages_both_ways(open().as_ref());
    identities_resolve_to_their_customer(open().as_ref());
    timelines_are_in_commit_order(open().as_ref());
    timers_come_due_in_order(open().as_ref());
    tokens_and_idempotency_round_trip(open().as_ref());
    macros_round_trip_and_apply_in_one_commit(open().as_ref());
    agents_round_trip_with_unique_emails(open().as_ref());
    sessions_round_trip_and_end_with_their_agent(open().as_ref());
    cases_are_read_with_their_sla_state(open().as_ref());
    rows_written_directly_read_back(open().as_ref());
    case_index_keys_are_set_and_cleared(open().as_ref());
    outbox_items_come_back_in_id_order(open().as_ref());
    plugin_state_is_per_plugin(open().as_ref());
    channel_refs_point_at_their_case(open().as_ref());
    outreach_times_round_trip(open().as_ref());
    metrics_input_reads_the_window_and_the_backlog(open().as_ref());
    reads_answer_alike_on_any_thread(open().as_ref());
    cases_list_by_sla_due_soonest_first(open().as_ref());
    sla_due_follows_the_clock_through_the_write_path(open().as_ref());
    views_are_seen_by_their_owner_or_everyone(open().as_ref());
}

/// A timestamp from RFC 3339 text.
pub(crate) fn at(text: &str) -> Timestamp {
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
pub(crate) fn run(store: &dyn Store, command: &Command, now: Timestamp) -> Result<Outcome, CommandError> {
    crate::write::execute::execute_alone(store, command, &ctx(now))
}

/// Creates a case for the customer with `email` (matched or created).
pub(crate) fn new_case(subject: &str, email: &str) -> Command {
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

/// The id of the case `outcome` created; panics on anything else.
pub(crate) fn created(outcome: Result<Outcome, CommandError>) -> CaseId {
    match outcome {
        Ok(Outcome::Case { case, .. }) => case.id,
        other => panic!("expected a case, got {other:?}"),
    }
}

/// An outbox item for `case`, queued at `now`.
fn outbox_item(id: u64, case: Option<CaseId>, now: Timestamp) -> OutboxItem {
    OutboxItem {
        id,
        kind: "notify".into(),
        target: format!("agent-{id}"),
        payload: serde_json::json!({ "case": case, "lines": ["a", "b"], "n": id }),
        case_id: case,
        created_at: now,
        attempts: 0,
        next_try_at: now,
        status: "pending".into(),
        customer_id: None,
        last_error: None,
    }
}

/// Nothing a failed transaction wrote is visible afterwards, whatever kind
/// of row it was, and its ids are never handed out twice.
fn failed_transactions_write_nothing(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let mut drawn = 0;
    let result = store.transact(&mut |txn| {
        drawn = txn.allocate(Sequence::Case)?;
        let outcome = execute(txn, &new_case("doomed", "a@example.com"), &ctx(now))
            .map_err(|e| StoreError::Inconsistent(e.to_string()))?;
        let doomed = created(Ok(outcome));
        txn.set_case_index(SlaFilter::Breached.index_key(), doomed, true)?;
        txn.set_timer(doomed, TimerKind::AutoClose, Some(now))?;
        let item = outbox_item(txn.allocate(Sequence::Outbox)?, Some(doomed), now);
        txn.enqueue_outbox(&item)?;
        txn.put_plugin_state("crm", "k", Some(b"v"))?;
        txn.set_channel_ref("msg|mail|1", doomed)?;
        txn.record_outreach("rule|1|hi", now)?;
        txn.put_token(&Role::Agent.token("doomed", "fd_doomed", now))?;
        let resolution =
            Resolution { case_id: doomed, created_at: now, solved_at: now, agent_replies: 1, reopen_count: 0 };
        txn.record_resolution(doomed, Some(&resolution))?;
        txn.record_sla_outcome(now, doomed, Metric::FirstResponse, 1, true)?;
        txn.record_csat(doomed, now, 5)?;
        Err(StoreError::Inconsistent("abort on purpose".into()))
    });
    assert!(result.is_err());
    assert!(store.list_cases(&CaseQuery { limit: 10, ..CaseQuery::default() }).unwrap().items.is_empty());
    assert!(store.customer_by_identity(&Identity::email("a@example.com").unwrap()).unwrap().is_none());
    let breached = CaseQuery { sla: Some(SlaFilter::Breached), limit: 10, ..CaseQuery::default() };
    assert!(store.list_cases(&breached).unwrap().items.is_empty());
    assert_eq!(store.next_timer_at().unwrap(), None);
    assert!(store.outbox_items(None, 10).unwrap().is_empty());
    assert_eq!(store.plugin_state("crm", "k").unwrap(), None);
    assert_eq!(store.channel_ref("msg|mail|1").unwrap(), None);
    assert_eq!(store.outreach_opened_at("rule|1|hi").unwrap(), None);
    assert!(store.tokens().unwrap().is_empty());
    let day = at("2026-03-02T00:00:00Z");
    let metrics = store.metrics_input(day, day.checked_add(SignedDuration::from_hours(24)).unwrap()).unwrap();
    assert!(metrics.resolutions.is_empty() && metrics.sla.is_empty() && metrics.csat.is_empty(), "{metrics:?}");
    assert!(metrics.backlog.is_empty() && metrics.reopened == 0, "{metrics:?}");
    let id = created(run(store, &new_case("kept", "a@example.com"), now));
    // A database sequence skips the ids of an aborted transaction and redb
    // draws them again; either way an id is never handed out twice.
    assert!(id.get() >= drawn, "ids grow: {id} after the aborted {drawn}");

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

/// The agents' queues (unsolved, mine, unassigned, a team's) list and count
/// the cases in them as they move between queues; counts of several queues
/// come from one snapshot and agree with their listings.
fn queues_are_listed_and_counted(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    for name in ["ida", "bo"] {
        run(store, &Command::CreateAgent(agent(name, now)), now).unwrap();
    }
    let a = created(run(store, &new_case("a", "a@example.com"), now));
    let b = created(run(store, &new_case("b", "b@example.com"), now));
    let c = created(run(store, &new_case("c", "c@example.com"), now));
    let assign = |id, who: &str, team: &str| {
        let patch =
            CasePatch { assignee: Some(Some(who.into())), team: Some(Some(team.into())), ..CasePatch::default() };
        run(store, &Command::UpdateCase { case_id: id, patch, actor: Actor::System }, now).unwrap();
    };
    assign(a, "ida", "billing");
    assign(b, "bo", "billing");
    let solve = CasePatch { status: Some(CaseStatus::Solved), ..CasePatch::default() };
    run(store, &Command::UpdateCase { case_id: b, patch: solve, actor: Actor::System }, now).unwrap();
    let queue = |q: CaseQuery| CaseQuery { unsolved: true, limit: 50, ..q };
    let queries = [
        queue(CaseQuery::default()),
        queue(CaseQuery { assignee: Some("ida".into()), ..CaseQuery::default() }),
        queue(CaseQuery { assignee: Some("bo".into()), ..CaseQuery::default() }),
        queue(CaseQuery { unassigned: true, ..CaseQuery::default() }),
        queue(CaseQuery { team: Some("billing".into()), ..CaseQuery::default() }),
        CaseQuery { status: Some(CaseStatus::Solved), limit: 50, ..CaseQuery::default() },
        CaseQuery { team: Some("billing".into()), limit: 50, ..CaseQuery::default() },
        CaseQuery { unassigned: true, limit: 50, ..CaseQuery::default() },
        CaseQuery { limit: 50, ..CaseQuery::default() },
        queue(CaseQuery { priority: Some(Priority::Normal), ..CaseQuery::default() }),
    ];
    let listed: Vec<Vec<CaseId>> =
        queries.iter().map(|q| store.list_cases(q).unwrap().items.iter().map(|c| c.id).collect()).collect();
    let expected: [&[CaseId]; 10] = [&[c, a], &[a], &[], &[c], &[a], &[b], &[b, a], &[c], &[c, b, a], &[c, a]];
    assert_eq!(listed, expected.map(<[CaseId]>::to_vec));
    let counts = store.count_cases(&queries).unwrap();
    assert_eq!(counts, expected.map(|ids| ids.len() as u64), "counts agree with the listings");
    // Reopened, then closed: in and out of the queues again.
    let reopen = CasePatch { status: Some(CaseStatus::Open), ..CasePatch::default() };
    run(store, &Command::UpdateCase { case_id: b, patch: reopen, actor: Actor::System }, now).unwrap();
    assert_eq!(store.count_cases(&queries[..3]).unwrap(), [3, 1, 1]);
    let unassign = CasePatch { assignee: Some(None), ..CasePatch::default() };
    run(store, &Command::UpdateCase { case_id: a, patch: unassign, actor: Actor::System }, now).unwrap();
    assert_eq!(store.count_cases(&[queries[1].clone(), queries[3].clone()]).unwrap(), [0, 2]);
    // A take checked against "unassigned" is refused once someone else took it.
    assign(c, "bo", "billing");
    let take = CasePatch {
        assignee: Some(Some("ida".into())),
        expected_assignee: Some(None),
        add_tags: vec!["taken".into()],
        ..CasePatch::default()
    };
    let refused = run(store, &Command::UpdateCase { case_id: c, patch: take, actor: Actor::Agent("ida".into()) }, now);
    assert!(
        matches!(&refused, Err(CommandError::Refused(crate::write::command::Refusal::AssigneeChanged { actual }))
            if actual.as_deref() == Some("bo")),
        "{refused:?}"
    );
    let row = store.case(c).unwrap().unwrap();
    assert_eq!((row.assignee.as_deref(), row.tags.contains("taken")), (Some("bo"), false), "nothing written");
}

/// A batch can create a case and change it again (its rules' edits, a second
/// message): each command sees the one before, and the stored row and its
/// indexes end as the last change left them.
fn changes_to_one_case_in_one_transaction_all_show(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    for name in ["ida", "bo"] {
        run(store, &Command::CreateAgent(agent(name, now)), now).unwrap();
    }
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
    assert_eq!(store.customer(customer.id).unwrap().as_ref(), Some(&customer));
    assert_eq!(store.customer(crate::domain::CustomerId::new(9_999)).unwrap(), None);

    // An identity added by a write resolves at once inside its transaction.
    let phone = Identity::phone("+1 555 010 9999").unwrap();
    let mut grown = customer.clone();
    grown.identities.push(phone.clone());
    store
        .transact(&mut |txn| {
            assert_eq!(txn.customer_id_by_identity(&Identity::chat("ann").unwrap())?, Some(customer.id));
            assert_eq!(txn.customer_id_by_identity(&phone)?, None);
            txn.put_customer(&grown)?;
            assert_eq!(txn.customer_id_by_identity(&phone)?, Some(customer.id));
            Ok(())
        })
        .unwrap();
    assert_eq!(store.customer_by_identity(&phone).unwrap().as_ref(), Some(&grown));
    assert_eq!(store.customer(customer.id).unwrap().as_ref(), Some(&grown), "the row follows its write");
}

fn timelines_are_in_commit_order(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let a = created(run(store, &new_case("a", "t@example.com"), now));
    let b = created(run(store, &new_case("b", "t@example.com"), now));
    let reply = |case_id| Command::AddMessage {
        idempotency: None,
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
    let newest = store.case_events_before(a, None, 3).unwrap();
    let newest_first: Vec<Event> = events.iter().rev().cloned().collect();
    assert_eq!(newest.items, newest_first[..3], "the newest page, newest first");
    let older = store.case_events_before(a, newest.next, 3).unwrap();
    assert_eq!(older.items, newest_first[3..], "the rest, before the cursor");
    assert_eq!(older.next, None);
    assert_eq!(store.case_events_before(a, Some(events[0].id), 3).unwrap().items, [], "nothing before the first");
    let timeline = store.customer_events(case.customer_id, None, 100).unwrap().items;
    assert!(timeline.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(timeline.iter().filter(|e| e.case_id == Some(b)).count(), 4);
    // The feed over everything: commit order, pages that neither skip nor repeat.
    let all = store.events_after(None, 1000).unwrap();
    assert_eq!(all.next, None);
    assert!(all.items.windows(2).all(|w| w[0].id < w[1].id), "in commit order");
    assert!(timeline.iter().all(|e| all.items.contains(e)), "every event of the customer is in the feed");
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.events_after(cursor, 3).unwrap();
        paged.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(paged, all.items);
    let last = all.items.last().map(|e| e.id);
    assert_eq!(store.events_after(last, 10).unwrap().items, [], "nothing after the newest");
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

/// An active agent named `name` with the email `<name>@example.com`.
pub(crate) fn agent(name: &str, now: Timestamp) -> Agent {
    Agent {
        name: name.into(),
        email: format!("{name}@example.com"),
        role: Role::Agent,
        teams: vec!["support".into()],
        password_hash: "$argon2id$v=19$conformance".into(),
        active: true,
        created_at: now,
    }
}

/// Agents read back by name and by email; an email belongs to one agent,
/// and a changed email frees the old one.
fn agents_round_trip_with_unique_emails(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let sam = agent("sam", now);
    run(store, &Command::CreateAgent(Agent { email: "SAM@Example.com".into(), ..sam.clone() }), now).unwrap();
    assert_eq!(store.agent("sam").unwrap(), Some(sam.clone()), "stored with its email lower case");
    assert_eq!(store.agent_by_email("sam@example.com").unwrap(), Some(sam.clone()));
    assert_eq!(store.agent("nobody").unwrap(), None);
    assert_eq!(store.agent_by_email("nobody@example.com").unwrap(), None);
    let refused = |command: Command| match run(store, &command, now) {
        Err(CommandError::Refused(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(matches!(refused(Command::CreateAgent(sam.clone())), Refusal::AgentExists(_)));
    let bea = Agent { name: "bea".into(), ..sam.clone() };
    assert!(matches!(refused(Command::CreateAgent(bea)), Refusal::EmailTaken(_)));
    store
        .transact(&mut |txn| {
            assert_eq!(txn.agent("sam")?.map(|a| a.email), Some("sam@example.com".into()));
            let moved = Agent { email: "samuel@example.com".into(), ..sam.clone() };
            txn.put_agent(&moved)?;
            assert_eq!(txn.agent_by_email("samuel@example.com")?.map(|a| a.name), Some("sam".into()));
            assert_eq!(txn.agent_by_email("sam@example.com")?, None, "the old email is free");
            txn.put_agent(&agent("bea", now))?;
            Ok(())
        })
        .unwrap();
    assert_eq!(store.agent_by_email("sam@example.com").unwrap(), None);
    let names: Vec<String> = store.agents().unwrap().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["bea", "sam"], "every agent, by name");
    let update = |email: &str| Command::UpdateAgent {
        name: "bea".into(),
        password_hash: None,
        role: None,
        teams: None,
        active: None,
        email: Some(email.into()),
    };
    assert!(matches!(refused(update("Samuel@example.com")), Refusal::EmailTaken(_)));
    assert!(matches!(run(store, &update("bea@example.com"), now), Ok(Outcome::Agent(_))), "its own email");
    let ghost = Command::UpdateAgent {
        name: "ghost".into(),
        password_hash: None,
        role: None,
        teams: None,
        active: Some(false),
        email: None,
    };
    assert!(matches!(refused(ghost), Refusal::AgentNotFound(_)));
}

/// Sessions read back by hash, touch and end; a new password or
/// deactivation ends every session of the agent, and no one else's.
fn sessions_round_trip_and_end_with_their_agent(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    for name in ["sam", "bea"] {
        run(store, &Command::CreateAgent(agent(name, now)), now).unwrap();
    }
    let session = |hash: &str, agent: &str| Session {
        hash: hash.into(),
        agent: agent.into(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + SignedDuration::from_hours(12),
    };
    for (hash, who) in [("s1", "sam"), ("s2", "sam"), ("b1", "bea")] {
        let started = run(store, &Command::StartSession(session(hash, who)), now).unwrap();
        assert!(matches!(started, Outcome::Session(ref s) if s.hash == hash), "{started:?}");
    }
    assert_eq!(store.session("s1").unwrap(), Some(session("s1", "sam")));
    assert_eq!(store.session("nope").unwrap(), None);
    let later = now + SignedDuration::from_mins(5);
    run(store, &Command::TouchSession { hash: "s1".into(), at: later }, later).unwrap();
    assert_eq!(store.session("s1").unwrap().map(|s| s.last_seen_at), Some(later));
    assert!(matches!(
        run(store, &Command::TouchSession { hash: "gone".into(), at: later }, later),
        Ok(Outcome::Nothing)
    ));
    assert!(matches!(
        run(store, &Command::StartSession(session("x", "ghost")), now),
        Err(CommandError::Refused(Refusal::AgentNotFound(_)))
    ));
    store
        .transact(&mut |txn| {
            let mut hashes: Vec<String> = txn.agent_sessions("sam")?.into_iter().map(|s| s.hash).collect();
            hashes.sort();
            assert_eq!(hashes, ["s1", "s2"]);
            assert_eq!(txn.session("b1")?.map(|s| s.agent), Some("bea".into()));
            txn.put_session(&session("s3", "sam"))?;
            txn.remove_session("s2")?;
            txn.remove_session("never there")?;
            assert_eq!(txn.agent_sessions("sam")?.len(), 2, "s1 and s3");
            Ok(())
        })
        .unwrap();
    assert_eq!(store.session("s2").unwrap(), None);
    run(store, &Command::EndSession { hash: "s3".into() }, now).unwrap();
    assert_eq!(store.session("s3").unwrap(), None);
    let deactivate = Command::UpdateAgent {
        name: "sam".into(),
        password_hash: None,
        role: None,
        teams: None,
        active: Some(false),
        email: None,
    };
    run(store, &deactivate, now).unwrap();
    assert_eq!(store.session("s1").unwrap(), None, "deactivation signs the agent out");
    assert!(store.session("b1").unwrap().is_some(), "other agents stay signed in");
    assert!(matches!(
        run(store, &Command::StartSession(session("s4", "sam")), now),
        Err(CommandError::Refused(Refusal::AgentInactive(_)))
    ));
    let new_password = Command::UpdateAgent {
        name: "bea".into(),
        password_hash: Some("$argon2id$v=19$new".into()),
        role: None,
        teams: None,
        active: None,
        email: None,
    };
    run(store, &new_password, now).unwrap();
    assert_eq!(store.session("b1").unwrap(), None, "a new password signs the agent out");
    store
        .transact(&mut |txn| {
            txn.put_session(&session("b2", "bea"))?;
            txn.put_session(&session("b3", "bea"))?;
            assert_eq!(txn.remove_agent_sessions("bea")?, 2);
            assert_eq!(txn.remove_agent_sessions("bea")?, 0);
            Ok(())
        })
        .unwrap();
    assert_eq!(store.session("b2").unwrap(), None);
}

fn tokens_and_idempotency_round_trip(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let token = Role::Agent.token("dana", "fd_secret", now);
    run(store, &Command::CreateToken(token.clone()), now).unwrap();
    assert_eq!(store.token_by_hash(&token.hash).unwrap(), Some(token.clone()));
    assert!(matches!(
        run(store, &Command::CreateToken(token.clone()), now),
        Err(CommandError::Refused(crate::write::command::Refusal::TokenNameTaken(_)))
    ));
    let other = Role::Integration.token("eve", "fd_other", now);
    store
        .transact(&mut |txn| {
            assert_eq!(txn.token_named("dana")?.map(|t| t.hash), Some(token.hash.clone()));
            assert_eq!(txn.token_named("eve")?, None);
            txn.put_token(&other)?;
            assert_eq!(txn.token_named("eve")?.as_ref(), Some(&other), "a token written in the transaction counts");
            assert_eq!(txn.token_by_hash(&other.hash)?.as_ref(), Some(&other));
            Ok(())
        })
        .unwrap();
    assert_eq!(store.token_by_hash(&other.hash).unwrap().as_ref(), Some(&other));
    assert_eq!(store.token_by_hash("no such hash").unwrap(), None);
    let mut all = store.tokens().unwrap();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(all, [token, other], "every token, in any order");

    let record = IdempotencyRecord {
        request_hash: "h".into(),
        created_at: now,
        answer: crate::store::IdempotentAnswer::Rendered { status: 201, body: "{}".into() },
    };
    store
        .transact(&mut |txn| {
            assert_eq!(txn.idempotency("k")?, None);
            txn.put_idempotency("k", &record)?;
            assert_eq!(txn.idempotency("k")?.as_ref(), Some(&record), "seen inside its transaction");
            Ok(())
        })
        .unwrap();
    assert_eq!(store.idempotency("k").unwrap(), Some(record));
    assert_eq!(store.idempotency("other").unwrap(), None);
}

/// Macros read back by name and as a list; applying one writes its
/// `macro_applied` event, message and changes in one commit with one cause,
/// and a refused application writes nothing.
fn macros_round_trip_and_apply_in_one_commit(store: &dyn Store) {
    use crate::domain::{Macro, MacroAssignee, MacroMessage, MacroMessageKind};
    let now = at("2026-03-02T09:00:00Z");
    run(store, &Command::CreateAgent(agent("sam", now)), now).unwrap();
    let record = Macro {
        name: "waiting".into(),
        title: "Ask for the order number".into(),
        message: Some(MacroMessage {
            kind: MacroMessageKind::Reply,
            body: "Hi {{customer.first_name | there}}, which order is it?".into(),
        }),
        status: Some(CaseStatus::Pending),
        priority: None,
        assignee: Some(MacroAssignee::Me),
        add_tags: vec!["needs-order".into()],
        remove_tags: Vec::new(),
        fields: Default::default(),
        created_by: "lea".into(),
        created_at: now,
        updated_by: "lea".into(),
        updated_at: now,
    };
    run(store, &Command::CreateMacro(record.clone()), now).unwrap();
    assert!(matches!(
        run(store, &Command::CreateMacro(record.clone()), now),
        Err(CommandError::Refused(Refusal::MacroNameTaken(_)))
    ));
    let mut unknown = record.clone();
    unknown.name = "bad".into();
    unknown.message = Some(MacroMessage { kind: MacroMessageKind::Note, body: "{{case.nope}}".into() });
    assert!(matches!(run(store, &Command::CreateMacro(unknown), now), Err(CommandError::Refused(Refusal::Invalid(_)))));
    assert_eq!(store.macros().unwrap(), [record.clone()]);

    let case_id = created(run(store, &new_case("Where is my parcel?", "pat@example.com"), now));
    let apply = |case_id| Command::ApplyMacro {
        case_id,
        name: "waiting".into(),
        actor: Actor::Agent("sam".into()),
        may_reassign: false,
        idempotency: None,
    };
    let Ok(Outcome::Case { case, events, .. }) = run(store, &apply(case_id), now) else { panic!("a case") };
    assert_eq!((case.status, case.assignee.as_deref()), (CaseStatus::Pending, Some("sam")));
    assert!(case.tags.contains("needs-order"));
    let EventBody::MacroApplied { name, title } = &events[0].body else { panic!("macro_applied first: {events:?}") };
    assert_eq!((name.as_str(), title.as_str()), ("waiting", "Ask for the order number"));
    assert_eq!(events[1].body, EventBody::ReplySent { body: "Hi there, which order is it?".into() });
    assert!(
        events[1..].iter().filter(|e| e.actor != Actor::System).all(|e| e.caused_by == Some(events[0].id)),
        "every change names the macro: {events:?}"
    );
    let timeline = store.case_events(case_id, None, 100).unwrap().items;
    assert_eq!(&timeline[timeline.len() - events.len()..], &events[..], "stored as answered");

    // Someone else holds the second case: without reassign nothing is written.
    let other = created(run(store, &new_case("Broken lid", "kim@example.com"), now));
    run(store, &Command::CreateAgent(agent("bea", now)), now).unwrap();
    let give = CasePatch { assignee: Some(Some("bea".into())), ..CasePatch::default() };
    run(store, &Command::UpdateCase { case_id: other, patch: give, actor: Actor::System }, now).unwrap();
    let before = store.case_events(other, None, 100).unwrap().items.len();
    assert!(matches!(
        run(store, &apply(other), now),
        Err(CommandError::Refused(Refusal::ReassignNotAllowed { actual: Some(_) }))
    ));
    assert_eq!(store.case_events(other, None, 100).unwrap().items.len(), before, "a refused macro writes nothing");

    let mut edited = record.clone();
    edited.title = "Ask which order".into();
    edited.created_by = "someone else".into();
    let Ok(Outcome::Macro(stored)) = run(store, &Command::UpdateMacro(edited), now) else { panic!("a macro") };
    assert_eq!((stored.title.as_str(), stored.created_by.as_str()), ("Ask which order", "lea"));
    store
        .transact(&mut |txn| {
            assert_eq!(txn.macro_named("waiting")?.map(|m| m.title), Some("Ask which order".into()));
            let mut note = record.clone();
            note.name = "direct".into();
            txn.put_macro(&note)?;
            assert_eq!(txn.macro_named("direct")?.as_ref(), Some(&note), "seen inside its transaction");
            txn.delete_macro("direct")?;
            assert_eq!(txn.macro_named("direct")?, None);
            Ok(())
        })
        .unwrap();
    run(store, &Command::DeleteMacro { name: "waiting".into() }, now).unwrap();
    assert!(store.macros().unwrap().is_empty());
    assert!(matches!(
        run(store, &Command::DeleteMacro { name: "waiting".into() }, now),
        Err(CommandError::Refused(Refusal::MacroNotFound(_)))
    ));
    assert!(matches!(run(store, &apply(case_id), now), Err(CommandError::Refused(Refusal::MacroNotFound(_)))));
}

/// Rows written through the trait itself, not the write path, read back
/// inside their transaction and after it, with their derived rows (indexes,
/// open load) in step; ids of one sequence only grow.
fn rows_written_directly_read_back(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let id = created(run(store, &new_case("direct", "d@example.com"), now));
    let stored = store.case(id).unwrap().expect("the case");
    let mut renamed = stored.clone();
    renamed.subject = "renamed".into();
    renamed.assignee = Some("kim".into());
    renamed.tags.insert("direct".into());
    let mut drawn = Vec::new();
    let mut note = None;
    store
        .transact(&mut |txn| {
            for _ in 0..3 {
                drawn.push(txn.allocate(Sequence::Event)?);
            }
            let previous = txn.case(id)?.expect("the stored case");
            assert_eq!(previous, stored);
            assert_eq!(txn.open_load("kim")?, 0);
            txn.put_case(Some(&previous), &renamed)?;
            assert_eq!(txn.case(id)?.as_ref(), Some(&renamed), "a case reads back inside its transaction");
            assert_eq!(txn.open_load("kim")?, 1, "the open load follows inside the transaction");
            let event = Event {
                id: EventId::new(txn.allocate(Sequence::Event)?),
                case_id: Some(id),
                customer_id: stored.customer_id,
                at: now,
                actor: Actor::System,
                caused_by: None,
                body: EventBody::NoteAdded { body: "written directly".into() },
            };
            txn.append_event(&event)?;
            note = Some(event);
            Ok(())
        })
        .unwrap();
    assert!(drawn.windows(2).all(|w| w[0] < w[1]), "ids grow in draw order: {drawn:?}");
    let note = note.expect("the event");
    assert!(note.id.get() > drawn[2]);
    assert_eq!(store.case(id).unwrap().as_ref(), Some(&renamed));
    assert_eq!(store.open_load("kim").unwrap(), 1);
    let tagged = store.list_cases(&CaseQuery { tag: Some("direct".into()), limit: 10, ..CaseQuery::default() });
    assert_eq!(tagged.unwrap().items, [renamed.clone()], "the indexes follow a direct write");
    assert_eq!(store.case_events(id, None, 100).unwrap().items.last(), Some(&note));
    assert_eq!(store.customer_events(stored.customer_id, None, 100).unwrap().items.last(), Some(&note));
    let mut next = 0;
    store
        .transact(&mut |txn| {
            next = txn.allocate(Sequence::Event)?;
            Ok(())
        })
        .unwrap();
    assert!(next > note.id.get(), "a later transaction draws a later id");
}

/// Index keys the write path sets besides the row's own (`sla:breached`,
/// `sla:at_risk`) list their cases until cleared; setting one twice lists
/// the case once.
fn case_index_keys_are_set_and_cleared(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let a = created(run(store, &new_case("a", "a@example.com"), now));
    let b = created(run(store, &new_case("b", "b@example.com"), now));
    let listed = |sla: SlaFilter| -> Vec<CaseId> {
        let query = CaseQuery { sla: Some(sla), limit: 10, ..CaseQuery::default() };
        store.list_cases(&query).unwrap().items.iter().map(|c| c.id).collect()
    };
    store
        .transact(&mut |txn| {
            txn.set_case_index(SlaFilter::Breached.index_key(), a, true)?;
            txn.set_case_index(SlaFilter::Breached.index_key(), a, true)?;
            txn.set_case_index(SlaFilter::AtRisk.index_key(), b, true)?;
            txn.set_case_index(SlaFilter::AtRisk.index_key(), a, false)
        })
        .unwrap();
    assert_eq!(listed(SlaFilter::Breached), [a]);
    assert_eq!(listed(SlaFilter::AtRisk), [b]);
    store.transact(&mut |txn| txn.set_case_index(SlaFilter::Breached.index_key(), a, false)).unwrap();
    assert_eq!(listed(SlaFilter::Breached), []);
    assert_eq!(listed(SlaFilter::AtRisk), [b]);
}

/// Outbox items come back as queued, in id order after `after`, at most
/// `limit`; queueing an id again replaces its item (a retry), and removing
/// one removes it.
fn outbox_items_come_back_in_id_order(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let case = created(run(store, &new_case("a", "a@example.com"), now));
    let mut items = Vec::new();
    store
        .transact(&mut |txn| {
            let ids =
                [txn.allocate(Sequence::Outbox)?, txn.allocate(Sequence::Outbox)?, txn.allocate(Sequence::Outbox)?];
            items = ids.iter().map(|id| outbox_item(*id, Some(case), now)).collect();
            items[2].case_id = None;
            // Queued out of order: the listing orders them.
            for item in items.iter().rev() {
                txn.enqueue_outbox(item)?;
            }
            assert_eq!(txn.outbox_item(items[1].id)?.as_ref(), Some(&items[1]), "seen inside its transaction");
            Ok(())
        })
        .unwrap();
    let ids = |after, limit| -> Vec<u64> { store.outbox_items(after, limit).unwrap().iter().map(|i| i.id).collect() };
    assert_eq!(store.outbox_items(None, 10).unwrap(), items);
    assert_eq!(ids(Some(items[0].id), 10), [items[1].id, items[2].id]);
    assert_eq!(ids(None, 2), [items[0].id, items[1].id]);
    assert_eq!(ids(Some(items[2].id), 10), Vec::<u64>::new());

    let mut retried = items[1].clone();
    retried.attempts = 1;
    retried.next_try_at = now.checked_add(SignedDuration::from_mins(5)).unwrap();
    retried.last_error = Some("timeout".into());
    store
        .transact(&mut |txn| {
            assert_eq!(txn.outbox_item(items[0].id)?.as_ref(), Some(&items[0]));
            txn.remove_outbox(items[0].id)?;
            assert_eq!(txn.outbox_item(items[0].id)?, None, "removed inside its transaction");
            txn.enqueue_outbox(&retried)?;
            assert_eq!(txn.outbox_item(u64::MAX - 1)?, None);
            Ok(())
        })
        .unwrap();
    assert_eq!(store.outbox_items(None, 10).unwrap(), [retried, items[2].clone()]);
}

/// A plugin's key-value state is its own: the same key of another plugin is
/// another entry, an empty value is a value, and `None` deletes.
fn plugin_state_is_per_plugin(store: &dyn Store) {
    store
        .transact(&mut |txn| {
            txn.put_plugin_state("crm", "cursor", Some(b"41"))?;
            txn.put_plugin_state("health", "cursor", Some(b"7"))?;
            txn.put_plugin_state("crm", "empty", Some(b""))?;
            txn.put_plugin_state("crm", "cursor", Some(b"42"))
        })
        .unwrap();
    assert_eq!(store.plugin_state("crm", "cursor").unwrap().as_deref(), Some(&b"42"[..]), "the last write wins");
    assert_eq!(store.plugin_state("health", "cursor").unwrap().as_deref(), Some(&b"7"[..]));
    assert_eq!(store.plugin_state("crm", "empty").unwrap(), Some(Vec::new()));
    assert_eq!(store.plugin_state("crm", "missing").unwrap(), None);
    assert_eq!(store.plugin_state("other", "cursor").unwrap(), None);
    store.transact(&mut |txn| txn.put_plugin_state("crm", "cursor", None)).unwrap();
    assert_eq!(store.plugin_state("crm", "cursor").unwrap(), None);
    assert_eq!(store.plugin_state("health", "cursor").unwrap().as_deref(), Some(&b"7"[..]), "only that plugin's");
    assert_eq!(store.plugin_state("crm", "empty").unwrap(), Some(Vec::new()));
}

/// A read answers the same on whichever thread runs it, so the runtime may
/// run it in place or on its blocking pool as [`Store::reads_wait`] says;
/// that answer is the store's, fixed for its life.
fn reads_answer_alike_on_any_thread(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let id = created(run(store, &new_case("anywhere", "t@example.com"), now));
    let mode = store.reads_wait();
    let here = store.case_with_sla(id).unwrap();
    let there = std::thread::scope(|s| s.spawn(|| store.case_with_sla(id).unwrap()).join().unwrap());
    assert!(here.is_some());
    assert_eq!(here, there, "a read on another thread sees the same snapshot");
    assert_eq!(store.reads_wait(), mode, "a store's read mode does not change");
}

/// A channel reference points at the case it was last set to, inside its
/// transaction and after.
fn channel_refs_point_at_their_case(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let a = created(run(store, &new_case("a", "a@example.com"), now));
    let b = created(run(store, &new_case("b", "b@example.com"), now));
    store
        .transact(&mut |txn| {
            assert_eq!(txn.channel_ref("msg|mail|<1@x>")?, None);
            txn.set_channel_ref("msg|mail|<1@x>", a)?;
            txn.set_channel_ref("thread|chat|t-9", a)?;
            assert_eq!(txn.channel_ref("msg|mail|<1@x>")?, Some(a), "seen inside its transaction");
            txn.set_channel_ref("thread|chat|t-9", b)
        })
        .unwrap();
    assert_eq!(store.channel_ref("msg|mail|<1@x>").unwrap(), Some(a));
    assert_eq!(store.channel_ref("thread|chat|t-9").unwrap(), Some(b), "pointed again, it points at the new case");
    assert_eq!(store.channel_ref("thread|chat|other").unwrap(), None);
    store
        .transact(&mut |txn| {
            assert_eq!(txn.channel_ref("thread|chat|t-9")?, Some(b), "and in a later transaction");
            Ok(())
        })
        .unwrap();
}

/// When an outreach was last opened comes back to the millisecond, inside
/// its transaction and after; recording it again replaces it.
fn outreach_times_round_trip(store: &dyn Store) {
    let first = at("2026-03-02T09:00:00.250Z");
    let again = at("2026-03-09T10:30:00.001Z");
    let key = "rules/outreach.rhai|7|Renewal";
    store
        .transact(&mut |txn| {
            assert_eq!(txn.outreach_opened_at(key)?, None);
            txn.record_outreach(key, first)?;
            assert_eq!(txn.outreach_opened_at(key)?, Some(first), "seen inside its transaction");
            Ok(())
        })
        .unwrap();
    assert_eq!(store.outreach_opened_at(key).unwrap(), Some(first));
    assert_eq!(store.outreach_opened_at("rules/outreach.rhai|8|Renewal").unwrap(), None);
    store.transact(&mut |txn| txn.record_outreach(key, again)).unwrap();
    assert_eq!(store.outreach_opened_at(key).unwrap(), Some(again));
}

/// `metrics_input(from, to)` returns each case's latest resolution, the SLA
/// outcomes and each case's latest rating dated in `[from, to)`, in any
/// order, and the backlog as it is now: unsolved cases by creation day and
/// status, and how many of them were reopened, kept in step by `put_case`.
fn metrics_input_reads_the_window_and_the_backlog(store: &dyn Store) {
    let created_at = at("2026-03-01T10:00:00Z");
    let (from, to) = (at("2026-03-02T00:00:00Z"), at("2026-03-03T00:00:00Z"));
    let (before, inside, later) = (at("2026-03-01T23:59:59Z"), at("2026-03-02T12:00:00Z"), at("2026-03-02T18:00:00Z"));
    let cases: Vec<CaseId> =
        (0..5).map(|i| created(run(store, &new_case(&format!("c{i}"), "m@example.com"), created_at))).collect();
    let [a, b, c, d, e] = cases[..] else { unreachable!() };
    let resolved = |case: CaseId, solved_at: Timestamp, agent_replies: u32| Resolution {
        case_id: case,
        created_at,
        solved_at,
        agent_replies,
        reopen_count: 0,
    };
    store
        .transact(&mut |txn| {
            // The backlog: a and e stay new, b pending, c open again after a
            // reopen, d solved (no longer backlog).
            let edit = |txn: &mut dyn WriteTxn, case: CaseId, change: &dyn Fn(&mut Case)| {
                let previous = txn.case(case)?.expect("the case");
                let mut next = previous.clone();
                change(&mut next);
                txn.put_case(Some(&previous), &next)
            };
            edit(txn, b, &|case| case.status = CaseStatus::Pending)?;
            edit(txn, c, &|case| {
                case.status = CaseStatus::Open;
                case.reopen_count = 1;
            })?;
            edit(txn, d, &|case| case.status = CaseStatus::Solved)?;

            txn.record_resolution(a, Some(&resolved(a, from, 1)))?;
            txn.record_resolution(b, Some(&resolved(b, before, 1)))?;
            txn.record_resolution(c, Some(&resolved(c, inside, 1)))?;
            txn.record_resolution(c, Some(&resolved(c, later, 2)))?;
            txn.record_resolution(d, Some(&resolved(d, to, 1)))?;
            txn.record_resolution(e, Some(&resolved(e, inside, 1)))?;
            txn.record_resolution(e, None)?;

            txn.record_sla_outcome(inside, a, Metric::FirstResponse, 1, true)?;
            txn.record_sla_outcome(later, b, Metric::Resolution, 1, false)?;
            txn.record_sla_outcome(before, c, Metric::FirstResponse, 1, false)?;
            txn.record_sla_outcome(to, a, Metric::NextResponse, 2, true)?;

            txn.record_csat(a, inside, 5)?;
            txn.record_csat(a, later, 3)?;
            txn.record_csat(b, before, 1)?;
            txn.record_csat(c, from, 4)
        })
        .unwrap();
    let mut input = store.metrics_input(from, to).unwrap();
    input.resolutions.sort_by_key(|r| r.case_id);
    assert_eq!(input.resolutions, [resolved(a, from, 1), resolved(c, later, 2)], "latest, from inclusive, to not");
    input.sla.sort();
    assert_eq!(input.sla, [(Metric::FirstResponse, true), (Metric::Resolution, false)]);
    input.csat.sort_unstable();
    assert_eq!(input.csat, [3, 4], "each case's latest rating in the window");
    input.backlog.sort_by_key(|row| (row.created_day, row.status));
    let day = created_at.as_second().div_euclid(86_400);
    let row = |status, count| BacklogRow { created_day: day, status, count };
    assert_eq!(
        input.backlog,
        [row(CaseStatus::New, 2), row(CaseStatus::Open, 1), row(CaseStatus::Pending, 1)],
        "unsolved cases only"
    );
    assert_eq!(input.reopened, 1);

    let earlier = store.metrics_input(before, from).unwrap();
    assert_eq!(earlier.resolutions, [resolved(b, before, 1)]);
    assert_eq!((earlier.sla, earlier.csat), (vec![(Metric::FirstResponse, false)], vec![1]));
    let empty = store.metrics_input(inside, inside).unwrap();
    assert!(empty.resolutions.is_empty() && empty.sla.is_empty() && empty.csat.is_empty(), "an empty window");
}

/// A 24x7 policy: first response in an hour (ten minutes when high),
/// resolution in four hours (one when high).
pub(crate) fn sla_book() -> SlaBook {
    let config: crate::sla::SlaConfig = serde_json::from_value(serde_json::json!({"policies": [{
        "name": "std", "calendar": "24x7",
        "targets": {"normal": {"first_response": "1h", "resolution": "4h"},
                    "high": {"first_response": "10m", "resolution": "1h"}}}]}))
    .expect("a valid policy");
    SlaBook::new(&Default::default(), &config).expect("a valid book")
}

/// Executes one command in its own transaction with the SLA clock of `book`.
pub(crate) fn run_on_clock(store: &dyn Store, command: &Command, now: Timestamp, book: &SlaBook) -> Outcome {
    let ctx = ExecContext { sla: book, ..ctx(now) };
    crate::write::execute::execute_alone(store, command, &ctx).expect("the command commits")
}

/// Every page of `query` by SLA due, `limit` cases each, as case ids. A
/// page the scan found nothing more for (the last, typically) is left out.
fn sla_due_pages(store: &dyn Store, query: &CaseQuery) -> Vec<Vec<CaseId>> {
    let (mut pages, mut after) = (Vec::new(), None);
    loop {
        let page = store.list_cases_by_sla_due(query, after).unwrap();
        if !page.items.is_empty() {
            pages.push(page.items.iter().map(|(case, _)| case.id).collect());
        }
        match page.next {
            Some(next) => {
                assert_eq!(next.to_string().parse::<DuePosition>().unwrap(), next, "cursors survive as text");
                after = Some(next);
            }
            None => return pages,
        }
        assert!(pages.len() < 100, "paging ends");
    }
}

/// Cases with a deadline come soonest first (ties by id), then the ones
/// without, newest first; pages continue where they stopped; a moved or
/// cleared deadline moves the case; filters apply throughout.
fn cases_list_by_sla_due_soonest_first(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let ids: Vec<CaseId> =
        (0..6).map(|i| created(run(store, &new_case(&format!("c{i}"), "d@example.com"), now))).collect();
    let [a, b, c, d, e, f] = ids[..] else { unreachable!() };
    let team = CasePatch { team: Some(Some("billing".into())), ..CasePatch::default() };
    for id in [a, c, d] {
        run(store, &Command::UpdateCase { case_id: id, patch: team.clone(), actor: Actor::System }, now).unwrap();
    }
    store
        .transact(&mut |txn| {
            txn.set_sla_due(a, Some(at("2026-03-02T10:00:00Z")))?;
            txn.set_sla_due(b, Some(at("2026-03-02T09:30:00Z")))?;
            txn.set_sla_due(c, Some(at("2026-03-02T10:00:00Z")))?;
            txn.set_sla_due(e, Some(at("2026-03-02T09:00:00Z")))?;
            // Set twice in one transaction: the second wins.
            txn.set_sla_due(e, Some(at("2026-03-02T11:00:00Z")))
        })
        .unwrap();
    let all = CaseQuery { limit: 2, ..CaseQuery::default() };
    assert_eq!(sla_due_pages(store, &all), [vec![b, a], vec![c, e], vec![f, d]], "dated, ties by id, then undated");
    let one_page = CaseQuery { limit: 50, ..CaseQuery::default() };
    let page = store.list_cases_by_sla_due(&one_page, None).unwrap();
    assert_eq!(page.items.iter().map(|(case, _)| case.id).collect::<Vec<_>>(), [b, a, c, e, f, d]);
    assert_eq!(page.next, None);
    let billing = CaseQuery { team: Some("billing".into()), limit: 1, ..CaseQuery::default() };
    assert_eq!(sla_due_pages(store, &billing), [vec![a], vec![c], vec![d]], "filters apply to both parts");
    let exact = CaseQuery { limit: 5, ..CaseQuery::default() };
    assert_eq!(sla_due_pages(store, &exact), [vec![b, a, c, e, f], vec![d]]);
    let dated = CaseQuery { limit: 4, ..CaseQuery::default() };
    let first = store.list_cases_by_sla_due(&dated, None).unwrap();
    assert_eq!(first.next, Some(DuePosition::Undated(None)), "a page that ends the dated cases continues to the rest");
    let billing = CaseQuery { limit: 2, ..billing };
    let first = store.list_cases_by_sla_due(&billing, None).unwrap();
    assert_eq!(first.next, Some(DuePosition::Due { due_at: at("2026-03-02T10:00:00Z"), case: c }));

    store
        .transact(&mut |txn| {
            txn.set_sla_due(c, Some(at("2026-03-02T08:00:00Z")))?;
            txn.set_sla_due(b, None)
        })
        .unwrap();
    let page = store.list_cases_by_sla_due(&one_page, None).unwrap();
    assert_eq!(page.items.iter().map(|(case, _)| case.id).collect::<Vec<_>>(), [c, a, e, f, d, b], "moved, cleared");
    let breached = CaseQuery { sla: Some(SlaFilter::Breached), limit: 50, ..CaseQuery::default() };
    store.transact(&mut |txn| txn.set_case_index(SlaFilter::Breached.index_key(), e, true)).unwrap();
    let page = store.list_cases_by_sla_due(&breached, None).unwrap();
    assert_eq!(page.items.iter().map(|(case, _)| case.id).collect::<Vec<_>>(), [e], "the SLA filter applies");
    let solved = CaseQuery { status: Some(CaseStatus::Solved), limit: 50, ..CaseQuery::default() };
    assert!(store.list_cases_by_sla_due(&solved, None).unwrap().items.is_empty());
}

/// The write path keeps each case's deadline in the listing by SLA due: a
/// change of priority moves it, a pause or a solve takes the case out of the
/// cases with a deadline.
fn sla_due_follows_the_clock_through_the_write_path(store: &dyn Store) {
    let book = sla_book();
    let run_at = |command: &Command, now: &str| run_on_clock(store, command, at(now), &book);
    let a = created(Ok(run_at(&new_case("a", "a@example.com"), "2026-03-02T09:00:00Z")));
    let b = created(Ok(run_at(&new_case("b", "b@example.com"), "2026-03-02T09:01:00Z")));
    let c = created(Ok(run_at(&new_case("c", "c@example.com"), "2026-03-02T09:02:00Z")));
    let order = |query: &CaseQuery| -> Vec<(CaseId, Option<Timestamp>)> {
        let page = store.list_cases_by_sla_due(query, None).unwrap();
        page.items.iter().map(|(case, sla)| (case.id, sla.next_due(case.status))).collect()
    };
    let all = CaseQuery { limit: 50, ..CaseQuery::default() };
    let open = CaseQuery { unsolved: true, limit: 50, ..CaseQuery::default() };
    let due = |text: &str| Some(at(text));
    assert_eq!(
        order(&all),
        [(a, due("2026-03-02T10:00:00Z")), (b, due("2026-03-02T10:01:00Z")), (c, due("2026-03-02T10:02:00Z"))]
    );
    let patch = |patch: CasePatch| Command::UpdateCase { case_id: c, patch, actor: Actor::System };
    run_at(&patch(CasePatch { priority: Some(Priority::High), ..CasePatch::default() }), "2026-03-02T09:03:00Z");
    assert_eq!(order(&all)[0], (c, due("2026-03-02T09:12:00Z")), "a tighter target moves the case up");
    let pending = CasePatch { status: Some(CaseStatus::Pending), ..CasePatch::default() };
    run_at(&Command::UpdateCase { case_id: b, patch: pending, actor: Actor::System }, "2026-03-02T09:04:00Z");
    assert_eq!(order(&all).iter().map(|(id, _)| *id).collect::<Vec<_>>(), [c, a, b], "a paused clock has no deadline");
    let solve = CasePatch { status: Some(CaseStatus::Solved), ..CasePatch::default() };
    run_at(&patch(solve), "2026-03-02T09:05:00Z");
    assert_eq!(order(&open).iter().map(|(id, _)| *id).collect::<Vec<_>>(), [a, b], "solved cases leave the queue");
    assert_eq!(order(&all), [(a, due("2026-03-02T10:00:00Z")), (c, None), (b, None)], "and the dated part");
}

/// A view is read back as written; an agent sees their own views and the
/// shared ones, by name, and nobody else's private ones; a change of owner's
/// sharing or a removal shows at once, in the transaction and after it.
fn views_are_seen_by_their_owner_or_everyone(store: &dyn Store) {
    let now = at("2026-03-02T09:00:00Z");
    let view = |id: u64, name: &str, owner: &str, shared: bool| SavedView {
        id: ViewId::new(id),
        name: name.into(),
        owner: owner.into(),
        shared,
        filters: ViewFilters { team: Some("billing".into()), unsolved: true, ..ViewFilters::default() },
        sort: CaseSort::SlaDue,
        created_at: now,
        updated_at: now,
    };
    let names = |views: Vec<SavedView>| views.into_iter().map(|v| v.name).collect::<Vec<_>>();
    let (mut mine, mut lead) = (None, None);
    store
        .transact(&mut |txn| {
            let ids = [txn.allocate(Sequence::View)?, txn.allocate(Sequence::View)?, txn.allocate(Sequence::View)?];
            assert!(ids[0] < ids[1] && ids[1] < ids[2], "view ids grow");
            mine = Some(view(ids[0], "zebra", "sam", false));
            lead = Some(view(ids[1], "Billing", "lee", true));
            txn.put_view(mine.as_ref().unwrap())?;
            txn.put_view(lead.as_ref().unwrap())?;
            txn.put_view(&view(ids[2], "apples", "bea", false))?;
            assert_eq!(names(txn.views_for("sam")?), ["Billing", "zebra"], "inside the transaction");
            assert_eq!(txn.view(ViewId::new(ids[0]))?.as_ref(), mine.as_ref());
            Ok(())
        })
        .unwrap();
    let (mine, lead) = (mine.unwrap(), lead.unwrap());
    assert_eq!(store.view(mine.id).unwrap().as_ref(), Some(&mine));
    assert_eq!(store.view(ViewId::new(9_999)).unwrap(), None);
    assert_eq!(names(store.views_for("sam").unwrap()), ["Billing", "zebra"]);
    assert_eq!(names(store.views_for("bea").unwrap()), ["apples", "Billing"]);
    assert_eq!(names(store.views_for("lee").unwrap()), ["Billing"], "a shared view of one's own is listed once");
    assert_eq!(names(store.views_for("nobody").unwrap()), ["Billing"]);

    let unshared = SavedView { shared: false, name: "Mine now".into(), ..lead.clone() };
    store
        .transact(&mut |txn| {
            txn.put_view(&unshared)?;
            txn.remove_view(mine.id)?;
            txn.remove_view(ViewId::new(9_999))?;
            assert_eq!(txn.view(mine.id)?, None);
            assert!(txn.views_for("sam")?.is_empty());
            Ok(())
        })
        .unwrap();
    assert!(store.views_for("sam").unwrap().is_empty(), "no longer shared, and removed");
    assert_eq!(names(store.views_for("lee").unwrap()), ["Mine now"]);
    assert_eq!(store.view(lead.id).unwrap(), Some(unshared));
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The methods declared by `pub trait {name}` in `source`.
    fn trait_methods(source: &str, name: &str) -> BTreeSet<String> {
        let start = source.find(&format!("pub trait {name}")).unwrap_or_else(|| panic!("trait {name} not found"));
        let body = &source[start..];
        let body = &body[..body.find("\n}\n").expect("the trait's closing brace")];
        body.lines()
            .filter_map(|line| line.trim_start().strip_prefix("fn "))
            .map(|rest| rest.split(['(', '<']).next().expect("a name").to_owned())
            .collect()
    }

    /// The text of the top-level function `name` in this file.
    fn body_of<'a>(source: &'a str, name: &str) -> &'a str {
        let start = ["\nfn ", "\npub fn "]
            .iter()
            .find_map(|prefix| source.find(&format!("{prefix}{name}(")))
            .unwrap_or_else(|| panic!("no function named {name}"));
        let body = &source[start..];
        &body[..body.find("\n}\n").expect("the function's closing brace")]
    }

    /// A method added to [`Store`] or [`WriteTxn`] fails this test until
    /// [`COVERAGE`] names a check that calls it, so every backend is held to
    /// its contract from the start.
    #[test]
    fn every_trait_method_has_a_conformance_check() {
        let traits = include_str!("../store/mod.rs");
        let this = include_str!("mod.rs");
        let declared: BTreeSet<(String, String)> = ["Store", "WriteTxn"]
            .into_iter()
            .flat_map(|t| trait_methods(traits, t).into_iter().map(move |m| (t.to_owned(), m)))
            .collect();
        assert!(declared.len() > 40, "the traits were read: {declared:?}");
        let listed: BTreeSet<(String, String)> =
            COVERAGE.iter().map(|(t, m, _)| ((*t).to_owned(), (*m).to_owned())).collect();
        assert_eq!(listed.len(), COVERAGE.len(), "a method listed twice");
        let missing: Vec<_> = declared.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "methods without a conformance check (add one and list it in COVERAGE): {missing:?}"
        );
        let stale: Vec<_> = listed.difference(&declared).collect();
        assert!(stale.is_empty(), "COVERAGE lists methods the traits no longer have: {stale:?}");

        let run_all = body_of(this, "run_all");
        for (t, method, check) in COVERAGE {
            let receiver = if *t == "Store" { "store" } else { "txn" };
            assert!(
                body_of(this, check).contains(&format!("{receiver}.{method}(")),
                "{check} is listed for {t}::{method} but does not call {receiver}.{method}("
            );
            assert!(run_all.contains(&format!("    {check}(")), "run_all does not run {check}");
        }
    }
}
