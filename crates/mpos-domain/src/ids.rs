//! Identifiers as they travel in ISO 8583 fields, each a newtype whose only
//! constructor checks the value ("parse, don't validate"): inside the host,
//! a `MerchantId` is always 15 printable characters.

use std::fmt;

/// A value that breaks its field's rule; the message says the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(pub String);

/// Whether every byte is printable ASCII, 0x20 to 0x7E: the `ans` class of
/// ISO 8583, which the text fields (and DE 48's app password) carry.
pub(crate) fn printable(text: &str) -> bool {
    text.bytes().all(|b| (0x20..=0x7E).contains(&b))
}

fn digits(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit())
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The checked text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(
    /// A merchant ID (DE 42): exactly 15 printable ASCII characters.
    MerchantId
);
text_id!(
    /// A virtual terminal ID (DE 41): exactly 8 printable ASCII characters.
    TerminalId
);
text_id!(
    /// A card reader's serial (DE 62): 1 to 32 printable ASCII characters,
    /// no surrounding spaces.
    DeviceSerial
);
text_id!(
    /// A system trace audit number (DE 11): 6 digits.
    Stan
);
text_id!(
    /// Transmission date and time (DE 7): MMDDhhmmss, UTC.
    TransmissionTime
);
text_id!(
    /// A retrieval reference number (DE 37): 12 letters or digits.
    Rrn
);
text_id!(
    /// An authorization code (DE 38): 6 of `0-9A-Z`.
    AuthCode
);

impl MerchantId {
    /// Checks DE 42.
    pub fn new(text: &str) -> Result<Self, IdError> {
        if text.len() == 15 && printable(text) && text.trim() == text {
            Ok(MerchantId(text.to_owned()))
        } else {
            Err(IdError(format!(
                "merchant ID {text:?} must be 15 printable ASCII characters (DE 42)"
            )))
        }
    }
}

impl TerminalId {
    /// Checks DE 41.
    pub fn new(text: &str) -> Result<Self, IdError> {
        if text.len() == 8 && printable(text) && text.trim() == text {
            Ok(TerminalId(text.to_owned()))
        } else {
            Err(IdError(format!(
                "virtual terminal ID {text:?} must be 8 printable ASCII characters (DE 41)"
            )))
        }
    }
}

impl DeviceSerial {
    /// Checks a serial as DE 62 carries it.
    pub fn new(text: &str) -> Result<Self, IdError> {
        if (1..=32).contains(&text.len()) && printable(text) && text.trim() == text {
            Ok(DeviceSerial(text.to_owned()))
        } else {
            Err(IdError(format!(
                "device serial {text:?} must be 1 to 32 printable ASCII characters without surrounding spaces (DE 62)"
            )))
        }
    }
}

impl Stan {
    /// Checks DE 11.
    pub fn new(text: &str) -> Result<Self, IdError> {
        if digits(text, 6) {
            Ok(Stan(text.to_owned()))
        } else {
            Err(IdError(format!("STAN {text:?} must be 6 digits (DE 11)")))
        }
    }
}

impl TransmissionTime {
    /// Checks DE 7: a real month, day, hour, minute and second.
    pub fn new(text: &str) -> Result<Self, IdError> {
        let bad = || {
            IdError(format!(
                "transmission time {text:?} must be MMDDhhmmss (DE 7)"
            ))
        };
        if !digits(text, 10) {
            return Err(bad());
        }
        let two = |i: usize| text[i..i + 2].parse::<u8>().unwrap_or(u8::MAX);
        let (month, day, hour, minute, second) = (two(0), two(2), two(4), two(6), two(8));
        if (1..=12).contains(&month)
            && (1..=31).contains(&day)
            && hour < 24
            && minute < 60
            && second < 60
        {
            Ok(TransmissionTime(text.to_owned()))
        } else {
            Err(bad())
        }
    }
}

impl Rrn {
    /// Checks DE 37.
    pub fn new(text: &str) -> Result<Self, IdError> {
        if text.len() == 12 && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Rrn(text.to_owned()))
        } else {
            Err(IdError(format!(
                "RRN {text:?} must be 12 letters or digits (DE 37)"
            )))
        }
    }
}

impl AuthCode {
    /// Checks DE 38.
    pub fn new(text: &str) -> Result<Self, IdError> {
        if text.len() == 6
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            Ok(AuthCode(text.to_owned()))
        } else {
            Err(IdError(format!(
                "authorization code {text:?} must be 6 of 0-9A-Z (DE 38)"
            )))
        }
    }
}

