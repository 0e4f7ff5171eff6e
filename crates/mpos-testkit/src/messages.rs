//! The standard test messages, as the Android app sends them to the demo
//! merchant's standard terminal: sign-on, purchase, refund and reversal.
//!
//! Each is an owned [`Request`]: a test takes the standard one and changes
//! the field or two its case is about (`purchase(7, 1_000).with(&[(41,
//! "20000001")])`), so every test message differs from the standard one by
//! exactly what the test says.

use crate::provision::{MERCHANT, TERMINAL};
use bytes::{Bytes, BytesMut};
use mpos_iso8583::{Layout, MessageBuilder, Mti};
use std::collections::BTreeMap;

/// A card number that passes the Luhn check (masked `427655******1239`).
pub const CARD: &str = "4276550012341239";

/// DE 7 of every standard message: 25 November, 09:30:00.
pub const TRANSMISSION_TIME: &str = "1125093000";

/// DE 55 of a contactless purchase: the ICC data the app forwards.
pub const ICC_DATA: &str = "9F2608C2C1F1A5B1D3E4F59F2701809F100706010A03A0B8009F37045F1B2C3D9F36020041950500000080009A032511259C01009F02060000000125505F2A020933820239009F1A0201129F03060000000000009F3303E0F8C89F34034203009F3501229F1E0831323334353637388407A00000000310109F090200029F410400000042";

/// A message to send: an MTI and field texts (the codec's text form), owned
/// so that tests can change them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    mti: Mti,
    fields: BTreeMap<u8, String>,
}

impl Request {
    /// A message of type `mti` (four digits) with `fields`.
    pub fn new(mti: &str, fields: &[(u8, &str)]) -> Request {
        Request {
            mti: Mti::new(mti).expect("a test MTI is four digits"),
            fields: BTreeMap::new(),
        }
        .with(fields)
    }

    /// The same message with field `number` set to `text`.
    pub fn set(mut self, number: u8, text: impl Into<String>) -> Request {
        self.fields.insert(number, text.into());
        self
    }

    /// The same message with each of `changes` set (added or replaced).
    pub fn with(self, changes: &[(u8, &str)]) -> Request {
        changes
            .iter()
            .fold(self, |request, (number, text)| request.set(*number, *text))
    }

    /// The same message without field `number`.
    pub fn without(mut self, number: u8) -> Request {
        self.fields.remove(&number);
        self
    }

    /// The message type.
    pub fn mti(&self) -> Mti {
        self.mti
    }

    /// A field's text, if set.
    pub fn get(&self, number: u8) -> Option<&str> {
        self.fields.get(&number).map(String::as_str)
    }

    /// The fields as (number, text) pairs in ascending order, borrowed: what
    /// [`MessageBuilder::from_fields`] and other codecs take.
    pub fn pairs(&self) -> Vec<(u8, &str)> {
        self.fields.iter().map(|(n, v)| (*n, v.as_str())).collect()
    }

    /// The message for our codec.
    pub fn builder(&self) -> MessageBuilder<'_> {
        MessageBuilder::from_fields(self.mti, self.fields.iter().map(|(n, v)| (*n, v.as_str())))
    }

    /// The message encoded in `layout`, without a length header.
    pub fn encode(&self, layout: &Layout) -> Bytes {
        let mut out = BytesMut::new();
        layout
            .encode(&self.builder(), &mut out)
            .unwrap_or_else(|e| panic!("test message {:?} encodes: {e}", self.mti));
        out.freeze()
    }
}

/// A STAN (DE 11) as six digits.
pub fn stan(n: u32) -> String {
    format!("{n:06}")
}

/// An amount (DE 4) in minor units as twelve digits.
pub fn amount(minor: u64) -> String {
    format!("{minor:012}")
}

/// An 0800 sign-on of device `serial` with its app password.
pub fn sign_on(stan_no: u32, serial: &str, password: &str) -> Request {
    Request::new(
        "0800",
        &[
            (7, TRANSMISSION_TIME),
            (11, &stan(stan_no)),
            (48, password),
            (62, serial),
            (70, "001"),
        ],
    )
}

/// An 0800 echo (DE 70 = 301): answered 00 with or without a sign-on.
pub fn echo(stan_no: u32) -> Request {
    Request::new(
        "0800",
        &[(7, TRANSMISSION_TIME), (11, &stan(stan_no)), (70, "301")],
    )
}

/// An 0800 sign-on of device `serial` with the sign-on ticket (DE 61) an
/// earlier 0810 gave it.
pub fn sign_on_by_ticket(stan_no: u32, serial: &str, ticket: &str) -> Request {
    sign_on(stan_no, serial, "")
        .without(48)
        .with(&[(61, ticket)])
}

/// A 0200 purchase of `amount_minor` BYN kopecks with [`CARD`], keyed, on
/// the demo merchant's standard terminal. The amount's last two digits pick
/// the simulated issuer's answer (51 and 05 decline).
pub fn purchase(stan_no: u32, amount_minor: u64) -> Request {
    Request::new(
        "0200",
        &[
            (2, CARD),
            (3, "000000"),
            (4, &amount(amount_minor)),
            (7, TRANSMISSION_TIME),
            (11, &stan(stan_no)),
            (14, "2812"),
            (22, "071"),
            (41, TERMINAL),
            (42, MERCHANT),
            (49, "933"),
        ],
    )
}

/// A contactless purchase as the app sends it: a [`purchase`] with local
/// time and date and the chip's data ([`ICC_DATA`]).
pub fn contactless_purchase(stan_no: u32, amount_minor: u64) -> Request {
    purchase(stan_no, amount_minor).with(&[(12, "123000"), (13, "1125"), (55, ICC_DATA)])
}

/// A 0200 refund of `amount_minor` against the purchase with RRN `rrn`.
pub fn refund(stan_no: u32, amount_minor: u64, rrn: &str) -> Request {
    purchase(stan_no, amount_minor).with(&[(3, "200000"), (37, rrn)])
}

/// A 0400 reversal of `amount_minor` of the purchase sent with STAN
/// `original_stan` at [`TRANSMISSION_TIME`] (DE 90 names it).
pub fn reversal(stan_no: u32, amount_minor: u64, original_stan: &str) -> Request {
    Request::new(
        "0400",
        &[
            (3, "000000"),
            (4, &amount(amount_minor)),
            (7, TRANSMISSION_TIME),
            (11, &stan(stan_no)),
            (41, TERMINAL),
            (42, MERCHANT),
            (49, "933"),
            (
                90,
                &format!("0200{original_stan}{TRANSMISSION_TIME}{}", "0".repeat(22)),
            ),
        ],
    )
}
