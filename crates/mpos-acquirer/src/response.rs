//! Answers: the response MTI, the echoed fields (DE 3, 4, 7, 11, 41, 42, 49
//! where present, and 70 for 0810 — never 2, 35, 48, 52 or 55), the RRN and
//! authorization code of an approval, and DE 39.
//!
//! A 0200 or 0400 that passed step 1 is answered from its typed request
//! ([`RequestHeader`]); an 0800, or a request refused at step 1, from its decoded
//! message ([`echo`]). Both echo the same fields in the same text: a test
//! below holds them to it.

use bytes::Bytes;
use mpos_domain::mti::Mti;
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::RequestHeader;
use mpos_domain::ticket::Ticket;
use mpos_iso8583::{Layout, Message, MessageBuilder};

/// Fields an answer echoes from its request's message (70 only in an 0810).
const ECHOED: [u8; 8] = [3, 4, 7, 11, 41, 42, 49, 70];

/// The answer to a typed request with `code`, and for an approval its RRN
/// and authorization code.
pub fn answer(
    layout: &Layout,
    mti: Mti,
    request: &RequestHeader,
    code: ResponseCode,
    approval: Option<(&str, &str)>,
) -> Bytes {
    let (amount, currency) = (request.amount.to_de4(), request.currency.to_de49());
    let mut builder = MessageBuilder::new(response_mti(mti));
    builder
        .set(3, &request.received.processing_code)
        .set(4, &amount)
        .set(7, request.transmission_time.as_str())
        .set(11, request.stan.as_str());
    if let Some((rrn, auth_code)) = approval {
        builder.set(37, rrn).set(38, auth_code);
    }
    builder
        .set(39, code.as_str())
        .set(41, request.terminal_id.as_str())
        .set(42, request.merchant_id.as_str())
        .set(49, &currency);
    encode(layout, &builder)
}

/// The answer to a 0200 the card processor decided (upstream mode): its
/// DE 39 relayed as it came (any two characters), the host's own RRN in
/// DE 37, and the processor's DE 38 on an approval.
pub fn relayed(
    layout: &Layout,
    request: &RequestHeader,
    code: &str,
    rrn: &str,
    auth_code: Option<&str>,
) -> Option<Bytes> {
    let (amount, currency) = (request.amount.to_de4(), request.currency.to_de49());
    let mut builder = MessageBuilder::new(response_mti(Mti::Financial));
    builder
        .set(3, &request.received.processing_code)
        .set(4, &amount)
        .set(7, request.transmission_time.as_str())
        .set(11, request.stan.as_str())
        .set(37, rrn);
    if let Some(auth_code) = auth_code {
        builder.set(38, auth_code);
    }
    builder
        .set(39, code)
        .set(41, request.terminal_id.as_str())
        .set(42, request.merchant_id.as_str())
        .set(49, &currency);
    let mut out = bytes::BytesMut::with_capacity(128);
    layout.encode(&builder, &mut out).ok()?;
    Some(out.freeze())
}

/// The answer to a decoded message with `code`, echoing what it holds of
/// [`ECHOED`]: for 0800s, and for requests refused at step 1.
pub(crate) fn echo(layout: &Layout, request: &Message<'_>, code: ResponseCode) -> Bytes {
    echo_with_ticket(layout, request, code, None)
}

/// [`echo`], and for a successful sign-on the device's new ticket in DE 61.
pub(crate) fn echo_with_ticket(
    layout: &Layout,
    request: &Message<'_>,
    code: ResponseCode,
    ticket: Option<&Ticket>,
) -> Bytes {
    let mut builder = MessageBuilder::new(request.mti().response());
    let is_network = Mti::from_digits(&request.mti().digits()) == Some(Mti::Network);
    let echoed: Vec<(u8, String)> = ECHOED
        .iter()
        .filter(|n| **n != 70 || is_network)
        .filter_map(|n| request.field(*n).map(|f| (*n, f.text().into_owned())))
        .collect();
    for (n, text) in &echoed {
        builder.set(*n, text);
    }
    builder.set(39, code.as_str());
    if let Some(ticket) = ticket {
        builder.set(61, ticket.as_str());
    }
    encode(layout, &builder)
}

/// A format-error answer to a message that could not be decoded: its
/// response MTI, DE 11 if it could be read, DE 39 = 30.
pub(crate) fn format_error(layout: &Layout, mti: mpos_iso8583::Mti, stan: Option<&[u8]>) -> Bytes {
    let mut builder = MessageBuilder::new(mti.response());
    if let Some(stan) = stan {
        builder.set_bytes(11, stan);
    }
    builder.set(39, ResponseCode::FormatError.as_str());
    encode(layout, &builder)
}

