//! `mpos loadgen`: N simulated Android apps, each on its own connection,
//! signed on, keeping a fixed number of requests in flight — mostly
//! purchases, some refunds of earlier approvals and some reversals — for a
//! fixed time. A progress bar while it runs, then a summary: counts,
//! approvals per second, latency percentiles (hdrhistogram). If the host
//! goes away the in-flight requests count as errors and the run still ends
//! with its summary.

use crate::cli::LoadgenArgs;
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use mpos_iso8583::{FrameCodec, Layout, MessageBuilder, Mti};
use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// A test card that passes the Luhn check.
const CARD: &str = "4276550012341239";
/// Approved purchases each device remembers for refunds and reversals.
const RECENT: usize = 64;

/// Why the load generator could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    /// The approvals log could not be opened.
    #[error("cannot open {path} for --log-approved: {source}")]
    Log {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The runtime could not start.
    #[error("{0}")]
    Runtime(String),
}

/// Counters shared by the device tasks and the progress bar.
#[derive(Default)]
struct Totals {
    sent: AtomicU64,
    approved: AtomicU64,
    errors: AtomicU64,
    declined: Mutex<BTreeMap<String, u64>>,
}

/// Run-wide settings every device reads.
struct Settings {
    address: String,
    password: String,
    merchant: String,
    terminal: String,
    pipeline: usize,
    deadline: Instant,
    layout: Layout,
    log: Option<Mutex<BufWriter<File>>>,
    /// An empty latency histogram each device clones.
    histogram: Histogram<u64>,
    /// The MTIs sent.
    mtis: Mtis,
}

struct Mtis {
    network: Mti,
    financial: Mti,
    reversal: Mti,
}

/// Runs the load and prints the summary; the process exits 0 whatever the host did.
pub fn run(args: LoadgenArgs) -> Result<(), LoadgenError> {
    let log = match &args.log_approved {
        Some(path) => Some(Mutex::new(BufWriter::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| LoadgenError::Log {
                    path: path.clone(),
                    source,
                })?,
        ))),
        None => None,
    };
    let layout =
        Layout::shipped("generic-1987-ascii").map_err(|e| LoadgenError::Runtime(e.to_string()))?;
    let mti = |text| Mti::new(text).map_err(|e| LoadgenError::Runtime(e.to_string()));
    let mtis = Mtis {
        network: mti("0800")?,
        financial: mti("0200")?,
        reversal: mti("0400")?,
    };
    // Microseconds from 1 us to 60 s, 3 significant digits.
    let histogram = Histogram::new_with_bounds(1, 60_000_000, 3)
        .map_err(|e| LoadgenError::Runtime(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| LoadgenError::Runtime(format!("cannot start the async runtime: {e}")))?;
    let started = Instant::now();
    let settings = Arc::new(Settings {
        address: args.iso.clone(),
        password: args.password.clone(),
        merchant: args.merchant.clone(),
        terminal: args.terminal.clone(),
        pipeline: usize::from(args.pipeline),
        deadline: started + Duration::from_secs(args.duration),
        layout,
        log,
        histogram,
        mtis,
    });
    let totals = Arc::new(Totals::default());
    let progress = (!args.json).then(|| progress_bar(args.duration));
    let histogram = runtime.block_on(async {
        let devices: Vec<_> = (1..=args.devices)
            .map(|n| {
                tokio::spawn(device(
                    format!("LOAD-{n:04}"),
                    Arc::clone(&settings),
                    Arc::clone(&totals),
                ))
            })
            .collect();
        let ticker = progress.clone().map(|bar| {
            let totals = Arc::clone(&totals);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    let elapsed = started.elapsed();
                    bar.set_position(elapsed.as_secs());
                    bar.set_message(status(&totals, elapsed));
                }
            })
        });
        let mut all = settings.histogram.clone();
        for device in devices {
            if let Ok(histogram) = device.await {
                let _ = all.add(histogram);
            }
        }
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        all
    });
    let elapsed = started.elapsed();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(log) = &settings.log {
        if let Ok(mut log) = log.lock() {
            let _ = log.flush();
        }
    }
    let summary = summarize(&args, &totals, &histogram, elapsed);
    crate::output::write_stdout(&summary);
    Ok(())
}

fn progress_bar(duration: u64) -> ProgressBar {
    let bar = ProgressBar::new(duration);
    let style = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} s  {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar
}

fn status(totals: &Totals, elapsed: Duration) -> String {
    let approved = totals.approved.load(Ordering::Relaxed);
    format!(
        "sent {}, approved {} ({:.0}/s), errors {}",
        totals.sent.load(Ordering::Relaxed),
        approved,
        approved as f64 / elapsed.as_secs_f64().max(0.001),
        totals.errors.load(Ordering::Relaxed)
    )
}

