//! Benchmarks of the core's write and read paths on a real redb file in a
//! temp dir: executing `CreateCase` one per durable transaction and 100 per
//! transaction (group commit), folding a 20-event history into a case row,
//! resolving a customer by identity among 100,000 customers, and listing
//! cases by status among 100,000 cases; and the write half of the load
//! generator's realistic mix (create, customer message, reply, status
//! change) at the batch sizes the server sees, without SLA policies and with
//! two, which bounds what the one writer can commit when it has a core to
//! itself.
//!
//! Run with `cargo bench -p frontdesk-core --bench core_paths`; results and
//! the machine they were measured on are in `BENCHMARKS.md`. Populated stores
//! are built once per run, outside the measured loops.

use std::cell::{Cell, OnceCell};
use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use frontdesk_core::sla::{CalendarConfig, SlaBook, SlaConfig};
use frontdesk_core::store::{CaseQuery, RedbStore, Store};
use frontdesk_core::write::ExecContext;
use frontdesk_core::write::command::{
    CasePatch, Command, CommandError, CustomerInput, CustomerRef, MessageKind, NewCase, Outcome,
};
use frontdesk_core::write::execute::execute;
use frontdesk_core::{Actor, CaseId, CaseStatus, Event, Identity, Priority, projection};
use jiff::{SignedDuration, Timestamp};

/// The server's allocator, so that allocation costs here are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Commands per transaction when filling a store.
const FILL_BATCH: usize = 1_000;

fn at(text: &str) -> Timestamp {
    text.parse().expect("valid timestamp")
}

fn agent() -> Actor {
    Actor::Agent("bench".into())
}

/// A case from a new customer, as the API would hand it to the writer.
fn new_case(n: u64, priority: Priority) -> Command {
    Command::CreateCase(NewCase {
        subject: format!("Printer on fire #{n}"),
        customer: CustomerRef::Match(CustomerInput {
            name: Some(format!("Customer {n}")),
            identities: vec![Identity::email(&format!("c{n}@example.com")).expect("valid email")],
            ..CustomerInput::default()
        }),
        channel: "email".into(),
        priority,
        message: Some("The printer on the third floor is on fire again. Please send someone.".into()),
        tags: BTreeSet::from(["hardware".to_owned()]),
        fields: BTreeMap::new(),
        team: Some("support".into()),
        assignee: None,
        actor: agent(),
        idempotency: None,
    })
}

/// Mon-Fri 09:00-12:00 and 13:00-17:00 in Berlin with a few holidays, and two
/// policies on it: `vip` (a Rhai condition on the customer) and `standard`
/// (no condition), so a create selects a policy and computes deadlines.
fn sla_book() -> SlaBook {
    let day = vec!["09:00-12:00".to_owned(), "13:00-17:00".to_owned()];
    let calendar = CalendarConfig {
        time_zone: "Europe/Berlin".to_owned(),
        hours: ["mon", "tue", "wed", "thu", "fri"].into_iter().map(|d| (d.to_owned(), day.clone())).collect(),
        holidays: ["2026-01-01", "2026-04-03", "2026-04-06", "2026-05-01", "2026-05-14", "2026-05-25", "2026-10-03"]
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    let config: SlaConfig = serde_json::from_value(serde_json::json!({"policies": [
        {"name": "vip", "when": "customer.tier == \"vip\"", "calendar": "berlin",
         "targets": {"normal": {"first_response": "1h", "next_response": "1h", "resolution": "1d"}}},
        {"name": "standard", "calendar": "berlin",
         "targets": {"normal": {"first_response": "4h", "next_response": "8h", "resolution": "5d"},
                     "high": {"first_response": "1h", "next_response": "2h", "resolution": "2d"}}}
    ]}))
    .expect("valid sla config");
    SlaBook::new(&BTreeMap::from([("berlin".to_owned(), calendar)]), &config).expect("valid sla book")
}

/// The context the writer gives a batch: the default auto-close and
/// outreach windows, no plugins, and `sla`.
fn context(now: Timestamp, sla: &SlaBook) -> ExecContext<'_> {
    ExecContext {
        now,
        auto_close_after: SignedDuration::from_hours(96),
        outreach_window: SignedDuration::from_hours(24 * 7),
        plugins: frontdesk_core::write::context::PluginRoutes::NONE,
        sla,
    }
}

