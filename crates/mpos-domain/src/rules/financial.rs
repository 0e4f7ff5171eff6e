//! 0200: purchase and refund, steps 2 to 10 of the spec.

use super::{
    CardFacts, CardInput, Issuer, Ledger, Refused, RequestHeader, Session, admit, retransmission,
};
use crate::card::{Pan, PanKey};
use crate::ids::{Rrn, TransactionKind};
use crate::mti::Mti;
use crate::response::ResponseCode;
use jiff::civil::Date;

/// A 0200 that passed step 1.
#[derive(Debug)]
pub struct FinancialRequest {
    /// Purchase or refund (DE 3).
    pub kind: TransactionKind,
    /// What every 0200 and 0400 carries: amount, keys, terminal, merchant.
    pub header: RequestHeader,
    /// DE 2 + DE 14, or DE 35.
    pub card: CardInput,
    /// A refund's DE 37: the purchase it refunds.
    pub original_rrn: Option<Rrn>,
}

/// What to do with a 0200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinancialDecision {
    /// Approve: store it with a new RRN and authorization code, and answer
    /// 00 only once the store acknowledged the commit.
    Approve {
        /// A refund's purchase.
        original_id: Option<i64>,
        /// What to keep of the card.
        card: CardFacts,
    },
    /// Decline with `code`.
    Decline {
        /// DE 39.
        code: ResponseCode,
        /// Whether to store it: every decline past step 2, but 94 and a 58
        /// or 03 whose duplicate key is taken already.
        store: bool,
        /// A refund's purchase, when it was found.
        original_id: Option<i64>,
        /// What to keep of the card, when it passed the Luhn check.
        card: Option<CardFacts>,
    },
    /// Upstream mode: steps 1 to 8 passed, the card processor decides.
    /// Store it as pending first, then forward it.
    Forward {
        /// A refund's purchase.
        original_id: Option<i64>,
        /// What to keep of the card.
        card: CardFacts,
    },
    /// An identical retransmission: answer exactly as before, store nothing.
    Replay,
}

/// Decides a 0200. `today` is the local date for the expiry check.
pub fn decide_financial<L: Ledger>(
    request: &FinancialRequest,
    session: Option<&Session>,
    ledger: &L,
    issuer: &dyn Issuer,
    key: &PanKey,
    today: Date,
) -> Result<FinancialDecision, L::Error> {
    let card = Pan::parse(&request.card.pan_digits)
        .ok()
        .map(|pan| CardFacts {
            masked: pan.masked(),
            hash: pan.hash(key),
        });
    let header = &request.header;
    let decline = |code, store: bool, original_id| FinancialDecision::Decline {
        code,
        store,
        original_id,
        card: card.clone(),
    };

    // 2 to 4: signed on, not blocked, the device's merchant and terminal.
    let (session, device, terminal) = match admit(session, Mti::Financial, header, ledger)? {
        Ok(admitted) => admitted,
        Err(Refused(code, store)) => return Ok(decline(code, store, None)),
    };
    // 5. Duplicate key: replay an identical retransmission, 94 otherwise.
    match retransmission(
        ledger,
        session,
        Mti::Financial,
        &header.stan,
        &header.transmission_time,
        header.fingerprint,
    )? {
        Some(true) => return Ok(FinancialDecision::Replay),
        Some(false) => return Ok(decline(ResponseCode::Duplicate, false, None)),
        None => {}
    }
    // 6. The card.
    let Some(card_facts) = card.clone() else {
        return Ok(decline(ResponseCode::InvalidCardNumber, true, None));
    };
    if request.card.expiry.is_expired(today) {
        return Ok(decline(ResponseCode::ExpiredCard, true, None));
    }
    // 7. Amount and currency.
    let over_limit = terminal.limit.is_some_and(|limit| header.amount > limit);
    if header.amount.is_zero() || over_limit || header.currency != terminal.currency {
        return Ok(decline(ResponseCode::InvalidAmount, true, None));
    }
    match request.kind {
        // 8. A refund needs its approved, unreversed purchase, same merchant
        // and card, with enough left.
        TransactionKind::Refund => {
            let target = match &request.original_rrn {
                Some(rrn) => ledger.refund_target(rrn)?,
                None => None,
            };
            let target = target.filter(|t| {
                t.approved
                    && !t.reversed
                    && t.merchant_id == device.merchant_id
                    && t.pan_hash == Some(card_facts.hash)
            });
            let Some(target) = target else {
                return Ok(decline(ResponseCode::OriginalNotFound, true, None));
            };
            if header.amount > target.amount.saturating_sub(target.refunded) {
                return Ok(decline(ResponseCode::InvalidAmount, true, Some(target.id)));
            }
            if issuer.forwards() {
                return Ok(FinancialDecision::Forward {
                    original_id: Some(target.id),
                    card: card_facts,
                });
            }
            // Refunds are approved by the acquirer itself.
            Ok(FinancialDecision::Approve {
                original_id: Some(target.id),
                card: card_facts,
            })
        }
        // 9. A purchase goes to the issuer: the card processor upstream,
        // or the built-in simulator.
        TransactionKind::Purchase if issuer.forwards() => Ok(FinancialDecision::Forward {
            original_id: None,
            card: card_facts,
        }),
        TransactionKind::Purchase => match issuer.decide(header.amount) {
            ResponseCode::Approved => Ok(FinancialDecision::Approve {
                original_id: None,
                card: card_facts,
            }),
            code => Ok(decline(code, true, None)),
        },
    }
}
