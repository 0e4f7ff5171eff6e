//! The synthetic 0200s of `mpos admin seed-history`, as a deterministic
//! stream: the same seed, merchant, devices, terminals and business day
//! give the same rows, oldest first, in the order the host would have
//! stored them. Only the times of today's rows move with the time of day:
//! they fall between the day's start and now.
//!
//! What a stream looks like, about: 90 % approved purchases, 4 % refunds
//! of a recent purchase on the same card and terminal, 5 % declines with the
//! codes the host stores (51 and 05 from the issuer simulator, with amounts
//! that the simulator would decline; 54, 14, 13), and 1.5 % of the approved
//! purchases reversed by a 0400 right after. Days are weighted by weekday,
//! times of day by shop hours. Cards come from a pool
//! generated from the seed: each PAN passes the Luhn check, lives only long
//! enough to be masked and hashed with the data folder's key, and is never
//! kept.
//!
//! RRNs are left to the writer: the host makes them of the row id, which is
//! known only when the row is stored.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mpos_domain::business_day::BusinessDayClock;
use mpos_domain::card::{Pan, PanKey, luhn_check_digit};
use mpos_domain::response::ResponseCode;
use mpos_store::ops::transactions::{Kind, NewTransaction};
use std::collections::VecDeque;

/// How far back (in generated rows) a refund may look for its purchase. The
/// writer remembers the row ids of at least that many rows.
pub const REFUND_WINDOW: u64 = 5_000;

/// Cards in the pool, at most.
const CARDS: u64 = 20_000;

/// Why no stream can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenerateError {
    /// The merchant has no card reader to send from.
    #[error(
        "merchant {0} has no card readers: add one with `mpos admin device add --merchant {0}` first"
    )]
    NoDevices(String),
    /// The merchant has no active virtual terminal to pay on.
    #[error(
        "merchant {0} has no active virtual terminals: add one with `mpos admin terminal add --merchant {0}` first"
    )]
    NoTerminals(String),
    /// The days asked for leave the calendar.
    #[error("{0} business days back from today leave the calendar")]
    Calendar(u32),
}

/// A virtual terminal rows are paid on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    /// DE 41.
    pub id: String,
    /// `standard`, `installment` or `bonus`: installments are bigger, rarer.
    pub kind: String,
    /// ISO 4217 numeric; every row on it is in this currency.
    pub currency: u16,
    /// Per-transaction limit, minor units: approved rows stay within it.
    pub limit_minor: Option<u64>,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// DE 42 of every row.
    pub merchant_id: String,
    /// The merchant's card readers (DE 62); the first is the busiest.
    pub devices: Vec<String>,
    /// The merchant's active virtual terminals.
    pub terminals: Vec<Terminal>,
    /// 0200 rows to generate.
    pub transactions: u64,
    /// Business days they spread over, today's the last.
    pub days: u32,
    /// Same seed, same rows.
    pub seed: u64,
}

/// One generated 0200, and what the writer completes when storing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its place in the stream, from 0.
    pub seq: u64,
    /// The row: for an approval the RRN and the response are left empty
    /// (the RRN is made of the row id), for a decline the response too.
    pub row: NewTransaction,
    /// A refund's purchase, by its `seq`: the writer fills in
    /// `original_id` and `original_rrn`.
    pub refund_of: Option<u64>,
    /// The 0400 that reverses this row right after it; the writer fills in
    /// its `original_id` and marks this row reversed.
    pub reversal: Option<NewTransaction>,
}

impl Event {
    /// Whether the row is approved.
    pub fn approved(&self) -> bool {
        self.row.response_code == "00"
    }
}

/// SplitMix64, written out so that a seed's rows never change with a
/// dependency's version.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index of `weights`, each chosen in proportion to its weight.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }
}

/// A card of the pool: what the store keeps of it.
#[derive(Debug, Clone)]
struct Card {
    masked: String,
    hash: [u8; 32],
}

/// The first six digits of the pool's cards: Visa, Mastercard, Belkart, Mir.
const BINS: [&str; 4] = ["427655", "546938", "911200", "220070"];

