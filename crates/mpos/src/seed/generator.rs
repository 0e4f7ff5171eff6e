//! The synthetic requests of `mpos admin seed-history`, as a deterministic
//! stream: the same seed, merchant, devices, terminals and business day
//! give the same requests, oldest first, in the order the host would have
//! received them. Only the times of today's requests move with the time of
//! day: they fall between the day's start and now.
//!
//! Each [`Event`] is what a card reader would send — a 0200's fields and
//! the instant it arrives at — with the response code the host's rules
//! will give it, which the writer checks. What a stream looks like, about:
//! 90 % approved purchases, 4 % refunds of a recent purchase on the same
//! card and terminal, 5 % declines (51 and 05 by the amount endings the
//! issuer simulator declines, 54 by an expiry before the day, 14 by a card
//! number whose Luhn check digit is wrong, 13 by an amount over the
//! terminal's limit), and 1.5 % of the approved purchases reversed by a
//! 0400 a few seconds later. Days are weighted by weekday, times of day by
//! shop hours. Cards come from a pool generated from the seed (see
//! [`super::cards`]): their numbers are in memory while the generator
//! lives, and only the host's path, which masks and hashes them, sees them.
//!
//! Two fields are left to the writer, which knows them only once the host
//! answered: a refund's DE 37 (the RRN its purchase got) and a reversal's
//! DE 90 (its original's STAN and DE 7, after any STAN retry).

use super::cards::{self, CardPool};
use super::request::Request;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use mpos_domain::business_day::BusinessDayClock;
use mpos_domain::mti::Mti;
use mpos_domain::response::ResponseCode;
use std::collections::VecDeque;

/// How far back (in generated events) a refund may look for its purchase.
/// The writer remembers the RRNs of at least that many events.
pub const REFUND_WINDOW: u64 = 5_000;

/// Cards in the pool, at most.
const CARDS: u64 = 20_000;

/// DE 3 of a purchase and of a refund.
const PURCHASE: &str = "000000";
const REFUND: &str = "200000";

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

/// A virtual terminal requests are paid on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    /// DE 41.
    pub id: String,
    /// `standard`, `installment` or `bonus`: installments are bigger, rarer.
    pub kind: String,
    /// ISO 4217 numeric; every request on it is in this currency.
    pub currency: u16,
    /// Per-transaction limit, minor units: approved requests stay within it.
    pub limit_minor: Option<u64>,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// DE 42 of every request.
    pub merchant_id: String,
    /// The merchant's card readers (the sessions requests come on); the
    /// first is the busiest.
    pub devices: Vec<String>,
    /// The merchant's active virtual terminals.
    pub terminals: Vec<Terminal>,
    /// 0200s to generate.
    pub transactions: u64,
    /// Business days they spread over, today's the last.
    pub days: u32,
    /// Same seed, same requests.
    pub seed: u64,
}

/// One generated 0200, what the host's rules will answer it, and the 0400
/// that reverses it if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Its place in the stream, from 0.
    pub seq: u64,
    /// The device it comes from, by its place in [`Shape::devices`].
    pub device: usize,
    /// The 0200; a refund's DE 37 is left to the writer.
    pub request: Request,
    /// The response code the host's rules give it.
    pub intended: ResponseCode,
    /// A refund's purchase, by its `seq`: the writer fills in DE 37 with
    /// the RRN the purchase got.
    pub refund_of: Option<u64>,
    /// The 0400 that reverses this 0200 a few seconds later (always
    /// approved); the writer fills in its DE 90.
    pub reversal: Option<Request>,
}

impl Event {
    /// Whether the 0200 is to be approved.
    pub fn approved(&self) -> bool {
        self.intended == ResponseCode::Approved
    }
}

/// SplitMix64, written out so that a seed's requests never change with a
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

/// How busy each local hour is, relative to the busiest.
const HOURS: [f64; 24] = [
    0.02, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.2, 0.45, 0.7, 0.9, 1.0, 1.0, 1.0, 0.9, 0.85, 0.9,
    1.0, 1.0, 0.9, 0.7, 0.45, 0.2, 0.06,
];

/// How busy a weekday is: Monday first.
const WEEKDAYS: [f64; 7] = [0.9, 0.95, 1.0, 1.0, 1.2, 1.25, 0.8];

