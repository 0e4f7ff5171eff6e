//! The seed's writer jobs: every generated request goes the host's own way
//! — encoded with the configured layout, decoded, typed by step 1
//! (`mpos_acquirer::request`), decided and stored by
//! `mpos_acquirer::record` — on the store writer's connection, as if its
//! device had sent it at the event's instant. So the seeder keeps no copy
//! of the RRN rule, of the answer's fields or of the duplicate handling:
//! a seeded row is what the host stores.
//!
//! What the writer adds is what a device learns from earlier answers: a
//! refund's DE 37 (the RRN its purchase got) and a reversal's DE 90 (its
//! original's STAN and DE 7). It checks each answer's DE 39 against the
//! code the generator meant, and moves to the next STAN when the request's
//! duplicate key is taken by a stored row (a second run of the same seed).

use super::generator::{Event, REFUND_WINDOW};
use super::request::Request;
use bytes::BytesMut;
use mpos_acquirer::record::{self, Recorded};
use mpos_acquirer::request;
use mpos_domain::business_day::BusinessDayClock;
use mpos_domain::card::PanKey;
use mpos_domain::mti::Mti;
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::{Session, SimulatorIssuer};
use mpos_iso8583::{Layout, MessageBuilder};
use mpos_store::ops::audit::{self, Actor};
use mpos_store::ops::transactions;
use mpos_store::{Snapshot, StoreError, Tx};
use std::collections::VecDeque;
use std::sync::Arc;

/// Tries of a request whose (device, STAN, DE 7) is taken by a stored row,
/// each with the next STAN.
const STAN_TRIES: u32 = 16;

/// Why the writer stopped the seeding, besides the store refusing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stop {
    /// The host's rules answered a request otherwise than the generator
    /// meant: one of the two is wrong.
    #[error(
        "the host answered {decided} to {mti} #{seq} where the seeder meant {intended}: \
         the generator and the host's rules disagree",
        decided = .decided.as_str(),
        intended = .intended.as_str()
    )]
    Disagree {
        /// The event's place in the stream.
        seq: u64,
        /// 0200 or its 0400.
        mti: Mti,
        /// The code the generator meant.
        intended: ResponseCode,
        /// DE 39 of the host's answer.
        decided: ResponseCode,
    },
    /// Every STAN tried was taken.
    #[error("no free STAN for {mti} #{seq} after {STAN_TRIES} tries")]
    NoFreeStan {
        /// The event's place in the stream.
        seq: u64,
        /// 0200 or its 0400.
        mti: Mti,
    },
    /// The request does not fit the layout.
    #[error("{mti} #{seq} does not fit the layout: {reason}")]
    Wire {
        /// The event's place in the stream.
        seq: u64,
        /// 0200 or its 0400.
        mti: Mti,
        /// What the codec said.
        reason: String,
    },
    /// The host stored nothing, and not because the key was taken.
    #[error(
        "the host stored nothing for {mti} #{seq} (it answered {decided}): \
         the generator and the host's rules disagree",
        decided = .decided.as_str()
    )]
    NotStored {
        /// The event's place in the stream.
        seq: u64,
        /// 0200 or its 0400.
        mti: Mti,
        /// DE 39 of the host's answer.
        decided: ResponseCode,
    },
    /// A refund names a purchase the writer has no RRN of.
    #[error("refund #{seq} names purchase #{of}, which has no RRN")]
    NoPurchase {
        /// The refund's place in the stream.
        seq: u64,
        /// Its purchase's.
        of: u64,
    },
}

/// Why one request could not be stored.
enum Failure {
    Store(StoreError),
    Stop(Stop),
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::Store(error)
    }
}

impl From<Stop> for Failure {
    fn from(stop: Stop) -> Self {
        Failure::Stop(stop)
    }
}

