//! Encoding: field values in their text form go straight into a `BytesMut`,
//! checked against the layout on the way. A failed encoding leaves the
//! buffer as it was.

use crate::bitmap;
use crate::class::Class;
use crate::error::{EncodeError, FieldProblem};
use crate::hex;
use crate::layout::{DataEncoding, FieldSpec, Layout, LengthKind, MtiEncoding, PrefixEncoding};
use crate::mti::Mti;
use bytes::{BufMut, BytesMut};
use std::borrow::Borrow;

/// A message to encode: an MTI and field values in their text form (digits
/// for numeric fields, hex for binary data), borrowed from the caller.
///
/// Fields may be set in any order; the bitmap and the secondary-bitmap bit
/// are derived when encoding.
#[derive(Clone)]
pub struct MessageBuilder<'v> {
    mti: Mti,
    /// Set fields with their values, kept sorted by field number: a message
    /// has a dozen or two fields, so this stays small and cheap to move.
    values: Vec<(u8, &'v [u8])>,
    /// A field number outside 2–128 that was set; reported by `encode`.
    out_of_range: Option<u8>,
}

impl<'v> MessageBuilder<'v> {
    /// An empty message of type `mti`.
    pub fn new(mti: Mti) -> Self {
        MessageBuilder {
            mti,
            values: Vec::with_capacity(24),
            out_of_range: None,
        }
    }

    /// A message of type `mti` with `fields` set, in one call: the shape
    /// every caller holding a list of (field number, text) pairs needs — the
    /// load generator, tests and benches — so that none of them loops over
    /// [`set`](Self::set) on its own.
    ///
    /// `fields` may be a slice of pairs (`&[(u8, &str)]`) or any iterator of
    /// them; a later pair for the same field replaces an earlier one, as
    /// `set` does.
    ///
    /// ```
    /// use mpos_iso8583::{Layout, MessageBuilder, Mti};
    ///
    /// let layout = Layout::shipped("generic-1987-ascii")?;
    /// let echo = MessageBuilder::from_fields(
    ///     Mti::new("0800")?,
    ///     &[(7, "1125093000"), (11, "000001"), (70, "301")],
    /// );
    /// let mut wire = bytes::BytesMut::new();
    /// layout.encode(&echo, &mut wire)?;
    /// assert_eq!(layout.decode(&wire)?.str(70), Some("301"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_fields<I>(mti: Mti, fields: I) -> Self
    where
        I: IntoIterator,
        I::Item: Borrow<(u8, &'v str)>,
    {
        let mut builder = MessageBuilder::new(mti);
        for pair in fields {
            let &(number, text) = pair.borrow();
            builder.set(number, text);
        }
        builder
    }

    /// The message type.
    pub fn mti(&self) -> Mti {
        self.mti
    }

    /// Changes the message type.
    pub fn set_mti(&mut self, mti: Mti) -> &mut Self {
        self.mti = mti;
        self
    }

    /// Sets field `number` (2–128) to `text`.
    #[inline]
    pub fn set(&mut self, number: u8, text: &'v str) -> &mut Self {
        self.set_bytes(number, text.as_bytes())
    }

    /// Sets field `number` (2–128) to text given as bytes (as read from
    /// another message, for echoing).
    #[inline]
    pub fn set_bytes(&mut self, number: u8, text: &'v [u8]) -> &mut Self {
        if !(2..=128).contains(&number) {
            self.out_of_range = Some(number);
            return self;
        }
        // Fields are usually set in ascending order: append without a search.
        if self.values.last().is_none_or(|(last, _)| *last < number) {
            self.values.push((number, text));
            return self;
        }
        match self.values.binary_search_by_key(&number, |(n, _)| *n) {
            Ok(at) => self.values[at].1 = text,
            Err(at) => self.values.insert(at, (number, text)),
        }
        self
    }

    /// Removes field `number`.
    pub fn clear(&mut self, number: u8) -> &mut Self {
        self.values.retain(|(n, _)| *n != number);
        self
    }

    /// The text of field `number`, if set.
    pub fn get(&self, number: u8) -> Option<&'v [u8]> {
        self.values
            .binary_search_by_key(&number, |(n, _)| *n)
            .ok()
            .map(|at| self.values[at].1)
    }

    /// Numbers of the set fields in ascending order.
    pub fn field_numbers(&self) -> impl Iterator<Item = u8> + '_ {
        self.values.iter().map(|(n, _)| *n)
    }

    /// The bitmap of the set fields, with bit 1 when any is above 64.
    fn bitmap(&self) -> u128 {
        let bits = self
            .values
            .iter()
            .fold(0u128, |bits, (n, _)| bits | bitmap::bit(*n));
        if bits & bitmap::HIGH_FIELDS != 0 {
            bits | bitmap::SECONDARY
        } else {
            bits
        }
    }
}

impl std::fmt::Debug for MessageBuilder<'_> {
    /// Field numbers only: values may be card data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageBuilder")
            .field("mti", &self.mti)
            .field("fields", &self.field_numbers().collect::<Vec<_>>())
            .finish()
    }
}

