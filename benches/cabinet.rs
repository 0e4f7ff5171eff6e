//! The cabinet's payment history on a merchant with a million transactions,
//! through the real router in-process (a logged-in session, every answer
//! read to its last byte): the business-day view for a week, a month and a
//! year; the transactions view's first page and page 10,000 of a year; the
//! filters (device, virtual terminal name, device + terminal ID, and a
//! reader and a terminal used now and then); the CSV of a month (rows/s)
//! and one chunk of it early and late in a year; and the peak memory of
//! streaming a whole year's CSV.
//!
//! Run: `cargo bench --bench cabinet` (figures in BENCHMARKS.md). The store
//! is built once per row count and day under `target/bench-fixtures/` and
//! reused by later runs that day. `MPOS_BENCH_ROWS=100000` picks another
//! size; under `cargo test` (no `--bench` flag) a small one is used.
//!
//! Beside criterion's estimates it prints a table of each request's median,
//! p95 and max over a fixed number of calls, and the CSV memory figures.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use mpos_cabinet::{AppDownload, Cabinet};
use mpos_domain::business_day::BusinessDayClock;
use mpos_store::Store;
use mpos_store::ops::audit::Actor;
use mpos_store::ops::history::{self, Cursor, HistoryFilter};
use mpos_store::ops::terminals::TerminalRow;
use mpos_testkit::cabinet;
use mpos_testkit::provision::{
    self, MERCHANT, MERCHANT_EMAIL, OTHER_MERCHANT as OTHER, Provision, installment_terminal,
    standard_terminal,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// The merchant under test ([`MERCHANT`]) and the other one ([`OTHER`])
/// have this cabinet password.
const PASSWORD: &str = "bench-password-1";
/// The quietest of the merchant's eight readers (about 4.6 % of its rows).
const QUIET_DEVICE: &str = "MPOS-0008";
/// The installment terminal (about 5 % of its rows).
const INSTALLMENT: &str = "10000002";
/// A reader used now and then: 150 rows over the year.
const RARE_DEVICE: &str = "MPOS-0009";
/// A terminal used now and then: 150 rows over the year.
const RARE_TERMINAL: &str = "10000005";
/// Bumped when the fixture's shape changes, so old caches are not reused.
const FIXTURE_VERSION: u32 = 4;

/// Whether criterion measures (`cargo bench`) or just checks that each
/// benchmark runs (`cargo test`).
fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The merchant's transactions: `MPOS_BENCH_ROWS`, else a million when
/// measuring and two thousand under `cargo test`.
fn rows() -> u64 {
    std::env::var("MPOS_BENCH_ROWS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(if measuring() { 1_000_000 } else { 2_000 })
}

fn clock() -> BusinessDayClock {
    BusinessDayClock::minsk().expect("the Minsk clock")
}

fn today() -> jiff::civil::Date {
    clock().business_day(jiff::Timestamp::now())
}

/// The folder of the cached store for `rows` built today; older ones of
/// the same size (other days, other fixture versions) are removed when a
/// new one is built.
fn fixture_dir(rows: u64) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target
        .join("bench-fixtures")
        .join(format!("cabinet-v{FIXTURE_VERSION}-{rows}-{}", today()))
}

/// Builds (or finds) the store: the merchant with 8 readers, 4 terminals
/// and `rows` transactions over 365 days; the other merchant with a tenth
/// as many on its own reader and terminal.
fn fixture(rows: u64) -> PathBuf {
    let dir = fixture_dir(rows);
    if dir.join("ready").exists() {
        return dir;
    }
    let parent = dir.parent().expect("a parent folder").to_owned();
    std::fs::create_dir_all(&parent).expect("fixture folder");
    // Older days and older versions of this size: half a gigabyte each.
    let size = format!("-{rows}-");
    for old in std::fs::read_dir(&parent)
        .expect("fixture folder")
        .flatten()
    {
        let name = old.file_name().to_string_lossy().into_owned();
        if name.starts_with("cabinet-v") && name.contains(&size) {
            let _ = std::fs::remove_dir_all(old.path());
        }
    }
    std::fs::create_dir_all(&dir).expect("fixture folder");
    let started = Instant::now();
    eprintln!("building the cabinet bench's store: {rows} transactions, once per day and size");
    let app = mpos_testkit::app::in_dir(&dir);
    let store = app.store.clone();
    let readers = (1..=8).fold(
        Provision::two_merchants(&provision::password_hash(PASSWORD)),
        |p, n| p.device(&format!("MPOS-{n:04}"), MERCHANT, false, "x"),
    );
    readers
        .device("MPOS-0101", OTHER, false, "x")
        .terminal(standard_terminal("10000001", MERCHANT, "Оплата"))
        .terminal(installment_terminal(
            INSTALLMENT,
            MERCHANT,
            "Рассрочка 3 мес.",
            3,
            500_000,
        ))
        .terminal(TerminalRow {
            kind: "bonus".into(),
            ..standard_terminal("10000003", MERCHANT, "Бонус+")
        })
        .terminal(standard_terminal("10000004", MERCHANT, "Оплата, зал 2"))
        .terminal(standard_terminal("20000001", OTHER, "Оплата"))
        .apply(&store);
    let seed = |shape: mpos_cli::seed::Shape| {
        let generator = mpos_cli::seed::Generator::new(
            shape,
            &app.clock,
            app.clock.zone(),
            jiff::Timestamp::now(),
        )
        .expect("generator");
        mpos_cli::seed::seed(&app, generator, Actor::System, |_| {}).expect("seed");
    };
    for (merchant, n, number) in [(OTHER, rows / 10, 2), (MERCHANT, rows, 1)] {
        seed(mpos_cli::seed::shape_of(&store, merchant, n.max(1), 365, number).expect("shape"));
    }
    // Then a reader and a terminal that see little use: a filter on either
    // matches rows spread thinly over the whole year.
    Provision::new()
        .device(RARE_DEVICE, MERCHANT, false, "x")
        .terminal(standard_terminal(
            RARE_TERMINAL,
            MERCHANT,
            "Подарочные карты",
        ))
        .apply(&store);
    let main = mpos_cli::seed::shape_of(&store, MERCHANT, 150, 365, 3).expect("shape");
    let terminal = |id: &str| {
        main.terminals
            .iter()
            .find(|t| t.id == id)
            .cloned()
            .expect("a terminal")
    };
    seed(mpos_cli::seed::Shape {
        devices: vec![RARE_DEVICE.into()],
        terminals: vec![terminal("10000001")],
        ..main.clone()
    });
    seed(mpos_cli::seed::Shape {
        devices: vec!["MPOS-0001".into()],
        terminals: vec![terminal(RARE_TERMINAL)],
        seed: 4,
        ..main.clone()
    });
    drop((store, app));
    std::fs::write(dir.join("ready"), b"").expect("marker");
    eprintln!("built in {:.1} s", started.elapsed().as_secs_f64());
    dir
}

/// The cabinet over the fixture, and a logged-in session's cookie.
struct Bench {
    store: Store,
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    cookie: String,
    today: jiff::civil::Date,
    /// Rows of the merchant in the last 30 days (the month CSV).
    month_rows: u64,
}

impl Bench {
    fn new(dir: &Path) -> Bench {
        let app = mpos_testkit::app::in_dir(dir);
        let store = app.store.clone();
        let month_rows: i64 = store
            .read(|c| {
                Ok(c.sqlite_for_tests().query_row(
                    "SELECT coalesce(sum(rows_count), 0) FROM daily_totals
                     WHERE merchant_id = ?1 AND business_day >= ?2",
                    [MERCHANT, &days_before(today(), 29).to_string()],
                    |r| r.get(0),
                )?)
            })
            .expect("month rows");
        let month_rows = u64::try_from(month_rows).unwrap_or(0);
        let cabinet = Cabinet::new(
            store.clone(),
            cabinet::config(
                &app,
                "http://127.0.0.1:8080",
                AppDownload::Url("https://example.invalid/app.apk".into()),
                // The history sends no mail; the outbox sits in the temp folder.
                cabinet::outbox_mailer(&std::env::temp_dir().join("mpos-bench")),
            ),
        );
        let router = mpos_cabinet::router(cabinet);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let session = runtime.block_on(cabinet::log_in(&router, MERCHANT_EMAIL, PASSWORD));
        let cookie = format!("mpos_session={session}");
        Bench {
            store,
            runtime,
            router,
            cookie,
            today: today(),
            month_rows,
        }
    }

    /// GETs `uri` and reads the whole answer; returns its size in bytes.
    fn get(&self, uri: &str) -> usize {
        self.runtime.block_on(get(&self.router, uri, &self.cookie))
    }

    /// `from=…&to=…` of the year ending today (366 days).
    fn year(&self) -> String {
        format!(
            "period=custom&from={}&to={}",
            days_before(self.today, 365),
            self.today
        )
    }
}

fn days_before(day: jiff::civil::Date, n: i64) -> jiff::civil::Date {
    day.checked_sub(jiff::Span::new().days(n)).expect("a date")
}

async fn get(router: &axum::Router, uri: &str, cookie: &str) -> usize {
    let request = Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("answer");
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
    let mut body = response.into_body().into_data_stream();
    let mut bytes = 0;
    while let Some(chunk) = body.next().await {
        bytes += chunk.expect("body").len();
    }
    bytes
}

/// The requests measured, by name.
fn pages(bench: &Bench) -> Vec<(&'static str, String)> {
    let year = bench.year();
    let txns = format!("/history?{year}&view=transactions");
    vec![
        ("days, week", "/history?period=week".into()),
        ("days, month", "/history?period=month".into()),
        ("days, custom 366 days", format!("/history?{year}")),
        ("transactions, year, page 1", txns.clone()),
        (
            "transactions, year, page 10000",
            format!("{txns}&page=10000"),
        ),
        (
            "transactions, year, device",
            format!("{txns}&device={QUIET_DEVICE}"),
        ),
        (
            "transactions, year, device, page 100",
            format!("{txns}&device={QUIET_DEVICE}&page=100"),
        ),
        (
            "transactions, year, vt_name",
            // «рассрочка», any case: the installment terminal.
            format!("{txns}&vt_name=%D1%80%D0%B0%D1%81%D1%81%D1%80%D0%BE%D1%87%D0%BA%D0%B0"),
        ),
        (
            "transactions, year, device + vt_id",
            format!("{txns}&device={QUIET_DEVICE}&vt_id={INSTALLMENT}"),
        ),
        (
            "days, year, device",
            format!("/history?{year}&device={QUIET_DEVICE}"),
        ),
        (
            "transactions, year, rare device",
            format!("{txns}&device={RARE_DEVICE}"),
        ),
        (
            "transactions, year, rare vt_name",
            // «подарочн»: the rarely used terminal.
            format!("{txns}&vt_name=%D0%BF%D0%BE%D0%B4%D0%B0%D1%80%D0%BE%D1%87%D0%BD"),
        ),
    ]
}

fn history(c: &mut Criterion) {
    let rows = rows();
    let bench = Bench::new(&fixture(rows));
    if measuring() {
        // Memory first, while the process is fresh: the growth it reports
        // includes warming the reader's page cache.
        csv_memory(&bench, rows);
        latency_table(&bench, rows);
    }
    let mut group = c.benchmark_group(format!("history, {rows} rows"));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for (name, uri) in pages(&bench) {
        group.bench_function(name, |b| b.iter(|| bench.get(&uri)));
    }
    let month_csv = "/history.csv?period=month&view=transactions";
    group.throughput(Throughput::Elements(bench.month_rows.max(1)));
    group.sample_size(10);
    group.bench_function("CSV, month, transactions", |b| {
        b.iter(|| bench.get(month_csv))
    });
    group.finish();
    keyset(c, &bench, rows);
}

/// One 2,000-row chunk of the year's export, as the store reads it, near
/// the start and 90 % of the way in, side by side: the chunk's cost must
/// not grow with how far the export has got, or the export is quadratic.
fn keyset(c: &mut Criterion, bench: &Bench, rows: u64) {
    let filter = HistoryFilter {
        merchant_id: MERCHANT.into(),
        from_day: days_before(bench.today, 365).to_string(),
        to_day: bench.today.to_string(),
        device_serial: None,
        vt_ids: None,
    };
    let cursor_at = |n: u64| -> Option<Cursor> {
        bench
            .store
            .read(|conn| {
                let rows = history::transactions_after(conn, &filter, None, n.max(1))?;
                Ok(rows.last().map(|row| Cursor {
                    business_day: row.business_day.clone(),
                    id: row.id,
                }))
            })
            .expect("a cursor")
    };
    let mut group = c.benchmark_group(format!("CSV chunk of 2000 rows, {rows} rows"));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .throughput(Throughput::Elements(2_000));
    for (name, at) in [("after row 2000", 2_000), ("after 90 %", rows / 10 * 9)] {
        let Some(cursor) = cursor_at(at) else {
            continue;
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                bench
                    .store
                    .read(|conn| history::transactions_after(conn, &filter, Some(&cursor), 2_000))
                    .expect("chunk")
                    .len()
            })
        });
    }
    group.finish();
}

