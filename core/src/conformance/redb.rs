//! The redb adapter against the conformance suite, and what only redb
//! promises besides: ids of an aborted transaction are drawn again, files
//! of older layouts are upgraded on open, case rows keep their format.
//! Here, above the store, because these tests use the suite.

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::{at, created, new_case, run, run_on_clock, sla_book};
use crate::domain::{Case, CaseId};
use crate::store::redb::tables::*;
use crate::store::{CaseQuery, RedbStore, Sequence, Store, StoreError};

#[test]
fn redb_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    super::run_all(&|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Box::new(RedbStore::open(dir.path().join(format!("{n}.redb"))).unwrap())
    });
}

/// redb's counters roll back with the transaction (the trait allows a
/// backend to skip those ids instead).
#[test]
fn ids_of_an_aborted_transaction_are_drawn_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path().join("ids.redb")).unwrap();
    let mut drawn = 0;
    let result = store.transact(&mut |txn| {
        drawn = txn.allocate(Sequence::Case)?;
        Err(StoreError::Inconsistent("abort on purpose".into()))
    });
    assert!(result.is_err());
    let id = created(run(&store, &new_case("kept", "a@example.com"), at("2026-03-02T09:00:00Z")));
    assert_eq!(id.get(), drawn, "ids of an aborted transaction are not burnt");
}

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

/// A file from before the agents' queues (no `unsolved:...` rows, no index
/// counters) lists and counts its queues once opened.
#[test]
fn an_older_file_gets_its_queues_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queues.redb");
    let now = at("2026-03-02T09:00:00Z");
    let cases: Vec<CaseId> = {
        let store = RedbStore::open(&path).unwrap();
        (0..3).map(|i| created(run(&store, &new_case(&format!("q{i}"), "old@example.com"), now))).collect()
    };
    {
        // Rewrite the file into the older layout.
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut index = txn.open_table(CASE_INDEX).unwrap();
            let queue_rows: Vec<(String, u64)> = index
                .iter()
                .unwrap()
                .map(|row| {
                    let (key, _) = row.unwrap();
                    let (name, id) = key.value();
                    (name.to_owned(), id)
                })
                .filter(|(key, _)| key.starts_with("unsolved"))
                .collect();
            assert!(!queue_rows.is_empty());
            for (key, id) in queue_rows {
                index.remove((key.as_str(), id)).unwrap();
            }
            let mut counters = txn.open_table(COUNTERS).unwrap();
            let counted: Vec<String> = counters.iter().unwrap().map(|row| row.unwrap().0.value().to_owned()).collect();
            for name in counted.iter().filter(|name| name.starts_with("count:")) {
                counters.remove(name.as_str()).unwrap();
            }
            txn.open_table(META).unwrap().remove("index_version").unwrap();
        }
        txn.commit().unwrap();
    }
    let store = RedbStore::open(&path).unwrap();
    let queue = CaseQuery { unsolved: true, unassigned: true, limit: 10, ..CaseQuery::default() };
    let listed: Vec<CaseId> = store.list_cases(&queue).unwrap().items.iter().map(|c| c.id).collect();
    assert_eq!(listed, cases.iter().rev().copied().collect::<Vec<_>>());
    let new = CaseQuery { status: Some(crate::domain::CaseStatus::New), ..CaseQuery::default() };
    assert_eq!(store.count_cases(&[queue, new]).unwrap(), [3, 3]);
}

/// A file from before the listing by SLA due (no `SLA_DUE` rows) lists its
/// cases by deadline once opened, from their SLA state.
#[test]
fn an_older_file_gets_its_sla_deadlines_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("due.redb");
    let book = sla_book();
    let cases: Vec<CaseId> = {
        let store = RedbStore::open(&path).unwrap();
        let ids: Vec<CaseId> = ["09:00", "08:30", "08:45"]
            .iter()
            .map(|t| {
                let command = new_case(&format!("at {t}"), "old@example.com");
                created(Ok(run_on_clock(&store, &command, at(&format!("2026-03-02T{t}:00Z")), &book)))
            })
            .collect();
        let solve =
            crate::write::command::CasePatch { status: Some(crate::domain::CaseStatus::Solved), ..Default::default() };
        let command = crate::write::command::Command::UpdateCase {
            case_id: ids[0],
            patch: solve,
            actor: crate::domain::Actor::System,
        };
        run_on_clock(&store, &command, at("2026-03-02T09:10:00Z"), &book);
        ids
    };
    {
        // Rewrite the file into the older layout.
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut due = txn.open_table(SLA_DUE).unwrap();
            assert_eq!(due.len().unwrap(), 2, "the unsolved cases have deadlines");
            due.retain(|_, _| false).unwrap();
            txn.open_table(CASE_SLA_DUE).unwrap().retain(|_, _| false).unwrap();
            txn.open_table(META).unwrap().remove("sla_due_version").unwrap();
        }
        txn.commit().unwrap();
    }
    let store = RedbStore::open(&path).unwrap();
    let page = store.list_cases_by_sla_due(&CaseQuery { limit: 10, ..CaseQuery::default() }, None).unwrap();
    let order: Vec<CaseId> = page.items.iter().map(|(case, _)| case.id).collect();
    assert_eq!(order, [cases[1], cases[2], cases[0]], "by deadline, the solved case last");
}

/// The adapter reads a case row as files written before
/// [`CaseRecord`] hold it, and writes one byte for byte the same.
#[test]
fn case_rows_keep_their_file_format() {
    use crate::store::records::tests::{CASE_ROW_V1, fixture_case};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.redb");
    let case = fixture_case();
    let store = RedbStore::open(&path).unwrap();
    store.transact(&mut |txn| txn.put_case(None, &case)).unwrap();
    drop(store);
    let db = Database::create(&path).unwrap();
    {
        let txn = db.begin_read().unwrap();
        let written = txn.open_table(CASES).unwrap().get(case.id.get()).unwrap().expect("the row").value().to_vec();
        assert_eq!(String::from_utf8(written).unwrap(), CASE_ROW_V1.trim_end());
    }
    // The same row under another id, as an older file holds it.
    let older = CASE_ROW_V1.trim_end().replacen("\"id\":\"42\"", "\"id\":\"43\"", 1);
    let txn = db.begin_write().unwrap();
    txn.open_table(CASES).unwrap().insert(43, older.as_bytes()).unwrap();
    txn.commit().unwrap();
    drop(db);
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.case(CaseId::new(43)).unwrap(), Some(Case { id: CaseId::new(43), ..case }));
}
