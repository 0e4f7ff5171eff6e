//! The store's promises, on the backend the tests run on
//! (`mpos_testkit::backend`: an SQLite file in the test's folder, or that
//! folder's schema on PostgreSQL): acknowledged writes are durable even
//! when the process is killed, concurrent writers all land, one failing
//! write does not sink its batch, unique keys hold under races, and
//! directory changes reach other processes within a second.

use mpos_store::Tx;
use mpos_store::{Store, StoreError, StoreOptions};
use mpos_testkit::provision::Provision;
use mpos_testkit::{backend, sql};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The store of the data folder `dir`, opened anew.
fn open(dir: &Path) -> Store {
    open_with(dir, &StoreOptions::default())
}

/// [`open`] with `options`.
fn open_with(dir: &Path, options: &StoreOptions) -> Store {
    Store::open_at(&backend::location(dir), options).expect("store opens")
}

/// One merchant, one device, one terminal, so transactions have their parents.
fn provision(store: &Store) {
    Provision::one_merchant().apply(store);
}

/// Inserts a purchase with STAN `stan`; returns its row id.
fn insert_purchase(conn: &mut Tx<'_>, stan: u32) -> Result<i64, StoreError> {
    let nothing: &[u8] = &[0];
    conn.sql_for_tests().query_one(
        "INSERT INTO transactions (mti, kind, device_serial, merchant_id, vt_id, stan,
             transmission_time, processing_code, amount_minor, currency, response_code,
             business_day, received_at, fingerprint, response)
         VALUES ('0200', 'purchase', 'MPOS-0001', 'MTB000000000001', '10000001', ?1,
             '1125093000', '000000', 1000, 933, '00', '2026-11-25', 0, ?2, ?2)
         RETURNING id",
        &[&format!("{stan:06}"), &nothing],
        |row| row.get(0),
    )
}

fn count_transactions(store: &Store) -> i64 {
    sql::in_table(store, "transactions")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_all_land_in_group_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    provision(&store);
    let mut tasks = Vec::new();
    for task in 0..32u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50u32 {
                store
                    .write(move |conn| insert_purchase(conn, task * 1000 + i))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(count_transactions(&store), 32 * 50);
}

#[tokio::test]
async fn a_failing_write_fails_alone_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    provision(&store);
    // Queue three writes at once so they share a batch; the middle one
    // inserts a row and then fails.
    let first = store.write(|conn| insert_purchase(conn, 1));
    let failing = store.write(|conn| {
        insert_purchase(conn, 2)?;
        Err::<(), _>(StoreError::Aborted("refused on purpose".into()))
    });
    let last = store.write(|conn| insert_purchase(conn, 3));
    assert!(first.await.is_ok());
    assert!(matches!(failing.await, Err(StoreError::Aborted(_))));
    assert!(last.await.is_ok());
    let stans: Vec<String> = store
        .read(|conn| {
            conn.sql_for_tests()
                .query("SELECT stan FROM transactions ORDER BY stan", &[], |r| {
                    r.get(0)
                })
        })
        .unwrap();
    assert_eq!(
        stans,
        ["000001", "000003"],
        "the failed write's insert was rolled back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unique_key_admits_one_writer_in_a_race() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    provision(&store);
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.write(|conn| insert_purchase(conn, 42)).await })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) => assert!(e.is_unique_violation(), "{e}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(count_transactions(&store), 1);
}

#[test]
fn a_change_from_another_process_reaches_the_directory_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let host = open(path);
    provision(&host);
    host.refresh_directory().unwrap();
    assert!(!host.directory().device("MPOS-0001").unwrap().blocked);

    // A second store on the same file stands for an operator's `mpos admin`.
    let admin = open(path);
    sql::execute(
        &admin,
        "UPDATE devices SET state = 'blocked' WHERE serial = 'MPOS-0001'",
    );
    let deadline = Instant::now() + Duration::from_secs(1);
    while host
        .directory()
        .device("MPOS-0001")
        .is_some_and(|d| !d.blocked)
    {
        assert!(
            Instant::now() < deadline,
            "the block did not reach the host within 1 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn last_sign_on_updates_do_not_churn_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    provision(&store);
    store.refresh_directory().unwrap();
    let before = store.directory().snapshot().version;
    sql::execute(
        &store,
        "UPDATE devices SET last_sign_on_at = 1 WHERE serial = 'MPOS-0001'",
    );
    store.refresh_directory().unwrap();
    assert_eq!(store.directory().snapshot().version, before);
}

#[test]
fn reopening_keeps_everything_and_dropping_flushes_queued_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    {
        let store = open(path);
        provision(&store);
        for stan in 0..100 {
            // Not awaited: dropping the store must still commit them.
            drop(store.write(move |conn| insert_purchase(conn, stan)));
        }
    }
    let store = open(path);
    assert_eq!(count_transactions(&store), 100);
}

const CHILD_ENV: &str = "MPOS_STORE_DURABILITY_CHILD";

/// Not a test of its own: the child process of
/// `an_acknowledged_write_survives_sigkill`. It writes, and prints each id
/// only after its acknowledgement, until it is killed.
#[test]
fn durability_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = open(Path::new(&path));
    provision(&store);
    for stan in 0.. {
        let id = store
            .write_blocking(move |conn| insert_purchase(conn, stan))
            .unwrap();
        println!("acked {id}");
    }
}

