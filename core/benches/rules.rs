//! Benchmarks of the rules: one `on_case_created` with the default rule set
//! (hook calls only, and the whole plan of a create off the writer), rule
//! throughput on two threads against one, and executing creates with and
//! without their rule plans in a durable transaction.
//!
//! Run with `cargo bench -p frontdesk-core --bench rules`.

use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use frontdesk_core::rules::host::Hook;
use frontdesk_core::rules::{RulesHost, ScriptLimits};
use frontdesk_core::script_views::{CustomerView, TicketView};
use frontdesk_core::sla::SlaBook;
use frontdesk_core::store::{RedbStore, Store};
use frontdesk_core::write::ExecContext;
use frontdesk_core::write::command::{Command, CommandError, CustomerInput, CustomerRef, NewCase};
use frontdesk_core::write::execute::execute_planned;
use frontdesk_core::write::plan::plan;
use frontdesk_core::{Actor, Case, Customer, Identity, Priority};
use jiff::{SignedDuration, Timestamp};

fn now() -> Timestamp {
    "2026-03-02T09:00:00Z".parse().expect("valid timestamp")
}

/// The repository's default rule set.
fn default_rules() -> RulesHost {
    let host = RulesHost::new(ScriptLimits::default());
    host.load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts"), now()).expect("scripts dir");
    assert!(host.statuses().iter().all(|s| s.compile_error.is_none()), "default rules compile");
    host
}

fn new_case(n: u64) -> Command {
    let subject = match n % 3 {
        0 => format!("Dashboard is down #{n}"),
        1 => format!("Refund for invoice {n}"),
        _ => format!("Question about my plan #{n}"),
    };
    Command::CreateCase(NewCase {
        subject,
        customer: CustomerRef::Match(CustomerInput {
            tier: n.is_multiple_of(5).then(|| "enterprise".to_owned()),
            identities: vec![Identity::email(&format!("c{n}@example.com")).expect("valid email")],
            ..CustomerInput::default()
        }),
        channel: "email".into(),
        priority: Priority::Normal,
        message: Some("Please help.".into()),
        tags: BTreeSet::new(),
        fields: BTreeMap::new(),
        team: None,
        assignee: None,
        actor: Actor::Agent("bench".into()),
        idempotency: None,
    })
}

fn sample_case() -> (Case, Customer) {
    let case = serde_json::from_value(serde_json::json!({
        "id": "1", "subject": "Dashboard is down for everyone", "status": "new", "priority": "normal",
        "channel": "email", "customer_id": "1", "team": null, "assignee": null, "tags": [], "fields": {},
        "created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T09:00:00Z", "first_response_at": null,
        "solved_at": null, "closed_at": null, "reopen_count": 0, "csat": null, "linked_case_ids": [],
        "version": 2, "last_event_id": "2"
    }))
    .expect("case");
    let customer = serde_json::from_value(serde_json::json!({
        "id": "1", "name": "Ann", "tier": "enterprise", "identities": [{"kind": "email", "value": "ann@example.com"}],
        "attributes": {}, "health": null, "created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T09:00:00Z"
    }))
    .expect("customer");
    (case, customer)
}

fn ctx(book: &SlaBook) -> ExecContext<'_> {
    ExecContext {
        now: now(),
        auto_close_after: SignedDuration::from_hours(96),
        sla: book,
        outreach_window: SignedDuration::from_hours(168),
        plugins: frontdesk_core::write::context::PluginRoutes::NONE,
    }
}