/// What every request of a seeding is sent with: the host's parts and the
/// devices' sessions.
pub(super) struct Parts {
    /// The configured wire layout.
    pub layout: Arc<Layout>,
    /// The data folder's PAN key: cards are masked and hashed with it.
    pub pan_key: PanKey,
    /// Business days and local dates of the events' instants.
    pub clock: BusinessDayClock,
    /// The directory as the rules see it while seeding.
    pub directory: Arc<Snapshot>,
    /// The session of each device of the shape, by its place there.
    pub sessions: Vec<Session>,
}

/// What the writer's jobs share: they run one after another on the
/// writer's thread, each taking it for its batch.
pub(super) struct Writer {
    parts: Parts,
    /// The RRNs of recent approved purchases, by `seq`, for refunds.
    purchases: VecDeque<(u64, String)>,
    /// The encoded request, reused.
    wire: BytesMut,
    /// A job failed: the ones queued behind it must not store rows that
    /// could refer to it.
    pub failed: bool,
    /// Why, when it was not the store.
    pub stop: Option<Stop>,
    /// Whether the audit entry is written.
    audited: bool,
    /// The audit entry's detail.
    audit_detail: String,
}

impl Writer {
    /// A writer sending with `parts`, auditing the run with `audit_detail`.
    pub(super) fn new(parts: Parts, audit_detail: String) -> Writer {
        Writer {
            parts,
            purchases: VecDeque::new(),
            wire: BytesMut::with_capacity(256),
            failed: false,
            stop: None,
            audited: false,
            audit_detail,
        }
    }

