//! Benchmarks of the SLA clock: the calendar arithmetic behind every deadline
//! (`BusinessCalendar::due`, `business_seconds_between`) and the scheduler's
//! due-scan over the deadline index (`Store::due_timers`,
//! `Store::next_timer_at`) with 10,000 and 1,000,000 open timers, and the
//! choice of a case's policy (`SlaBook::select`) under the shipped config's
//! conditions, which the writer makes on every case write.
//!
//! Run with `cargo bench -p frontdesk-core --bench sla`; results and the
//! machine they were measured on are in `BENCHMARKS.md`. The timer stores are
//! filled once per run, outside the measured loops.

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use frontdesk_core::sla::{BusinessCalendar, CalendarConfig, Metric, SlaBook, SlaConfig};
use frontdesk_core::store::{RedbStore, Store, TimerKind};
use frontdesk_core::{Case, CaseId, Customer};
use jiff::{SignedDuration, Timestamp};

/// Timers that are due in every scan store.
const DUE: u64 = 100;
/// Timers written per transaction while filling a store.
const FILL_BATCH: u64 = 50_000;

fn at(text: &str) -> Timestamp {
    text.parse().expect("valid timestamp")
}

/// Mon-Fri 09:00-12:00 and 13:00-17:00 in Berlin, with the German
/// nationwide holidays (plus 24 and 31 December) of 2025 to 2027: the span a
/// 2,000-business-hour target starting in 2026 reaches into.
fn berlin() -> BusinessCalendar {
    let day = vec!["09:00-12:00".to_owned(), "13:00-17:00".to_owned()];
    let hours: BTreeMap<String, Vec<String>> =
        ["mon", "tue", "wed", "thu", "fri"].into_iter().map(|d| (d.to_owned(), day.clone())).collect();
    let holidays = [
        "2025-01-01",
        "2025-04-18",
        "2025-04-21",
        "2025-05-01",
        "2025-05-29",
        "2025-06-09",
        "2025-10-03",
        "2025-12-24",
        "2025-12-25",
        "2025-12-26",
        "2025-12-31", //
        "2026-01-01",
        "2026-04-03",
        "2026-04-06",
        "2026-05-01",
        "2026-05-14",
        "2026-05-25",
        "2026-10-03",
        "2026-12-24",
        "2026-12-25",
        "2026-12-26",
        "2026-12-31", //
        "2027-01-01",
        "2027-03-26",
        "2027-03-29",
        "2027-05-01",
        "2027-05-06",
        "2027-05-17",
        "2027-10-03",
        "2027-12-24",
        "2027-12-25",
        "2027-12-26",
        "2027-12-31",
    ];
    let config = CalendarConfig {
        time_zone: "Europe/Berlin".to_owned(),
        hours,
        holidays: holidays.into_iter().map(str::to_owned).collect(),
    };
    BusinessCalendar::try_from_config("berlin", &config).expect("valid calendar")
}

/// Starts in different seasons and positions in the business day, two of
/// them just before a DST change (Berlin: 2026-03-29 and 2026-10-25), so a
/// number is not the cost of one lucky path. Each iteration takes the next.
fn starts() -> [Timestamp; 6] {
    [
        at("2026-01-14T09:30:00Z"), // Wednesday, winter, open
        at("2026-03-27T15:10:00Z"), // Friday before spring forward, open
        at("2026-05-13T11:20:00Z"), // the day before a holiday, lunch follows
        at("2026-07-08T05:45:00Z"), // Wednesday, summer, before opening
        at("2026-10-23T14:50:00Z"), // Friday before fall back, near closing
        at("2026-12-23T17:00:00Z"), // evening before the Christmas holidays
    ]
}

fn calendar_benches(c: &mut Criterion) {
    let calendars = [("24x7", BusinessCalendar::always_open()), ("berlin", berlin())];
    let starts = starts();

    let mut group = c.benchmark_group("calendar_due");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for (name, calendar) in &calendars {
        for (label, hours) in [("2h", 2u64), ("2000h", 2_000)] {
            let seconds = hours * 3_600;
            group.bench_function(BenchmarkId::new(*name, label), |b| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % starts.len();
                    calendar.due(black_box(starts[i]), black_box(seconds)).expect("due")
                });
            });
        }
    }
    group.finish();

    // The span from each start to its 2,000-business-hour deadline: about
    // 2,000 hours on 24x7, about 13 months (two DST changes, a year of
    // holidays) on the Berlin calendar.
    let mut group = c.benchmark_group("calendar_business_seconds_between");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for (name, calendar) in &calendars {
        let spans: Vec<(Timestamp, Timestamp)> =
            starts.iter().map(|&s| (s, calendar.due(s, 2_000 * 3_600).expect("due"))).collect();
        for &(a, b) in &spans {
            assert_eq!(calendar.business_seconds_between(a, b), 2_000 * 3_600, "{name}: {a} to {b}");
        }
        group.bench_function(BenchmarkId::new(*name, "2000h"), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % spans.len();
                let (from, to) = spans[i];
                calendar.business_seconds_between(black_box(from), black_box(to))
            });
        });
    }
    group.finish();
}

/// A redb store in a temp dir holding `open` SLA timers, [`DUE`] of them due
/// before `now`.
struct TimerStore {
    store: RedbStore,
    now: Timestamp,
    // Dropped after `store`: removes the file.
    _dir: tempfile::TempDir,
}