/// A pool of `count` distinct cards (16 digits, Luhn-valid) from `rng`.
fn card_pool(rng: &mut Rng, count: u64, key: &PanKey) -> Vec<Card> {
    (0..count.max(1))
        .map(|i| {
            let mut digits = String::with_capacity(16);
            digits.push_str(BINS[(i % BINS.len() as u64) as usize]);
            // Nine digits: the index keeps cards distinct, the rng varies them.
            let body = (i * 7_919 + rng.below(1_000)) % 1_000_000_000;
            digits.push_str(&format!("{body:09}"));
            digits.push(char::from(b'0' + luhn_check_digit(digits.as_bytes())));
            let card = match Pan::parse(&digits) {
                Ok(pan) => Card {
                    masked: pan.masked().to_string(),
                    hash: pan.hash(key).0,
                },
                // Unreachable: the check digit was just computed.
                Err(_) => Card {
                    masked: format!("{}******0000", &digits[..6]),
                    hash: [0; 32],
                },
            };
            zero(&mut digits);
            card
        })
        .collect()
}

/// Overwrites a PAN's digits before the string is freed.
fn zero(digits: &mut String) {
    let len = digits.len();
    digits.clear();
    digits.extend(std::iter::repeat_n('0', len));
}

/// How busy each local hour is, relative to the busiest.
const HOURS: [f64; 24] = [
    0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.2, 0.45, 0.7, 0.9, 1.0, 1.0, 1.0, 0.9, 0.85, 0.9,
    1.0, 1.0, 0.9, 0.7, 0.45, 0.2, 0.06,
];

/// How busy a weekday is: Monday first.
const WEEKDAYS: [f64; 7] = [0.9, 0.95, 1.0, 1.0, 1.2, 1.25, 0.8];

/// One business day of the stream.
#[derive(Debug, Clone)]
struct Day {
    day: Date,
    start: Timestamp,
    /// The day's end, or now for today.
    end: Timestamp,
    rows: u64,
}

/// A purchase a refund may still take from.
#[derive(Debug, Clone)]
struct Refundable {
    seq: u64,
    left: u64,
    card: usize,
    terminal: usize,
    device: usize,
}

/// The stream itself.
pub struct Generator {
    shape: Shape,
    rng: Rng,
    cards: Vec<Card>,
    zone: TimeZone,
    clock: BusinessDayClock,
    days: Vec<Day>,
    day: usize,
    /// The current day's instants, newest last; popped from the front.
    instants: VecDeque<Timestamp>,
    seq: u64,
    /// The next STAN of each device.
    stans: Vec<u32>,
    device_weights: Vec<f64>,
    terminal_weights: Vec<f64>,
    refundable: VecDeque<Refundable>,
    /// Nothing is stored later than this.
    now: Timestamp,
}

impl Generator {
    /// The stream of `shape` ending at `now`, business days by `clock`
    /// (times shown in `zone`), cards hashed with `key`.
    pub fn new(
        shape: Shape,
        clock: &BusinessDayClock,
        zone: &TimeZone,
        now: Timestamp,
        key: &PanKey,
    ) -> Result<Generator, GenerateError> {
        if shape.devices.is_empty() {
            return Err(GenerateError::NoDevices(shape.merchant_id.clone()));
        }
        if shape.terminals.is_empty() {
            return Err(GenerateError::NoTerminals(shape.merchant_id.clone()));
        }
        let mut rng = Rng::new(shape.seed);
        let cards = card_pool(&mut rng, CARDS.min(shape.transactions / 4 + 1), key);
        let days = plan_days(&shape, clock, now)?;
        let stans = shape
            .devices
            .iter()
            .map(|_| rng.below(999_999) as u32 + 1)
            .collect();
        let device_weights = (0..shape.devices.len())
            .map(|i| 1.0 / (i as f64 + 1.0))
            .collect();
        let terminal_weights = shape
            .terminals
            .iter()
            .map(|t| match t.kind.as_str() {
                "installment" => 1.0,
                "bonus" => 2.0,
                _ => 8.0,
            })
            .collect();
        Ok(Generator {
            shape,
            rng,
            cards,
            zone: zone.clone(),
            clock: clock.clone(),
            days,
            day: 0,
            instants: VecDeque::new(),
            seq: 0,
            stans,
            device_weights,
            terminal_weights,
            refundable: VecDeque::new(),
            now,
        })
    }

