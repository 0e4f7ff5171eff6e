//! Decide and store, one function per request type: a typed 0200 or 0400,
//! the rules' decision over the store's state, the row it leads to and the
//! answer to send. Each runs on the store writer's connection inside one
//! job, so a rule's lookups (is this a duplicate? how much is left to
//! refund?) and the write they lead to are one atomic step.
//!
//! The host calls them for every request; `mpos admin seed-history` calls
//! them too, so a seeded row is exactly what the host would have stored:
//! the same RRN rule, the same answer, the same duplicate handling.

use crate::response;
use bytes::Bytes;
use jiff::Timestamp;
use jiff::civil::Date;
use mpos_domain::card::PanKey;
use mpos_domain::mti::Mti;
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::{
    FinancialDecision, FinancialRequest, Issuer, RequestHeader, ReversalDecision, ReversalRequest,
    Session, decide_financial, decide_reversal,
};
use mpos_iso8583::Layout;
use mpos_store::ledger::SqlLedger;
use mpos_store::ops::transactions::{self, Kind, NewTransaction};
use mpos_store::ops::{merchants, upstream};
use mpos_store::{Snapshot, StoreError, Tx};
use mpos_upstream::{Link, Reservation};
use std::sync::Arc;

/// What recording a request needs besides the request itself: the host's
/// parts, who sent it and when.
pub struct Context<'a> {
    /// The wire layout the answer is encoded in.
    pub layout: &'a Layout,
    /// Key of PAN hashes.
    pub pan_key: &'a PanKey,
    /// Step 9 for purchases.
    pub issuer: &'a (dyn Issuer + Send + Sync),
    /// The link to the card processor, in upstream mode: a request the
    /// rules forward reserves its link STAN here, inside the job that
    /// stores it as pending (and is answered 91 at once while it is down).
    pub link: Option<&'a Link>,
    /// Devices and terminals as the rules see them.
    pub directory: &'a Arc<Snapshot>,
    /// The connection's sign-on (`None`: answered 63, nothing stored).
    pub session: Option<&'a Session>,
    /// When the request arrived: the row's `received_at`.
    pub received_at: Timestamp,
    /// The business day the row belongs to.
    pub business_day: Date,
    /// The local date the card's expiry is checked against.
    pub today: Date,
}

impl Context<'_> {
    /// The signed-on device's serial and its merchant, as stored in a row.
    /// Only decisions past step 2 store rows, and they have a session.
    fn sender(&self) -> (String, String) {
        let device = self.session.map(|s| s.device.as_str()).unwrap_or_default();
        let merchant = self
            .directory
            .devices
            .get(device)
            .map(|d| d.merchant_id.clone())
            .unwrap_or_default();
        (device.to_owned(), merchant)
    }

    /// The row of a request with `code`; the caller fills in card facts,
    /// links and the RRN.
    fn row(
        &self,
        header: &RequestHeader,
        kind: Kind,
        code: ResponseCode,
        response: &[u8],
    ) -> NewTransaction {
        let (device_serial, merchant_id) = self.sender();
        let received = &header.received;
        NewTransaction {
            kind,
            device_serial,
            merchant_id,
            vt_id: header.terminal_id.to_string(),
            stan: header.stan.to_string(),
            transmission_time: header.transmission_time.to_string(),
            local_time: received.local_time.clone(),
            local_date: received.local_date.clone(),
            pos_entry_mode: received.pos_entry_mode.clone(),
            processing_code: received.processing_code.clone(),
            amount_minor: header.amount.minor(),
            currency: header.currency.code(),
            masked_pan: None,
            pan_hash: None,
            rrn: None,
            auth_code: None,
            response_code: code.as_str().to_owned(),
            business_day: self.business_day.to_string(),
            received_at: self.received_at.as_millisecond(),
            original_id: None,
            original_rrn: None,
            original_data: None,
            fingerprint: header.fingerprint.0,
            response: response.to_vec(),
        }
    }

    /// The answer to a request whose decision stores nothing.
    fn unstored(
        &self,
        mti: Mti,
        header: &RequestHeader,
        code: ResponseCode,
    ) -> Result<Recorded, StoreError> {
        let answer = response::answer(self.layout, mti, header, code, None);
        Ok(Recorded::answered(answer, code))
    }

    /// The answer the stored row under this request's duplicate key got:
    /// an identical retransmission is answered exactly as before.
    fn replay(
        &self,
        tx: &mut Tx<'_>,
        mti: Mti,
        header: &RequestHeader,
    ) -> Result<Recorded, StoreError> {
        let (device, _) = self.sender();
        let prior = transactions::find_by_key(
            tx,
            &device,
            mti,
            header.stan.as_str(),
            header.transmission_time.as_str(),
        )?
        .ok_or_else(|| StoreError::Missing("the answer to a retransmission".into()))?;
        // Upstream mode: the original may still wait on the processor;
        // the retransmission then gets its answer once it is known.
        let pending_of = match self.link {
            Some(_) => matches!(
                upstream::outcome(tx, prior.id)?,
                Some(upstream::Outcome::Pending)
            )
            .then_some(prior.id),
            None => None,
        };
        let code = ResponseCode::parse(&prior.response_code).unwrap_or(ResponseCode::Unlisted);
        Ok(Recorded {
            answer: Bytes::from(prior.response),
            code,
            rrn: None,
            forward: None,
            pending_of,
            stored: false,
        })
    }
}