/// splitmix64: a fixed pseudo-random sequence, so every run inserts the same
/// deadlines in the same scattered order.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl TimerStore {
    fn fill(open: u64) -> Self {
        let started = Instant::now();
        let dir = tempfile::tempdir().expect("temp dir");
        let store = RedbStore::open(dir.path().join("timers.redb")).expect("open store");
        let now = at("2026-06-01T12:00:00Z");
        let every = open / DUE;
        let kind = TimerKind::Sla(Metric::FirstResponse);
        // Not due: between one hour and 90 days from now, in scattered order.
        let horizon_ms = 90 * 86_400 * 1_000 - 3_600_000;
        let mut first = 1;
        while first <= open {
            let last = (first + FILL_BATCH - 1).min(open);
            store
                .transact(&mut |txn| {
                    for id in first..=last {
                        let due = if id % every == 0 {
                            // Due: within the last 100 minutes.
                            now - SignedDuration::from_secs(i64::try_from(60 * (id / every)).expect("small"))
                        } else {
                            let ms = 3_600_000 + mix(id) % horizon_ms;
                            now + SignedDuration::from_millis(i64::try_from(ms).expect("small"))
                        };
                        txn.set_timer(CaseId::new(id), kind, Some(due))?;
                    }
                    Ok(())
                })
                .expect("fill timers");
            first = last + 1;
        }
        let due = store.due_timers(now, 256).expect("due timers");
        assert_eq!(due.len() as u64, DUE, "exactly the due timers come back");
        assert!(due.iter().all(|t| t.due_at <= now));
        assert_eq!(store.next_timer_at().expect("next timer"), Some(due[0].due_at));
        let bytes = std::fs::metadata(store.path()).map_or(0, |m| m.len());
        eprintln!(
            "filled {open} timers ({DUE} due) in {:.1} s; file {:.1} MiB",
            started.elapsed().as_secs_f64(),
            bytes as f64 / (1024.0 * 1024.0)
        );
        Self { store, now, _dir: dir }
    }
}

fn scheduler_benches(c: &mut Criterion, sizes: &[u64]) {
    let stores: Vec<(u64, OnceCell<TimerStore>)> = sizes.iter().map(|&n| (n, OnceCell::new())).collect();
    let mut group = c.benchmark_group("scheduler");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    for (open, cell) in &stores {
        group.bench_function(BenchmarkId::new("due_timers_100_due", open), |b| {
            let timers = cell.get_or_init(|| TimerStore::fill(*open));
            b.iter(|| timers.store.due_timers(black_box(timers.now), 256).expect("due timers"));
        });
        group.bench_function(BenchmarkId::new("next_timer_at", open), |b| {
            let timers = cell.get_or_init(|| TimerStore::fill(*open));
            b.iter(|| timers.store.next_timer_at().expect("next timer"));
        });
    }
    group.finish();
}

/// The shipped config's two policies: `urgent` under a condition, then
/// `standard` for every other case.
fn shipped_book() -> SlaBook {
    let config: SlaConfig = serde_json::from_value(serde_json::json!({"policies": [
        {"name": "urgent", "when": "ticket.priority == \"urgent\" || customer.tier == \"enterprise\"",
         "targets": {"urgent": {"first_response": "30m"}, "normal": {"first_response": "2h"}}},
        {"name": "standard", "targets": {"normal": {"first_response": "4h"}}}]}))
    .expect("valid sla config");
    SlaBook::new(&BTreeMap::new(), &config).expect("valid sla book")
}

/// A case as the load generator creates it, after the triage rules tagged it.
fn load_case() -> Case {
    serde_json::from_value(serde_json::json!({
        "id": "123456", "subject": "Load case 7-4211", "status": "open", "priority": "normal", "channel": "api",
        "customer_id": "98765", "team": "support", "assignee": null, "tags": ["billing", "new-customer"],
        "fields": {"order": "A-1234"}, "created_at": "2026-06-01T12:00:00Z", "updated_at": "2026-06-01T12:00:00Z",
        "first_response_at": null, "solved_at": null, "closed_at": null, "reopen_count": 0, "agent_replies": 0,
        "escalation_level": 0, "csat": null, "linked_case_ids": [], "version": 2, "last_event_id": "7"
    }))
    .expect("valid case")
}

fn load_customer() -> Customer {
    serde_json::from_value(serde_json::json!({
        "id": "98765", "name": "Ann Example", "tier": "pro",
        "identities": [{"kind": "email", "value": "ann@example.com"}],
        "attributes": {"plan": "pro", "seats": 12}, "health": null,
        "created_at": "2026-05-01T12:00:00Z", "updated_at": "2026-05-01T12:00:00Z"
    }))
    .expect("valid customer")
}

fn policy_benches(c: &mut Criterion) {
    let book = shipped_book();
    let case = std::sync::Arc::new(load_case());
    let customer = std::sync::Arc::new(load_customer());
    assert_eq!(book.select(&case, Some(&customer)).map(|p| p.name.as_str()), Some("standard"));
    let mut group = c.benchmark_group("policy");
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.bench_function("select/shipped_conditions", |b| {
        b.iter(|| book.select(black_box(&case), black_box(Some(&customer))).map(|p| p.name.len()));
    });
    group.finish();
}

fn main() {
    // `cargo test --benches` runs each benchmark once: keep its stores small.
    let test_mode = std::env::args().any(|a| a == "--test");
    let sizes: &[u64] = if test_mode { &[1_000, 10_000] } else { &[10_000, 1_000_000] };
    let mut c = Criterion::default().configure_from_args();
    calendar_benches(&mut c);
    policy_benches(&mut c);
    scheduler_benches(&mut c, sizes);
    c.final_summary();
}
