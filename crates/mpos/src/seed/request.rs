//! What a card reader sends: a request's MTI, the instant it arrives at
//! the host, and its fields as text, as the generator makes them and the
//! writer puts them on the wire. DE 2 is a full card number: it is wiped
//! when the request is dropped and never printed.

use jiff::Timestamp;
use mpos_domain::mti::Mti;
use std::fmt;
use zeroize::Zeroize;

/// One 0200 or 0400 as the device would send it.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// 0200 or 0400.
    pub mti: Mti,
    /// When it arrives at the host: the stored row's `received_at`.
    pub at: Timestamp,
    /// (field number, text), ascending by number, each number once.
    fields: Vec<(u8, String)>,
}

impl Request {
    /// A request of `mti` arriving `at` with `fields` (in any order; a
    /// number given twice keeps its last text).
    pub fn new(mti: Mti, at: Timestamp, fields: Vec<(u8, String)>) -> Request {
        let mut request = Request {
            mti,
            at,
            fields: Vec::with_capacity(fields.len() + 1),
        };
        for (number, text) in fields {
            request.set(number, text);
        }
        request
    }

    /// The text of field `number`, if the request carries it.
    pub fn field(&self, number: u8) -> Option<&str> {
        self.position(number)
            .ok()
            .map(|i| self.fields[i].1.as_str())
    }

    /// Sets field `number` to `text`, replacing (and wiping) its old text.
    pub fn set(&mut self, number: u8, text: String) {
        match self.position(number) {
            Ok(i) => {
                self.fields[i].1.zeroize();
                self.fields[i].1 = text;
            }
            Err(i) => self.fields.insert(i, (number, text)),
        }
    }

    /// Clears field `number`, wiping its text.
    pub fn remove(&mut self, number: u8) {
        if let Ok(i) = self.position(number) {
            self.fields[i].1.zeroize();
            self.fields.remove(i);
        }
    }

    /// Every field as (number, text), ascending.
    pub fn fields(&self) -> impl Iterator<Item = (u8, &str)> {
        self.fields.iter().map(|(n, text)| (*n, text.as_str()))
    }

    /// DE 4 in minor units (0 if it is missing or not a number).
    pub fn amount_minor(&self) -> u64 {
        self.field(4).and_then(|a| a.parse().ok()).unwrap_or(0)
    }

    fn position(&self, number: u8) -> Result<usize, usize> {
        self.fields.binary_search_by_key(&number, |(n, _)| *n)
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        for (_, text) in &mut self.fields {
            text.zeroize();
        }
    }
}

impl fmt::Debug for Request {
    /// Every field but DE 2, which shows only its length: a card number
    /// never reaches a log or a test's failure message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Request({} at {}", self.mti, self.at)?;
        for (number, text) in &self.fields {
            match number {
                2 => write!(f, ", 2: <{} digits>", text.len())?,
                n => write!(f, ", {n}: {text:?}")?,
            }
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_stay_sorted_and_the_card_number_never_prints() {
        let at: Timestamp = "2026-11-25T12:00:00Z".parse().unwrap();
        let mut request = Request::new(
            Mti::Financial,
            at,
            vec![
                (11, "000001".into()),
                (2, "4276550012341239".into()),
                (4, "000000012550".into()),
            ],
        );
        request.set(11, "000002".into());
        request.set(3, "000000".into());
        let numbers: Vec<u8> = request.fields().map(|(n, _)| n).collect();
        assert_eq!(numbers, [2, 3, 4, 11]);
        assert_eq!(request.field(11), Some("000002"));
        assert_eq!(request.amount_minor(), 12_550);
        let printed = format!("{request:?}");
        assert!(!printed.contains("4276550012341239"), "{printed}");
        assert!(printed.contains("2: <16 digits>"), "{printed}");
        request.remove(2);
        assert_eq!(request.field(2), None);
    }
}
