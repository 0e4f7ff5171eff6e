//! What travels on the link: an [`Outgoing`] request the caller fills in
//! (the link adds DE 7 and DE 11), the [`Reply`] that answers it, and the
//! network management messages the link itself sends and answers.

use bytes::{Bytes, BytesMut};
use mpos_iso8583::{EncodeError, Layout, Message, MessageBuilder, Mti};
use std::fmt;
use zeroize::Zeroize;

/// 0200, the financial request.
pub const FINANCIAL: Mti = Mti::from_static(*b"0200");
/// 0420, the first try of a reversal advice.
pub const ADVICE: Mti = Mti::from_static(*b"0420");
/// 0421, every later try of a reversal advice.
pub const ADVICE_REPEAT: Mti = Mti::from_static(*b"0421");
/// 0800, network management (sign-on, echo).
pub const NETWORK: Mti = Mti::from_static(*b"0800");

/// DE 70 of a sign-on.
pub const SIGN_ON: &str = "001";
/// DE 70 of an echo.
pub const ECHO: &str = "301";

/// DE 7 for `now`: `MMDDhhmmss` in UTC.
pub fn transmission_time(now: jiff::Timestamp) -> String {
    now.strftime("%m%d%H%M%S").to_string()
}

/// A request to the processor: its MTI and fields in their text form, but
/// DE 7 and DE 11, which the link sets from the request's reservation.
///
/// It may carry the PAN, track 2, the PIN block and ICC data: `Debug`
/// shows field numbers only, and the values are wiped when it is dropped.
#[derive(Debug)]
pub struct Outgoing {
    mti: Mti,
    fields: Fields,
}

/// Field texts by number that may be card data (the PAN, track 2, the PIN
/// block, ICC data — sent, or echoed back by a processor): `Debug` shows
/// the numbers only, and the texts are wiped when dropped or replaced.
#[derive(Clone, Default)]
struct Fields(Vec<(u8, String)>);

impl Fields {
    fn get(&self, number: u8) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, t)| t.as_str())
    }

    fn set(&mut self, number: u8, text: String) {
        match self.0.iter_mut().find(|(n, _)| *n == number) {
            Some((_, old)) => {
                old.zeroize();
                *old = text;
            }
            None => self.0.push((number, text)),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &(u8, String)> {
        self.0.iter()
    }
}

impl Drop for Fields {
    fn drop(&mut self) {
        for (_, text) in &mut self.0 {
            text.zeroize();
        }
    }
}

impl fmt::Debug for Fields {
    /// Field numbers only: the values may be card data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n))
            .finish()
    }
}

impl Outgoing {
    /// An empty request of type `mti`.
    pub fn new(mti: Mti) -> Self {
        Outgoing {
            mti,
            fields: Fields(Vec::with_capacity(24)),
        }
    }

    /// Sets field `number` to `text` (a later value replaces an earlier one).
    pub fn set(&mut self, number: u8, text: impl Into<String>) -> &mut Self {
        self.fields.set(number, text.into());
        self
    }

    /// The MTI.
    pub fn mti(&self) -> Mti {
        self.mti
    }

    /// The text of field `number`, if set.
    pub fn get(&self, number: u8) -> Option<&str> {
        self.fields.get(number)
    }

    /// DE 37, which the answer must echo to match (none for 0800s).
    pub fn rrn(&self) -> Option<&str> {
        self.get(37)
    }

    /// Encodes it with `stan` as DE 11 and `time` as DE 7.
    pub(crate) fn encode(
        &self,
        layout: &Layout,
        stan: &str,
        time: &str,
    ) -> Result<Bytes, EncodeError> {
        let mut builder = MessageBuilder::new(self.mti);
        for (number, text) in self.fields.iter() {
            builder.set(*number, text);
        }
        builder.set(7, time).set(11, stan);
        let mut out = BytesMut::with_capacity(256);
        layout.encode(&builder, &mut out)?;
        Ok(out.freeze())
    }
}

/// The processor's answer, its fields in their text form (a processor may
/// echo card data: `Debug` shows field numbers only, the texts are wiped
/// when dropped).
#[derive(Clone, Debug)]
pub struct Reply {
    mti: Mti,
    fields: Fields,
}