/// Executes `commands` in one transaction, the way the writer runs a batch.
fn run_batch(store: &RedbStore, commands: &[Command], ctx: &ExecContext<'_>) -> Vec<Result<Outcome, CommandError>> {
    let mut results = Vec::with_capacity(commands.len());
    store
        .transact(&mut |txn| {
            results.clear();
            for command in commands {
                match execute(txn, command, ctx) {
                    Err(CommandError::Store(e)) => return Err(e),
                    other => results.push(other),
                }
            }
            Ok(())
        })
        .expect("batch commits");
    results
}

/// A fresh store in a temp dir, with the agent the mix assigns cases to.
fn temp_store(name: &str) -> (tempfile::TempDir, RedbStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = RedbStore::open(dir.path().join(name)).expect("open store");
    let sam = frontdesk_core::Agent {
        name: "sam".into(),
        email: "sam@example.com".into(),
        role: frontdesk_core::auth::Role::Agent,
        teams: vec!["support".into()],
        password_hash: "$argon2id$bench".into(),
        active: true,
        created_at: at("2026-03-04T09:00:00Z"),
    };
    store.transact(&mut |txn| txn.put_agent(&sam)).expect("agent stored");
    (dir, store)
}

fn create_case_benches(c: &mut Criterion) {
    let now = at("2026-03-04T09:30:00Z"); // a Wednesday, inside business hours
    let books = [("no_sla", SlaBook::default()), ("sla_policy", sla_book())];
    let mut group = c.benchmark_group("create_case");
    group.sample_size(20).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(10));
    for (label, book) in &books {
        // One store per SLA setup; it grows by every case the bench creates.
        let (_dir, store) = temp_store("create.redb");
        let ctx = context(now, book);
        let next = Cell::new(1u64);
        // The SLA setup is in force: the first case gets the `standard` policy.
        let first = run_batch(&store, &[new_case(0, Priority::Normal)], &ctx).remove(0);
        let Ok(Outcome::Case { sla, .. }) = first else { panic!("case created: {first:?}") };
        let expected = if *label == "no_sla" { None } else { Some("standard") };
        assert_eq!(sla.policy.as_deref(), expected);
        let commands = |count: usize| -> Vec<Command> {
            (0..count)
                .map(|_| {
                    let n = next.get();
                    next.set(n + 1);
                    new_case(n, Priority::Normal)
                })
                .collect()
        };
        for per_txn in [1usize, 100] {
            group.throughput(Throughput::Elements(per_txn as u64));
            group.bench_function(BenchmarkId::new(format!("{label}/commands_per_txn"), per_txn), |b| {
                b.iter_batched(
                    || commands(per_txn),
                    |batch| {
                        let results = run_batch(&store, &batch, &ctx);
                        debug_assert!(results.iter().all(Result::is_ok));
                        results
                    },
                    BatchSize::SmallInput,
                );
            });
        }
        eprintln!("create_case/{label}: {} cases in the store at the end", next.get());
    }
    group.finish();
}

/// The write half of `frontdesk-load --mix realistic`: each of 64
/// connections loops create (a returning customer, with a message) ->
/// customer message -> agent reply -> status `pending`, and a batch takes the
/// next command of `per_txn` connections in turn, as the writer does when
/// that many are waiting. The default rules' routing (team, assignee) is set
/// on the create instead of by a plan.
struct MixLoop {
    /// Per connection: step in the loop, loops done, its current case.
    connections: Vec<(usize, u64, CaseId)>,
    /// The next connection to take a command from.
    turn: usize,
}

impl MixLoop {
    fn new(connections: usize) -> Self {
        Self { connections: vec![(0, 0, CaseId::new(0)); connections], turn: 0 }
    }

    /// The next command of `per_txn` connections, with the connection of each.
    fn next_batch(&mut self, per_txn: usize) -> (Vec<usize>, Vec<Command>) {
        let mut who = Vec::with_capacity(per_txn);
        let mut commands = Vec::with_capacity(per_txn);
        for _ in 0..per_txn {
            let w = self.turn % self.connections.len();
            self.turn += 1;
            let (step, n, case_id) = self.connections[w];
            commands.push(match step {
                0 => Command::CreateCase(NewCase {
                    subject: format!("Load case {w}-{n}"),
                    customer: CustomerRef::Match(CustomerInput {
                        identities: vec![Identity::email(&format!("load-{w}-{}@example.com", n % 50)).expect("email")],
                        ..CustomerInput::default()
                    }),
                    channel: "api".into(),
                    priority: Priority::Normal,
                    message: Some("The printer is on fire again.".into()),
                    tags: BTreeSet::new(),
                    fields: BTreeMap::new(),
                    team: Some("support".into()),
                    assignee: Some("sam".into()),
                    actor: agent(),
                    idempotency: None,
                }),
                1 => Command::AddMessage {
                    idempotency: None,
                    case_id,
                    kind: MessageKind::Customer,
                    body: "Any news?".into(),
                    actor: agent(),
                },
                2 => Command::AddMessage {
                    idempotency: None,
                    case_id,
                    kind: MessageKind::Reply,
                    body: "A technician is on the way.".into(),
                    actor: agent(),
                },
                _ => Command::UpdateCase {
                    case_id,
                    patch: CasePatch { status: Some(CaseStatus::Pending), ..CasePatch::default() },
                    actor: agent(),
                },
            });
            who.push(w);
        }
        (who, commands)
    }