/// What a 0200 asks for, from its processing code (DE 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionKind {
    /// `00xxxx`.
    Purchase,
    /// `20xxxx`.
    Refund,
}

impl TransactionKind {
    /// The kind of a 6-digit processing code; `None` for any other
    /// transaction type (answered 12).
    pub fn from_processing_code(code: &str) -> Option<TransactionKind> {
        if !digits(code, 6) {
            return None;
        }
        match &code[..2] {
            "00" => Some(TransactionKind::Purchase),
            "20" => Some(TransactionKind::Refund),
            _ => None,
        }
    }
}

/// What an 0800 asks for (DE 70).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkCode {
    /// `001`: bind the connection to a device.
    SignOn,
    /// `002`: end the binding.
    SignOff,
    /// `301`: are you there?
    Echo,
}

impl NetworkCode {
    /// DE 70's meaning, if it is one the host serves.
    pub fn from_de70(code: &str) -> Option<NetworkCode> {
        match code {
            "001" => Some(NetworkCode::SignOn),
            "002" => Some(NetworkCode::SignOff),
            "301" => Some(NetworkCode::Echo),
            _ => None,
        }
    }
}

/// DE 90 of a reversal: which 0200 it reverses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalData {
    /// The original's MTI (0200).
    pub mti: String,
    /// The original's STAN.
    pub stan: Stan,
    /// The original's DE 7.
    pub transmission_time: TransmissionTime,
}

impl OriginalData {
    /// Parses n42: MTI (4) + STAN (6) + DE 7 (10) + 22 zeros.
    pub fn parse(text: &str) -> Result<OriginalData, IdError> {
        let bad = || {
            IdError(format!(
                "original data elements {text:?} must be 42 digits (DE 90)"
            ))
        };
        if !digits(text, 42) || !text[20..].bytes().all(|b| b == b'0') {
            return Err(bad());
        }
        Ok(OriginalData {
            mti: text[..4].to_owned(),
            stan: Stan::new(&text[4..10]).map_err(|_| bad())?,
            transmission_time: TransmissionTime::new(&text[10..20]).map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_to_their_format() {
        assert!(MerchantId::new("MTB000000000001").is_ok());
        assert!(MerchantId::new("MTB00000000001").is_err());
        assert!(TerminalId::new("10000001").is_ok());
        assert!(TerminalId::new("1000001").is_err());
        assert!(DeviceSerial::new("MPOS-0001").is_ok());
        assert!(DeviceSerial::new("").is_err());
        assert!(DeviceSerial::new(" MPOS").is_err());
        assert!(DeviceSerial::new(&"x".repeat(33)).is_err());
        assert!(DeviceSerial::new("МПОС").is_err(), "DE 62 is ASCII");
        assert!(Stan::new("000042").is_ok());
        assert!(Stan::new("42").is_err());
        assert!(TransmissionTime::new("1125093000").is_ok());
        for bad in [
            "1325093000",
            "1100093000",
            "1125243000",
            "1125096000",
            "112509300",
        ] {
            assert!(TransmissionTime::new(bad).is_err(), "{bad}");
        }
        assert!(Rrn::new("000000000001").is_ok());
        assert!(Rrn::new("00000000000-").is_err());
        assert!(AuthCode::new("A1B2C3").is_ok());
        assert!(AuthCode::new("a1b2c3").is_err());
    }

    #[test]
    fn processing_and_network_codes() {
        assert_eq!(
            TransactionKind::from_processing_code("000000"),
            Some(TransactionKind::Purchase)
        );
        assert_eq!(
            TransactionKind::from_processing_code("003000"),
            Some(TransactionKind::Purchase)
        );
        assert_eq!(
            TransactionKind::from_processing_code("200000"),
            Some(TransactionKind::Refund)
        );
        assert_eq!(TransactionKind::from_processing_code("010000"), None);
        assert_eq!(NetworkCode::from_de70("001"), Some(NetworkCode::SignOn));
        assert_eq!(NetworkCode::from_de70("999"), None);
    }

    #[test]
    fn de90_names_the_original() {
        let o = OriginalData::parse("020000004211250930000000000000000000000000").unwrap();
        assert_eq!(
            (
                o.mti.as_str(),
                o.stan.as_str(),
                o.transmission_time.as_str()
            ),
            ("0200", "000042", "1125093000")
        );
        assert!(OriginalData::parse("0200000042112509300000000000000000000000001").is_err());
        assert!(
            OriginalData::parse("020000004211250930000000000000000000000001").is_err(),
            "trailing zeros"
        );
    }
}
