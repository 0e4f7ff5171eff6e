//! Money: integer minor units with an ISO 4217 currency, never floats.

use std::fmt;

/// An amount in minor units (kopecks for BYN), as DE 4 carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(u64);

/// An ISO 4217 numeric currency code (DE 49), e.g. 933 for BYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(u16);

/// Why a text is not an amount or a currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// DE 4 must be 12 digits.
    #[error("an amount must be 12 digits of minor units")]
    Amount,
    /// DE 49 must be 3 digits, not 000.
    #[error("a currency must be a 3-digit ISO 4217 numeric code")]
    Currency,
}

impl Amount {
    /// An amount of `minor` units.
    pub const fn from_minor(minor: u64) -> Amount {
        Amount(minor)
    }

    /// Parses DE 4: exactly 12 digits.
    pub fn from_de4(text: &str) -> Result<Amount, MoneyError> {
        if text.len() != 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MoneyError::Amount);
        }
        text.parse().map(Amount).map_err(|_| MoneyError::Amount)
    }

    /// DE 4's text form: 12 digits, the inverse of [`Amount::from_de4`].
    pub fn to_de4(self) -> String {
        format!("{:012}", self.0)
    }

    /// The amount in minor units.
    pub const fn minor(self) -> u64 {
        self.0
    }

    /// Whether it is zero (answered 13).
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The last two digits, which the issuer simulator reads.
    pub const fn last_two_digits(self) -> u8 {
        (self.0 % 100) as u8
    }

    /// `self - other`, or zero.
    pub const fn saturating_sub(self, other: Amount) -> Amount {
        Amount(self.0.saturating_sub(other.0))
    }
}

impl Currency {
    /// Belarusian ruble.
    pub const BYN: Currency = Currency(933);

    /// A currency from its numeric code (1–999).
    pub fn new(code: u16) -> Result<Currency, MoneyError> {
        if (1..=999).contains(&code) {
            Ok(Currency(code))
        } else {
            Err(MoneyError::Currency)
        }
    }

    /// Parses DE 49: exactly 3 digits.
    pub fn from_de49(text: &str) -> Result<Currency, MoneyError> {
        if text.len() != 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(MoneyError::Currency);
        }
        text.parse()
            .map_err(|_| MoneyError::Currency)
            .and_then(Currency::new)
    }

    /// The numeric code.
    pub const fn code(self) -> u16 {
        self.0
    }

    /// Digits after the decimal point (ISO 4217 minor unit).
    pub const fn exponent(self) -> u32 {
        match self.0 {
            // Currencies without minor units that a Belarusian acquirer may meet.
            392 | 410 | 704 => 0,
            _ => 2,
        }
    }

    /// The alphabetic code for display, when known.
    pub const fn alpha(self) -> Option<&'static str> {
        Some(match self.0 {
            933 => "BYN",
            643 => "RUB",
            840 => "USD",
            978 => "EUR",
            985 => "PLN",
            _ => return None,
        })
    }

    /// DE 49's text form.
    pub fn to_de49(self) -> String {
        format!("{:03}", self.0)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.alpha() {
            Some(alpha) => f.write_str(alpha),
            None => write!(f, "{:03}", self.0),
        }
    }
}

/// Formats an amount in major units the way the cabinet shows it in
/// Russian: groups of three separated by a no-break space, a decimal comma,
/// then the currency: `1 234,50 BYN`. A negative net is prefixed with `−`.
pub fn format_major(minor: i64, currency: Currency) -> String {
    let exponent = currency.exponent();
    let scale = 10u64.pow(exponent);
    let magnitude = minor.unsigned_abs();
    let (whole, fraction) = (magnitude / scale, magnitude % scale);
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 8);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    let sign = if minor < 0 { "\u{2212}" } else { "" };
    if exponent == 0 {
        format!("{sign}{grouped}\u{a0}{currency}")
    } else {
        format!(
            "{sign}{grouped},{fraction:0width$}\u{a0}{currency}",
            width = exponent as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn de4_is_twelve_digits_of_minor_units() {
        assert_eq!(Amount::from_de4("000000012550").unwrap().minor(), 12_550);
        assert_eq!(
            Amount::from_de4("000000012550").unwrap().to_de4(),
            "000000012550"
        );
        assert!(Amount::from_de4("000000000000").unwrap().is_zero());
        for bad in ["12550", "0000000125500", "00000001255x", "-00000012550"] {
            assert!(Amount::from_de4(bad).is_err(), "{bad}");
        }
        assert_eq!(Amount::from_minor(10_051).last_two_digits(), 51);
        assert_eq!(
            Amount::from_minor(5).saturating_sub(Amount::from_minor(7)),
            Amount::default()
        );
    }

    #[test]
    fn de49_is_a_three_digit_code() {
        assert_eq!(Currency::from_de49("933").unwrap(), Currency::BYN);
        assert_eq!(Currency::BYN.to_de49(), "933");
        for bad in ["93", "9330", "000", "abc"] {
            assert!(Currency::from_de49(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn major_units_read_the_russian_way() {
        assert_eq!(
            format_major(123_450, Currency::BYN),
            "1\u{a0}234,50\u{a0}BYN"
        );
        assert_eq!(format_major(5, Currency::BYN), "0,05\u{a0}BYN");
        assert_eq!(
            format_major(-500_000, Currency::BYN),
            "\u{2212}5\u{a0}000,00\u{a0}BYN"
        );
        assert_eq!(
            format_major(10_000_000_000, Currency::BYN),
            "100\u{a0}000\u{a0}000,00\u{a0}BYN"
        );
        assert_eq!(
            format_major(1500, Currency::new(392).unwrap()),
            "1\u{a0}500\u{a0}392"
        );
    }
}