    /// What the stream was made from.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Rows the stream holds in all (0200s; reversals come on top).
    pub fn len(&self) -> u64 {
        self.days.iter().map(|d| d.rows).sum()
    }

    /// Whether the stream holds no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first and last business day of the stream.
    pub fn period(&self) -> Option<(Date, Date)> {
        Some((self.days.first()?.day, self.days.last()?.day))
    }

    /// The next instant, moving to the next day when this one is done.
    fn next_instant(&mut self) -> Option<Timestamp> {
        while self.instants.is_empty() {
            let day = self.days.get(self.day)?.clone();
            self.day += 1;
            // A stream of its own per day: the rest of the rows do not
            // depend on when today's fall (which depends on the time now).
            let mut rng =
                Rng::new(self.shape.seed ^ (self.day as u64).wrapping_mul(0xA076_1D64_78BD_642F));
            let mut instants = Vec::with_capacity(day.rows as usize);
            let span = day.end.as_millisecond() - day.start.as_millisecond();
            while (instants.len() as u64) < day.rows && span > 0 {
                let at = day.start.as_millisecond() + rng.below(span as u64) as i64;
                let Ok(at) = Timestamp::from_millisecond(at) else {
                    continue;
                };
                let hour = self.zone.to_datetime(at).hour();
                if rng.chance(HOURS[hour.clamp(0, 23) as usize]) {
                    instants.push(at);
                }
            }
            instants.sort_unstable();
            self.instants = instants.into();
        }
        self.instants.pop_front()
    }

    fn next_stan(&mut self, device: usize) -> String {
        let stan = self.stans[device];
        self.stans[device] = if stan >= 999_999 { 1 } else { stan + 1 };
        format!("{stan:06}")
    }

    /// An amount for a purchase on `terminal`, minor units.
    fn amount(&mut self, terminal: usize) -> u64 {
        let t = &self.shape.terminals[terminal];
        // Log-uniform: 2 to 400 major units, installments 100 to 4 000.
        let (low, high) = if t.kind == "installment" {
            (100.0f64, 4_000.0f64)
        } else {
            (2.0f64, 400.0f64)
        };
        let major = (low.ln() + self.rng.unit() * (high.ln() - low.ln())).exp();
        let mut minor = (major * 100.0).round() as u64;
        if self.rng.chance(0.4) {
            minor = minor / 100 * 100; // whole amounts are common
        }
        let minor = minor.max(1);
        t.limit_minor.map_or(minor, |limit| minor.min(limit))
    }

    /// A purchase's response code: mostly approved, else a decline the
    /// host stores (13 only where a limit can be exceeded).
    fn outcome(&mut self, has_limit: bool) -> ResponseCode {
        let x = self.rng.unit();
        if x < 0.025 {
            ResponseCode::InsufficientFunds
        } else if x < 0.037 {
            ResponseCode::DoNotHonour
        } else if x < 0.043 {
            ResponseCode::ExpiredCard
        } else if x < 0.046 {
            ResponseCode::InvalidCardNumber
        } else if x < 0.05 && has_limit {
            ResponseCode::InvalidAmount
        } else {
            ResponseCode::Approved
        }
    }

    fn forget_old_purchases(&mut self) {
        let oldest = self.seq.saturating_sub(REFUND_WINDOW);
        while self.refundable.front().is_some_and(|r| r.seq < oldest) {
            self.refundable.pop_front();
        }
    }
}

