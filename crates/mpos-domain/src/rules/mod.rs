//! The decisions of the host interface (spec section 4) as pure functions:
//! a typed request, the connection's session and a read-only [`Ledger`] view
//! of the current state in, a decision out. The caller stores what the
//! decision says and answers; the rules never write.
//!
//! Step 1 (format) belongs to the caller, which builds the typed request
//! from the message: a missing or malformed field is 30, a processing code
//! that is neither purchase nor refund is 12, DE 2 and DE 35 naming
//! different PANs is 30. Everything after is here, in the spec's order:
//! the first rule that applies decides.
//!
//! Run the financial and reversal rules inside the store's write
//! transaction: then "how much is left to refund" and the insert it decides
//! are one atomic step, and two racing refunds cannot both spend it.

mod financial;
mod network;
mod reversal;

pub use financial::{FinancialDecision, FinancialRequest, decide_financial};
pub use network::{LOCKOUT_FAILURES, LOCKOUT_MS, SignOnDecision, decide_sign_on, locked_until};
pub use reversal::{ReversalDecision, ReversalRequest, decide_reversal};

use crate::card::{Expiry, MaskedPan, PanHash, PanKey};
use crate::ids::{DeviceSerial, MerchantId, OriginalData, Rrn, Stan, TerminalId, TransmissionTime};
use crate::money::{Amount, Currency};
use crate::mti::Mti;
use crate::response::ResponseCode;
use ring::hmac;
use std::fmt;
use zeroize::Zeroize;

/// A connection's sign-on: which device, under which credentials version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The device signed on.
    pub device: DeviceSerial,
    /// Its credentials version at sign-on; a later app password change
    /// revokes the session.
    pub credentials_version: i64,
}

/// A device as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceView {
    /// Its merchant.
    pub merchant_id: MerchantId,
    /// Blocked devices get 58.
    pub blocked: bool,
    /// Current credentials version.
    pub credentials_version: i64,
}

/// A virtual terminal as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalView {
    /// Its merchant.
    pub merchant_id: MerchantId,
    /// Inactive terminals get 03.
    pub active: bool,
    /// Its currency; DE 49 must equal it.
    pub currency: Currency,
    /// Per-transaction limit, if any.
    pub limit: Option<Amount>,
}

/// The purchase a refund names by DE 37.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundTarget {
    /// Its row.
    pub id: i64,
    /// Its merchant.
    pub merchant_id: MerchantId,
    /// Its card.
    pub pan_hash: Option<PanHash>,
    /// Its amount.
    pub amount: Amount,
    /// Approved (00)?
    pub approved: bool,
    /// Reversed?
    pub reversed: bool,
    /// Sum of its approved, unreversed refunds.
    pub refunded: Amount,
}

/// What a 0200 was, as a reversal sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReversalTarget {
    /// Its row.
    pub id: i64,
    /// Purchase (true) or refund (false).
    pub is_purchase: bool,
    /// Its amount.
    pub amount: Amount,
    /// Reversed already?
    pub reversed: bool,
    /// A purchase with approved, unreversed refunds?
    pub has_refunds: bool,
}

/// Read-only view of the state the rules consult. Lookups that reach the
/// database may fail; the caller answers 96 then.
pub trait Ledger {
    /// A failed lookup.
    type Error;
    /// The device with this serial.
    fn device(&self, serial: &DeviceSerial) -> Option<DeviceView>;
    /// The virtual terminal with this ID.
    fn terminal(&self, id: &TerminalId) -> Option<TerminalView>;
    /// The fingerprint of the request already answered under this key.
    fn prior(
        &self,
        device: &DeviceSerial,
        mti: Mti,
        stan: &Stan,
        transmission_time: &TransmissionTime,
    ) -> Result<Option<Fingerprint>, Self::Error>;
    /// The purchase with this RRN.
    fn refund_target(&self, rrn: &Rrn) -> Result<Option<RefundTarget>, Self::Error>;
    /// The 0200 of this device that DE 90 names.
    fn reversal_target(
        &self,
        device: &DeviceSerial,
        original: &OriginalData,
    ) -> Result<Option<ReversalTarget>, Self::Error>;
}

/// Why steps 2 to 4 refused a request: the code, and whether the decline
/// is stored (58 and 03 are; 63, before the device is known, is not; nor is
/// a 58 or 03 whose duplicate key a stored row holds already).
pub(crate) struct Refused(pub ResponseCode, pub bool);

/// What steps 2 to 4 let through: the session, its device and the request's
/// terminal.
pub(crate) type Admitted<'s> = (&'s Session, DeviceView, TerminalView);

/// Steps 2 to 4, the same for 0200 and 0400: signed on and not revoked (63),
/// not blocked (58), DE 42 the device's merchant and DE 41 one of its active
/// terminals (03). Gives the session, the device and the terminal, or the
/// refusal; `Err` only when the ledger failed.
///
/// These steps come before the duplicate check (step 5), so a request they
/// refuse may reuse a key (device, MTI, DE 11, DE 7) a stored row holds:
/// it still gets its own 58 or 03, but like a 94 it stores nothing, since
/// the key belongs to the row stored first (and a second row under it
/// could not be stored at all).
pub(crate) fn admit<'s, L: Ledger>(
    session: Option<&'s Session>,
    mti: Mti,
    header: &RequestHeader,
    ledger: &L,
) -> Result<Result<Admitted<'s>, Refused>, L::Error> {
    let Some(session) = session else {
        return Ok(Err(Refused(ResponseCode::SecurityViolation, false)));
    };
    let Some(device) = ledger
        .device(&session.device)
        .filter(|d| d.credentials_version == session.credentials_version)
    else {
        return Ok(Err(Refused(ResponseCode::SecurityViolation, false)));
    };
    let terminal = ledger.terminal(&header.terminal_id).filter(|t| {
        t.active && t.merchant_id == device.merchant_id && header.merchant_id == device.merchant_id
    });
    let code = match terminal {
        _ if device.blocked => ResponseCode::NotPermitted,
        None => ResponseCode::InvalidMerchant,
        Some(terminal) => return Ok(Ok((session, device, terminal))),
    };
    let key_free = ledger
        .prior(
            &session.device,
            mti,
            &header.stan,
            &header.transmission_time,
        )?
        .is_none();
    Ok(Err(Refused(code, key_free)))
}