    /// One batch, in one job of the writer. The audit entry commits with
    /// the first batch, so no seeded row is ever unaudited.
    pub(super) fn store_batch(
        &mut self,
        tx: &mut Tx<'_>,
        batch: Vec<Event>,
        actor: &Actor,
        merchant_id: &str,
    ) -> Result<(), StoreError> {
        if !self.audited {
            audit::record(
                tx,
                actor,
                Some(merchant_id),
                "history.seeded",
                Some(merchant_id),
                Some(&self.audit_detail),
            )?;
            self.audited = true;
        }
        for mut event in batch {
            match self.store_event(tx, &mut event) {
                Ok(()) => {}
                Err(Failure::Store(error)) => return Err(error),
                Err(Failure::Stop(stop)) => {
                    let error = StoreError::Aborted(stop.to_string());
                    self.stop = Some(stop);
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// The event's 0200 and its 0400 if any, through the host's path.
    fn store_event(&mut self, tx: &mut Tx<'_>, event: &mut Event) -> Result<(), Failure> {
        if let Some(of) = event.refund_of {
            let rrn = self
                .purchases
                .binary_search_by_key(&of, |(seq, _)| *seq)
                .ok()
                .map(|i| self.purchases[i].1.clone())
                .ok_or(Stop::NoPurchase { seq: event.seq, of })?;
            event.request.set(37, rrn);
        }
        let recorded = self.send(
            tx,
            event.seq,
            event.device,
            &mut event.request,
            event.intended,
        )?;
        if event.approved() && event.refund_of.is_none() {
            match (&mut event.reversal, recorded.rrn) {
                (Some(reversal), _) => {
                    reversal.set(90, original_data(&event.request));
                    self.send(
                        tx,
                        event.seq,
                        event.device,
                        reversal,
                        ResponseCode::Approved,
                    )?;
                }
                (None, Some(rrn)) => self.purchases.push_back((event.seq, rrn)),
                (None, None) => {}
            }
        }
        let oldest = event.seq.saturating_sub(REFUND_WINDOW);
        while self.purchases.front().is_some_and(|(seq, _)| *seq < oldest) {
            self.purchases.pop_front();
        }
        Ok(())
    }

    /// Sends `request` from device `device` until it is stored (with the
    /// next STAN while its duplicate key is taken), and checks the host
    /// answered `intended`.
    fn send(
        &mut self,
        tx: &mut Tx<'_>,
        seq: u64,
        device: usize,
        request: &mut Request,
        intended: ResponseCode,
    ) -> Result<Recorded, Failure> {
        let mti = request.mti;
        for _ in 0..STAN_TRIES {
            let recorded = self.record(tx, seq, device, request, intended)?;
            // Every code the generator means is stored: an answer that
            // stored nothing is a 94 or a replay when a row holds the key.
            if !recorded.stored {
                if self.key_taken(tx, device, request)? {
                    let stan: u32 = request.field(11).and_then(|s| s.parse().ok()).unwrap_or(0);
                    request.set(11, format!("{:06}", stan % 999_999 + 1));
                    continue;
                }
                return Err(Stop::NotStored {
                    seq,
                    mti,
                    decided: recorded.code,
                }
                .into());
            }
            if recorded.code != intended {
                return Err(Stop::Disagree {
                    seq,
                    mti,
                    intended,
                    decided: recorded.code,
                }
                .into());
            }
            return Ok(recorded);
        }
        Err(Stop::NoFreeStan { seq, mti }.into())
    }

    /// Whether a stored row holds `request`'s duplicate key.
    fn key_taken(
        &self,
        tx: &mut Tx<'_>,
        device: usize,
        request: &Request,
    ) -> Result<bool, StoreError> {
        let field = |n| request.field(n).unwrap_or_default();
        Ok(transactions::find_by_key(
            tx,
            self.parts.sessions[device].device.as_str(),
            request.mti,
            field(11),
            field(7),
        )?
        .is_some())
    }

    /// Encode, decode, step 1, decide and store: the host's path for one
    /// request from `device`, arriving at `request.at`.
    fn record(
        &mut self,
        tx: &mut Tx<'_>,
        seq: u64,
        device: usize,
        request: &Request,
        intended: ResponseCode,
    ) -> Result<Recorded, Failure> {
        let Writer { parts, wire, .. } = self;
        let mti = request.mti;
        let wire_error = |reason: String| Stop::Wire { seq, mti, reason };
        if mti == Mti::Network {
            return Err(wire_error("the seeder sends no 0800".into()).into());
        }
        let codec_mti = mpos_acquirer::response::wire_mti(mti);
        wire.clear();
        parts
            .layout
            .encode(
                &MessageBuilder::from_fields(codec_mti, request.fields()),
                wire,
            )
            .map_err(|e| wire_error(e.to_string()))?;
        let message = parts
            .layout
            .decode(wire)
            .map_err(|e| wire_error(e.to_string()))?;
        let ctx = record::Context {
            layout: &parts.layout,
            pan_key: &parts.pan_key,
            issuer: &SimulatorIssuer,
            link: None,
            directory: &parts.directory,
            session: parts.sessions.get(device),
            received_at: request.at,
            business_day: parts.clock.business_day(request.at),
            today: parts.clock.local_date(request.at),
        };
        // Refused at step 1: answered 30 or 12, nothing stored.
        let refused = |decided| Stop::Disagree {
            seq,
            mti,
            intended,
            decided,
        };
        let recorded = match mti {
            Mti::Financial => {
                let typed = request::financial(&message, &parts.pan_key).map_err(refused)?;
                record::financial(tx, &ctx, &typed)?
            }
            Mti::Reversal => {
                let typed = request::reversal(&message, &parts.pan_key).map_err(refused)?;
                record::reversal(tx, &ctx, &typed)?
            }
            Mti::Network => return Err(wire_error("the seeder sends no 0800".into()).into()),
        };
        Ok(recorded)
    }
}

/// DE 90 of a reversal of `original` (a 0200 as it was sent): its MTI, its
/// STAN and DE 7, and 22 zeros.
pub(super) fn original_data(original: &Request) -> String {
    format!(
        "{}{}{}{}",
        original.mti,
        original.field(11).unwrap_or_default(),
        original.field(7).unwrap_or_default(),
        "0".repeat(22)
    )
}
