//! Content classes of ISO 8583 fields (`n`, `an`, `ans`, `z`, `b`, `x+n`...)
//! and the byte table that checks them in one lookup per byte.

use std::fmt;

/// What characters a field may hold, as the layout's `class` names it.
///
/// Content outside the class is a format error (response code 30 on the host).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// `n`: digits only.
    N,
    /// `a`: letters only.
    A,
    /// `s`: special characters (printable ASCII that is neither letter nor digit, space included).
    S,
    /// `an`: letters and digits.
    An,
    /// `as`: letters and special characters.
    As,
    /// `ns`: digits and special characters.
    Ns,
    /// `ans`: any printable ASCII, 0x20 to 0x7E.
    Ans,
    /// `anp`: letters, digits and space.
    Anp,
    /// `z`: track 2 characters: digits, `=` and `D`.
    Z,
    /// `b`: binary data; in an ASCII layout it travels as hex characters.
    B,
    /// `x+n`: `C` (credit) or `D` (debit) followed by digits.
    XN,
}

const DIGIT: u8 = 1;
const ALPHA: u8 = 2;
const SPECIAL: u8 = 4;
const SPACE: u8 = 8;
const TRACK2: u8 = 16;
const HEX: u8 = 32;

/// One entry per byte value: which character groups it belongs to.
static BYTE_GROUPS: [u8; 256] = byte_groups();

const fn byte_groups() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut b = 0x20;
    while b <= 0x7E {
        let c = b as u8;
        let mut groups = if c.is_ascii_digit() {
            DIGIT | TRACK2 | HEX
        } else if c.is_ascii_alphabetic() {
            ALPHA
        } else {
            SPECIAL
        };
        if c == b' ' {
            groups |= SPACE;
        }
        if c == b'=' || c == b'D' {
            groups |= TRACK2;
        }
        if matches!(c, b'A'..=b'F' | b'a'..=b'f') {
            groups |= HEX;
        }
        table[b] = groups;
        b += 1;
    }
    table
}

impl Class {
    /// Every class with the name the layout files use for it.
    pub const ALL: [(Class, &'static str); 11] = [
        (Class::N, "n"),
        (Class::A, "a"),
        (Class::S, "s"),
        (Class::An, "an"),
        (Class::As, "as"),
        (Class::Ns, "ns"),
        (Class::Ans, "ans"),
        (Class::Anp, "anp"),
        (Class::Z, "z"),
        (Class::B, "b"),
        (Class::XN, "x+n"),
    ];

    /// The class a layout file names, if it is one of [`Class::ALL`].
    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(class, _)| *class)
    }

    /// The name of the class as written in layouts and error messages.
    pub fn name(self) -> &'static str {
        Class::ALL
            .iter()
            .find(|(class, _)| *class == self)
            .map_or("?", |(_, n)| n)
    }

    /// The byte groups this class accepts (for every class but `x+n`, whose
    /// first character is checked apart).
    fn groups(self) -> u8 {
        match self {
            Class::N | Class::XN => DIGIT,
            Class::A => ALPHA,
            Class::S => SPECIAL,
            Class::An => ALPHA | DIGIT,
            Class::As => ALPHA | SPECIAL,
            Class::Ns => DIGIT | SPECIAL,
            Class::Ans => ALPHA | DIGIT | SPECIAL,
            Class::Anp => ALPHA | DIGIT | SPACE,
            Class::Z => TRACK2,
            Class::B => HEX,
        }
    }

    /// Checks text against the class; `Err(offset)` points at the first byte
    /// that does not belong. For `b` the text is hex characters.
    pub fn check(self, text: &[u8]) -> Result<(), usize> {
        let mut body = text;
        let mut skipped = 0;
        if self == Class::XN {
            match text.first() {
                Some(b'C' | b'D') => {
                    body = &text[1..];
                    skipped = 1;
                }
                Some(_) => return Err(0),
                None => return Ok(()),
            }
        }
        // The common classes first, without a branch per byte, so the loop
        // vectorises: digits, printable ASCII, hex. A failure (rare) then
        // looks for the offending byte with the table.
        let all_fit = match self {
            Class::N | Class::XN => body.iter().fold(true, |ok, &b| ok & b.is_ascii_digit()),
            Class::Ans => body
                .iter()
                .fold(true, |ok, &b| ok & (b.wrapping_sub(0x20) < 0x5F)),
            Class::B => body.iter().fold(true, |ok, &b| ok & b.is_ascii_hexdigit()),
            _ => false,
        };
        if all_fit {
            return Ok(());
        }
        let groups = self.groups();
        match body
            .iter()
            .position(|&b| BYTE_GROUPS[usize::from(b)] & groups == 0)
        {
            Some(offset) => Err(offset + skipped),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (class, name) in Class::ALL {
            assert_eq!(Class::from_name(name), Some(class));
            assert_eq!(class.name(), name);
        }
        assert_eq!(Class::from_name("q"), None);
    }

    #[test]
    fn each_class_accepts_its_characters_and_nothing_else() {
        let cases: &[(Class, &str, &str)] = &[
            (Class::N, "0123456789", "12a"),
            (Class::A, "abcXYZ", "ab1"),
            (Class::S, " !@#=~", "!a"),
            (Class::An, "abc123XYZ", "ab c"),
            (Class::As, "ab !", "a1"),
            (Class::Ns, "12 !", "1a"),
            (Class::Ans, " ~azAZ09!", "ab\u{7f}"),
            (Class::Anp, "ab 12", "ab!"),
            (Class::Z, "4276=2512D", "4276^"),
            (Class::B, "0AfF19", "0G"),
            (Class::XN, "C00001234", "X0001"),
        ];
        for (class, good, bad) in cases {
            assert_eq!(class.check(good.as_bytes()), Ok(()), "{class} {good:?}");
            assert!(class.check(bad.as_bytes()).is_err(), "{class} {bad:?}");
        }
    }

    #[test]
    fn offset_points_at_the_first_bad_byte() {
        assert_eq!(Class::N.check(b"12x4"), Err(2));
        assert_eq!(Class::XN.check(b"C12x"), Err(3));
        assert_eq!(Class::XN.check(b"D"), Ok(()));
        assert_eq!(Class::Ans.check(&[0x41, 0x0A]), Err(1));
        assert_eq!(Class::Ans.check(&[0xC3, 0xA9]), Err(0));
    }
}