impl Iterator for Generator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let at = self.next_instant()?;
        self.forget_old_purchases();
        let seq = self.seq;
        self.seq += 1;

        // A refund of a recent purchase, or a purchase.
        let refund = if !self.refundable.is_empty() && self.rng.chance(0.04) {
            let i = self.rng.below(self.refundable.len() as u64) as usize;
            Some(i)
        } else {
            None
        };
        let (device, terminal, card, amount, refund_of) = match refund {
            Some(i) => {
                let r = &self.refundable[i];
                let (device, terminal, card, left, of) =
                    (r.device, r.terminal, r.card, r.left, r.seq);
                // Whole or in part.
                let amount = if self.rng.chance(0.6) {
                    left
                } else {
                    (left / 2).max(1)
                };
                let left = left - amount;
                if left == 0 {
                    self.refundable.remove(i);
                } else {
                    self.refundable[i].left = left;
                }
                (device, terminal, card, amount, Some(of))
            }
            None => {
                let device = self.rng.weighted(&self.device_weights);
                let terminal = self.rng.weighted(&self.terminal_weights);
                let card = self.rng.below(self.cards.len() as u64) as usize;
                let amount = self.amount(terminal);
                (device, terminal, card, amount, None)
            }
        };

        // The outcome: refunds of a live purchase are approved; purchases
        // meet the issuer simulator (…51 → 51, …05 → 05) and the rules.
        let limit = self.shape.terminals[terminal].limit_minor;
        let code = match refund_of {
            Some(_) => ResponseCode::Approved,
            None => self.outcome(limit.is_some()),
        };
        let amount = match code {
            ResponseCode::InsufficientFunds => with_ending(amount, 51, limit),
            ResponseCode::DoNotHonour => with_ending(amount, 5, limit),
            ResponseCode::InvalidAmount => limit.unwrap_or(0) + 1 + self.rng.below(100_000),
            // The simulator declines these endings: step around them.
            ResponseCode::Approved if refund_of.is_none() && matches!(amount % 100, 5 | 51) => {
                amount - 1
            }
            _ => amount,
        };
        let has_card = code != ResponseCode::InvalidCardNumber;

        let kind = if refund_of.is_some() {
            Kind::Refund
        } else {
            Kind::Purchase
        };
        let stan = self.next_stan(device);
        let utc = TimeZone::UTC.to_datetime(at);
        let local = self.zone.to_datetime(at);
        let approved = code == ResponseCode::Approved;
        let card_facts = &self.cards[card];
        let mut fingerprint = [0u8; 32];
        for chunk in fingerprint.chunks_mut(8) {
            chunk.copy_from_slice(&self.rng.next_u64().to_le_bytes());
        }
        let auth_code: String = (0..6)
            .map(|_| {
                char::from(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[self.rng.below(36) as usize])
            })
            .collect();
        let entry_modes = ["071", "071", "071", "051", "021"];
        let t = &self.shape.terminals[terminal];
        let row = NewTransaction {
            kind,
            device_serial: self.shape.devices[device].clone(),
            merchant_id: self.shape.merchant_id.clone(),
            vt_id: t.id.clone(),
            stan,
            transmission_time: utc.strftime("%m%d%H%M%S").to_string(),
            local_time: Some(local.strftime("%H%M%S").to_string()),
            local_date: Some(local.strftime("%m%d").to_string()),
            pos_entry_mode: Some(entry_modes[self.rng.below(5) as usize].into()),
            processing_code: if refund_of.is_some() {
                "200000"
            } else {
                "000000"
            }
            .into(),
            amount_minor: amount,
            currency: t.currency,
            masked_pan: has_card.then(|| card_facts.masked.clone()),
            pan_hash: has_card.then_some(card_facts.hash),
            rrn: None,
            auth_code: approved.then_some(auth_code),
            response_code: code.as_str().into(),
            business_day: self.clock.business_day(at).to_string(),
            received_at: at.as_millisecond(),
            original_id: None,
            original_rrn: None,
            original_data: None,
            fingerprint,
            response: Vec::new(),
        };

        // Approved purchases: some are reversed at once (the app timed out),
        // the rest may be refunded later.
        let mut reversal = None;
        if approved && refund_of.is_none() {
            if self.rng.chance(0.015) {
                reversal = Some(self.reversal_of(&row, device, at));
            } else {
                self.refundable.push_back(Refundable {
                    seq,
                    left: amount,
                    card,
                    terminal,
                    device,
                });
            }
        }
        Some(Event {
            seq,
            row,
            refund_of,
            reversal,
        })
    }
}

