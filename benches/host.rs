//! The host's in-process path — decode, step 1, rules, durable write,
//! encode — without a socket, through `mpos_acquirer::process`: one purchase
//! at a time (each pays its own fsync) and 256 in flight (group commit).
//!
//! Run: `cargo bench --bench host` (figures in BENCHMARKS.md).

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mpos_acquirer::HostState;
use mpos_domain::rules::Session;
use mpos_iso8583::{Layout, MessageBuilder};
use mpos_testkit::messages::{Request, purchase, sign_on};
use mpos_testkit::provision::{
    self, LOAD_DEVICE, LOAD_DEVICE_PASSWORD, LOAD_MERCHANT, LOAD_TERMINAL, Provision,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Purchases on the load terminal, each with a key no other request of the
/// run has: the standard purchase's fields, encoded as the host's answers
/// are, with DE 7 and DE 11 set per request (no copy of the message is
/// built in the timed loop beyond the codec's own builder).
struct Purchases {
    layout: Layout,
    template: Request,
}

impl Purchases {
    fn new(layout: Layout) -> Purchases {
        Purchases {
            layout,
            template: purchase(0, 12_500).with(&[(41, LOAD_TERMINAL), (42, LOAD_MERCHANT)]),
        }
    }

    /// The standard fields, borrowed once for every request.
    fn fields(&self) -> Vec<(u8, &str)> {
        self.template.pairs()
    }

    /// Purchase number `n` (its own STAN and transmission time).
    fn nth(&self, fields: &[(u8, &str)], n: u64) -> Bytes {
        let stan = format!("{:06}", n % 1_000_000);
        let seconds = n / 1_000_000;
        let de7 = format!(
            "1125{:02}{:02}{:02}",
            seconds / 3600 % 24,
            seconds / 60 % 60,
            seconds % 60
        );
        let mut message = MessageBuilder::from_fields(self.template.mti(), fields);
        message.set(7, &de7).set(11, &stan);
        let mut out = BytesMut::new();
        self.layout
            .encode(&message, &mut out)
            .expect("bench messages encode");
        out.freeze()
    }
}

fn host() -> (tempfile::TempDir, Arc<HostState>) {
    let (dir, app) = Provision::load(&provision::password_hash(LOAD_DEVICE_PASSWORD)).app();
    (dir, mpos_testkit::host::state(&app))
}

fn in_process(c: &mut Criterion) {
    let (_dir, state) = host();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let layout = Layout::shipped("generic-1987-ascii").expect("layout");
    let sign_on = sign_on(1, LOAD_DEVICE, LOAD_DEVICE_PASSWORD).encode(&layout);
    let purchases = Purchases::new(layout);
    let fields = purchases.fields();
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
                let request = purchases.nth(&fields, next.fetch_add(1, Ordering::Relaxed));
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
                                    purchases.nth(&fields, next.fetch_add(1, Ordering::Relaxed));
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