fn summarize(
    args: &LoadgenArgs,
    totals: &Totals,
    histogram: &Histogram<u64>,
    elapsed: Duration,
) -> String {
    let sent = totals.sent.load(Ordering::Relaxed);
    let approved = totals.approved.load(Ordering::Relaxed);
    let errors = totals.errors.load(Ordering::Relaxed);
    let declined_by_code = totals
        .declined
        .lock()
        .map(|d| d.clone())
        .unwrap_or_default();
    let declined: u64 = declined_by_code.values().sum();
    let tps = approved as f64 / elapsed.as_secs_f64().max(0.001);
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    if args.json {
        return format!(
            "{{\"sent\":{sent},\"approved\":{approved},\"declined\":{declined},\"errors\":{errors},\"tps\":{tps:.1},\"p50_ms\":{:.3},\"p99_ms\":{:.3},\"p999_ms\":{:.3}}}\n",
            ms(0.5),
            ms(0.99),
            ms(0.999)
        );
    }
    let by_code: Vec<String> = declined_by_code
        .iter()
        .map(|(code, n)| format!("{code}: {n}"))
        .collect();
    format!(
        "mpos loadgen: {} devices, pipeline {}, {:.1} s against {}\n  sent       {sent}\n  approved   {approved}  ({tps:.1}/s)\n  declined   {declined}{}\n  errors     {errors}\n  latency    p50 {:.2} ms   p99 {:.2} ms   p99.9 {:.2} ms\n",
        args.devices,
        args.pipeline,
        elapsed.as_secs_f64(),
        args.iso,
        if by_code.is_empty() {
            String::new()
        } else {
            format!("  ({})", by_code.join(", "))
        },
        ms(0.5),
        ms(0.99),
        ms(0.999),
    )
}

/// What a request in flight was.
enum Sent {
    Purchase {
        stan: String,
        de7: String,
        amount: u64,
    },
    Refund {
        stan: String,
    },
    Reversal {
        stan: String,
    },
}

impl Sent {
    fn stan(&self) -> &str {
        match self {
            Sent::Purchase { stan, .. } | Sent::Refund { stan } | Sent::Reversal { stan } => stan,
        }
    }
}

/// An approved purchase a later refund or reversal can name.
struct Approved {
    rrn: String,
    stan: String,
    de7: String,
    amount: u64,
}

