//! Durable transaction inserts per second: the store's group-commit writer
//! against one commit per insert, side by side in one run, both with
//! `synchronous=FULL` on a real file; the same group-commit writes on a
//! local PostgreSQL cluster (fsync on, a throwaway one the test kit
//! starts); and the history index of migration 3 against the one it
//! replaced.
//!
//! Run: `cargo bench --bench store` (figures in BENCHMARKS.md; the
//! PostgreSQL group needs the `postgresql` package,
//! `scripts/install-test-deps.sh`).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mpos_store::ops::transactions::{self, Kind, NewTransaction};
use mpos_store::testing::rusqlite::{Connection, params};
use mpos_store::{Store, StoreError, StoreOptions, Synchronous};
use mpos_testkit::provision::Provision;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The load fixture's merchant, reader and terminal: what every insert
/// refers to.
fn provision() -> Provision {
    Provision::load("x")
}

/// A full approved purchase row, as the host writes it.
fn insert_purchase(conn: &Connection, n: u64) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO transactions (mti, kind, device_serial, merchant_id, vt_id, stan,
             transmission_time, local_time, local_date, pos_entry_mode, processing_code,
             amount_minor, currency, masked_pan, pan_hash, rrn, auth_code, response_code,
             business_day, received_at, fingerprint, response)
         VALUES ('0200', 'purchase', 'LOAD-0001', 'MTBLOAD00000001', '90000001', ?1,
             ?2, '093000', '1125', '071', '000000', 12550, 933, '427655******1234', ?3, ?4,
             'A1B2C3', '00', '2026-11-25', 1764063000000, ?3, ?5)",
    )?
    .execute(params![
        format!("{:06}", n % 1_000_000),
        format!("{:010}", n / 1_000_000),
        [0xA5u8; 32],
        format!("{n:012}"),
        [0x30u8; 120],
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Readers of the PostgreSQL group: its inserts go to their devices' writers
/// as the host's do (`Store::write_keyed`), spread as a fleet's are.
const DEVICES: u64 = 64;

/// The serial of the `n`th insert's reader: LOAD-0001 (the SQLite groups)
/// or one of [`DEVICES`].
fn serial(n: u64, devices: u64) -> String {
    format!("LOAD-{:04}", n % devices + 1)
}

/// The same row through the store's typed insert, on either backend, from
/// reader `device`: what the host's writes run (on PostgreSQL, deferred and
/// inserted with the rest of its batch, `mpos_store::deferred`).
fn insert_purchase_any(
    tx: &mut mpos_store::Tx<'_>,
    n: u64,
    device: &str,
) -> Result<i64, StoreError> {
    transactions::insert(
        tx,
        &NewTransaction {
            kind: Kind::Purchase,
            device_serial: device.to_owned(),
            merchant_id: "MTBLOAD00000001".into(),
            vt_id: "90000001".into(),
            stan: format!("{:06}", n % 1_000_000),
            transmission_time: format!("{:010}", n / 1_000_000),
            local_time: Some("093000".into()),
            local_date: Some("1125".into()),
            pos_entry_mode: Some("071".into()),
            processing_code: "000000".into(),
            amount_minor: 12_550,
            currency: 933,
            masked_pan: Some("427655******1234".into()),
            pan_hash: Some([0xA5; 32]),
            rrn: Some(format!("{n:012}")),
            auth_code: Some("A1B2C3".into()),
            response_code: "00".into(),
            business_day: "2026-11-25".into(),
            received_at: 1_764_063_000_000,
            original_id: None,
            original_rrn: None,
            original_data: None,
            fingerprint: [0xA5; 32],
            response: vec![0x30; 120],
        },
    )
}

/// Group commit on PostgreSQL, beside SQLite's in the same run.
fn postgres(c: &mut Criterion) {
    let cluster = mpos_testkit::postgres::Postgres::start();
    let url = cluster.create_database("bench");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let next = AtomicU64::new(0);
    let location = mpos_store::Location::Postgres(
        mpos_store::PostgresUrl::parse(&url).expect("the cluster's URL"),
    );
    let store = Store::open_at(&location, &StoreOptions::default()).expect("open");
    let fleet = (2..=DEVICES).fold(provision(), |p, n| {
        p.device(&serial(n - 1, DEVICES), "MTBLOAD00000001", false, "x")
    });
    store
        .write_blocking(move |tx| fleet.insert(tx))
        .expect("provision");
    let mut group = c.benchmark_group("durable inserts, PostgreSQL");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group_commit(&mut group, &store, &runtime, &next, DEVICES);
    group.finish();
    drop(store);
    drop(cluster);
}

fn writers(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("durable inserts");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));

    // Group commit: the host's case, many requests in flight at once.
    let store = Store::open(&dir.path().join("group.db"), &StoreOptions::default()).expect("open");
    store
        .write_blocking(|tx| provision().insert(tx))
        .expect("provision");
    group_commit(&mut group, &store, &runtime, &next, 1);

    // One commit per insert: what a naive writer does.
    let conn = Connection::open(dir.path().join("single.db")).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("wal");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("full");
    let migrated = Store::open(
        &dir.path().join("single.db"),
        &StoreOptions {
            synchronous: Synchronous::Full,
            ..StoreOptions::default()
        },
    )
    .expect("migrate");
    migrated
        .write_blocking(|tx| provision().insert(tx))
        .expect("provision");
    drop(migrated);
    group.throughput(Throughput::Elements(256));
    group.bench_function(BenchmarkId::new("commit per insert", 256), |b| {
        b.iter_custom(|iterations| {
            let start = Instant::now();
            for _ in 0..iterations * 256 {
                let id = next.fetch_add(1, Ordering::Relaxed);
                insert_purchase(&conn, id).expect("durable insert");
            }
            start.elapsed()
        })
    });
    group.finish();
}