impl Layout {
    /// Appends the encoded message (without a length header) to `out`.
    /// On error `out` is left as it was.
    pub fn encode(
        &self,
        message: &MessageBuilder<'_>,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let start = out.len();
        let result = self.encode_fields(message, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_fields(
        &self,
        message: &MessageBuilder<'_>,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        if let Some(field) = message.out_of_range {
            return Err(EncodeError::UndefinedField { field });
        }
        out.reserve(256);
        let digits = message.mti.digits();
        match self.mti_encoding() {
            MtiEncoding::Ascii => out.put_slice(&digits),
            MtiEncoding::Bcd => {
                let d = digits.map(|c| c - b'0');
                out.put_slice(&[d[0] << 4 | d[1], d[2] << 4 | d[3]]);
            }
        }
        bitmap::write(message.bitmap(), self.bitmap_encoding(), out);
        for &(number, text) in &message.values {
            let spec = self
                .field(number)
                .ok_or(EncodeError::UndefinedField { field: number })?;
            write_field(spec, text, out).map_err(|problem| EncodeError::Field {
                field: number,
                problem,
            })?;
        }
        Ok(())
    }
}

/// Checks one value against its field and writes prefix and data.
#[inline]
fn write_field(spec: &FieldSpec, text: &[u8], out: &mut BytesMut) -> Result<(), FieldProblem> {
    if spec.data == DataEncoding::Binary && text.len() % 2 != 0 {
        return Err(FieldProblem::OddHex { len: text.len() });
    }
    let units = match spec.data {
        DataEncoding::Ascii | DataEncoding::Bcd => text.len(),
        DataEncoding::Binary => text.len() / 2,
    };
    let max = usize::from(spec.max);
    match spec.length {
        LengthKind::Fixed if units != max => {
            return Err(FieldProblem::WrongLength {
                len: units,
                expected: max,
            });
        }
        LengthKind::LlVar | LengthKind::LllVar if units > max => {
            return Err(FieldProblem::TooLong { len: units, max });
        }
        _ => {}
    }
    let class = match spec.data {
        DataEncoding::Bcd => Class::N,
        _ => spec.class,
    };
    class
        .check(text)
        .map_err(|offset| FieldProblem::BadContent {
            offset,
            byte: text[offset],
            class,
        })?;
    if class == Class::B && text.len() % 2 != 0 {
        return Err(FieldProblem::OddHex { len: text.len() });
    }
    if spec.length != LengthKind::Fixed {
        write_prefix(spec, units, out);
    }
    match spec.data {
        DataEncoding::Ascii => out.put_slice(text),
        DataEncoding::Binary => {
            // Already checked to be hex of even length above.
            hex::decode_into(text, out).map_err(|offset| FieldProblem::BadContent {
                offset,
                byte: text[offset],
                class,
            })?;
        }
        DataEncoding::Bcd => {
            let (head, rest) = text.split_at(text.len() % 2);
            if let [d] = head {
                out.put_u8(d - b'0');
            }
            for pair in rest.chunks_exact(2) {
                out.put_u8((pair[0] - b'0') << 4 | (pair[1] - b'0'));
            }
        }
    }
    Ok(())
}

/// Writes the length prefix; `units` is within the field's maximum, which the
/// layout keeps within what the prefix can express.
#[inline]
fn write_prefix(spec: &FieldSpec, units: usize, out: &mut BytesMut) {
    let width = spec.prefix_len();
    match spec.prefix {
        PrefixEncoding::Ascii => {
            let digits = [
                b'0' + (units / 100 % 10) as u8,
                b'0' + (units / 10 % 10) as u8,
                b'0' + (units % 10) as u8,
            ];
            out.put_slice(&digits[3 - width..]);
        }
        PrefixEncoding::Bcd => {
            let packed = [
                ((units / 1000 % 10) << 4 | (units / 100 % 10)) as u8,
                ((units / 10 % 10) << 4 | (units % 10)) as u8,
            ];
            out.put_slice(&packed[2 - width..]);
        }
        PrefixEncoding::Binary => {
            let be = (units as u16).to_be_bytes();
            out.put_slice(&be[2 - width..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mti(text: &str) -> Mti {
        Mti::new(text).expect("4 digits")
    }

    #[test]
    fn from_fields_sets_every_pair_as_set_would() {
        let pairs = [
            (70, "301"),
            (7, "1125093000"),
            (11, "000001"),
            (7, "0101000000"),
        ];
        let built = MessageBuilder::from_fields(mti("0800"), &pairs);
        let mut by_hand = MessageBuilder::new(mti("0800"));
        for (n, v) in pairs {
            by_hand.set(n, v);
        }
        assert_eq!(built.mti(), mti("0800"));
        assert_eq!(
            built.field_numbers().collect::<Vec<_>>(),
            by_hand.field_numbers().collect::<Vec<_>>()
        );
        assert_eq!(built.get(7), Some(&b"0101000000"[..]), "the last pair wins");
        let layout = Layout::shipped("generic-1987-ascii").expect("shipped");
        let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
        layout.encode(&built, &mut a).expect("encodes");
        layout.encode(&by_hand, &mut b).expect("encodes");
        assert_eq!(a, b);
    }

    #[test]
    fn from_fields_takes_an_iterator_of_owned_texts_too() {
        let owned = [(11u8, String::from("000042")), (70, String::from("301"))];
        let built =
            MessageBuilder::from_fields(mti("0800"), owned.iter().map(|(n, v)| (*n, v.as_str())));
        assert_eq!(built.get(11), Some(&b"000042"[..]));
        assert_eq!(built.field_numbers().collect::<Vec<_>>(), [11, 70]);
    }

    #[test]
    fn from_fields_keeps_an_out_of_range_field_for_encode_to_report() {
        let built = MessageBuilder::from_fields(mti("0800"), &[(1, "x"), (70, "301")]);
        let layout = Layout::shipped("generic-1987-ascii").expect("shipped");
        let mut out = BytesMut::new();
        assert!(matches!(
            layout.encode(&built, &mut out),
            Err(EncodeError::UndefinedField { field: 1 })
        ));
    }
}
