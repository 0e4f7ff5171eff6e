//! The message type indicator: four digits (version, class, function, origin).

use std::fmt;

/// A message type indicator such as `0200`, always four ASCII digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mti([u8; 4]);

/// Why a text is not an MTI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("MTI must be 4 digits, got {0:?}")]
pub struct MtiError(pub String);

impl Mti {
    /// Checks that `text` is exactly four digits.
    pub fn new(text: &str) -> Result<Mti, MtiError> {
        Mti::from_digits(text.as_bytes()).ok_or_else(|| MtiError(text.to_owned()))
    }

    /// The MTI of four digits known when the code is written, checked at
    /// compile time when used in a `const` (it panics on anything but
    /// four ASCII digits).
    pub const fn from_static(digits: [u8; 4]) -> Mti {
        let mut i = 0;
        while i < 4 {
            assert!(digits[i].is_ascii_digit(), "an MTI is four ASCII digits");
            i += 1;
        }
        Mti(digits)
    }

    /// The MTI of four ASCII digits, or `None` when they are not.
    pub fn from_digits(digits: &[u8]) -> Option<Mti> {
        match digits {
            [a, b, c, d] if digits.iter().all(u8::is_ascii_digit) => Some(Mti([*a, *b, *c, *d])),
            _ => None,
        }
    }

    /// The four digits as text.
    pub fn as_str(&self) -> &str {
        // Only ever built from ASCII digits, so this never takes the fallback.
        std::str::from_utf8(&self.0).unwrap_or("????")
    }

    /// The four digits as bytes.
    pub fn digits(&self) -> [u8; 4] {
        self.0
    }

    /// The response to this request: the function digit goes from request
    /// (even) to response (odd), e.g. 0200 → 0210, 0800 → 0810.
    pub fn response(self) -> Mti {
        let [v, c, f, o] = self.0;
        Mti([v, c, f | 1, o])
    }
}

impl fmt::Display for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mti({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_four_digits_make_an_mti() {
        assert_eq!(Mti::new("0200").map(|m| m.to_string()), Ok("0200".into()));
        assert!(Mti::new("020").is_err());
        assert!(Mti::new("02000").is_err());
        assert!(Mti::new("02a0").is_err());
    }

    #[test]
    fn response_sets_the_function_digit() {
        for (req, resp) in [
            ("0200", "0210"),
            ("0400", "0410"),
            ("0800", "0810"),
            ("0210", "0210"),
        ] {
            assert_eq!(Mti::new(req).unwrap().response().as_str(), resp);
        }
    }
}