/// What the cabinet's history costs the host's inserts, side by side, 4,096
/// in flight on each: the schema as it is; before migration 3 (the history
/// index without the columns its filters test); and before migration 2 as
/// well (no `daily_totals` kept by trigger in each insert's commit).
fn history_index(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("durable inserts, history index");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(4096));
    const NARROW_INDEX: &str = "DROP INDEX transactions_history_filters;
         CREATE INDEX transactions_history ON transactions(merchant_id, business_day, id);";
    const NO_TOTALS: &str = "DROP TRIGGER daily_totals_on_insert;
         DROP TRIGGER daily_totals_on_update;";
    for (name, undo) in [
        ("migration 3", vec![]),
        ("before migration 3", vec![NARROW_INDEX]),
        ("before migrations 2 and 3", vec![NARROW_INDEX, NO_TOTALS]),
    ] {
        let store = Store::open(
            &dir.path().join(format!("{}.db", undo.len())),
            &StoreOptions::default(),
        )
        .expect("open");
        store
            .write_blocking(move |tx| {
                provision().insert(tx)?;
                for sql in undo {
                    tx.sqlite_for_tests().execute_batch(sql)?;
                }
                Ok(())
            })
            .expect("provision");
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                durable_batches(&store, &runtime, &next, iterations, 4096, 1)
            })
        });
    }
    group.finish();
}

/// The "group commit" benchmarks of `group` on `store`: 256 and 4,096
/// inserts in flight, from `devices` readers.
fn group_commit(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    store: &Store,
    runtime: &tokio::runtime::Runtime,
    next: &AtomicU64,
    devices: u64,
) {
    for in_flight in [256u64, 4096] {
        group.throughput(Throughput::Elements(in_flight));
        group.bench_with_input(
            BenchmarkId::new("group commit", in_flight),
            &in_flight,
            |b, &n| {
                b.iter_custom(|iterations| {
                    durable_batches(store, runtime, next, iterations, n, devices)
                })
            },
        );
    }
}

/// Time for `iterations` batches of `in_flight` inserts handed to the
/// group-commit writer at once (from `devices` readers, each on its
/// writer), each batch waited for until durable.
fn durable_batches(
    store: &Store,
    runtime: &tokio::runtime::Runtime,
    next: &AtomicU64,
    iterations: u64,
    in_flight: u64,
    devices: u64,
) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        let acks: Vec<_> = (0..in_flight)
            .map(|_| {
                let id = next.fetch_add(1, Ordering::Relaxed);
                let device = serial(id, devices);
                store.write_keyed(&device.clone(), move |tx| {
                    insert_purchase_any(tx, id, &device)
                })
            })
            .collect();
        runtime.block_on(async {
            for ack in acks {
                ack.await.expect("durable insert");
            }
        });
    }
    start.elapsed()
}

criterion_group!(benches, writers, postgres, history_index);
criterion_main!(benches);