/// Each request `CALLS` times after a warm-up: median, p95 and max, printed
/// as the table BENCHMARKS.md records.
fn latency_table(bench: &Bench, rows: u64) {
    const CALLS: usize = 40;
    println!("\nserver time per request, {rows} rows, {CALLS} calls each (ms):");
    println!("| request | median | p95 | max | answer |");
    println!("|---|---|---|---|---|");
    for (name, uri) in pages(bench) {
        let size = bench.get(&uri);
        let mut times: Vec<f64> = (0..CALLS)
            .map(|_| {
                let start = Instant::now();
                bench.get(&uri);
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {} KiB |",
            at(0.5),
            at(0.95),
            at(1.0),
            size / 1024
        );
    }
}

/// Peak RSS growth while the whole year's CSV streams to a sink, and its
/// rate: free heap is returned to the system and the high-water mark reset
/// first (`/proc/self/clear_refs`), so the growth is the export's alone. A month's export is measured the same
/// way to show the peak does not grow with the rows.
fn csv_memory(bench: &Bench, rows: u64) {
    println!("\nCSV export, peak memory growth (VmHWM after - VmRSS before), {rows} rows:");
    println!("| export | rows | size | time | rows/s | peak RSS growth |");
    println!("|---|---|---|---|---|---|");
    let year = bench.year();
    for (name, uri, count) in [
        (
            "month",
            "/history.csv?period=month&view=transactions".to_owned(),
            bench.month_rows,
        ),
        (
            "year (366 days)",
            format!("/history.csv?{year}&view=transactions"),
            rows,
        ),
    ] {
        trim();
        let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        let before = status_kib("VmRSS");
        let start = Instant::now();
        let bytes = bench.get(&uri);
        let elapsed = start.elapsed().as_secs_f64();
        let peak = status_kib("VmHWM");
        let growth = match (reset, before, peak) {
            (true, Some(before), Some(peak)) => {
                format!("{:.1} MiB", peak.saturating_sub(before) as f64 / 1024.0)
            }
            _ => "n/a (no /proc/self/clear_refs)".to_owned(),
        };
        println!(
            "| {name} | {count} | {:.1} MiB | {elapsed:.2} s | {:.0} | {growth} |",
            bytes as f64 / (1024.0 * 1024.0),
            count as f64 / elapsed
        );
    }
    // The control: the same measurement sees a 64 MiB buffer being filled.
    trim();
    if std::fs::write("/proc/self/clear_refs", "5").is_ok() {
        let before = status_kib("VmRSS").unwrap_or(0);
        let buffer = std::hint::black_box(vec![1u8; 64 << 20]);
        let peak = status_kib("VmHWM").unwrap_or(0);
        drop(buffer);
        println!(
            "| control: a 64 MiB buffer | | | | | {:.1} MiB |",
            peak.saturating_sub(before) as f64 / 1024.0
        );
    }
}

/// Gives the heap's free memory back to the system (glibc), so that the
/// growth measured next is memory the export used, not freed memory it
/// happened to reuse.
fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only returns free heap pages to the system;
        // it touches no memory the program holds.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// A `kB` line of `/proc/self/status`.
fn status_kib(key: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

criterion_group!(benches, history);
criterion_main!(benches);
