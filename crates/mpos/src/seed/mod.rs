//! Synthetic payment history for one merchant (`mpos admin seed-history`,
//! and the cabinet bench's fixture): [`generator`] makes the requests its
//! card readers would have sent, [`writer`] sends each through the host's
//! own path, this module runs the two.
//!
//! Requests go to the store's writer in jobs of [`BATCH`] events, one
//! queued ahead while the next is generated. In each job every 0200 and
//! 0400 is encoded with the configured layout, decoded, typed by step 1 and
//! decided and stored by `mpos_acquirer::record`, exactly as the host does
//! for a device, at the event's instant: the rows, their RRNs, answers and
//! card facts, and the `daily_totals` the triggers keep, are the host's.
//! Full card numbers live only in the generator's memory (wiped when it is
//! dropped); the host's path masks and hashes them as for a real device.
//!
//! The same seed gives the same requests; the stored rows differ between
//! two runs only by what the host draws at random (authorization codes,
//! and the answers that carry them). The audit entry commits with the
//! first batch, so no seeded row is ever unaudited; an interrupted run
//! keeps the batches that committed before it.

mod cards;
pub mod generator;
pub mod request;
mod writer;

pub use generator::{Event, GenerateError, Generator, Shape, Terminal};
pub use request::Request;
pub use writer::Stop;

use crate::app::App;
use jiff::civil::Date;
use mpos_domain::ids::DeviceSerial;
use mpos_domain::rules::Session;
use mpos_store::ops::audit::Actor;
use mpos_store::ops::{devices, merchants, terminals};
use mpos_store::{Snapshot, Store, StoreError, WriteAck};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use writer::{Parts, Writer};

/// Events per job of the store's writer (one commit each).
pub const BATCH: usize = 10_000;

/// Why seeding stopped.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The merchant does not exist.
    #[error("no merchant {0} (see `mpos admin merchant list`)")]
    NoMerchant(String),
    /// The rows cannot be generated (no devices or terminals, say).
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// The store refused; `stored` rows committed before it.
    #[error("seeding stopped after {stored} stored transaction(s): {source}")]
    Store {
        /// 0200s that committed before the failure.
        stored: u64,
        /// What the store said.
        source: StoreError,
    },
    /// The merchant's devices or terminals could not be read.
    #[error(transparent)]
    Read(#[from] StoreError),
    /// The host's path did not store what the generator meant; `stored`
    /// 0200s committed before it.
    #[error("seeding stopped after {stored} stored transaction(s): {stop}")]
    Stopped {
        /// 0200s that committed before it.
        stored: u64,
        /// What went wrong.
        stop: Stop,
    },
    /// A device of the shape is not in the directory.
    #[error("no card reader {0} in the directory (see `mpos admin device list`)")]
    UnknownDevice(String),
    /// The async runtime that waits for commits could not start.
    #[error("cannot start the runtime that waits for commits: {0}")]
    Runtime(std::io::Error),
}

/// What was stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// 0200 rows.
    pub transactions: u64,
    /// Approved purchases (reversed ones included).
    pub purchases: u64,
    /// Approved refunds.
    pub refunds: u64,
    /// Declined 0200s.
    pub declined: u64,
    /// Purchases reversed by a stored 0400.
    pub reversed: u64,
    /// The first and last business day with rows.
    pub period: Option<(Date, Date)>,
    /// Wall time.
    pub elapsed: Duration,
}

impl Summary {
    /// Counts `event` as the host answered it (the writer checked it got
    /// the intended code).
    fn count(&mut self, event: &Event) {
        self.transactions += 1;
        match (event.approved(), event.refund_of.is_some()) {
            (false, _) => self.declined += 1,
            (true, true) => self.refunds += 1,
            (true, false) => self.purchases += 1,
        }
        if event.reversal.is_some() {
            self.reversed += 1;
        }
    }
}

/// The shape of `transactions` rows over `days` for `merchant_id`, on the
/// merchant's devices and active virtual terminals as stored now.
pub fn shape_of(
    store: &Store,
    merchant_id: &str,
    transactions: u64,
    days: u32,
    seed: u64,
) -> Result<Shape, SeedError> {
    let id = merchant_id.to_owned();
    let (exists, devices, terminals) = store.read(move |reader| {
        Ok((
            merchants::exists(reader, &id)?,
            devices::list(reader, Some(&id))?,
            terminals::list(reader, Some(&id))?,
        ))
    })?;
    if !exists {
        return Err(SeedError::NoMerchant(merchant_id.to_owned()));
    }
    Ok(Shape {
        merchant_id: merchant_id.to_owned(),
        devices: devices.into_iter().map(|d| d.serial).collect(),
        terminals: terminals
            .into_iter()
            .filter(|t| t.active)
            .map(|t| Terminal {
                id: t.id,
                kind: t.kind,
                currency: t.currency,
                limit_minor: t.limit_minor,
            })
            .collect(),
        transactions,
        days,
        seed,
    })
}

