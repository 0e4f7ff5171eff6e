//! Step 1 of the host interface: a decoded message into a typed request.
//! A missing mandatory field or one that breaks its format is 30; a
//! processing code that is neither purchase nor refund is 12 (after the
//! mandatory fields are all there). Everything past this is trusted.

use mpos_domain::card::PanKey;
use mpos_domain::card::{Expiry, Track2};
use mpos_domain::ids::{
    DeviceSerial, MerchantId, NetworkCode, OriginalData, Rrn, Stan, TerminalId, TransactionKind,
    TransmissionTime,
};
use mpos_domain::money::{Amount, Currency};
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::{
    AsReceived, CardInput, FinancialRequest, Fingerprint, RequestHeader, ReversalRequest,
};
use mpos_domain::ticket::Ticket;
use mpos_iso8583::Message;

const FORMAT: ResponseCode = ResponseCode::FormatError;

/// The text of a mandatory field, or 30.
fn need<'a>(message: &Message<'a>, field: u8) -> Result<&'a str, ResponseCode> {
    message.str(field).ok_or(FORMAT)
}

fn all_present(message: &Message<'_>, fields: &[u8]) -> Result<(), ResponseCode> {
    match fields.iter().all(|f| message.has(*f)) {
        true => Ok(()),
        false => Err(FORMAT),
    }
}

/// The request's content, keyed: identical retransmissions match.
fn fingerprint(message: &Message<'_>, key: &PanKey) -> Fingerprint {
    Fingerprint::of(
        key,
        message.mti().as_str(),
        message.fields().map(|f| (f.number(), f.wire())),
    )
}

/// The card of a 0200: DE 2 with DE 14, or DE 35; both must agree if both
/// are given.
fn card(message: &Message<'_>) -> Result<CardInput, ResponseCode> {
    let track2 = message
        .str(35)
        .map(Track2::parse)
        .transpose()
        .map_err(|_| FORMAT)?;
    match (message.str(2), track2) {
        (Some(pan), track2) => {
            if track2.as_ref().is_some_and(|t| t.pan_digits != pan) {
                return Err(FORMAT);
            }
            let expiry = match (message.str(14), &track2) {
                (Some(yymm), _) => Expiry::from_yymm(yymm).map_err(|_| FORMAT)?,
                (None, Some(t)) => t.expiry,
                (None, None) => return Err(FORMAT),
            };
            Ok(CardInput {
                pan_digits: pan.to_owned(),
                expiry,
            })
        }
        (None, Some(t)) => Ok(CardInput {
            pan_digits: t.pan_digits.clone(),
            expiry: t.expiry,
        }),
        (None, None) => Err(FORMAT),
    }
}

/// What a 0200 and a 0400 share: the fields every answer echoes and every
/// row keeps, the content's fingerprint and what is kept as received.
fn header(message: &Message<'_>, key: &PanKey) -> Result<RequestHeader, ResponseCode> {
    Ok(RequestHeader {
        amount: Amount::from_de4(need(message, 4)?).map_err(|_| FORMAT)?,
        currency: Currency::from_de49(need(message, 49)?).map_err(|_| FORMAT)?,
        stan: Stan::new(need(message, 11)?).map_err(|_| FORMAT)?,
        transmission_time: TransmissionTime::new(need(message, 7)?).map_err(|_| FORMAT)?,
        terminal_id: TerminalId::new(need(message, 41)?).map_err(|_| FORMAT)?,
        merchant_id: MerchantId::new(need(message, 42)?).map_err(|_| FORMAT)?,
        fingerprint: fingerprint(message, key),
        received: as_received(message),
    })
}

/// What a row keeps as received: DE 3, 12, 13, 22 and 90 as they came.
fn as_received(message: &Message<'_>) -> AsReceived {
    let text = |n| message.str(n).map(str::to_owned);
    AsReceived {
        processing_code: text(3).unwrap_or_default(),
        local_time: text(12),
        local_date: text(13),
        pos_entry_mode: text(22),
        original_data: text(90),
    }
}

/// A 0200 as a typed request: what the rules, the stored row and the answer
/// need, read from the message once.
pub fn financial(message: &Message<'_>, key: &PanKey) -> Result<FinancialRequest, ResponseCode> {
    all_present(message, &[3, 4, 7, 11, 22, 41, 42, 49])?;
    // Format (30) before the processing code (12), as step 1 orders them.
    let header = header(message, key)?;
    let card = card(message)?;
    let original_rrn = message
        .str(37)
        .map(Rrn::new)
        .transpose()
        .map_err(|_| FORMAT)?;
    let kind = TransactionKind::from_processing_code(need(message, 3)?)
        .ok_or(ResponseCode::InvalidTransaction)?;
    let original_rrn = match kind {
        TransactionKind::Refund => Some(original_rrn.ok_or(FORMAT)?),
        TransactionKind::Purchase => None,
    };
    Ok(FinancialRequest {
        kind,
        header,
        card,
        original_rrn,
    })
}

/// A 0400 as a typed request, read from the message once.
pub fn reversal(message: &Message<'_>, key: &PanKey) -> Result<ReversalRequest, ResponseCode> {
    all_present(message, &[3, 4, 7, 11, 41, 42, 49, 90])?;
    let header = header(message, key)?;
    let original = OriginalData::parse(need(message, 90)?).map_err(|_| FORMAT)?;
    TransactionKind::from_processing_code(need(message, 3)?)
        .ok_or(ResponseCode::InvalidTransaction)?;
    Ok(ReversalRequest { header, original })
}

/// What a sign-on proves itself with: exactly one of DE 48 and DE 61.
pub(crate) enum Credential {
    /// DE 48, the app password.
    Password(String),
    /// DE 61, a sign-on ticket; `None` when the text cannot be one of ours
    /// (answered 63, like any ticket that is not valid).
    Ticket(Option<Ticket>),
}

/// What an 0800 asks.
pub(crate) enum NetworkRequest {
    /// 001 with the device, its credential and optionally its merchant.
    SignOn {
        serial: DeviceSerial,
        credential: Credential,
        merchant_id: Option<MerchantId>,
    },
    /// 002.
    SignOff,
    /// 301.
    Echo,
}

/// An 0800 as a typed request; an unknown DE 70 is 12, a sign-on with both
/// DE 48 and DE 61 or neither is 30.
pub(crate) fn network(message: &Message<'_>) -> Result<NetworkRequest, ResponseCode> {
    all_present(message, &[7, 11, 70])?;
    TransmissionTime::new(need(message, 7)?).map_err(|_| FORMAT)?;
    Stan::new(need(message, 11)?).map_err(|_| FORMAT)?;
    match NetworkCode::from_de70(need(message, 70)?) {
        Some(NetworkCode::SignOn) => Ok(NetworkRequest::SignOn {
            serial: DeviceSerial::new(need(message, 62)?).map_err(|_| FORMAT)?,
            credential: match (message.str(48), message.str(61)) {
                (Some(password), None) => Credential::Password(password.to_owned()),
                (None, Some(ticket)) => Credential::Ticket(Ticket::parse(ticket)),
                _ => return Err(FORMAT),
            },
            merchant_id: message
                .str(42)
                .map(MerchantId::new)
                .transpose()
                .map_err(|_| FORMAT)?,
        }),
        Some(NetworkCode::SignOff) => Ok(NetworkRequest::SignOff),
        Some(NetworkCode::Echo) => Ok(NetworkRequest::Echo),
        None => Err(ResponseCode::InvalidTransaction),
    }
}