impl Generator {
    /// The 0400 a device sends a few seconds after `original`.
    fn reversal_of(
        &mut self,
        original: &NewTransaction,
        device: usize,
        at: Timestamp,
    ) -> NewTransaction {
        let later = at
            .checked_add(SignedDuration::from_millis(
                2_000 + self.rng.below(28_000) as i64,
            ))
            .unwrap_or(at)
            .min(self.now)
            .max(at);
        let stan = self.next_stan(device);
        let mut fingerprint = [0u8; 32];
        for chunk in fingerprint.chunks_mut(8) {
            chunk.copy_from_slice(&self.rng.next_u64().to_le_bytes());
        }
        let local = self.zone.to_datetime(later);
        NewTransaction {
            kind: Kind::Reversal,
            stan,
            transmission_time: TimeZone::UTC
                .to_datetime(later)
                .strftime("%m%d%H%M%S")
                .to_string(),
            local_time: Some(local.strftime("%H%M%S").to_string()),
            local_date: Some(local.strftime("%m%d").to_string()),
            masked_pan: None,
            pan_hash: None,
            rrn: None,
            auth_code: None,
            response_code: "00".into(),
            business_day: self.clock.business_day(later).to_string(),
            received_at: later.as_millisecond(),
            original_data: Some(format!(
                "0200{}{}{}",
                original.stan,
                original.transmission_time,
                "0".repeat(22)
            )),
            fingerprint,
            ..original.clone()
        }
    }
}

/// `amount` with its last two digits set to `ending`, within `limit`.
fn with_ending(amount: u64, ending: u64, limit: Option<u64>) -> u64 {
    let mut minor = amount / 100 * 100 + ending;
    while limit.is_some_and(|l| minor > l) && minor >= 100 {
        minor -= 100;
    }
    minor
}