fn hook_calls(c: &mut Criterion) {
    let host = default_rules();
    let set = host.current();
    let (case, customer) = sample_case();
    let mut group = c.benchmark_group("rules/on_case_created");
    group.bench_function("hook calls only (2 files)", |b| {
        b.iter(|| {
            let args = || {
                vec![
                    rhai::Dynamic::from(TicketView::new(&case, now())),
                    rhai::Dynamic::from(CustomerView::new(&customer)),
                ]
            };
            black_box(host.call(&set, Hook::CaseCreated, args, Some(0), now()))
        })
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(RedbStore::open(dir.path().join("bench.redb")).expect("store"));
    let book = SlaBook::default();
    let mut n = 0;
    group.bench_function("whole plan of a create (preview + hooks + actions)", |b| {
        b.iter(|| {
            n += 1;
            black_box(plan(&host, &store, &new_case(n), &ctx(&book)).expect("plan"))
        })
    });
    group.finish();
}

/// Plans `per_thread` creates on each of `threads` threads; the elapsed time.
fn plan_on_threads(host: &Arc<RulesHost>, store: &Arc<RedbStore>, threads: usize, per_thread: u64) -> Duration {
    let book = SlaBook::default();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads as u64 {
            let (host, book) = (host.clone(), &book);
            let store: Arc<dyn Store> = store.clone();
            scope.spawn(move || {
                for i in 0..per_thread {
                    black_box(plan(&host, &store, &new_case(t * 1_000_000 + i), &ctx(book)).expect("plan"));
                }
            });
        }
    });
    started.elapsed()
}

fn thread_scaling(c: &mut Criterion) {
    let host = Arc::new(default_rules());
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(RedbStore::open(dir.path().join("bench.redb")).expect("store"));
    let mut group = c.benchmark_group("rules/plans of 2,000 creates");
    group.throughput(Throughput::Elements(2_000));
    group.sample_size(20);
    for threads in [1usize, 2] {
        group.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                (0..iters).map(|_| plan_on_threads(&host, &store, threads, 2_000 / threads as u64)).sum()
            })
        });
    }
    group.finish();
}

/// Calls `on_case_created` `per_thread` times on each of `threads` threads.
fn hooks_on_threads(host: &Arc<RulesHost>, threads: usize, per_thread: u64) -> Duration {
    let (case, customer) = sample_case();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (host, case, customer) = (host.clone(), &case, &customer);
            scope.spawn(move || {
                let set = host.current();
                for _ in 0..per_thread {
                    let args = || {
                        vec![
                            rhai::Dynamic::from(TicketView::new(case, now())),
                            rhai::Dynamic::from(CustomerView::new(customer)),
                        ]
                    };
                    black_box(host.call(&set, Hook::CaseCreated, args, Some(0), now()));
                }
            });
        }
    });
    started.elapsed()
}

fn hook_thread_scaling(c: &mut Criterion) {
    let host = Arc::new(default_rules());
    let mut group = c.benchmark_group("rules/on_case_created hooks, 4,000 calls");
    group.throughput(Throughput::Elements(4_000));
    group.sample_size(20);
    for threads in [1usize, 2] {
        group.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, &threads| {
            b.iter_custom(|iters| (0..iters).map(|_| hooks_on_threads(&host, threads, 4_000 / threads as u64)).sum())
        });
    }
    group.finish();
}

fn creates_with_and_without_rules(c: &mut Criterion) {
    let host = default_rules();
    let book = SlaBook::default();
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> = Arc::new(RedbStore::open(dir.path().join("bench.redb")).expect("store"));
    let mut group = c.benchmark_group("rules/100 creates per transaction");
    group.throughput(Throughput::Elements(100));
    group.sample_size(20);
    let mut n = 10_000_000;
    for with_rules in [false, true] {
        let name = if with_rules { "with default rules" } else { "without rules" };
        group.bench_function(name, |b| {
            b.iter(|| {
                let commands: Vec<Command> = (0..100)
                    .map(|_| {
                        n += 1;
                        new_case(n)
                    })
                    .collect();
                let plans: Vec<_> = commands
                    .iter()
                    .map(|c| if with_rules { plan(&host, &store, c, &ctx(&book)).expect("plan") } else { None })
                    .collect();
                store
                    .transact(&mut |txn| {
                        for (command, plan) in commands.iter().zip(&plans) {
                            match execute_planned(txn, command, plan.as_ref(), &ctx(&book)) {
                                Err(CommandError::Store(e)) => return Err(e),
                                other => {
                                    black_box(other.ok());
                                }
                            }
                        }
                        Ok(())
                    })
                    .expect("commit")
            })
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args().measurement_time(Duration::from_secs(5));
    hook_calls(&mut c);
    hook_thread_scaling(&mut c);
    thread_scaling(&mut c);
    creates_with_and_without_rules(&mut c);
    c.final_summary();
}
