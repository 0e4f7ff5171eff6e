//! 0400: reversal of an earlier 0200 named by DE 90.

use super::{Ledger, Refused, RequestHeader, Session, admit, retransmission};
use crate::ids::OriginalData;
use crate::mti::Mti;
use crate::response::ResponseCode;

/// A 0400 that passed step 1.
#[derive(Debug, Clone)]
pub struct ReversalRequest {
    /// What every 0200 and 0400 carries; DE 4 must equal the original's.
    pub header: RequestHeader,
    /// DE 90.
    pub original: OriginalData,
}

/// What to do with a 0400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversalDecision {
    /// Answer 00, mark the original reversed and store the reversal.
    Reverse {
        /// The original's row.
        original_id: i64,
    },
    /// The original is unknown: answer 00 and store the reversal anyway.
    RecordUnknown,
    /// The original is reversed already: answer 00, change nothing.
    AlreadyReversed,
    /// An identical retransmission: answer as before, change nothing.
    Replay,
    /// Decline with `code`.
    Decline {
        /// DE 39.
        code: ResponseCode,
        /// Whether to store it: past step 2, but 94 and a 58 or 03 whose
        /// duplicate key is taken already.
        store: bool,
        /// The original, when found.
        original_id: Option<i64>,
    },
}

/// Decides a 0400.
pub fn decide_reversal<L: Ledger>(
    request: &ReversalRequest,
    session: Option<&Session>,
    ledger: &L,
) -> Result<ReversalDecision, L::Error> {
    let decline = |code, store, original_id| ReversalDecision::Decline {
        code,
        store,
        original_id,
    };
    let header = &request.header;
    // Steps 2 to 4 as for a 0200.
    let (session, _, _) = match admit(session, Mti::Reversal, header, ledger)? {
        Ok(admitted) => admitted,
        Err(Refused(code, store)) => return Ok(decline(code, store, None)),
    };
    // The same 0400 again: answer as before. The spec names no code for a
    // different 0400 under the same key; it is answered like a 0200's (94),
    // since it can be neither stored nor honestly replayed.
    match retransmission(
        ledger,
        session,
        Mti::Reversal,
        &header.stan,
        &header.transmission_time,
        header.fingerprint,
    )? {
        Some(true) => return Ok(ReversalDecision::Replay),
        Some(false) => return Ok(decline(ResponseCode::Duplicate, false, None)),
        None => {}
    }
    let original = if request.original.mti == Mti::Financial.as_str() {
        ledger.reversal_target(&session.device, &request.original)?
    } else {
        None
    };
    let Some(original) = original else {
        return Ok(ReversalDecision::RecordUnknown);
    };
    if original.reversed {
        return Ok(ReversalDecision::AlreadyReversed);
    }
    if header.amount != original.amount {
        return Ok(decline(
            ResponseCode::InvalidAmount,
            true,
            Some(original.id),
        ));
    }
    if original.is_purchase && original.has_refunds {
        return Ok(decline(
            ResponseCode::InvalidTransaction,
            true,
            Some(original.id),
        ));
    }
    Ok(ReversalDecision::Reverse {
        original_id: original.id,
    })
}