impl Reply {
    /// The fields of a decoded message.
    pub(crate) fn of(message: &Message<'_>) -> Reply {
        Reply {
            mti: message.mti(),
            fields: Fields(
                message
                    .fields()
                    .map(|f| (f.number(), f.text().into_owned()))
                    .collect(),
            ),
        }
    }

    /// The MTI.
    pub fn mti(&self) -> Mti {
        self.mti
    }

    /// The text of field `number`, if present.
    pub fn get(&self, number: u8) -> Option<&str> {
        self.fields.get(number)
    }

    /// DE 39, the processor's response code, if present.
    pub fn response_code(&self) -> Option<&str> {
        self.get(39)
    }

    /// DE 38, the authorization code, if present.
    pub fn auth_code(&self) -> Option<&str> {
        self.get(38)
    }
}

/// The 0800 sign-on of a new connection: DE 70 = 001, DE 32 the acquirer.
pub(crate) fn sign_on(acquirer_id: &str) -> Outgoing {
    let mut message = Outgoing::new(NETWORK);
    message.set(32, acquirer_id).set(70, SIGN_ON);
    message
}

/// The 0800 echo of a silent link.
pub(crate) fn echo() -> Outgoing {
    let mut message = Outgoing::new(NETWORK);
    message.set(70, ECHO);
    message
}

/// The 0810 answer (DE 39 = 00) to the processor's own 0800, echoing DE 7,
/// 11 and 70.
pub fn network_answer(layout: &Layout, request: &Message<'_>) -> Result<Bytes, EncodeError> {
    let mut builder = MessageBuilder::new(request.mti().response());
    for number in [7, 11, 70] {
        if let Some(field) = request.field(number) {
            builder.set_bytes(number, field.wire());
        }
    }
    builder.set(39, "00");
    let mut out = BytesMut::with_capacity(64);
    layout.encode(&builder, &mut out)?;
    Ok(out.freeze())
}

/// Whether `mti` is an answer (function digit odd: 0210, 0430, 0810…).
pub(crate) fn is_answer(mti: Mti) -> bool {
    mti.digits()[2] % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn de7_is_utc_month_day_and_time() {
        let now: jiff::Timestamp = "2026-12-01T19:05:07Z".parse().unwrap();
        assert_eq!(transmission_time(now), "1201190507");
    }

    #[test]
    fn outgoing_debug_shows_no_values_and_encoding_adds_de7_and_de11() {
        let layout = Layout::shipped("generic-1987-ascii").unwrap();
        let mut message = Outgoing::new(FINANCIAL);
        message.set(2, "4276010000001234").set(4, "000000001000");
        let debug = format!("{message:?}");
        assert!(!debug.contains("4276"), "{debug}");
        let wire = message.encode(&layout, "000042", "1201190507").unwrap();
        let decoded = layout.decode(&wire).unwrap();
        assert_eq!(decoded.str(11), Some("000042"));
        assert_eq!(decoded.str(7), Some("1201190507"));
        assert_eq!(decoded.str(2), Some("4276010000001234"));
    }

    #[test]
    fn network_answer_echoes_7_11_70_with_00() {
        let layout = Layout::shipped("generic-1987-ascii").unwrap();
        let mut out = BytesMut::new();
        layout
            .encode(
                &MessageBuilder::from_fields(
                    NETWORK,
                    &[(7, "1201190507"), (11, "000009"), (70, "301")],
                ),
                &mut out,
            )
            .unwrap();
        let request = layout.decode(&out).unwrap();
        let answer = network_answer(&layout, &request).unwrap();
        let answer = layout.decode(&answer).unwrap();
        assert_eq!(answer.mti().as_str(), "0810");
        assert_eq!(
            (
                answer.str(7),
                answer.str(11),
                answer.str(70),
                answer.str(39)
            ),
            (Some("1201190507"), Some("000009"), Some("301"), Some("00"))
        );
        assert!(is_answer(answer.mti()));
        assert!(!is_answer(request.mti()));
    }
}