/// The directory the seeded requests are decided with: the store's, but
/// with the shape's devices active. The history is of the past, when a
/// reader blocked today was still taking payments; deciding it with today's
/// block would turn all its rows into 58s. Terminals stay as they are:
/// [`shape_of`] takes only the active ones.
fn seeding_directory(now: &Snapshot, devices: &[String]) -> Snapshot {
    let mut seeded = Snapshot {
        version: now.version,
        devices: now.devices.clone(),
        terminals: now.terminals.clone(),
    };
    for serial in devices {
        if let Some(device) = seeded.devices.get_mut(serial) {
            device.blocked = false;
        }
    }
    seeded
}

/// The session each device of `devices` signs on with, under its current
/// credentials.
fn sessions(directory: &Snapshot, devices: &[String]) -> Result<Vec<Session>, SeedError> {
    devices
        .iter()
        .map(|serial| {
            let unknown = || SeedError::UnknownDevice(serial.clone());
            let row = directory.devices.get(serial).ok_or_else(unknown)?;
            Ok(Session {
                device: DeviceSerial::new(serial).map_err(|_| unknown())?,
                credentials_version: row.credentials_version,
            })
        })
        .collect()
}

/// Sends `generator`'s requests through the host's path on `app`'s store
/// (its layout, PAN key and clock), calling `progress` with the 0200s
/// stored so far after each commit. `actor` is recorded in the audit entry.
pub fn seed(
    app: &App,
    generator: Generator,
    actor: Actor,
    mut progress: impl FnMut(u64),
) -> Result<Summary, SeedError> {
    let started = Instant::now();
    let store = &app.store;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(SeedError::Runtime)?;
    let mut summary = Summary {
        period: generator.period(),
        ..Summary::default()
    };
    let merchant_id = generator.shape().merchant_id.clone();
    // The devices as stored now, whatever this process last saw.
    store.refresh_directory()?;
    let directory = seeding_directory(&store.directory().snapshot(), &generator.shape().devices);
    let parts = Parts {
        layout: Arc::clone(&app.layout),
        pan_key: app.pan_key.clone(),
        clock: app.clock.clone(),
        sessions: sessions(&directory, &generator.shape().devices)?,
        directory: Arc::new(directory),
    };
    let writer = Arc::new(Mutex::new(Writer::new(
        parts,
        format!(
            "{} transaction(s) over {} business day(s), seed {}",
            generator.len(),
            generator.shape().days,
            generator.shape().seed
        ),
    )));
    let mut generator = generator;
    let mut in_flight: Option<(WriteAck<()>, u64)> = None;
    let mut stored = 0u64;
    loop {
        let batch: Vec<Event> = generator.by_ref().take(BATCH).collect();
        let done = batch.is_empty();
        let rows = batch.len() as u64;
        for event in &batch {
            summary.count(event);
        }
        let next = (!done).then(|| {
            let writer = Arc::clone(&writer);
            let actor = actor.clone();
            let merchant_id = merchant_id.clone();
            let ack = store.write(move |tx| {
                let mut writer = writer
                    .lock()
                    .map_err(|_| StoreError::Aborted("a seeding job panicked".into()))?;
                if writer.failed {
                    return Err(StoreError::Aborted("an earlier batch failed".into()));
                }
                let result = writer.store_batch(tx, batch, &actor, &merchant_id);
                if result.is_err() {
                    writer.failed = true;
                }
                result
            });
            (ack, rows)
        });
        // One job queued ahead: the writer stores a batch while the next
        // is generated.
        if let Some((ack, rows)) = in_flight.take() {
            if let Err(source) = runtime.block_on(ack) {
                let stop = writer.lock().ok().and_then(|mut w| w.stop.take());
                return Err(match stop {
                    Some(stop) => SeedError::Stopped { stored, stop },
                    None => SeedError::Store { stored, source },
                });
            }
            stored += rows;
            progress(stored);
        }
        in_flight = next;
        if done {
            break;
        }
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

#[cfg(test)]
mod tests;