#[test]
fn an_acknowledged_write_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "durability_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = Vec::new();
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("acked ") {
            acked.push(id.parse::<i64>().unwrap());
            if acked.len() == 200 {
                // SIGKILL right after the 200th acknowledgement.
                child.kill().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(
        acked.len(),
        200,
        "the child acknowledged 200 writes before it was killed"
    );
    let store = open(path);
    for id in acked {
        let found = sql::count(
            &store,
            "SELECT count(*) FROM transactions WHERE id = ?1",
            &[&id],
        );
        assert_eq!(found, 1, "acknowledged write {id} is on disk");
    }
}

#[tokio::test]
async fn when_a_batch_cannot_commit_every_write_in_it_is_told_so() {
    let dir = tempfile::tempdir().unwrap();
    // One writer, as SQLite always has: PostgreSQL's several would share
    // the jobs out between their own batches.
    let one_writer = StoreOptions {
        writers: 1,
        ..StoreOptions::default()
    };
    let store = open_with(dir.path(), &one_writer);
    provision(&store);
    // Hold the writer inside a first batch; what is queued meanwhile forms
    // the next batch together.
    let (started, writer_busy) = std::sync::mpsc::channel();
    let gate = store.write(move |_| {
        let _ = started.send(());
        std::thread::sleep(Duration::from_millis(100));
        Ok(())
    });
    writer_busy.recv().unwrap();
    let before = store.write(|conn| insert_purchase(conn, 1));
    // A job that rolls the batch's transaction back behind the writer: the
    // batch can no longer commit, and nothing of it is written.
    let saboteur = store.write(|conn| conn.sql_for_tests().execute("ROLLBACK", &[]));
    let after = store.write(|conn| insert_purchase(conn, 2));
    gate.await.unwrap();
    for (name, ack) in [("before", before.await), ("after", after.await)] {
        assert!(
            matches!(ack, Err(StoreError::CommitFailed(_))),
            "{name}: {ack:?}"
        );
    }
    assert!(saboteur.await.is_err());
    assert_eq!(
        count_transactions(&store),
        0,
        "a failed batch leaves nothing behind"
    );
    // The writer carries on with the next batch.
    store.write(|conn| insert_purchase(conn, 3)).await.unwrap();
    assert_eq!(count_transactions(&store), 1);
}

/// Why the tests of a full disk pass over PostgreSQL: they fill SQLite's
/// own file ([`let_the_database_not_grow`]), and PostgreSQL has no limit a
/// connection may put on its database's size.
const FULL_DISK: &str = "a full disk stood for by SQLite's page limit on its own file";

/// The writer's connection may add no page to the database: as a full
/// disk, without root.
fn let_the_database_not_grow(store: &Store) {
    store
        .write_blocking(|conn| {
            let pages: i64 = conn
                .sqlite_for_tests()
                .query_row("PRAGMA page_count", [], |r| r.get(0))?;
            conn.sqlite_for_tests().query_row(
                &format!("PRAGMA max_page_count = {pages}"),
                [],
                |_| Ok(()),
            )?;
            Ok(())
        })
        .unwrap();
}

/// Lifts [`let_the_database_not_grow`].
fn let_the_database_grow(store: &Store) {
    store
        .write_blocking(|conn| {
            conn.sqlite_for_tests()
                .query_row("PRAGMA max_page_count = 1073741823", [], |_| Ok(()))?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_full_database_marks_the_store_failing_until_it_commits_again() {
    if backend::sqlite_only(
        "a_full_database_marks_the_store_failing_until_it_commits_again",
        FULL_DISK,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    provision(&store);
    assert!(store.health().snapshot().failing.is_none());
    let_the_database_not_grow(&store);
    let mut refused = 0;
    for stan in 1..=2_000 {
        if store
            .write_blocking(move |conn| insert_purchase(conn, stan))
            .is_err()
        {
            refused += 1;
        }
        if refused >= 5 {
            break;
        }
    }
    assert!(refused >= 5, "the page limit refuses inserts");
    let snapshot = store.health().snapshot();
    let failing = snapshot.failing.expect("failing");
    assert!(failing.starts_with("disk_full:"), "{failing}");
    assert_eq!(snapshot.failures[0].0.label(), "disk_full");
    assert!(snapshot.failures[0].1 >= 5);

    let_the_database_grow(&store);
    store
        .write_blocking(|conn| insert_purchase(conn, 999_999))
        .unwrap();
    assert!(
        store.health().snapshot().failing.is_none(),
        "back without a restart"
    );
}

#[test]
fn ready_after_a_commit_or_a_probe_not_ready_while_writes_fail() {
    if backend::sqlite_only(
        "ready_after_a_commit_or_a_probe_not_ready_while_writes_fail",
        FULL_DISK,
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    provision(&store);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(store.ready()), Ok(()), "just committed");
    let_the_database_not_grow(&store);
    let refused = (1..=2_000)
        .map(|stan| store.write_blocking(move |conn| insert_purchase(conn, stan)))
        .find(Result::is_err);
    assert!(refused.is_some(), "the page limit refuses an insert");
    let answer = runtime.block_on(store.ready()).unwrap_err();
    assert!(
        answer.starts_with("the store cannot commit: disk_full"),
        "{answer}"
    );

    let_the_database_grow(&store);
    // No request meets the fault again; once it is no longer recent, a probe
    // write decides, commits, and ends it.
    std::thread::sleep(mpos_store::FRESH + Duration::from_millis(100));
    assert_eq!(runtime.block_on(store.ready()), Ok(()));
    assert!(store.health().snapshot().failing.is_none());
}
