//! The generator's cards: full card numbers, as a device reads them, that
//! pass the Luhn check, each with an expiry date that is still good. They
//! live in memory while the generator does and are wiped when it is
//! dropped; the host's path masks and hashes them as it does a real
//! device's, so no full number is ever stored or printed.

use super::generator::Rng;
use jiff::civil::Date;
use mpos_domain::card::luhn_check_digit;
use zeroize::Zeroize;

/// The first six digits of the pool's cards: Visa, Mastercard, Belkart, Mir.
const BINS: [&str; 4] = ["427655", "546938", "911200", "220070"];

/// Digits of every card.
const DIGITS: usize = 16;

/// A pool of distinct cards.
pub(super) struct CardPool {
    /// `DIGITS` ASCII digits per card, one after the other.
    digits: Vec<u8>,
    /// Each card's expiry, `YYMM`.
    expiries: Vec<String>,
}

impl CardPool {
    /// `count` (at least one) distinct cards from `rng`, valid for a year
    /// to five after `today`.
    pub(super) fn new(rng: &mut Rng, count: u64, today: Date) -> CardPool {
        let count = count.max(1);
        let mut digits = Vec::with_capacity(count as usize * DIGITS);
        let mut expiries = Vec::with_capacity(count as usize);
        let mut card = [0u8; DIGITS];
        for i in 0..count {
            card[..6].copy_from_slice(BINS[(i % BINS.len() as u64) as usize].as_bytes());
            // Nine digits: the index keeps cards distinct, the rng varies them.
            let mut body = (i * 7_919 + rng.below(1_000)) % 1_000_000_000;
            for d in card[6..DIGITS - 1].iter_mut().rev() {
                *d = b'0' + (body % 10) as u8;
                body /= 10;
            }
            card[DIGITS - 1] = b'0' + luhn_check_digit(&card[..DIGITS - 1]);
            digits.extend_from_slice(&card);
            expiries.push(yymm(months(today) + 12 + rng.below(48) as i64));
        }
        card.zeroize();
        CardPool { digits, expiries }
    }

    /// Cards in the pool.
    pub(super) fn len(&self) -> usize {
        self.expiries.len()
    }

    /// Card `i`'s number (DE 2).
    pub(super) fn pan(&self, i: usize) -> String {
        // ASCII digits only, by construction.
        String::from_utf8_lossy(&self.digits[i * DIGITS..(i + 1) * DIGITS]).into_owned()
    }

    /// Card `i`'s expiry (DE 14).
    pub(super) fn expiry(&self, i: usize) -> &str {
        &self.expiries[i]
    }

    /// Card `i`'s number with a wrong check digit: what a misread card
    /// looks like (14).
    pub(super) fn misread(&self, i: usize, rng: &mut Rng) -> String {
        let mut pan = self.pan(i).into_bytes();
        let last = pan[DIGITS - 1] - b'0';
        pan[DIGITS - 1] = b'0' + ((u64::from(last) + 1 + rng.below(9)) % 10) as u8;
        String::from_utf8(pan).unwrap_or_default()
    }
}

impl Drop for CardPool {
    fn drop(&mut self) {
        self.digits.zeroize();
    }
}

/// An expiry (`YYMM`) of a card that had expired before business day `day`
/// began: at least two months before its month, so that no local date of
/// the day (it may start the evening before) is still within it.
pub(super) fn expired_before(day: Date, rng: &mut Rng) -> String {
    yymm(months(day) - 2 - rng.below(24) as i64)
}

/// Months since year 0 of `day`'s month.
fn months(day: Date) -> i64 {
    i64::from(day.year()) * 12 + i64::from(day.month()) - 1
}

/// `YYMM` of a month counted by [`months`].
fn yymm(months: i64) -> String {
    format!("{:02}{:02}", (months / 12) % 100, months % 12 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpos_domain::card::{Expiry, Pan};
    use std::collections::HashSet;

    #[test]
    fn pool_cards_pass_the_luhn_check_and_misread_ones_fail_it() {
        // The textbook example: 7992739871 gets 3.
        assert_eq!(luhn_check_digit(b"7992739871"), 3);
        let mut rng = Rng::new(1);
        let today = jiff::civil::date(2026, 11, 25);
        let pool = CardPool::new(&mut rng, 100, today);
        let distinct: HashSet<String> = (0..pool.len()).map(|i| pool.pan(i)).collect();
        assert_eq!(distinct.len(), 100);
        for i in 0..pool.len() {
            assert!(Pan::parse(&pool.pan(i)).is_ok());
            assert!(Pan::parse(&pool.misread(i, &mut rng)).is_err());
            let expiry = Expiry::from_yymm(pool.expiry(i)).unwrap();
            assert!(!expiry.is_expired(jiff::civil::date(2027, 11, 30)));
        }
    }

    #[test]
    fn an_expired_card_is_expired_all_through_the_day() {
        let mut rng = Rng::new(2);
        for day in [
            jiff::civil::date(2026, 1, 1),
            jiff::civil::date(2026, 3, 1),
            jiff::civil::date(2026, 11, 25),
        ] {
            for _ in 0..50 {
                let expiry = Expiry::from_yymm(&expired_before(day, &mut rng)).unwrap();
                assert!(expiry.is_expired(day.yesterday().unwrap()), "{day}");
                assert!(expiry.is_expired(day), "{day}");
            }
        }
    }
}
