//! Card data: the PAN (Luhn-checked, masked for display, hashed with a host
//! key to match refunds to their card), the expiry date, and track 2. The
//! full PAN lives only in memory for one request: it is wiped on drop and
//! no trait here prints more than the masked form.

use ring::hmac;
use std::fmt;
use zeroize::Zeroize;

/// Most digits a PAN may have.
const MAX_PAN: usize = 19;
/// Fewest digits a PAN may have.
const MIN_PAN: usize = 12;

/// Why card data was refused; the variant says which response code applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// Not 12–19 digits, or the Luhn check fails: response 14.
    #[error("the card number is not valid")]
    InvalidNumber,
    /// DE 14 or the track-2 expiry is not a valid YYMM: response 30.
    #[error("the expiry date is not a valid YYMM")]
    BadExpiry,
    /// Track 2 is not `PAN=YYMM…` or `PANDYYMM…`: response 30.
    #[error("track 2 data is malformed")]
    BadTrack2,
}

/// A card number that passed the length and Luhn checks.
#[derive(Clone, PartialEq, Eq)]
pub struct Pan {
    digits: [u8; MAX_PAN],
    len: u8,
}

impl Pan {
    /// Checks `text` is 12 to 19 digits with a valid Luhn check digit.
    pub fn parse(text: &str) -> Result<Pan, CardError> {
        let bytes = text.as_bytes();
        if !(MIN_PAN..=MAX_PAN).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(CardError::InvalidNumber);
        }
        if !luhn_valid(bytes) {
            return Err(CardError::InvalidNumber);
        }
        let mut digits = [0u8; MAX_PAN];
        digits[..bytes.len()].copy_from_slice(bytes);
        Ok(Pan {
            digits,
            len: bytes.len() as u8,
        })
    }

    fn as_bytes(&self) -> &[u8] {
        &self.digits[..usize::from(self.len)]
    }

    /// First 6 and last 4 digits, the rest as `*`: what storage and the
    /// cabinet keep.
    pub fn masked(&self) -> MaskedPan {
        let digits = self.as_bytes();
        let len = digits.len();
        let mut text = String::with_capacity(len);
        for (i, &d) in digits.iter().enumerate() {
            text.push(if i < 6 || i >= len - 4 {
                char::from(d)
            } else {
                '*'
            });
        }
        MaskedPan(text)
    }

    /// The keyed hash that matches a refund to its purchase's card.
    pub fn hash(&self, key: &PanKey) -> PanHash {
        let tag = hmac::sign(&key.0, self.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        PanHash(out)
    }

    /// Whether `other` (digits from another field) is the same number.
    pub fn matches(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Drop for Pan {
    fn drop(&mut self) {
        self.digits.zeroize();
    }
}

impl fmt::Debug for Pan {
    /// Only the masked form: a PAN never reaches a log whole.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pan({})", self.masked())
    }
}

/// Whether the digits' Luhn check digit is right.
fn luhn_valid(digits: &[u8]) -> bool {
    match digits.split_last() {
        Some((&last, payload)) => luhn_check_digit(payload) == last.wrapping_sub(b'0'),
        None => false,
    }
}

/// The Luhn check digit (0-9) that completes `payload`, ASCII digits: what
/// makes a card number valid, for generators of test cards.
pub fn luhn_check_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &c)| {
            let d = u32::from(c.wrapping_sub(b'0'));
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// A masked card number, e.g. `427655******1234`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedPan(String);

impl MaskedPan {
    /// The masked text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MaskedPan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The host secret for PAN hashes (HMAC-SHA-256). No `Debug`: it never
/// prints.
#[derive(Clone)]
pub struct PanKey(hmac::Key);

impl PanKey {
    /// A key from the bytes kept in the data folder.
    pub fn new(secret: &[u8]) -> PanKey {
        PanKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The HMAC key, for other keyed hashes of request content.
    pub(crate) fn hmac_key(&self) -> &hmac::Key {
        &self.0
    }

    /// A fingerprint of the key, in hex: the HMAC of a fixed label, so it
    /// tells keys apart without revealing them or any card's hash. The
    /// database remembers it, so that hosts with different keys (whose
    /// card hashes would never match each other's) are refused.
    pub fn fingerprint(&self) -> String {
        hmac::sign(&self.0, b"mpos PAN hash key fingerprint v1")
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl fmt::Debug for PanKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PanKey(..)")
    }
}

/// HMAC-SHA-256 of a PAN with the host key: equal for equal cards, useless
/// without the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PanHash(pub [u8; 32]);

impl fmt::Debug for PanHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PanHash(")?;
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "..)")
    }
}

/// A card's expiry month; the card is valid to the end of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expiry {
    year: i16,
    month: i8,
}

impl Expiry {
    /// Parses YYMM (DE 14 and track 2); years are 2000–2099.
    pub fn from_yymm(text: &str) -> Result<Expiry, CardError> {
        let bytes = text.as_bytes();
        if bytes.len() != 4 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(CardError::BadExpiry);
        }
        let two = |i: usize| (bytes[i] - b'0') * 10 + (bytes[i + 1] - b'0');
        let (yy, mm) = (two(0), two(2));
        if !(1..=12).contains(&mm) {
            return Err(CardError::BadExpiry);
        }
        Ok(Expiry {
            year: 2000 + i16::from(yy),
            month: mm as i8,
        })
    }

    /// Whether the card has expired on `today` (after the end of its month).
    pub fn is_expired(&self, today: jiff::civil::Date) -> bool {
        (today.year(), today.month()) > (self.year, self.month)
    }
}