/// The business days of the stream and how many rows each gets: `days`
/// days ending with today's, weighted by weekday (today's share is a whole
/// day's, so that no count depends on the time of day); the counts add up
/// to exactly `transactions`.
fn plan_days(
    shape: &Shape,
    clock: &BusinessDayClock,
    now: Timestamp,
) -> Result<Vec<Day>, GenerateError> {
    let today = clock.business_day(now);
    let days = shape.days.max(1);
    let mut plan = Vec::with_capacity(days as usize);
    let mut weights = Vec::with_capacity(days as usize);
    for back in (0..days).rev() {
        let day = today
            .checked_sub(jiff::Span::new().days(i64::from(back)))
            .map_err(|_| GenerateError::Calendar(days))?;
        let (start, end) = clock.span(day).ok_or(GenerateError::Calendar(days))?;
        // Today's rows fit between its start and now (at least a millisecond).
        let end = end.min(now).max(
            start
                .checked_add(SignedDuration::from_millis(1))
                .unwrap_or(start),
        );
        let weekday = day.weekday().to_monday_zero_offset();
        weights.push(WEEKDAYS[weekday as usize]);
        plan.push(Day {
            day,
            start,
            end,
            rows: 0,
        });
    }
    // Largest remainder: floor shares, then the biggest fractions get one more.
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return Ok(plan);
    }
    let n = shape.transactions;
    let shares: Vec<f64> = weights.iter().map(|w| w / total * n as f64).collect();
    let mut given = 0;
    for (d, share) in plan.iter_mut().zip(&shares) {
        d.rows = share.floor() as u64;
        given += d.rows;
    }
    let mut order: Vec<usize> = (0..plan.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = shares[a] - shares[a].floor();
        let fb = shares[b] - shares[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    let open: Vec<usize> = order.into_iter().filter(|&i| weights[i] > 0.0).collect();
    for &i in open.iter().cycle().take(n.saturating_sub(given) as usize) {
        plan[i].rows += 1;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn shape(n: u64, days: u32, seed: u64) -> Shape {
        Shape {
            merchant_id: "MTB000000000001".into(),
            devices: vec!["MPOS-0001".into(), "MPOS-0002".into()],
            terminals: vec![
                Terminal {
                    id: "10000001".into(),
                    kind: "standard".into(),
                    currency: 933,
                    limit_minor: None,
                },
                Terminal {
                    id: "10000002".into(),
                    kind: "installment".into(),
                    currency: 933,
                    limit_minor: Some(500_000),
                },
            ],
            transactions: n,
            days,
            seed,
        }
    }

    fn now() -> Timestamp {
        "2026-11-25T12:00:00Z".parse().unwrap()
    }

    fn events(shape: Shape) -> Vec<Event> {
        let clock = BusinessDayClock::minsk().unwrap();
        let zone = TimeZone::get("Europe/Minsk").unwrap();
        Generator::new(shape, &clock, &zone, now(), &PanKey::new(b"test key"))
            .unwrap()
            .collect()
    }

    #[test]
    fn a_seed_gives_the_same_rows_and_another_seed_others() {
        let a = events(shape(2_000, 30, 7));
        let b = events(shape(2_000, 30, 7));
        let c = events(shape(2_000, 30, 8));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn later_the_same_day_only_the_times_of_todays_rows_move() {
        let clock = BusinessDayClock::minsk().unwrap();
        let zone = TimeZone::get("Europe/Minsk").unwrap();
        let key = PanKey::new(b"test key");
        let at = |now: &str| -> Vec<Event> {
            Generator::new(
                shape(3_000, 10, 4),
                &clock,
                &zone,
                now.parse().unwrap(),
                &key,
            )
            .unwrap()
            .collect()
        };
        // 09:00 and 20:00 in Minsk, the same business day.
        let (morning, evening) = (at("2026-11-25T06:00:00Z"), at("2026-11-25T17:00:00Z"));
        assert_eq!(morning.len(), evening.len());
        let timeless = |e: &Event| {
            let mut row = e.row.clone();
            row.received_at = 0;
            row.transmission_time.clear();
            row.local_time = None;
            row.local_date = None;
            (
                row,
                e.refund_of,
                e.reversal.as_ref().map(|r| r.amount_minor),
            )
        };
        for (m, e) in morning.iter().zip(&evening) {
            if m.row.business_day == "2026-11-25" {
                assert_eq!(timeless(m), timeless(e));
                assert!(
                    m.row.received_at
                        < "2026-11-25T06:00:00Z"
                            .parse::<Timestamp>()
                            .unwrap()
                            .as_millisecond()
                );
            } else {
                assert_eq!(m, e);
            }
        }
    }

    #[test]
    fn exactly_n_rows_over_the_days_ending_today_oldest_first() {
        let rows = events(shape(5_000, 30, 1));
        assert_eq!(rows.len(), 5_000);
        let days: HashSet<&str> = rows.iter().map(|e| e.row.business_day.as_str()).collect();
        assert_eq!(days.len(), 30, "every day has rows");
        assert_eq!(rows[0].row.business_day, "2026-10-27");
        assert_eq!(rows.last().unwrap().row.business_day, "2026-11-25");
        assert!(
            rows.windows(2)
                .all(|w| w[0].row.received_at <= w[1].row.received_at),
            "in the order the host would have stored them"
        );
        assert!(
            rows.iter()
                .all(|e| e.row.received_at <= now().as_millisecond()),
            "nothing in the future"
        );
        let clock = BusinessDayClock::minsk().unwrap();
        for e in &rows {
            let at = Timestamp::from_millisecond(e.row.received_at).unwrap();
            assert_eq!(clock.business_day(at).to_string(), e.row.business_day);
        }
        assert_eq!(events(shape(0, 30, 1)).len(), 0);
        assert_eq!(events(shape(3, 365, 1)).len(), 3);
    }

    #[test]
    fn the_mix_is_realistic_and_consistent_with_the_rules() {
        let rows = events(shape(20_000, 60, 3));
        let count = |f: &dyn Fn(&Event) -> bool| rows.iter().filter(|e| f(e)).count() as f64;
        let n = rows.len() as f64;
        let refunds = count(&|e| e.row.kind == Kind::Refund) / n;
        let declines = count(&|e| !e.approved()) / n;
        let reversed = count(&|e| e.reversal.is_some()) / n;
        assert!((0.02..0.06).contains(&refunds), "{refunds}");
        assert!((0.03..0.07).contains(&declines), "{declines}");
        assert!((0.005..0.03).contains(&reversed), "{reversed}");
        let mut codes = HashSet::new();
        for e in &rows {
            let r = &e.row;
            codes.insert(r.response_code.clone());
            assert!(ResponseCode::parse(&r.response_code).is_some());
            assert!(r.amount_minor > 0);
            match r.response_code.as_str() {
                "51" => assert_eq!(r.amount_minor % 100, 51),
                "05" => assert_eq!(r.amount_minor % 100, 5),
                "00" if r.kind == Kind::Purchase => {
                    assert!(!matches!(r.amount_minor % 100, 5 | 51));
                    assert!(r.auth_code.as_ref().is_some_and(|a| a.len() == 6));
                }
                "14" => assert!(r.masked_pan.is_none() && r.pan_hash.is_none()),
                _ => {}
            }
            if r.vt_id == "10000002" && r.response_code != "13" {
                assert!(r.amount_minor <= 500_000);
            }
            assert_eq!(r.stan.len(), 6);
            assert_eq!(r.transmission_time.len(), 10);
            if let Some(reversal) = &e.reversal {
                assert!(e.approved() && r.kind == Kind::Purchase);
                assert_eq!(reversal.kind, Kind::Reversal);
                assert_eq!(reversal.amount_minor, r.amount_minor);
                let de90 = reversal.original_data.as_ref().unwrap();
                assert!(
                    mpos_domain::ids::OriginalData::parse(de90).is_ok(),
                    "{de90}"
                );
            }
        }
        for code in ["00", "51", "05", "54", "14", "13"] {
            assert!(codes.contains(code), "{code} among {codes:?}");
        }
    }

    #[test]
    fn refunds_take_from_a_recent_live_purchase_on_the_same_card() {
        let rows = events(shape(20_000, 60, 5));
        let mut left: std::collections::HashMap<u64, u64> = Default::default();
        for e in &rows {
            if let Some(of) = e.refund_of {
                assert!(e.seq - of <= REFUND_WINDOW);
                let purchase = &rows[of as usize];
                assert!(purchase.approved() && purchase.reversal.is_none());
                assert_eq!(purchase.row.pan_hash, e.row.pan_hash);
                assert_eq!(purchase.row.vt_id, e.row.vt_id);
                let remaining = left.entry(of).or_insert(purchase.row.amount_minor);
                assert!(e.row.amount_minor <= *remaining, "never more than is left");
                *remaining -= e.row.amount_minor;
            }
        }
        assert!(!left.is_empty());
    }

    #[test]
    fn only_masked_pans_and_their_stans_do_not_clash() {
        let rows = events(shape(20_000, 30, 9));
        let mut keys = HashSet::new();
        for e in &rows {
            if let Some(masked) = &e.row.masked_pan {
                assert_eq!(masked.len(), 16);
                assert_eq!(&masked[6..12], "******", "{masked}");
            }
            for r in std::iter::once(&e.row).chain(&e.reversal) {
                assert!(keys.insert((
                    r.device_serial.clone(),
                    r.kind.mti(),
                    r.stan.clone(),
                    r.transmission_time.clone()
                )));
            }
        }
    }

    #[test]
    fn the_pool_cards_pass_the_luhn_check() {
        // The textbook example: 7992739871 gets 3.
        assert_eq!(luhn_check_digit(b"7992739871"), 3);
        let mut rng = Rng::new(1);
        let key = PanKey::new(b"k");
        let pool = card_pool(&mut rng, 100, &key);
        let distinct: HashSet<[u8; 32]> = pool.iter().map(|c| c.hash).collect();
        assert_eq!(distinct.len(), 100);
    }

    #[test]
    fn no_devices_or_terminals_is_refused_with_what_to_do() {
        let clock = BusinessDayClock::minsk().unwrap();
        let zone = TimeZone::get("Europe/Minsk").unwrap();
        let key = PanKey::new(b"k");
        let no_devices = Shape {
            devices: vec![],
            ..shape(10, 10, 1)
        };
        let error = Generator::new(no_devices, &clock, &zone, now(), &key)
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("mpos admin device add"),
            "{error}"
        );
        let no_terminals = Shape {
            terminals: vec![],
            ..shape(10, 10, 1)
        };
        let error = Generator::new(no_terminals, &clock, &zone, now(), &key)
            .err()
            .unwrap();
        assert!(error.to_string().contains("mpos admin terminal add"));
    }

    #[test]
    fn the_rng_is_uniform_enough() {
        let mut rng = Rng::new(42);
        let mut buckets = [0u32; 10];
        for _ in 0..100_000 {
            buckets[rng.below(10) as usize] += 1;
        }
        assert!(
            buckets.iter().all(|b| (9_000..11_000).contains(b)),
            "{buckets:?}"
        );
    }
}
