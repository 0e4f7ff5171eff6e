//! Decoding: a frame in, a [`Message`] out whose fields are slices of the
//! frame. Nothing is copied or allocated per field; every field is checked
//! against its class and length before the message is handed out, so callers
//! can trust what they read.

use crate::bitmap::{self, SetFields};
use crate::class::Class;
use crate::error::{DecodeError, FieldProblem};
use crate::hex;
use crate::layout::{DataEncoding, FieldSpec, Layout, LengthKind, MtiEncoding, PrefixEncoding};
use crate::mti::Mti;
use std::borrow::Cow;

/// The most bytes a message may have: what a 2-byte length header can say.
/// Keeping offsets in `u16` keeps [`Message`] small enough to move cheaply.
pub const MAX_MESSAGE_LEN: usize = u16::MAX as usize;

/// Where a field's data sits in the frame: 4 bytes, so that a whole
/// message's index is about 500 bytes.
#[derive(Clone, Copy, Default)]
struct Span {
    start: u16,
    /// Bytes of data; the top bit marks a BCD field with an odd digit count.
    len: u16,
}

const ODD_DIGITS: u16 = 1 << 15;

impl Span {
    fn bytes(self) -> usize {
        usize::from(self.len & !ODD_DIGITS)
    }

    /// Length in the field's units (digits for BCD, else bytes).
    fn units(self, data: DataEncoding) -> usize {
        match data {
            DataEncoding::Bcd => 2 * self.bytes() - usize::from(self.len & ODD_DIGITS != 0),
            DataEncoding::Ascii | DataEncoding::Binary => self.bytes(),
        }
    }
}

/// A decoded message: the MTI, which fields are present, and where each one
/// lies in the frame it borrows.
pub struct Message<'a> {
    layout: &'a Layout,
    frame: &'a [u8],
    mti: Mti,
    /// Present data fields (bit 1, the secondary bitmap flag, cleared).
    present: u128,
    /// Indexed by field number.
    spans: [Span; 129],
}

/// One field of a decoded message, borrowed from the frame.
#[derive(Clone, Copy)]
pub struct Field<'a> {
    spec: &'a FieldSpec,
    data: &'a [u8],
    units: u16,
}

impl Layout {
    /// Decodes one message (without its length header). Any input gets either
    /// a fully checked message or an error naming what is wrong; never a panic.
    #[inline]
    pub fn decode<'a>(&'a self, frame: &'a [u8]) -> Result<Message<'a>, DecodeError> {
        if frame.len() > MAX_MESSAGE_LEN {
            return Err(DecodeError::TooLong { len: frame.len() });
        }
        let mut pos = 0;
        let mti = read_mti(frame, &mut pos, self.mti_encoding())?;
        let present = bitmap::read(frame, &mut pos, self.bitmap_encoding())? & !bitmap::SECONDARY;
        let mut spans = [Span::default(); 129];
        for number in SetFields(present) {
            let spec = self
                .field(number)
                .ok_or(DecodeError::UndefinedField { field: number })?;
            spans[usize::from(number)] =
                read_field(spec, frame, &mut pos).map_err(|problem| DecodeError::Field {
                    field: number,
                    problem,
                })?;
        }
        if pos != frame.len() {
            return Err(DecodeError::TrailingData {
                extra: frame.len() - pos,
            });
        }
        Ok(Message {
            layout: self,
            frame,
            mti,
            present,
            spans,
        })
    }
}

impl Layout {
    /// The MTI at the start of a frame, read alone: the host decides from it
    /// whether a message it cannot parse gets a format-error answer or ends
    /// the connection.
    pub fn peek_mti(&self, frame: &[u8]) -> Result<Mti, DecodeError> {
        read_mti(frame, &mut 0, self.mti_encoding())
    }

    /// The text of field `number` from a frame that may be malformed later
    /// on: fields are read in order up to `number`, and `None` comes back if
    /// any of them (or the field itself) breaks the layout. Lets a format
    /// error answer still echo DE 11 "when it could be read".
    pub fn salvage_field<'a>(&'a self, frame: &'a [u8], number: u8) -> Option<&'a [u8]> {
        // Only 2-128 are data fields, and `bitmap::bit` is only defined for
        // 1-128: any other number overflows its shift (a panic wherever
        // overflow checks are on, as in debug builds and fuzzing).
        if !(2..=128).contains(&number) {
            return None;
        }
        let mut pos = 0;
        read_mti(frame, &mut pos, self.mti_encoding()).ok()?;
        let present = bitmap::read(frame, &mut pos, self.bitmap_encoding()).ok()?;
        if present & bitmap::bit(number) == 0 {
            return None;
        }
        for field in SetFields(present & !bitmap::SECONDARY) {
            let spec = self.field(field)?;
            let span = read_field(spec, frame, &mut pos).ok()?;
            if field == number {
                let start = usize::from(span.start);
                return (spec.data == DataEncoding::Ascii)
                    .then(|| &frame[start..start + span.bytes()]);
            }
        }
        None
    }
}

