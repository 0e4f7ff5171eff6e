//! The host's in-process path — decode, step 1, rules, durable write,
//! encode — without a socket, through `mpos_acquirer::process`: one purchase
//! at a time (each pays its own fsync) and 256 in flight (group commit).
//!
//! Run: `cargo bench --bench host` (figures in BENCHMARKS.md).

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mpos_acquirer::{HostConfig, HostState};
use mpos_domain::business_day::BusinessDayClock;
use mpos_domain::card::PanKey;
use mpos_domain::password::PasswordHash;
use mpos_domain::rules::{Session, SimulatorIssuer};
use mpos_iso8583::{Layout, MessageBuilder, Mti};
use mpos_store::ops::{devices, merchants, terminals};
use mpos_store::{Store, StoreOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn frame(layout: &Layout, mti: &str, fields: &[(u8, &str)]) -> Bytes {
    let mut builder = MessageBuilder::new(Mti::new(mti).expect("MTI"));
    for (n, v) in fields {
        builder.set(*n, v);
    }
    let mut out = BytesMut::new();
    layout
        .encode(&builder, &mut out)
        .expect("bench messages encode");
    out.freeze()
}

/// A purchase with a key no other request of the run has.
fn purchase(layout: &Layout, n: u64) -> Bytes {
    let stan = format!("{:06}", n % 1_000_000);
    let seconds = n / 1_000_000;
    let de7 = format!(
        "1125{:02}{:02}{:02}",
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60
    );
    frame(
        layout,
        "0200",
        &[
            (2, "4276550012341239"),
            (3, "000000"),
            (4, "000000012500"),
            (7, &de7),
            (11, &stan),
            (14, "2812"),
            (22, "071"),
            (41, "90000001"),
            (42, "MTBLOAD00000001"),
            (49, "933"),
        ],
    )
}

fn host(dir: &std::path::Path) -> Arc<HostState> {
    let store = Store::open(&dir.join("mpos.db"), &StoreOptions::default()).expect("store");
    let hash = PasswordHash::new("load-pass")
        .expect("hash")
        .as_str()
        .to_owned();
    store
        .write_blocking(move |conn| {
            merchants::insert(
                conn,
                &merchants::MerchantRow {
                    id: "MTBLOAD00000001".into(),
                    name: "Load".into(),
                    email: "load@merchant.test".into(),
                    password_hash: hash.clone(),
                },
            )?;
            devices::insert(conn, "LOAD-0001", "MTBLOAD00000001", false, &hash)?;
            terminals::insert(
                conn,
                &terminals::TerminalRow {
                    id: "90000001".into(),
                    merchant_id: "MTBLOAD00000001".into(),
                    name: "Load".into(),
                    kind: "standard".into(),
                    installment_months: None,
                    currency: 933,
                    limit_minor: None,
                    active: true,
                },
            )?;
            Ok(())
        })
        .expect("provisioned");
    store.refresh_directory().expect("directory");
    Arc::new(HostState::new(
        store,
        Layout::shipped("generic-1987-ascii").expect("layout"),
        PanKey::new(b"bench key"),
        BusinessDayClock::minsk().expect("clock"),
        Arc::new(SimulatorIssuer),
        HostConfig::default(),
    ))
}

fn in_process(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = host(dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let layout = Layout::shipped("generic-1987-ascii").expect("layout");
    let sign_on = frame(
        &layout,
        "0800",
        &[
            (7, "1125093000"),
            (11, "000001"),
            (48, "load-pass"),
            (62, "LOAD-0001"),
            (70, "001"),
        ],
    );
    let mut session: Option<Session> = None;
    runtime
        .block_on(mpos_acquirer::process(&state, &mut session, sign_on))
        .expect("sign-on answered");
    assert!(session.is_some(), "signed on");
    let next = AtomicU64::new(1);

    let mut group = c.benchmark_group("host in process");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(1));
    group.bench_function("0200 one at a time", |b| {
        b.iter_custom(|iterations| {
            let start = Instant::now();
            for _ in 0..iterations {
                let request = purchase(&layout, next.fetch_add(1, Ordering::Relaxed));
                let mut s = session.clone();
                runtime
                    .block_on(mpos_acquirer::process(&state, &mut s, request))
                    .expect("answered");
            }
            start.elapsed()
        })
    });
    let in_flight = 256u64;
    group.throughput(Throughput::Elements(in_flight));
    group.bench_with_input(
        BenchmarkId::new("0200 in flight", in_flight),
        &in_flight,
        |b, &n| {
            b.iter_custom(|iterations| {
                let start = Instant::now();
                for _ in 0..iterations {
                    runtime.block_on(async {
                        let tasks: Vec<_> = (0..n)
                            .map(|_| {
                                let (state, mut s) = (Arc::clone(&state), session.clone());
                                let request =
                                    purchase(&layout, next.fetch_add(1, Ordering::Relaxed));
                                tokio::spawn(async move {
                                    mpos_acquirer::process(&state, &mut s, request).await
                                })
                            })
                            .collect();
                        for task in tasks {
                            task.await.expect("task").expect("answered");
                        }
                    });
                }
                start.elapsed()
            })
        },
    );
    group.finish();
}

criterion_group!(benches, in_process);
criterion_main!(benches);
