//! The message types the host answers, as a closed set: code past step 1
//! matches on them instead of comparing `"0200"` strings.

use std::fmt;

/// A request MTI of the host interface (spec section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mti {
    /// 0200: purchase or refund.
    Financial,
    /// 0400: reversal.
    Reversal,
    /// 0800: sign-on, sign-off, echo.
    Network,
}

impl Mti {
    /// Every request MTI, in the order metrics list them.
    pub const ALL: [Mti; 3] = [Mti::Financial, Mti::Reversal, Mti::Network];

    /// The request's four digits, as they travel and are stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Mti::Financial => "0200",
            Mti::Reversal => "0400",
            Mti::Network => "0800",
        }
    }

    /// The request MTI of four digits; `None` for anything the host does
    /// not serve (answers, advices, other classes).
    pub fn from_digits(digits: &[u8]) -> Option<Mti> {
        match digits {
            b"0200" => Some(Mti::Financial),
            b"0400" => Some(Mti::Reversal),
            b"0800" => Some(Mti::Network),
            _ => None,
        }
    }

    /// Its place in [`Mti::ALL`], for tables indexed by MTI.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_round_trip_and_nothing_else_is_served() {
        for mti in Mti::ALL {
            assert_eq!(Mti::from_digits(mti.as_str().as_bytes()), Some(mti));
            assert_eq!(Mti::ALL[mti.index()], mti);
        }
        for other in [&b"0210"[..], b"0420", b"0100", b"020", b"02000", b""] {
            assert_eq!(Mti::from_digits(other), None);
        }
    }
}