fn read_mti(frame: &[u8], pos: &mut usize, encoding: MtiEncoding) -> Result<Mti, DecodeError> {
    let mti = match encoding {
        MtiEncoding::Ascii => {
            let raw = frame.get(..4).ok_or(DecodeError::TruncatedMti)?;
            *pos = 4;
            Mti::from_digits(raw)
        }
        MtiEncoding::Bcd => {
            let raw = frame.get(..2).ok_or(DecodeError::TruncatedMti)?;
            *pos = 2;
            let digits = [raw[0] >> 4, raw[0] & 0xF, raw[1] >> 4, raw[1] & 0xF];
            if digits.iter().all(|d| *d < 10) {
                Mti::from_digits(&digits.map(|d| b'0' + d))
            } else {
                None
            }
        }
    };
    mti.ok_or(DecodeError::BadMti)
}

/// Reads one field at `*pos` and advances past it.
#[inline]
fn read_field(spec: &FieldSpec, frame: &[u8], pos: &mut usize) -> Result<Span, FieldProblem> {
    let units = match spec.length {
        LengthKind::Fixed => usize::from(spec.max),
        LengthKind::LlVar | LengthKind::LllVar => {
            let width = spec.prefix_len();
            let raw = frame
                .get(*pos..*pos + width)
                .ok_or(FieldProblem::TruncatedPrefix)?;
            let len = read_prefix(spec.prefix, raw).ok_or(FieldProblem::BadPrefix)?;
            *pos += width;
            if len > usize::from(spec.max) {
                return Err(FieldProblem::TooLong {
                    len,
                    max: usize::from(spec.max),
                });
            }
            len
        }
    };
    let bytes = spec.data_bytes(units);
    let have = frame.len() - *pos;
    let data = frame
        .get(*pos..*pos + bytes)
        .ok_or(FieldProblem::Truncated { need: bytes, have })?;
    check_data(spec, data, units)?;
    // decode() refuses frames over 65535 bytes; layouts keep lengths under 10000.
    let odd = if spec.data == DataEncoding::Bcd && units % 2 != 0 {
        ODD_DIGITS
    } else {
        0
    };
    let span = Span {
        start: *pos as u16,
        len: bytes as u16 | odd,
    };
    *pos += bytes;
    Ok(span)
}

/// The value of a length prefix, or `None` when it is not a number.
#[inline]
fn read_prefix(encoding: PrefixEncoding, raw: &[u8]) -> Option<usize> {
    match encoding {
        PrefixEncoding::Ascii => raw.iter().try_fold(0usize, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + usize::from(c - b'0'))
        }),
        PrefixEncoding::Bcd => raw.iter().try_fold(0usize, |acc, &b| {
            let (hi, lo) = (b >> 4, b & 0xF);
            (hi < 10 && lo < 10).then(|| acc * 100 + usize::from(hi) * 10 + usize::from(lo))
        }),
        PrefixEncoding::Binary => {
            Some(raw.iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b)))
        }
    }
}

/// Checks field data against its class and encoding.
#[inline]
fn check_data(spec: &FieldSpec, data: &[u8], units: usize) -> Result<(), FieldProblem> {
    match spec.data {
        DataEncoding::Ascii => {
            spec.class
                .check(data)
                .map_err(|offset| FieldProblem::BadContent {
                    offset,
                    byte: data[offset],
                    class: spec.class,
                })?;
            if spec.class == Class::B && units % 2 != 0 {
                return Err(FieldProblem::OddHex { len: units });
            }
            Ok(())
        }
        DataEncoding::Bcd => {
            let padded = units % 2 != 0;
            match data.iter().enumerate().position(|(i, &b)| {
                let hi_bad = if i == 0 && padded {
                    b >> 4 != 0
                } else {
                    b >> 4 > 9
                };
                hi_bad || b & 0xF > 9
            }) {
                Some(offset) => Err(FieldProblem::BadBcd { offset }),
                None => Ok(()),
            }
        }
        DataEncoding::Binary => Ok(()),
    }
}

impl<'a> Message<'a> {
    /// The message type indicator.
    pub fn mti(&self) -> Mti {
        self.mti
    }