    /// Connection `w`'s command was written on `case`: on to its next step.
    fn advance(&mut self, w: usize, case: CaseId) {
        let (step, n, _) = self.connections[w];
        self.connections[w] = if step == 3 { (0, n + 1, case) } else { (step + 1, n, case) };
    }
}

fn writer_mix_benches(c: &mut Criterion) {
    let books = [("no_sla", SlaBook::default()), ("sla_policy", sla_book())];
    let mut group = c.benchmark_group("writer_mix");
    group.sample_size(20).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(10));
    for (label, book) in &books {
        let ctx = context(at("2026-03-04T09:30:00Z"), book);
        let (_dir, store) = temp_store("mix.redb");
        let mut mix = MixLoop::new(64);
        for per_txn in [20usize, 32] {
            group.throughput(Throughput::Elements(per_txn as u64));
            group.bench_function(BenchmarkId::new(format!("{label}/commands_per_txn"), per_txn), |b| {
                b.iter_custom(|iterations| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iterations {
                        let (who, batch) = mix.next_batch(per_txn);
                        let start = Instant::now();
                        let results = run_batch(&store, &batch, &ctx);
                        spent += start.elapsed();
                        for (w, result) in who.into_iter().zip(results) {
                            let Ok(Outcome::Case { case, .. }) = result else {
                                panic!("mix command failed: {result:?}")
                            };
                            mix.advance(w, case.id);
                        }
                    }
                    spent
                });
            });
        }
    }
    group.finish();
}

/// The first 20 events of a case driven through replies, customer
/// messages, notes, tag, priority and status changes.
fn twenty_event_history() -> Vec<Event> {
    let (_dir, store) = temp_store("history.redb");
    let book = SlaBook::default();
    let mut now = at("2026-03-04T09:30:00Z");
    let ctx = |now| context(now, &book);
    let Ok(Outcome::Case { case, .. }) = run_batch(&store, &[new_case(1, Priority::Normal)], &ctx(now)).remove(0)
    else {
        panic!("case created");
    };
    let id = case.id;
    let message = |kind, body: &str| Command::AddMessage {
        idempotency: None,
        case_id: id,
        kind,
        body: body.into(),
        actor: agent(),
    };
    let patch = |patch| Command::UpdateCase { case_id: id, patch, actor: agent() };
    let mut round = 0;
    loop {
        let events = store.case_events(id, None, 1_000).expect("case events").items;
        if events.len() >= 20 {
            return events.into_iter().take(20).collect();
        }
        round += 1;
        let steps = [
            message(MessageKind::Reply, "Someone is on the way."),
            message(MessageKind::Note, "Fire extinguisher is in room 3.12."),
            patch(CasePatch { add_tags: vec![format!("round-{round}")], ..CasePatch::default() }),
            patch(CasePatch {
                priority: Some(if round % 2 == 1 { Priority::High } else { Priority::Normal }),
                ..CasePatch::default()
            }),
            patch(CasePatch { status: Some(CaseStatus::Pending), ..CasePatch::default() }),
            message(MessageKind::Customer, "It is still burning."),
        ];
        for step in &steps {
            now += SignedDuration::from_mins(7);
            // Every step here is legal; a refusal would only shorten the round.
            let _ = run_batch(&store, std::slice::from_ref(step), &ctx(now));
        }
    }
}

fn fold_benches(c: &mut Criterion) {
    let events = twenty_event_history();
    assert_eq!(events.len(), 20);
    let folded = projection::fold(&events).expect("valid history").expect("a case");
    assert_eq!(folded.version, 20);
    let mut group = c.benchmark_group("projection");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.bench_function("fold_20_events", |b| b.iter(|| projection::fold(black_box(&events)).expect("fold")));
    group.finish();
}

/// A store with `cases` cases, each from its own customer (so as many
/// customers), every 10th `high` priority, every 4th replied to (`open`),
/// the rest `new`.
struct Populated {
    store: RedbStore,
    customers: u64,
    _dir: tempfile::TempDir,
}