/// What was decided and stored.
#[derive(Debug)]
pub struct Recorded {
    /// The encoded answer (no length header), to send once the write's
    /// commit is acknowledged — unless the request is forwarded.
    pub answer: Bytes,
    /// Its DE 39.
    pub code: ResponseCode,
    /// The RRN of an approved 0200, which a refund names in its DE 37.
    pub rrn: Option<String>,
    /// Upstream mode: the request is stored as pending (with the 91 answer
    /// above, what a crash leaves) and must now be forwarded.
    pub forward: Option<Forward>,
    /// A retransmission of the request in row `id`, which still waits on
    /// the processor: its answer is the original's, once known.
    pub pending_of: Option<i64>,
    /// Whether the request's own row was inserted (`false`: a replay, or a
    /// decision that stores nothing); the seeder checks every request is.
    pub stored: bool,
}

/// A 0200 stored as pending, to forward to the card processor.
#[derive(Debug)]
pub struct Forward {
    /// Its row.
    pub id: i64,
    /// The RRN it is forwarded with (DE 37) and answered with.
    pub rrn: String,
    /// The merchant's name (DE 43 of the forwarded request).
    pub merchant_name: String,
    /// Its link STAN and DE 7, stored with the row.
    pub reservation: Reservation,
}

impl Recorded {
    /// An answer that stored nothing.
    fn answered(answer: Bytes, code: ResponseCode) -> Recorded {
        Recorded {
            answer,
            code,
            rrn: None,
            forward: None,
            pending_of: None,
            stored: false,
        }
    }

    /// An answer whose request's row was inserted.
    fn stored(answer: Bytes, code: ResponseCode) -> Recorded {
        Recorded {
            stored: true,
            ..Recorded::answered(answer, code)
        }
    }
}

/// The RRN of row `id`: the row id is unique in the store, so is the RRN
/// made of it.
fn rrn_of(id: i64) -> String {
    format!("{id:012}")
}