    /// The layout the message was decoded with.
    pub fn layout(&self) -> &'a Layout {
        self.layout
    }

    /// The whole frame the message was decoded from.
    pub fn frame(&self) -> &'a [u8] {
        self.frame
    }

    /// Whether field `number` is present.
    #[inline]
    pub fn has(&self, number: u8) -> bool {
        (2..=128).contains(&number) && self.present & bitmap::bit(number) != 0
    }

    /// Field `number`, if present.
    #[inline]
    pub fn field(&self, number: u8) -> Option<Field<'a>> {
        if !self.has(number) {
            return None;
        }
        let span = self.spans[usize::from(number)];
        let start = usize::from(span.start);
        let spec = self.layout.field(number)?;
        Some(Field {
            spec,
            data: self.frame.get(start..start + span.bytes())?,
            units: span.units(spec.data) as u16,
        })
    }

    /// The text of field `number` borrowed from the frame, when present and
    /// carried as ASCII (always so in the host's all-ASCII layout).
    #[inline]
    pub fn str(&self, number: u8) -> Option<&'a str> {
        self.field(number).and_then(|f| f.as_str())
    }

    /// The text form of field `number` (see [`Field::text`]).
    pub fn text(&self, number: u8) -> Option<Cow<'a, str>> {
        self.field(number).map(|f| f.text())
    }

    /// The present fields in ascending order.
    pub fn fields(&self) -> Fields<'_, 'a> {
        Fields {
            message: self,
            rest: SetFields(self.present),
        }
    }

    /// Numbers of the present fields in ascending order.
    pub fn field_numbers(&self) -> impl Iterator<Item = u8> + use<> {
        SetFields(self.present)
    }
}

impl std::fmt::Debug for Message<'_> {
    /// Lists field numbers and lengths only: a message may hold card data,
    /// which must never reach a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_map();
        list.entry(&"mti", &self.mti.as_str());
        for field in self.fields() {
            list.entry(&field.number(), &format_args!("<{} units>", field.len()));
        }
        list.finish()
    }
}

/// Iterator over the present fields of a [`Message`], in ascending order.
pub struct Fields<'m, 'a> {
    message: &'m Message<'a>,
    rest: SetFields,
}

impl<'a> Iterator for Fields<'_, 'a> {
    type Item = Field<'a>;

    #[inline]
    fn next(&mut self) -> Option<Field<'a>> {
        let number = self.rest.next()?;
        self.message.field(number)
    }
}

impl<'a> Field<'a> {
    /// Field number.
    pub fn number(&self) -> u8 {
        self.spec.number
    }

    /// The field's definition in the layout.
    #[inline]
    pub fn spec(&self) -> &'a FieldSpec {
        self.spec
    }

    /// The data bytes as on the wire, without the length prefix.
    #[inline]
    pub fn wire(&self) -> &'a [u8] {
        self.data
    }

    /// Length in the field's units: characters, digits or bytes.
    pub fn len(&self) -> usize {
        usize::from(self.units)
    }

    /// Whether the field is empty (a variable field of length 0).
    pub fn is_empty(&self) -> bool {
        self.units == 0
    }

    /// The data as text borrowed from the frame, when the field travels as
    /// ASCII; `None` for BCD and binary data (use [`Field::text`]).
    #[inline]
    pub fn as_str(&self) -> Option<&'a str> {
        match self.spec.data {
            // Checked against an ASCII class during decoding, so valid UTF-8.
            DataEncoding::Ascii => std::str::from_utf8(self.data).ok(),
            DataEncoding::Bcd | DataEncoding::Binary => None,
        }
    }

    /// The text form: what the field looks like in the all-ASCII layout.
    /// Borrowed for ASCII data; digits for BCD; upper-case hex for binary.
    pub fn text(&self) -> Cow<'a, str> {
        match self.spec.data {
            DataEncoding::Ascii => Cow::Borrowed(self.as_str().unwrap_or_default()),
            DataEncoding::Binary => Cow::Owned(hex::encode_upper(self.data)),
            DataEncoding::Bcd => {
                let mut digits = String::with_capacity(self.data.len() * 2);
                for &b in self.data {
                    digits.push(char::from(b'0' + (b >> 4)));
                    digits.push(char::from(b'0' + (b & 0xF)));
                }
                if self.units % 2 != 0 {
                    digits.remove(0);
                }
                Cow::Owned(digits)
            }
        }
    }
}

impl std::fmt::Debug for Field<'_> {
    /// Shows the field number and length, never the content (card data).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Field({}, {} units)", self.spec.number, self.units)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salvaging_a_field_number_outside_2_to_128_is_none_not_a_panic() {
        let layout = Layout::shipped("generic-1987-ascii").expect("shipped");
        let frame = b"0800822000000000000004000000000000001125093000000001301";
        for number in [0, 1, 129, 200, 255] {
            assert_eq!(layout.salvage_field(frame, number), None, "field {number}");
        }
        assert_eq!(layout.salvage_field(frame, 11), Some(&b"000001"[..]));
    }
}
