//! `mpos loadgen`: N simulated Android apps, each on its own connection,
//! signed on, sending payments — mostly purchases, some refunds of earlier
//! approvals and some reversals — for a fixed time, either keeping a fixed
//! number in flight (closed loop) or at a fixed rate (`--rate`, open loop).
//! Like the app, a device whose connection drops reconnects with backoff
//! and signs on again by ticket. A progress bar while it runs, then a
//! summary: counts, approvals per second, latency percentiles
//! (hdrhistogram), sign-ons and reconnects. If the host goes away the
//! requests in flight count as errors and the run still ends with its
//! summary.
//!
//! - [`device`]: one app's connections, sign-ons and payments;
//! - [`hosts`]: the hosts (`--iso A,B`) and a device's failover between them;
//! - [`requests`]: the messages it sends;
//! - [`pacing`]: when it sends them; [`backoff`]: when it reconnects;
//! - [`spray`]: the optional password guesser;
//! - [`tls`]: each device's TLS client (`--tls-ca`), with its own sessions;
//! - [`totals`]: the counters and the summary.

mod backoff;
mod device;
mod hosts;
mod pacing;
mod requests;
mod serials;
mod spray;
mod tls;
mod totals;

use crate::cli::LoadgenArgs;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use mpos_iso8583::{Layout, Mti};
use serials::Serials;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use totals::{RunInfo, Totals};

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
    /// `--first-serial` has no number to count up from.
    #[error(transparent)]
    Serial(#[from] serials::NoDigits),
    /// A TLS file (`--tls-ca`, a device's certificate or key) cannot be used.
    #[error("{0}")]
    Tls(#[from] mpos_tls::TlsFileError),
    /// The host's name for TLS is not a DNS name or an IP address.
    #[error("{0:?} is not a name a TLS certificate can carry: give --tls-server-name")]
    ServerName(String),
    /// `--iso` lists an empty address.
    #[error("--iso {0:?}: give one address or several separated by commas (A,B)")]
    Hosts(String),
    /// The runtime could not start.
    #[error("{0}")]
    Runtime(String),
}

/// Run-wide settings every device reads.
struct Settings {
    hosts: hosts::Hosts,
    password: String,
    merchant: String,
    terminal: String,
    serials: Serials,
    devices: u32,
    pipeline: usize,
    rate: Option<u32>,
    started: Instant,
    deadline: Instant,
    layout: Layout,
    log: Option<Mutex<BufWriter<File>>>,
    mtis: Mtis,
    /// TLS to the host, when `--tls-ca` asks for it.
    tls: Option<tls::Tls>,
}

/// The MTIs sent.
struct Mtis {
    network: Mti,
    financial: Mti,
    reversal: Mti,
}

impl Mtis {
    const SENT: Mtis = Mtis {
        network: Mti::from_static(*b"0800"),
        financial: Mti::from_static(*b"0200"),
        reversal: Mti::from_static(*b"0400"),
    };
}

impl Settings {
    /// Settings for unit tests: one device, the load fixture's names.
    #[cfg(test)]
    fn for_tests() -> Self {
        let started = Instant::now();
        Settings {
            hosts: hosts::Hosts::parse("127.0.0.1:1").expect("an address"),
            password: "load-pass-1".into(),
            merchant: "MTBLOAD00000001".into(),
            terminal: "90000001".into(),
            serials: Serials::starting_at("LOAD-0001").expect("a serial"),
            devices: 1,
            pipeline: 1,
            rate: None,
            started,
            deadline: started + Duration::from_secs(1),
            layout: Layout::shipped("generic-1987-ascii").expect("the shipped layout"),
            log: None,
            mtis: Mtis::SENT,
            tls: None,
        }
    }

    /// Appends "SERIAL STAN RRN" to the approvals log, if there is one.
    fn log_approval(&self, serial: &str, stan: &str, rrn: &str) {
        if let Some(log) = &self.log {
            if let Ok(mut log) = log.lock() {
                let _ = writeln!(log, "{serial} {stan} {rrn}");
            }
        }
    }
}

/// Runs the load and prints the summary; the process exits 0 whatever the host did.
pub fn run(args: LoadgenArgs) -> Result<(), LoadgenError> {
    let serials = Serials::starting_at(&args.first_serial)?;
    let hosts = hosts::Hosts::parse(&args.iso)?;
    let tls = tls::Tls::load(&args, &serials, &hosts)?;
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
    // Microseconds from 1 us to 60 s, 3 significant digits.
    let histogram = Histogram::new_with_bounds(1, 60_000_000, 3)
        .map_err(|e| LoadgenError::Runtime(e.to_string()))?;
    let sockets = u64::from(args.devices) + u64::from(spray::CONNECTIONS);
    if let Err(error) = crate::limits::raise_open_files(sockets) {
        let _ = writeln!(
            std::io::stderr(),
            "warning: {error}, or lower --devices; devices past the limit will fail to connect"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| LoadgenError::Runtime(format!("cannot start the async runtime: {e}")))?;
    let totals = runtime.block_on(async {
        let started = Instant::now();
        let settings = Arc::new(Settings {
            hosts,
            password: args.password.clone(),
            merchant: args.merchant.clone(),
            terminal: args.terminal.clone(),
            serials,
            devices: args.devices,
            pipeline: usize::from(args.pipeline),
            rate: args.rate,
            started,
            deadline: started + Duration::from_secs(args.duration),
            layout,
            log,
            mtis: Mtis::SENT,
            tls,
        });
        let totals = Arc::new(Totals::new(
            args.devices,
            histogram,
            Duration::from_secs(args.warmup),
        ));
        let progress = (!args.json).then(|| progress_bar(args.duration));
        let devices: Vec<_> = (0..args.devices)
            .map(|index| {
                let (settings, totals) = (Arc::clone(&settings), Arc::clone(&totals));
                if args.handshakes {
                    tokio::spawn(device::handshakes(index, settings, totals))
                } else {
                    tokio::spawn(device::run(index, settings, totals))
                }
            })
            .collect();
        let guessers: Vec<_> = args
            .wrong_sign_ons
            .map(|rate| {
                (0..spray::CONNECTIONS)
                    .map(|index| {
                        tokio::spawn(spray::run(
                            index,
                            rate,
                            Arc::clone(&settings),
                            Arc::clone(&totals),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let ticker = progress.clone().map(|bar| {
            let totals = Arc::clone(&totals);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    bar.set_position(totals.elapsed().as_secs());
                    bar.set_message(totals.status());
                }
            })
        });
        for device in devices {
            let _ = device.await;
        }
        for guesser in guessers {
            guesser.abort();
        }
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
        if let Some(log) = &settings.log {
            if let Ok(mut log) = log.lock() {
                let _ = log.flush();
            }
        }
        totals
    });
    let load = match args.rate {
        _ if args.handshakes => "TLS handshakes only".to_owned(),
        Some(rate) => format!(
            "open loop at {rate}/s (at most {} in flight each)",
            args.pipeline
        ),
        None => format!("pipeline {}", args.pipeline),
    };
    let summary = totals.summary(&RunInfo {
        json: args.json,
        load,
        open_loop: args.rate.is_some(),
        address: &args.iso,
    });
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
