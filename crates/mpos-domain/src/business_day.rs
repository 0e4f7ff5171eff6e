//! The business day (spec section 6): a time zone and a local cutoff. A
//! transaction received before the cutoff belongs to that local date's
//! business day, at or after it to the next date's; a cutoff of 00:00 makes
//! the business day the local calendar date. Fixed when a transaction is
//! stored and never recomputed.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

/// Why a business-day setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusinessDayError {
    /// The zone is not in the time zone database.
    #[error("time zone {0:?} is unknown: use an IANA name such as Europe/Minsk")]
    Zone(String),
    /// The cutoff is not HH:MM.
    #[error("cutoff {0:?} must be HH:MM, from 00:00 to 23:59")]
    Cutoff(String),
}

/// Turns an instant into its business day.
#[derive(Debug, Clone)]
pub struct BusinessDayClock {
    zone: TimeZone,
    cutoff: Time,
}

impl BusinessDayClock {
    /// The clock of an IANA zone name and an `HH:MM` cutoff.
    pub fn new(zone: &str, cutoff: &str) -> Result<Self, BusinessDayError> {
        let zone_tz = TimeZone::get(zone).map_err(|_| BusinessDayError::Zone(zone.to_owned()))?;
        let bad = || BusinessDayError::Cutoff(cutoff.to_owned());
        let (h, m) = cutoff.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let (hour, minute): (i8, i8) =
            (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        let cutoff = Time::new(hour, minute, 0, 0).map_err(|_| bad())?;
        Ok(BusinessDayClock {
            zone: zone_tz,
            cutoff,
        })
    }

    /// The spec's default: Europe/Minsk, 00:00.
    pub fn minsk() -> Result<Self, BusinessDayError> {
        BusinessDayClock::new("Europe/Minsk", "00:00")
    }

    /// The time zone of the business day, in which times are shown.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The business day of an instant.
    pub fn business_day(&self, at: Timestamp) -> Date {
        let local = self.zone.to_datetime(at);
        let date = local.date();
        if self.cutoff == Time::midnight() || local.time() < self.cutoff {
            date
        } else {
            // Only 9999-12-31 has no tomorrow.
            date.tomorrow().unwrap_or(date)
        }
    }

    /// The local calendar date of an instant (for card expiry).
    pub fn local_date(&self, at: Timestamp) -> Date {
        self.zone.to_datetime(at).date()
    }

    /// The instants of a business day: its first one and the first of the
    /// next day, so that `business_day(t) == day` exactly for `start <= t <
    /// end`. `None` at the ends of the calendar.
    pub fn span(&self, day: Date) -> Option<(Timestamp, Timestamp)> {
        Some((self.start_of(day)?, self.start_of(day.tomorrow().ok()?)?))
    }

    /// The first instant of `day`: local midnight, or the previous date's
    /// cutoff. A local time that a DST jump skips starts the day when the
    /// clock lands after the gap.
    fn start_of(&self, day: Date) -> Option<Timestamp> {
        let local = if self.cutoff == Time::midnight() {
            day.to_datetime(Time::midnight())
        } else {
            day.yesterday().ok()?.to_datetime(self.cutoff)
        };
        self.zone.to_timestamp(local).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("RFC 3339 instant")
    }

    #[test]
    fn midnight_cutoff_is_the_minsk_calendar_date() {
        let clock = BusinessDayClock::minsk().unwrap();
        // Minsk is UTC+3 all year: 20:59:59Z is 23:59:59 local, 21:00Z is midnight.
        assert_eq!(
            clock.business_day(at("2026-11-25T20:59:59Z")),
            date(2026, 11, 25)
        );
        assert_eq!(
            clock.business_day(at("2026-11-25T21:00:00Z")),
            date(2026, 11, 26)
        );
        assert_eq!(
            clock.business_day(at("2026-06-30T21:00:00Z")),
            date(2026, 7, 1),
            "no DST in summer"
        );
        assert_eq!(
            clock.local_date(at("2026-12-31T21:30:00Z")),
            date(2027, 1, 1)
        );
    }

    #[test]
    fn a_cutoff_moves_late_transactions_to_the_next_day() {
        let clock = BusinessDayClock::new("Europe/Minsk", "23:00").unwrap();
        assert_eq!(
            clock.business_day(at("2026-11-25T19:59:59Z")),
            date(2026, 11, 25),
            "22:59:59 local"
        );
        assert_eq!(
            clock.business_day(at("2026-11-25T20:00:00Z")),
            date(2026, 11, 26),
            "23:00:00 local"
        );
        assert_eq!(
            clock.business_day(at("2026-11-25T20:00:01Z")),
            date(2026, 11, 26)
        );
        assert_eq!(
            clock.business_day(at("2026-11-25T21:30:00Z")),
            date(2026, 11, 26),
            "00:30 on the 26th is before the cutoff"
        );
        assert_eq!(
            clock.business_day(at("2026-12-31T20:00:00Z")),
            date(2027, 1, 1),
            "across the year"
        );
    }

    #[test]
    fn a_span_holds_exactly_the_instants_of_its_business_day() {
        for cutoff in ["00:00", "23:00", "04:30"] {
            let clock = BusinessDayClock::new("Europe/Minsk", cutoff).unwrap();
            let day = date(2026, 11, 25);
            let (start, end) = clock.span(day).unwrap();
            let second = jiff::SignedDuration::from_secs(1);
            assert_eq!(clock.business_day(start), day, "{cutoff}");
            assert_eq!(clock.business_day(end - second), day, "{cutoff}");
            assert_eq!(clock.business_day(start - second), date(2026, 11, 24));
            assert_eq!(clock.business_day(end), date(2026, 11, 26));
            assert_eq!(end.duration_since(start).as_hours(), 24, "{cutoff}");
        }
        let midnight = BusinessDayClock::minsk().unwrap();
        assert_eq!(
            midnight.span(date(2026, 11, 25)).unwrap().0,
            at("2026-11-24T21:00:00Z")
        );
    }

    #[test]
    fn bad_settings_say_what_is_expected() {
        assert_eq!(
            BusinessDayClock::new("Mars/Olympus", "00:00").unwrap_err(),
            BusinessDayError::Zone("Mars/Olympus".into())
        );
        for bad in ["24:00", "7:00", "07:60", "0700", "ab:cd"] {
            assert!(BusinessDayClock::new("Europe/Minsk", bad).is_err(), "{bad}");
        }
    }
}