/// One simulated app: connect, sign on, keep `pipeline` requests in flight
/// until the deadline, then collect the answers still due.
async fn device(serial: String, settings: Arc<Settings>, totals: Arc<Totals>) -> Histogram<u64> {
    let mut latencies = settings.histogram.clone();
    let Ok(Ok(socket)) = tokio::time::timeout(
        Duration::from_secs(5),
        TcpStream::connect(&settings.address),
    )
    .await
    else {
        totals.errors.fetch_add(1, Ordering::Relaxed);
        return latencies;
    };
    let _ = socket.set_nodelay(true);
    let mut framed = Framed::new(socket, FrameCodec::default());
    let mut next_stan = stan_seed(&serial);
    let de7 = || jiff::Timestamp::now().strftime("%m%d%H%M%S").to_string();

    let sign_on = encode(
        &settings.layout,
        settings.mtis.network,
        &[
            (7, &de7()),
            (11, &stan(&mut next_stan)),
            (48, &settings.password),
            (62, &serial),
            (70, "001"),
        ],
    );
    let signed_on = match framed.send(sign_on).await {
        Ok(()) => match framed.next().await {
            Some(Ok(frame)) => code_of(&settings.layout, &frame).as_deref() == Some("00"),
            _ => false,
        },
        Err(_) => false,
    };
    if !signed_on {
        totals.errors.fetch_add(1, Ordering::Relaxed);
        return latencies;
    }

    let mut in_flight: VecDeque<(Instant, Sent)> = VecDeque::new();
    let mut recent: VecDeque<Approved> = VecDeque::new();
    let mut count: u64 = 0;
    loop {
        while in_flight.len() < settings.pipeline && Instant::now() < settings.deadline {
            count += 1;
            let (bytes, sent) = next_request(&settings, &mut next_stan, &mut recent, count, &de7());
            if framed.feed(bytes).await.is_err() {
                break;
            }
            totals.sent.fetch_add(1, Ordering::Relaxed);
            in_flight.push_back((Instant::now(), sent));
        }
        if in_flight.is_empty() {
            break;
        }
        if SinkExt::<Bytes>::flush(&mut framed).await.is_err() {
            break;
        }
        let Some(Ok(frame)) = framed.next().await else {
            break;
        };
        let Some((at, sent)) = in_flight.pop_front() else {
            break;
        };
        let _ = latencies.record(
            u64::try_from(at.elapsed().as_micros())
                .unwrap_or(u64::MAX)
                .max(1),
        );
        let Ok(answer) = settings.layout.decode(&frame) else {
            totals.errors.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        if answer.str(11) != Some(sent.stan()) {
            // Answers must come in the order of the requests.
            totals.errors.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        match answer.str(39) {
            Some("00") => {
                totals.approved.fetch_add(1, Ordering::Relaxed);
                if let Some(rrn) = answer.str(37) {
                    log_approval(&settings, &serial, sent.stan(), rrn);
                    if let Sent::Purchase { stan, de7, amount } = sent {
                        if recent.len() == RECENT {
                            recent.pop_front();
                        }
                        recent.push_back(Approved {
                            rrn: rrn.to_owned(),
                            stan,
                            de7,
                            amount,
                        });
                    }
                }
            }
            Some(code) => {
                if let Ok(mut declined) = totals.declined.lock() {
                    *declined.entry(code.to_owned()).or_default() += 1;
                }
            }
            None => {
                totals.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    // Whatever is still in flight never got an answer: the host went away.
    totals
        .errors
        .fetch_add(in_flight.len() as u64, Ordering::Relaxed);
    latencies
}

/// The next request: mostly purchases; 5 in 100 a small refund of the
/// oldest remembered approval, 3 in 100 the reversal of the newest (not yet
/// refunded, so the reversal is allowed).
fn next_request(
    settings: &Settings,
    next_stan: &mut u32,
    recent: &mut VecDeque<Approved>,
    count: u64,
    de7: &str,
) -> (Bytes, Sent) {
    let stan = stan(next_stan);
    let common = |fields: &mut Vec<(u8, String)>| {
        fields.extend([
            (7, de7.to_owned()),
            (11, stan.clone()),
            (41, settings.terminal.clone()),
            (42, settings.merchant.clone()),
            (49, "933".to_owned()),
        ]);
    };
    let card = [
        (2, CARD.to_owned()),
        (14, "2812".to_owned()),
        (22, "071".to_owned()),
    ];
    let mut fields: Vec<(u8, String)> = Vec::with_capacity(14);
    let (mti, sent) = match (count % 100, recent.front()) {
        (0..=4, Some(original)) => {
            fields.extend(card);
            fields.extend([
                (3, "200000".to_owned()),
                (4, format!("{:012}", 100)),
                (37, original.rrn.clone()),
            ]);
            (settings.mtis.financial, Sent::Refund { stan: stan.clone() })
        }
        (5..=7, Some(_)) => {
            let original = recent
                .pop_back()
                .map(|o| (o.stan, o.de7, o.amount))
                .unwrap_or_default();
            fields.extend([
                (3, "000000".to_owned()),
                (4, format!("{:012}", original.2)),
                (
                    90,
                    format!("0200{}{}{}", original.0, original.1, "0".repeat(22)),
                ),
            ]);
            (
                settings.mtis.reversal,
                Sent::Reversal { stan: stan.clone() },
            )
        }
        _ => {
            // Whole rubles: never the simulator's 51 or 05 endings.
            let amount = 1_000 + (count % 90) * 100;
            fields.extend(card);
            fields.extend([(3, "000000".to_owned()), (4, format!("{amount:012}"))]);
            (
                settings.mtis.financial,
                Sent::Purchase {
                    stan: stan.clone(),
                    de7: de7.to_owned(),
                    amount,
                },
            )
        }
    };
    common(&mut fields);
    fields.sort_by_key(|(n, _)| *n);
    let borrowed: Vec<(u8, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    (encode(&settings.layout, mti, &borrowed), sent)
}

fn encode(layout: &Layout, mti: Mti, fields: &[(u8, &str)]) -> Bytes {
    let builder = MessageBuilder::from_fields(mti, fields);
    let mut out = BytesMut::with_capacity(256);
    // The load generator's own messages are valid by construction.
    let _ = layout.encode(&builder, &mut out);
    out.freeze()
}

fn code_of(layout: &Layout, frame: &[u8]) -> Option<String> {
    layout.decode(frame).ok()?.str(39).map(str::to_owned)
}

/// A starting STAN that differs between devices and between runs, so that
/// (device, STAN, DE 7) keys of two runs in the same second do not collide.
fn stan_seed(serial: &str) -> u32 {
    let nanos = jiff::Timestamp::now().subsec_nanosecond().unsigned_abs();
    let salt = serial
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    nanos.wrapping_add(salt) % 1_000_000
}

fn stan(next: &mut u32) -> String {
    let stan = format!("{:06}", *next % 1_000_000);
    *next = (*next + 1) % 1_000_000;
    stan
}

fn log_approval(settings: &Settings, serial: &str, stan: &str, rrn: &str) {
    if let Some(log) = &settings.log {
        if let Ok(mut log) = log.lock() {
            let _ = writeln!(log, "{serial} {stan} {rrn}");
        }
    }
}
