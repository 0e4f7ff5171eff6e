//! The primary and secondary bitmaps, kept together as one `u128` whose most
//! significant bit is field 1, so that presence tests and ordered iteration
//! are single instructions.

use crate::error::{DecodeError, WhichBitmap};
use crate::hex;
use crate::layout::BitmapEncoding;
use bytes::BufMut;

/// The bit of field `n` (1–128) in a bitmap `u128`.
#[inline]
pub(crate) const fn bit(n: u8) -> u128 {
    1u128 << (128 - n as u32)
}

/// The bit that announces the secondary bitmap.
pub(crate) const SECONDARY: u128 = bit(1);

/// Bits of fields 65–128.
pub(crate) const HIGH_FIELDS: u128 = u64::MAX as u128;

/// Field numbers set in `bits`, ascending.
#[derive(Clone)]
pub(crate) struct SetFields(pub(crate) u128);

impl Iterator for SetFields {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        if self.0 == 0 {
            return None;
        }
        let zeros = self.0.leading_zeros();
        self.0 &= !(1u128 << (127 - zeros));
        // zeros is 0..=127 here, so the field number fits in a u8.
        Some(zeros as u8 + 1)
    }
}

/// Reads the bitmap(s) at `*pos`, advancing it; the result includes bit 1
/// when a secondary bitmap was present.
pub(crate) fn read(
    frame: &[u8],
    pos: &mut usize,
    encoding: BitmapEncoding,
) -> Result<u128, DecodeError> {
    let primary = read_one(frame, pos, encoding, WhichBitmap::Primary)?;
    let mut bits = u128::from(primary) << 64;
    if bits & SECONDARY != 0 {
        bits |= u128::from(read_one(frame, pos, encoding, WhichBitmap::Secondary)?);
    }
    Ok(bits)
}

fn read_one(
    frame: &[u8],
    pos: &mut usize,
    encoding: BitmapEncoding,
    which: WhichBitmap,
) -> Result<u64, DecodeError> {
    let width = match encoding {
        BitmapEncoding::Hex => 16,
        BitmapEncoding::Binary => 8,
    };
    let raw = frame
        .get(*pos..*pos + width)
        .ok_or(DecodeError::TruncatedBitmap(which))?;
    *pos += width;
    match encoding {
        BitmapEncoding::Binary => {
            let mut word = [0u8; 8];
            word.copy_from_slice(raw);
            Ok(u64::from_be_bytes(word))
        }
        BitmapEncoding::Hex => raw.iter().try_fold(0u64, |acc, &c| {
            hex::nibble(c)
                .map(|v| acc << 4 | u64::from(v))
                .ok_or(DecodeError::BadBitmap(which))
        }),
    }
}

/// Writes the bitmap(s) for `bits`, which must already carry bit 1 when any
/// field above 64 is set. Hex bitmaps are written in upper case.
pub(crate) fn write(bits: u128, encoding: BitmapEncoding, out: &mut impl BufMut) {
    let primary = (bits >> 64) as u64;
    write_one(primary, encoding, out);
    if bits & SECONDARY != 0 {
        write_one(bits as u64, encoding, out);
    }
}

fn write_one(word: u64, encoding: BitmapEncoding, out: &mut impl BufMut) {
    match encoding {
        BitmapEncoding::Binary => out.put_u64(word),
        BitmapEncoding::Hex => {
            let mut text = [0u8; 16];
            for (i, c) in text.iter_mut().enumerate() {
                *c = hex::UPPER[((word >> (60 - 4 * i)) & 0xF) as usize];
            }
            out.put_slice(&text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_iterate_in_order() {
        let bits = bit(2) | bit(3) | bit(64) | bit(65) | bit(128);
        assert_eq!(SetFields(bits).collect::<Vec<_>>(), [2, 3, 64, 65, 128]);
    }

    #[test]
    fn hex_and_binary_round_trip_with_a_secondary_bitmap() {
        let bits = SECONDARY | bit(3) | bit(70) | bit(128);
        for encoding in [BitmapEncoding::Hex, BitmapEncoding::Binary] {
            let mut out = Vec::new();
            write(bits, encoding, &mut out);
            let mut pos = 0;
            assert_eq!(read(&out, &mut pos, encoding), Ok(bits));
            assert_eq!(pos, out.len());
        }
    }

    #[test]
    fn hex_is_read_in_either_case_and_written_upper() {
        let mut pos = 0;
        let bits = read(b"722000000000000a", &mut pos, BitmapEncoding::Hex).unwrap();
        let mut out = Vec::new();
        write(bits, BitmapEncoding::Hex, &mut out);
        assert_eq!(out, b"722000000000000A");
    }

    #[test]
    fn short_or_bad_bitmaps_are_errors() {
        let mut pos = 0;
        assert_eq!(
            read(b"7220", &mut pos, BitmapEncoding::Hex),
            Err(DecodeError::TruncatedBitmap(WhichBitmap::Primary))
        );
        let mut pos = 0;
        assert_eq!(
            read(b"72200000000000G0", &mut pos, BitmapEncoding::Hex),
            Err(DecodeError::BadBitmap(WhichBitmap::Primary))
        );
        let mut pos = 0;
        assert_eq!(
            read(b"8000000000000000", &mut pos, BitmapEncoding::Hex),
            Err(DecodeError::TruncatedBitmap(WhichBitmap::Secondary))
        );
    }
}
