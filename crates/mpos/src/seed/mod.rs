//! Synthetic payment history for one merchant (`mpos admin seed-history`,
//! and the cabinet bench's fixture): [`generator`] makes the rows, this
//! module stores them the way the host does.
//!
//! Rows go through the store's writer in jobs of [`BATCH`] rows, one
//! queued ahead while the next is generated, each row by
//! `ops::transactions::insert` — so the `daily_totals` triggers keep the
//! history's totals exactly as they do for the host. Approvals get their
//! RRN from the row id and a real encoded answer; reversals are a stored
//! 0400 and `ops::transactions::mark_reversed` on the original. The audit
//! entry commits with the first batch, so no seeded row is ever unaudited;
//! an interrupted run keeps the batches that committed before it.

pub mod generator;

pub use generator::{Event, GenerateError, Generator, Shape, Terminal};

use bytes::BytesMut;
use generator::REFUND_WINDOW;
use jiff::civil::Date;
use mpos_iso8583::{Layout, MessageBuilder, Mti};
use mpos_store::ops::audit::{self, Actor};
use mpos_store::ops::transactions::{self, Kind, NewTransaction};
use mpos_store::ops::{devices, merchants, terminals};
use mpos_store::rusqlite::Connection;
use mpos_store::{Store, StoreError, WriteAck};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Rows per job of the store's writer (one commit each).
pub const BATCH: usize = 10_000;