/// The codec's MTI of each request MTI and of its answer, by [`Mti::index`].
const WIRE_MTIS: [(mpos_iso8583::Mti, mpos_iso8583::Mti); 3] = [
    (
        mpos_iso8583::Mti::from_static(*b"0200"),
        mpos_iso8583::Mti::from_static(*b"0210"),
    ),
    (
        mpos_iso8583::Mti::from_static(*b"0400"),
        mpos_iso8583::Mti::from_static(*b"0410"),
    ),
    (
        mpos_iso8583::Mti::from_static(*b"0800"),
        mpos_iso8583::Mti::from_static(*b"0810"),
    ),
];

/// The codec's MTI of a request MTI, for those who build requests (the
/// seeder, tests).
pub fn wire_mti(mti: Mti) -> mpos_iso8583::Mti {
    WIRE_MTIS[mti.index()].0
}

/// The codec's MTI of the answer to `mti`.
fn response_mti(mti: Mti) -> mpos_iso8583::Mti {
    WIRE_MTIS[mti.index()].1
}

fn encode(layout: &Layout, builder: &MessageBuilder<'_>) -> Bytes {
    let mut out = bytes::BytesMut::with_capacity(128);
    match layout.encode(builder, &mut out) {
        Ok(()) => out.freeze(),
        // Echoed fields were valid in the request, and the rest is ours:
        // this cannot fail with the host's layout. Fall back to the bare
        // answer rather than no answer.
        Err(error) => {
            tracing::error!(%error, "an answer failed to encode");
            let mut bare = MessageBuilder::new(builder.mti());
            bare.set(39, ResponseCode::SystemMalfunction.as_str());
            let mut out = bytes::BytesMut::new();
            let _ = layout.encode(&bare, &mut out);
            out.freeze()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request;
    use mpos_domain::card::PanKey;

    fn layout() -> Layout {
        Layout::shipped("generic-1987-ascii").expect("the shipped layout loads")
    }

    fn encoded(layout: &Layout, mti: &str, fields: &[(u8, &str)]) -> Vec<u8> {
        let mut builder = MessageBuilder::new(mpos_iso8583::Mti::new(mti).expect("an MTI"));
        for (n, text) in fields {
            builder.set(*n, text);
        }
        let mut out = bytes::BytesMut::new();
        layout.encode(&builder, &mut out).expect("encodes");
        out.to_vec()
    }

    #[test]
    fn wire_mtis_follow_the_codec_rule() {
        for mti in Mti::ALL {
            let codec = mpos_iso8583::Mti::new(mti.as_str()).expect("four digits");
            assert_eq!(wire_mti(mti), codec);
            assert_eq!(response_mti(mti), codec.response());
        }
    }

    /// The typed answer and the echo of the decoded message are the same
    /// bytes: one list of echoed fields, whichever path answers.
    #[test]
    fn typed_and_echoed_answers_agree() {
        let layout = layout();
        let key = PanKey::new(b"test key");
        let common = [
            (4, "000000012550"),
            (7, "1125093000"),
            (11, "000123"),
            (12, "123000"),
            (13, "1125"),
            (41, "10000001"),
            (42, "MTB000000000001"),
            (49, "933"),
        ];
        let mut purchase = common.to_vec();
        purchase.extend([
            (2, "4276550012341239"),
            (3, "000000"),
            (14, "2812"),
            (22, "071"),
            (52, "0123456789ABCDEF"),
        ]);
        purchase.sort_unstable();
        let frame = encoded(&layout, "0200", &purchase);
        let message = layout.decode(&frame).expect("decodes");
        let typed = request::financial(&message, &key).expect("passes step 1");
        for code in [ResponseCode::Approved, ResponseCode::InsufficientFunds] {
            assert_eq!(
                answer(&layout, Mti::Financial, &typed.header, code, None),
                echo(&layout, &message, code)
            );
        }

        let mut reversal = common.to_vec();
        let original = format!("0200000122{}{}", "1125092959", "0".repeat(22));
        reversal.extend([(3, "000000"), (90, original.as_str())]);
        reversal.sort_unstable();
        let frame = encoded(&layout, "0400", &reversal);
        let message = layout.decode(&frame).expect("decodes");
        let typed = request::reversal(&message, &key).expect("passes step 1");
        assert_eq!(
            answer(
                &layout,
                Mti::Reversal,
                &typed.header,
                ResponseCode::Approved,
                None
            ),
            echo(&layout, &message, ResponseCode::Approved)
        );
        assert_eq!(
            typed.header.received.original_data.as_deref(),
            Some(original.as_str())
        );
    }
}