/// What track 2 says: the PAN's digits (not yet Luhn-checked) and the expiry.
pub struct Track2 {
    /// The card number as written on the track.
    pub pan_digits: String,
    /// The expiry after the separator.
    pub expiry: Expiry,
}

impl Track2 {
    /// Parses `PAN=YYMM…` or `PANDYYMM…` (class z: digits, `=`, `D`).
    pub fn parse(text: &str) -> Result<Track2, CardError> {
        let separator = text.find(['=', 'D']).ok_or(CardError::BadTrack2)?;
        let (pan, rest) = text.split_at(separator);
        let yymm = rest.get(1..5).ok_or(CardError::BadTrack2)?;
        if pan.is_empty() || !pan.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CardError::BadTrack2);
        }
        Ok(Track2 {
            pan_digits: pan.to_owned(),
            expiry: Expiry::from_yymm(yymm).map_err(|_| CardError::BadTrack2)?,
        })
    }
}

impl Drop for Track2 {
    fn drop(&mut self) {
        self.pan_digits.zeroize();
    }
}

impl fmt::Debug for Track2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Track2(<{} digits>, {:?})",
            self.pan_digits.len(),
            self.expiry
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_fingerprint_tells_keys_apart_and_reveals_neither_key_nor_hash() {
        let (a, b) = (PanKey::new(&[1; 32]), PanKey::new(&[2; 32]));
        assert_eq!(a.fingerprint(), PanKey::new(&[1; 32]).fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 64);
        assert!(!a.fingerprint().contains(&"01".repeat(32)));
    }
    use proptest::prelude::*;

    const VALID: &str = "4276550012341239";

    #[test]
    fn luhn_and_length_decide_validity() {
        assert!(Pan::parse(VALID).is_ok());
        assert!(Pan::parse("4276550012341234").is_err(), "bad check digit");
        assert!(Pan::parse("79927398713").is_err(), "11 digits");
        assert!(Pan::parse("000000000000").is_ok(), "12 zeros pass Luhn");
        assert!(Pan::parse("42765500123412x6").is_err());
        assert!(Pan::parse("42765500123412390000").is_err(), "20 digits");
    }

    #[test]
    fn masking_keeps_six_and_four() {
        assert_eq!(
            Pan::parse(VALID).unwrap().masked().as_str(),
            "427655******1239"
        );
        assert_eq!(
            format!("{:?}", Pan::parse(VALID).unwrap()),
            "Pan(427655******1239)"
        );
    }

    #[test]
    fn the_hash_is_keyed_and_stable() {
        let pan = Pan::parse(VALID).unwrap();
        let (k1, k2) = (PanKey::new(b"one"), PanKey::new(b"two"));
        assert_eq!(pan.hash(&k1), Pan::parse(VALID).unwrap().hash(&k1));
        assert_ne!(pan.hash(&k1), pan.hash(&k2));
        assert!(!format!("{:?}", pan.hash(&k1)).contains(VALID));
    }

    #[test]
    fn a_card_is_valid_to_the_end_of_its_month() {
        let expiry = Expiry::from_yymm("2611").unwrap();
        let day = |y, m, d| jiff::civil::date(y, m, d);
        assert!(!expiry.is_expired(day(2026, 11, 30)));
        assert!(expiry.is_expired(day(2026, 12, 1)));
        assert!(!expiry.is_expired(day(2025, 12, 31)));
        assert!(Expiry::from_yymm("2613").is_err());
        assert!(Expiry::from_yymm("2600").is_err());
        assert!(Expiry::from_yymm("26a1").is_err());
    }

    #[test]
    fn track2_with_either_separator() {
        let t = Track2::parse("4276550012341239=28121010000012300000").unwrap();
        assert_eq!(
            (t.pan_digits.as_str(), t.expiry),
            (VALID, Expiry::from_yymm("2812").unwrap())
        );
        let t = Track2::parse("4276550012341239D2812101").unwrap();
        assert_eq!(t.expiry, Expiry::from_yymm("2812").unwrap());
        for bad in [
            "4276550012341239",
            "=2812",
            "4276550012341239=28",
            "4276550012341239=2813",
        ] {
            assert!(Track2::parse(bad).is_err(), "{bad}");
        }
        assert!(
            !format!("{:?}", Track2::parse("4276550012341239=2812").unwrap()).contains("427655")
        );
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_masks_never_reveal_more(text in "\\PC{0,40}") {
            let _ = Track2::parse(&text);
            let _ = Expiry::from_yymm(&text);
            if let Ok(pan) = Pan::parse(&text) {
                let masked = pan.masked();
                let shown = masked.as_str().bytes().filter(u8::is_ascii_digit).count();
                prop_assert_eq!(shown, 10);
            }
        }

        #[test]
        fn valid_digit_strings_mask_to_six_and_four(digits in "[0-9]{11,18}") {
            // Append the check digit that makes it valid.
            let pan = (0..10u8).map(|d| format!("{digits}{d}")).find(|p| Pan::parse(p).is_ok());
            let pan = pan.expect("one check digit is valid");
            let masked = Pan::parse(&pan).unwrap().masked();
            prop_assert_eq!(&masked.as_str()[..6], &pan[..6]);
            prop_assert_eq!(&masked.as_str()[pan.len() - 4..], &pan[pan.len() - 4..]);
            prop_assert!(masked.as_str()[6..pan.len() - 4].bytes().all(|b| b == b'*'));
        }
    }
}