/// Tries of a row whose (device, STAN, DE 7) clashes with a stored one,
/// each with the next STAN.
const STAN_TRIES: u32 = 16;

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
        /// 0200 rows that committed before the failure.
        stored: u64,
        /// What the store said.
        source: StoreError,
    },
    /// The merchant's devices or terminals could not be read.
    #[error(transparent)]
    Read(#[from] StoreError),
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
    let (exists, devices, terminals) = store.read(move |c| {
        Ok((
            merchants::exists(c, &id)?,
            devices::list(c, Some(&id))?,
            terminals::list(c, Some(&id))?,
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

/// What the writer's jobs share: they run one after another on the
/// writer's thread, each taking it for its batch.
struct Shared {
    /// The row ids of recent approved purchases, by `seq`, for refunds.
    purchases: VecDeque<(u64, i64)>,
    /// A job failed: the ones queued behind it must not store rows that
    /// could refer to it.
    failed: bool,
    /// Whether the audit entry is written.
    audited: bool,
    /// The audit entry's detail.
    audit_detail: String,
    layout: Arc<Layout>,
}

/// Stores `generator`'s rows through `store`'s writer, calling `progress`
/// with the 0200s stored so far after each commit. `actor` is recorded in
/// the audit entry.
pub fn seed(
    store: &Store,
    generator: Generator,
    layout: Arc<Layout>,
    actor: Actor,
    mut progress: impl FnMut(u64),
) -> Result<Summary, SeedError> {
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(SeedError::Runtime)?;
    let mut summary = Summary {
        period: generator.period(),
        ..Summary::default()
    };
    let merchant_id = generator.shape().merchant_id.clone();
    let shared = Arc::new(Mutex::new(Shared {
        purchases: VecDeque::new(),
        failed: false,
        audited: false,
        audit_detail: format!(
            "{} transaction(s) over {} business day(s), seed {}",
            generator.len(),
            generator.shape().days,
            generator.shape().seed
        ),
        layout,
    }));
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
            let shared = Arc::clone(&shared);
            let actor = actor.clone();
            let merchant_id = merchant_id.clone();
            let ack = store.write(move |conn| {
                let mut state = shared
                    .lock()
                    .map_err(|_| StoreError::Aborted("a seeding job panicked".into()))?;
                if state.failed {
                    return Err(StoreError::Aborted("an earlier batch failed".into()));
                }
                let result = store_batch(conn, &mut state, &batch, &actor, &merchant_id);
                if result.is_err() {
                    state.failed = true;
                }
                result
            });
            (ack, rows)
        });
        // One job queued ahead: the writer stores a batch while the next
        // is generated.
        if let Some((ack, rows)) = in_flight.take() {
            runtime
                .block_on(ack)
                .map_err(|source| SeedError::Store { stored, source })?;
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

/// One batch, in one job of the writer.
fn store_batch(
    conn: &Connection,
    state: &mut Shared,
    batch: &[Event],
    actor: &Actor,
    merchant_id: &str,
) -> Result<(), StoreError> {
    if !state.audited {
        audit::record(
            conn,
            actor,
            Some(merchant_id),
            "history.seeded",
            Some(merchant_id),
            Some(&state.audit_detail),
        )?;
        state.audited = true;
    }
    let mut next_id = transactions::max_id(conn)? + 1;
    for event in batch {
        let mut row = event.row.clone();
        if let Some(of) = event.refund_of {
            let id = state
                .purchases
                .binary_search_by_key(&of, |(seq, _)| *seq)
                .ok()
                .map(|i| state.purchases[i].1)
                .ok_or_else(|| {
                    StoreError::Missing(format!("the purchase of refund {}", event.seq))
                })?;
            row.original_id = Some(id);
            row.original_rrn = Some(rrn_of(id));
        }
        let id = insert(conn, &state.layout, &mut row, next_id)?;
        next_id = id + 1;
        if event.approved() && event.refund_of.is_none() {
            if let Some(reversal) = &event.reversal {
                transactions::mark_reversed(conn, id)?;
                let mut reversal = reversal.clone();
                reversal.original_id = Some(id);
                next_id = insert(conn, &state.layout, &mut reversal, next_id)? + 1;
            } else {
                state.purchases.push_back((event.seq, id));
            }
        }
        let oldest = event.seq.saturating_sub(REFUND_WINDOW);
        while state
            .purchases
            .front()
            .is_some_and(|(seq, _)| *seq < oldest)
        {
            state.purchases.pop_front();
        }
    }
    Ok(())
}

/// The RRN the host gives row `id`.
fn rrn_of(id: i64) -> String {
    format!("{id:012}")
}

/// Inserts `row` as row `expected_id` with the answer the host would have
/// sent (an approval's RRN is made of the id), taking the next STAN while
/// its duplicate key clashes with a stored row. Returns the row id.
fn insert(
    conn: &Connection,
    layout: &Layout,
    row: &mut NewTransaction,
    expected_id: i64,
) -> Result<i64, StoreError> {
    let mut tries = 0;
    loop {
        if row.response_code == "00" && row.kind != Kind::Reversal {
            row.rrn = Some(rrn_of(expected_id));
        }
        row.response = answer(layout, row)?;
        match transactions::insert(conn, row) {
            Ok(id) if id == expected_id => return Ok(id),
            Ok(id) => {
                return Err(StoreError::Aborted(format!(
                    "row {id} was stored where row {expected_id} was expected: its RRN would be wrong"
                )));
            }
            Err(e) if e.is_unique_violation() && tries < STAN_TRIES => {
                tries += 1;
                let stan: u32 = row.stan.parse().unwrap_or(0);
                row.stan = format!("{:06}", stan % 999_999 + 1);
            }
            Err(e) => return Err(e),
        }
    }
}

/// The answer the host sends to `row`: the echoed fields, the RRN and
/// authorization code of an approval, DE 39.
fn answer(layout: &Layout, row: &NewTransaction) -> Result<Vec<u8>, StoreError> {
    let mti = Mti::new(row.kind.mti().as_str())
        .map_err(|e| StoreError::Aborted(e.to_string()))?
        .response();
    let amount = format!("{:012}", row.amount_minor);
    let currency = format!("{:03}", row.currency);
    let mut builder = MessageBuilder::new(mti);
    builder
        .set(3, &row.processing_code)
        .set(4, &amount)
        .set(7, &row.transmission_time)
        .set(11, &row.stan)
        .set(41, &row.vt_id)
        .set(42, &row.merchant_id)
        .set(49, &currency);
    if let (Some(rrn), Some(auth)) = (&row.rrn, &row.auth_code) {
        builder.set(37, rrn).set(38, auth);
    }
    builder.set(39, &row.response_code);
    let mut out = BytesMut::with_capacity(128);
    layout
        .encode(&builder, &mut out)
        .map_err(|e| StoreError::Aborted(format!("cannot encode a seeded answer: {e}")))?;
    Ok(out.to_vec())
}
