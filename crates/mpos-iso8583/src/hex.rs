//! Hex digits for bitmaps and binary fields: a table lookup per character,
//! upper case on output.

const INVALID: u8 = 0xFF;

static NIBBLE_OF: [u8; 256] = nibble_table();

const fn nibble_table() -> [u8; 256] {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'A' as usize + i] = 10 + i as u8;
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
}

/// Upper-case hex digits, indexed by nibble.
pub(crate) const UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// The value of one hex character, either case.
#[inline]
pub(crate) fn nibble(c: u8) -> Option<u8> {
    match NIBBLE_OF[usize::from(c)] {
        INVALID => None,
        v => Some(v),
    }
}

/// Decodes pairs of hex characters into bytes appended to `out`; `Err(offset)`
/// names the first character that is not hex, and `out` is left as it was.
/// The caller checks the length is even.
pub(crate) fn decode_into(text: &[u8], out: &mut bytes::BytesMut) -> Result<(), usize> {
    let start = out.len();
    // Size once, then write in place: no capacity check per byte.
    out.resize(start + text.len() / 2, 0);
    for (i, (byte, pair)) in out[start..]
        .iter_mut()
        .zip(text.chunks_exact(2))
        .enumerate()
    {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => *byte = hi << 4 | lo,
            (hi, _) => {
                out.truncate(start);
                return Err(2 * i + usize::from(hi.is_some()));
            }
        }
    }
    Ok(())
}

/// Upper-case hex text of `data`.
pub(crate) fn encode_upper(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 2);
    for &b in data {
        s.push(char::from(UPPER[usize::from(b >> 4)]));
        s.push(char::from(UPPER[usize::from(b & 0x0F)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nibbles_of_both_cases() {
        assert_eq!(nibble(b'0'), Some(0));
        assert_eq!(nibble(b'f'), Some(15));
        assert_eq!(nibble(b'F'), Some(15));
        assert_eq!(nibble(b'g'), None);
        assert_eq!(nibble(0xFF), None);
    }

    #[test]
    fn decode_and_encode_agree() {
        let mut out = bytes::BytesMut::new();
        decode_into(b"00aBff", &mut out).unwrap();
        assert_eq!(&out[..], [0x00, 0xAB, 0xFF]);
        assert_eq!(encode_upper(&out), "00ABFF");
        assert_eq!(decode_into(b"0x", &mut out), Err(1));
        assert_eq!(decode_into(b"x0", &mut out), Err(0));
        assert_eq!(out.len(), 3, "a failed decode appends nothing");
    }
}