/// DE 22 of the requests, drawn uniformly: mostly contactless.
const ENTRY_MODES: [&str; 5] = ["071", "071", "071", "051", "021"];

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

/// The stream itself. It holds the card pool's numbers, wiped when it is
/// dropped.
pub struct Generator {
    shape: Shape,
    rng: Rng,
    cards: CardPool,
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
    /// Nothing arrives later than this.
    now: Timestamp,
}

impl Generator {
    /// The stream of `shape` ending at `now`, business days by `clock`
    /// (times shown in `zone`).
    pub fn new(
        shape: Shape,
        clock: &BusinessDayClock,
        zone: &TimeZone,
        now: Timestamp,
    ) -> Result<Generator, GenerateError> {
        if shape.devices.is_empty() {
            return Err(GenerateError::NoDevices(shape.merchant_id.clone()));
        }
        if shape.terminals.is_empty() {
            return Err(GenerateError::NoTerminals(shape.merchant_id.clone()));
        }
        let mut rng = Rng::new(shape.seed);
        let cards = CardPool::new(
            &mut rng,
            CARDS.min(shape.transactions / 4 + 1),
            clock.business_day(now),
        );
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

    /// 0200s the stream holds in all (reversals come on top).
    pub fn len(&self) -> u64 {
        self.days.iter().map(|d| d.rows).sum()
    }

    /// Whether the stream holds no requests.
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
            // A stream of its own per day: the rest of the requests do not
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

    /// A purchase's intended response code: mostly approved, else a
    /// decline the host stores (13 only where a limit can be exceeded).
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

    /// DE 7, 12 and 13 of a request sent `at`: UTC `MMDDhhmmss`, local
    /// `hhmmss` and `MMDD`.
    fn times(&self, at: Timestamp) -> [(u8, String); 3] {
        let utc = TimeZone::UTC.to_datetime(at);
        let local = self.zone.to_datetime(at);
        [
            (7, utc.strftime("%m%d%H%M%S").to_string()),
            (12, local.strftime("%H%M%S").to_string()),
            (13, local.strftime("%m%d").to_string()),
        ]
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

        // The intended outcome: refunds of a live purchase are approved;
        // purchases meet the rules and the issuer simulator (…51 → 51,
        // …05 → 05), so each decline is made of what the rules decline.
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
        let (pan, expiry) = match code {
            ResponseCode::InvalidCardNumber => (
                self.cards.misread(card, &mut self.rng),
                self.cards.expiry(card).to_owned(),
            ),
            ResponseCode::ExpiredCard => (
                self.cards.pan(card),
                cards::expired_before(self.clock.business_day(at), &mut self.rng),
            ),
            _ => (self.cards.pan(card), self.cards.expiry(card).to_owned()),
        };

        let stan = self.next_stan(device);
        let entry_mode = ENTRY_MODES[self.rng.below(ENTRY_MODES.len() as u64) as usize];
        let t = &self.shape.terminals[terminal];
        let mut fields = Vec::with_capacity(13);
        fields.extend([
            (2, pan),
            (
                3,
                if refund_of.is_some() {
                    REFUND
                } else {
                    PURCHASE
                }
                .to_owned(),
            ),
            (4, format!("{amount:012}")),
            (11, stan),
            (14, expiry),
            (22, entry_mode.to_owned()),
            (41, t.id.clone()),
            (42, self.shape.merchant_id.clone()),
            (49, format!("{:03}", t.currency)),
        ]);
        fields.extend(self.times(at));
        let request = Request::new(Mti::Financial, at, fields);

        // Approved purchases: some are reversed at once (the app timed out),
        // the rest may be refunded later.
        let mut reversal = None;
        if code == ResponseCode::Approved && refund_of.is_none() {
            if self.rng.chance(0.015) {
                reversal = Some(self.reversal_of(&request, device));
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
            device,
            request,
            intended: code,
            refund_of,
            reversal,
        })
    }
}

impl Generator {
    /// The 0400 `device` sends a few seconds after `original`: the same
    /// amount, terminal and merchant, its own STAN and times; DE 90 is the
    /// writer's.
    fn reversal_of(&mut self, original: &Request, device: usize) -> Request {
        let later = original
            .at
            .checked_add(SignedDuration::from_millis(
                2_000 + self.rng.below(28_000) as i64,
            ))
            .unwrap_or(original.at)
            .min(self.now)
            .max(original.at);
        let mut fields: Vec<(u8, String)> = original
            .fields()
            .filter(|(n, _)| matches!(n, 3 | 4 | 22 | 41 | 42 | 49))
            .map(|(n, text)| (n, text.to_owned()))
            .collect();
        fields.push((11, self.next_stan(device)));
        fields.extend(self.times(later));
        Request::new(Mti::Reversal, later, fields)
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
    use mpos_domain::card::{Expiry, Pan};
    use mpos_domain::ids::OriginalData;
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

    fn clock() -> BusinessDayClock {
        BusinessDayClock::minsk().unwrap()
    }

    fn events(shape: Shape) -> Vec<Event> {
        let zone = TimeZone::get("Europe/Minsk").unwrap();
        Generator::new(shape, &clock(), &zone, now())
            .unwrap()
            .collect()
    }

    fn business_day(e: &Event) -> String {
        clock().business_day(e.request.at).to_string()
    }

    #[test]
    fn a_seed_gives_the_same_requests_and_another_seed_others() {
        let a = events(shape(2_000, 30, 7));
        let b = events(shape(2_000, 30, 7));
        let c = events(shape(2_000, 30, 8));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn later_the_same_day_only_the_times_of_todays_requests_move() {
        let clock = clock();
        let zone = TimeZone::get("Europe/Minsk").unwrap();
        let at = |now: &str| -> Vec<Event> {
            Generator::new(shape(3_000, 10, 4), &clock, &zone, now.parse().unwrap())
                .unwrap()
                .collect()
        };
        // 09:00 and 20:00 in Minsk, the same business day.
        let (morning, evening) = (at("2026-11-25T06:00:00Z"), at("2026-11-25T17:00:00Z"));
        assert_eq!(morning.len(), evening.len());
        let timeless = |r: &Request| {
            let mut r = r.clone();
            r.at = Timestamp::UNIX_EPOCH;
            for n in [7, 12, 13] {
                r.remove(n);
            }
            r
        };
        let timeless = |e: &Event| {
            (
                e.seq,
                e.device,
                timeless(&e.request),
                e.intended,
                e.refund_of,
                e.reversal.as_ref().map(timeless),
            )
        };
        for (m, e) in morning.iter().zip(&evening) {
            if business_day(m) == "2026-11-25" {
                assert_eq!(timeless(m), timeless(e));
                assert!(m.request.at < "2026-11-25T06:00:00Z".parse::<Timestamp>().unwrap());
            } else {
                assert_eq!(m, e);
            }
        }
    }

    #[test]
    fn exactly_n_requests_over_the_days_ending_today_oldest_first() {
        let rows = events(shape(5_000, 30, 1));
        assert_eq!(rows.len(), 5_000);
        let days: HashSet<String> = rows.iter().map(business_day).collect();
        assert_eq!(days.len(), 30, "every day has requests");
        assert_eq!(business_day(&rows[0]), "2026-10-27");
        assert_eq!(business_day(rows.last().unwrap()), "2026-11-25");
        assert!(
            rows.windows(2).all(|w| w[0].request.at <= w[1].request.at),
            "in the order the host would have received them"
        );
        assert!(
            rows.iter()
                .flat_map(|e| std::iter::once(&e.request).chain(&e.reversal))
                .all(|r| r.at <= now()),
            "nothing in the future"
        );
        for e in &rows {
            // DE 7 is the instant in UTC, DE 12/13 in the local zone.
            let utc = TimeZone::UTC.to_datetime(e.request.at);
            assert_eq!(
                e.request.field(7),
                Some(utc.strftime("%m%d%H%M%S").to_string().as_str())
            );
            let local = clock().zone().to_datetime(e.request.at);
            assert_eq!(
                e.request.field(13),
                Some(local.strftime("%m%d").to_string().as_str())
            );
        }
        assert_eq!(events(shape(0, 30, 1)).len(), 0);
        assert_eq!(events(shape(3, 365, 1)).len(), 3);
    }

    #[test]
    fn the_mix_is_realistic_and_each_request_gets_its_code_from_the_rules() {
        let rows = events(shape(20_000, 60, 3));
        let count = |f: &dyn Fn(&Event) -> bool| rows.iter().filter(|e| f(e)).count() as f64;
        let n = rows.len() as f64;
        let refunds = count(&|e| e.request.field(3) == Some(REFUND)) / n;
        let declines = count(&|e| !e.approved()) / n;
        let reversed = count(&|e| e.reversal.is_some()) / n;
        assert!((0.02..0.06).contains(&refunds), "{refunds}");
        assert!((0.03..0.07).contains(&declines), "{declines}");
        assert!((0.005..0.03).contains(&reversed), "{reversed}");
        let mut codes = HashSet::new();
        for e in &rows {
            let r = &e.request;
            codes.insert(e.intended.as_str());
            assert_eq!(r.mti, Mti::Financial);
            let amount = r.amount_minor();
            assert!(amount > 0);
            let pan = Pan::parse(r.field(2).unwrap());
            let expired = Expiry::from_yymm(r.field(14).unwrap())
                .unwrap()
                .is_expired(clock().local_date(r.at));
            let over_limit = r.field(41) == Some("10000002") && amount > 500_000;
            // What each rule looks at gives exactly the intended code.
            assert_eq!(pan.is_err(), e.intended == ResponseCode::InvalidCardNumber);
            assert_eq!(expired, e.intended == ResponseCode::ExpiredCard);
            assert_eq!(over_limit, e.intended == ResponseCode::InvalidAmount);
            let purchase = r.field(3) == Some(PURCHASE);
            match e.intended {
                ResponseCode::InsufficientFunds => assert_eq!(amount % 100, 51),
                ResponseCode::DoNotHonour => assert_eq!(amount % 100, 5),
                ResponseCode::Approved if purchase => {
                    assert!(!matches!(amount % 100, 5 | 51));
                }
                _ => {}
            }
            assert_eq!(r.field(11).map(str::len), Some(6));
            assert_eq!(r.field(7).map(str::len), Some(10));
            assert_eq!(r.field(37), None, "the writer names the purchase");
            for n in [3, 4, 22, 41, 42, 49] {
                assert!(r.field(n).is_some(), "DE {n}");
            }
            if let Some(reversal) = &e.reversal {
                assert!(e.approved() && purchase);
                assert_eq!(reversal.mti, Mti::Reversal);
                assert_eq!(reversal.amount_minor(), amount);
                assert_eq!(reversal.field(2), None, "a 0400 carries no card");
                assert_eq!(reversal.field(41), r.field(41));
                assert!(reversal.at >= r.at);
                assert_eq!(reversal.field(90), None, "the writer names the original");
                let de90 = super::super::writer::original_data(r);
                assert!(OriginalData::parse(&de90).is_ok(), "{de90}");
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
                assert_eq!(e.request.field(3), Some(REFUND));
                let purchase = &rows[of as usize];
                assert!(purchase.approved() && purchase.reversal.is_none());
                assert_eq!(purchase.request.field(3), Some(PURCHASE));
                assert_eq!(purchase.request.field(2), e.request.field(2));
                assert_eq!(purchase.request.field(41), e.request.field(41));
                assert_eq!(purchase.device, e.device);
                let remaining = left.entry(of).or_insert(purchase.request.amount_minor());
                assert!(
                    e.request.amount_minor() <= *remaining,
                    "never more than is left"
                );
                *remaining -= e.request.amount_minor();
            }
        }
        assert!(!left.is_empty());
    }

    #[test]
    fn card_numbers_come_from_the_pool_and_stans_do_not_clash() {
        let rows = events(shape(20_000, 30, 9));
        let mut keys = HashSet::new();
        for e in &rows {
            let pan = e.request.field(2).unwrap();
            assert_eq!(pan.len(), 16);
            assert!(
                ["427655", "546938", "911200", "220070"].contains(&&pan[..6]),
                "a pool BIN"
            );
            for r in std::iter::once(&e.request).chain(&e.reversal) {
                assert!(keys.insert((
                    e.device,
                    r.mti,
                    r.field(11).unwrap().to_owned(),
                    r.field(7).unwrap().to_owned()
                )));
            }
        }
    }

    #[test]
    fn no_devices_or_terminals_is_refused_with_what_to_do() {
        let clock = clock();
        let zone = TimeZone::get("Europe/Minsk").unwrap();
        let no_devices = Shape {
            devices: vec![],
            ..shape(10, 10, 1)
        };
        let error = Generator::new(no_devices, &clock, &zone, now())
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
        let error = Generator::new(no_terminals, &clock, &zone, now())
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