/// Decides a 0200 (steps 2 to 10) and stores what the decision says: the
/// row of every decline past step 2 but 94, the row of an approval with its
/// RRN (made of the row id) and authorization code, nothing for a replay.
pub fn financial(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    request: &FinancialRequest,
) -> Result<Recorded, StoreError> {
    let decision = decide_financial(
        request,
        ctx.session,
        &SqlLedger::new(tx, Arc::clone(ctx.directory)),
        ctx.issuer,
        ctx.pan_key,
        ctx.today,
    )?;
    let header = &request.header;
    let kind = match request.kind {
        mpos_domain::ids::TransactionKind::Purchase => Kind::Purchase,
        mpos_domain::ids::TransactionKind::Refund => Kind::Refund,
    };
    let row = |code, response: &[u8]| {
        let mut row = ctx.row(header, kind, code, response);
        row.original_rrn = request.original_rrn.as_ref().map(ToString::to_string);
        row
    };
    match decision {
        FinancialDecision::Replay => ctx.replay(tx, Mti::Financial, header),
        FinancialDecision::Decline {
            code, store: false, ..
        } => ctx.unstored(Mti::Financial, header, code),
        FinancialDecision::Decline {
            code,
            original_id,
            card,
            ..
        } => {
            let answer = response::answer(ctx.layout, Mti::Financial, header, code, None);
            let mut stored = row(code, &answer);
            stored.original_id = original_id;
            stored.masked_pan = card.as_ref().map(|c| c.masked.to_string());
            stored.pan_hash = card.as_ref().map(|c| c.hash.0);
            transactions::insert(tx, &stored)?;
            Ok(Recorded::stored(answer, code))
        }
        FinancialDecision::Approve { original_id, card } => {
            let code = ResponseCode::Approved;
            let mut stored = row(code, &[]);
            stored.original_id = original_id;
            stored.masked_pan = Some(card.masked.to_string());
            stored.pan_hash = Some(card.hash.0);
            let (_, approval) = transactions::insert_approved(tx, &stored, |id| {
                let (rrn, auth) = (rrn_of(id), mpos_domain::response::new_authorization_code());
                let response = response::answer(
                    ctx.layout,
                    Mti::Financial,
                    header,
                    code,
                    Some((&rrn, &auth)),
                );
                transactions::Approval {
                    rrn,
                    auth_code: auth,
                    response: response.to_vec(),
                }
            })?;
            Ok(Recorded {
                answer: Bytes::from(approval.response),
                code,
                rrn: Some(approval.rrn),
                forward: None,
                pending_of: None,
                stored: true,
            })
        }
        FinancialDecision::Forward { original_id, card } => {
            // Stored as a 91 with the 91 answer: what the device gets if
            // the link is down, and what a crash before the outcome leaves.
            let code = ResponseCode::IssuerUnavailable;
            let answer = response::answer(ctx.layout, Mti::Financial, header, code, None);
            let mut stored = row(code, &answer);
            stored.original_id = original_id;
            stored.masked_pan = Some(card.masked.to_string());
            stored.pan_hash = Some(card.hash.0);
            let reservation = match ctx.link.map(Link::reserve) {
                Some(Ok(reservation)) => reservation,
                // Link down (or no link): 91 at once, nothing sent.
                Some(Err(_)) | None => {
                    transactions::insert(tx, &stored)?;
                    return Ok(Recorded::stored(answer, code));
                }
            };
            let id = transactions::insert(tx, &stored)?;
            let rrn = rrn_of(id);
            upstream::mark_pending(
                tx,
                id,
                &rrn,
                &reservation.stan().to_de11(),
                reservation.transmission_time(),
            )?;
            let merchant_name = merchants::by_id(tx, &stored.merchant_id)?
                .map(|m| m.name)
                .unwrap_or_default();
            Ok(Recorded {
                answer,
                code,
                rrn: Some(rrn.clone()),
                forward: Some(Forward {
                    id,
                    rrn,
                    merchant_name,
                    reservation,
                }),
                pending_of: None,
                stored: true,
            })
        }
    }
}

/// Decides a 0400 and stores what the decision says: the reversal's row
/// (and the original marked reversed), or its decline, or nothing for a
/// replay or an original reversed already.
pub fn reversal(
    tx: &mut Tx<'_>,
    ctx: &Context<'_>,
    request: &ReversalRequest,
) -> Result<Recorded, StoreError> {
    let decision = decide_reversal(
        request,
        ctx.session,
        &SqlLedger::new(tx, Arc::clone(ctx.directory)),
    )?;
    let header = &request.header;
    let record =
        |tx: &mut Tx<'_>, code, original_id: Option<i64>| -> Result<Recorded, StoreError> {
            let answer = response::answer(ctx.layout, Mti::Reversal, header, code, None);
            let mut row = ctx.row(header, Kind::Reversal, code, &answer);
            row.original_id = original_id;
            row.original_data = header.received.original_data.clone();
            transactions::insert(tx, &row)?;
            Ok(Recorded::stored(answer, code))
        };
    match decision {
        ReversalDecision::Reverse { original_id } => {
            transactions::mark_reversed(tx, original_id)?;
            // Upstream mode: a 0200 the processor approved, or may still
            // approve, is undone there too (reason 17).
            let undo_upstream = upstream::forwarded(tx, original_id)?
                .is_some_and(|f| f.pending || f.response_code == ResponseCode::Approved.as_str());
            if undo_upstream {
                upstream::queue_advice(
                    tx,
                    original_id,
                    upstream::Reason::DeviceReversed,
                    ctx.received_at.as_millisecond(),
                )?;
            }
            record(tx, ResponseCode::Approved, Some(original_id))
        }
        ReversalDecision::RecordUnknown => record(tx, ResponseCode::Approved, None),
        ReversalDecision::AlreadyReversed => {
            ctx.unstored(Mti::Reversal, header, ResponseCode::Approved)
        }
        ReversalDecision::Replay => ctx.replay(tx, Mti::Reversal, header),
        ReversalDecision::Decline {
            code, store: false, ..
        } => ctx.unstored(Mti::Reversal, header, code),
        ReversalDecision::Decline {
            code, original_id, ..
        } => record(tx, code, original_id),
    }
}