impl Populated {
    fn build(cases: u64) -> Self {
        let started = Instant::now();
        let (dir, store) = temp_store("populated.redb");
        let book = SlaBook::default();
        let ctx = context(at("2026-03-04T09:30:00Z"), &book);
        let mut ids = Vec::with_capacity(usize::try_from(cases).expect("fits"));
        let all: Vec<u64> = (1..=cases).collect();
        for chunk in all.chunks(FILL_BATCH) {
            let batch: Vec<Command> = chunk
                .iter()
                .map(|&n| new_case(n, if n % 10 == 0 { Priority::High } else { Priority::Normal }))
                .collect();
            for result in run_batch(&store, &batch, &ctx) {
                let Ok(Outcome::Case { case, .. }) = result else { panic!("case created: {result:?}") };
                ids.push(case.id);
            }
        }
        let replied: Vec<CaseId> = ids.iter().copied().filter(|id| id.get() % 4 == 0).collect();
        for chunk in replied.chunks(FILL_BATCH) {
            let batch: Vec<Command> = chunk
                .iter()
                .map(|&case_id| Command::AddMessage {
                    idempotency: None,
                    case_id,
                    kind: MessageKind::Reply,
                    body: "On our way.".into(),
                    actor: agent(),
                })
                .collect();
            for result in run_batch(&store, &batch, &ctx) {
                assert!(result.is_ok(), "reply: {result:?}");
            }
        }
        let bytes = std::fs::metadata(store.path()).map_or(0, |m| m.len());
        eprintln!(
            "populated {cases} cases / customers ({} open) in {:.1} s; file {:.1} MiB",
            replied.len(),
            started.elapsed().as_secs_f64(),
            bytes as f64 / (1024.0 * 1024.0)
        );
        Self { store, customers: cases, _dir: dir }
    }
}

/// splitmix64, for a fixed scattered choice of customers to look up.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn read_benches(c: &mut Criterion, size: u64) {
    let populated = OnceCell::new();
    let populated = || populated.get_or_init(|| Populated::build(size));

    let mut group = c.benchmark_group("customer_by_identity");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.bench_function(BenchmarkId::new("hit", size), |b| {
        let p = populated();
        let identities: Vec<Identity> = (0..1_024u64)
            .map(|i| Identity::email(&format!("c{}@example.com", 1 + mix(i) % p.customers)).expect("valid email"))
            .collect();
        for identity in identities.iter().take(8) {
            assert!(p.store.customer_by_identity(identity).expect("lookup").is_some(), "{identity:?} resolves");
        }
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % identities.len();
            p.store.customer_by_identity(black_box(&identities[i])).expect("lookup")
        });
    });
    group.bench_function(BenchmarkId::new("miss", size), |b| {
        let p = populated();
        let identities: Vec<Identity> =
            (0..1_024u64).map(|i| Identity::email(&format!("nobody{i}@example.org")).expect("valid email")).collect();
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % identities.len();
            p.store.customer_by_identity(black_box(&identities[i])).expect("lookup")
        });
    });
    group.finish();

    let mut group = c.benchmark_group("list_cases_limit_50");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    let queries = [
        ("status_open", CaseQuery { status: Some(CaseStatus::Open), limit: 50, ..CaseQuery::default() }),
        ("status_new", CaseQuery { status: Some(CaseStatus::New), limit: 50, ..CaseQuery::default() }),
        // Driven by the status index; one `new` case in 15 is `high`, so
        // about 750 index rows are read to fill the page.
        (
            "status_new_priority_high",
            CaseQuery {
                status: Some(CaseStatus::New),
                priority: Some(Priority::High),
                limit: 50,
                ..CaseQuery::default()
            },
        ),
    ];
    for (label, query) in &queries {
        group.bench_function(BenchmarkId::new(*label, size), |b| {
            let p = populated();
            let page = p.store.list_cases(query).expect("list");
            assert_eq!(page.items.len(), 50, "{label}: a full page");
            assert!(page.items.iter().all(|case| query.matches(case)));
            b.iter(|| p.store.list_cases(black_box(query)).expect("list"));
        });
    }
    group.finish();
}

fn main() {
    // `cargo test --benches` runs each benchmark once: keep its store small.
    let test_mode = std::env::args().any(|a| a == "--test");
    let mut c = Criterion::default().configure_from_args();
    create_case_benches(&mut c);
    writer_mix_benches(&mut c);
    fold_benches(&mut c);
    read_benches(&mut c, if test_mode { 2_000 } else { 100_000 });
    c.final_summary();
}