/// Step 5 for a request of `mti` under the session's key: `Some(true)` for
/// an identical retransmission (replay), `Some(false)` for different content
/// (94), `None` the first time.
pub(crate) fn retransmission<L: Ledger>(
    ledger: &L,
    session: &Session,
    mti: Mti,
    stan: &Stan,
    transmission_time: &TransmissionTime,
    fingerprint: Fingerprint,
) -> Result<Option<bool>, L::Error> {
    Ok(ledger
        .prior(&session.device, mti, stan, transmission_time)?
        .map(|prior| prior == fingerprint))
}

/// The issuer's decision on a purchase (step 9).
pub trait Issuer {
    /// 00, or the issuer's decline.
    fn decide(&self, amount: Amount) -> ResponseCode;

    /// Whether the card processor decides instead (`[issuer] mode =
    /// "upstream"`): then a purchase or a refund that passes steps 1 to 8 is
    /// [`FinancialDecision::Forward`]ed, and [`Issuer::decide`] is not asked.
    fn forwards(&self) -> bool {
        false
    }
}

/// The issuer of the upstream mode: the card processor decides purchases
/// and refunds, so the rules forward them (upstream-interface.md, section 2).
#[derive(Debug, Clone, Copy, Default)]
pub struct UpstreamIssuer;

impl Issuer for UpstreamIssuer {
    /// Never asked (the rules forward instead); 91 if it were.
    fn decide(&self, _amount: Amount) -> ResponseCode {
        ResponseCode::IssuerUnavailable
    }

    fn forwards(&self) -> bool {
        true
    }
}

/// The built-in issuer simulator: amounts ending in 51 are declined with 51
/// (insufficient funds), ending in 05 with 05 (do not honour), the rest
/// approved.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimulatorIssuer;

impl Issuer for SimulatorIssuer {
    fn decide(&self, amount: Amount) -> ResponseCode {
        match amount.last_two_digits() {
            51 => ResponseCode::InsufficientFunds,
            5 => ResponseCode::DoNotHonour,
            _ => ResponseCode::Approved,
        }
    }
}

/// What a 0200 and a 0400 share, once step 1 checked it: the fields every
/// answer echoes and every stored row keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// DE 4.
    pub amount: Amount,
    /// DE 49.
    pub currency: Currency,
    /// DE 11.
    pub stan: Stan,
    /// DE 7.
    pub transmission_time: TransmissionTime,
    /// DE 41.
    pub terminal_id: TerminalId,
    /// DE 42.
    pub merchant_id: MerchantId,
    /// The request's content, keyed: an identical retransmission matches,
    /// any change does not (94).
    pub fingerprint: Fingerprint,
    /// DE 3 and what the row keeps as received.
    pub received: AsReceived,
}

/// What a 0200 or 0400 carried that no rule reads, kept as received for its
/// stored row and echoed in its answer. The layout checked each field's
/// format before step 1 built the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsReceived {
    /// DE 3, six digits (the rules read only its kind).
    pub processing_code: String,
    /// DE 12, `hhmmss`, if given.
    pub local_time: Option<String>,
    /// DE 13, `MMDD`, if given.
    pub local_date: Option<String>,
    /// DE 22, if given.
    pub pos_entry_mode: Option<String>,
    /// DE 90 of a 0400, all 42 digits (the rules read its parsed form).
    pub original_data: Option<String>,
}

/// The card as the request carries it, before step 6 checks it. The
/// digits are wiped on drop.
pub struct CardInput {
    /// The PAN's digits (from DE 2 or track 2).
    pub pan_digits: String,
    /// From DE 14 or track 2.
    pub expiry: Expiry,
}

impl Drop for CardInput {
    fn drop(&mut self) {
        self.pan_digits.zeroize();
    }
}

impl fmt::Debug for CardInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CardInput(<{} digits>, {:?})",
            self.pan_digits.len(),
            self.expiry
        )
    }
}

/// What storage keeps of a card that passed the Luhn check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFacts {
    /// First 6, last 4.
    pub masked: MaskedPan,
    /// Keyed hash, to match refunds.
    pub hash: PanHash,
}

/// A keyed hash of a request's content: the same request retransmitted has
/// the same fingerprint, any change gives another (94). Keyed with the PAN
/// key, so it reveals nothing about the card.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of an MTI and its fields' (number, text) pairs, in
    /// ascending field order.
    pub fn of<'f>(
        key: &PanKey,
        mti: &str,
        fields: impl IntoIterator<Item = (u8, &'f [u8])>,
    ) -> Fingerprint {
        let mut context = hmac::Context::with_key(key.hmac_key());
        context.update(mti.as_bytes());
        for (number, text) in fields {
            context.update(&[number]);
            // Length first, so field boundaries cannot shift.
            context.update(&(text.len() as u32).to_be_bytes());
            context.update(text);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(context.sign().as_ref());
        Fingerprint(out)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({:02x}{:02x}..)", self.0[0], self.0[1])
    }
}

#[cfg(test)]
mod tests;
