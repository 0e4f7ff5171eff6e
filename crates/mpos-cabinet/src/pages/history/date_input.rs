//! A date as a merchant types it into the history's `from` / `to` fields.
//!
//! Browsers with a date picker send `YYYY-MM-DD`; the browsers the bank's
//! manual names (Firefox 40, Opera 25, Chrome 37, IE 10) have none, so the
//! field is a plain text box and a Russian merchant types `20.11.2026` or
//! `5.1.2026`. Every form is read here and nowhere else; what comes out is a
//! [`Date`], which the cabinet writes back (links, form values) only as ISO.

use jiff::civil::Date;
use std::str::FromStr;

/// A typed date in one of the accepted forms: `DD.MM.YYYY`, `D.M.YYYY`
/// (day and month of one or two digits each) or `YYYY-MM-DD`, ASCII digits,
/// a four-digit year, and a day that exists in the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateInput(Date);

/// Why a text is not a [`DateInput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateInputError {
    /// The text is none of the accepted forms.
    #[error("a date is written DD.MM.YYYY, D.M.YYYY or YYYY-MM-DD")]
    Form,
    /// The form is right, but no such day exists (`31.02.2026`, month 13).
    #[error("no such day in the calendar")]
    NoSuchDay,
}

impl DateInput {
    /// Reads `text` (already trimmed by the caller or not: surrounding
    /// spaces are not part of any form and are refused).
    pub fn parse(text: &str) -> Result<Self, DateInputError> {
        let (year, month, day) = if let Some(parts) = split_iso(text) {
            parts
        } else if let Some(parts) = split_dotted(text) {
            parts
        } else {
            return Err(DateInputError::Form);
        };
        // Each part is at most four ASCII digits, so these fit.
        let year = i16::try_from(year).map_err(|_| DateInputError::Form)?;
        let month = i8::try_from(month).map_err(|_| DateInputError::NoSuchDay)?;
        let day = i8::try_from(day).map_err(|_| DateInputError::NoSuchDay)?;
        Date::new(year, month, day)
            .map(DateInput)
            .map_err(|_| DateInputError::NoSuchDay)
    }

    /// The calendar date.
    pub fn date(self) -> Date {
        self.0
    }
}

impl FromStr for DateInput {
    type Err = DateInputError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        DateInput::parse(text)
    }
}

/// `YYYY-MM-DD` exactly: the date picker's value, and the cabinet's links.
fn split_iso(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split('-');
    let year = digits(parts.next()?, 4, 4)?;
    let month = digits(parts.next()?, 2, 2)?;
    let day = digits(parts.next()?, 2, 2)?;
    parts.next().is_none().then_some((year, month, day))
}

/// `DD.MM.YYYY` or `D.M.YYYY` (and the mixes, `5.11.2026`, `05.1.2026`).
fn split_dotted(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split('.');
    let day = digits(parts.next()?, 1, 2)?;
    let month = digits(parts.next()?, 1, 2)?;
    let year = digits(parts.next()?, 4, 4)?;
    parts.next().is_none().then_some((year, month, day))
}

/// The value of `part` if it is `min..=max` ASCII digits.
fn digits(part: &str, min: usize, max: usize) -> Option<u32> {
    let shaped = (min..=max).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
    // At most four digits: the parse cannot overflow.
    shaped.then(|| part.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn parsed(text: &str) -> Result<Date, DateInputError> {
        DateInput::parse(text).map(DateInput::date)
    }

    #[test]
    fn the_three_forms_give_the_same_day() {
        for text in ["2026-11-05", "05.11.2026", "5.11.2026"] {
            assert_eq!(parsed(text), Ok(date(2026, 11, 5)), "{text}");
        }
        for text in [
            "2026-01-05",
            "05.01.2026",
            "5.1.2026",
            "05.1.2026",
            "5.01.2026",
        ] {
            assert_eq!(parsed(text), Ok(date(2026, 1, 5)), "{text}");
        }
        assert_eq!(parsed("31.12.2026"), Ok(date(2026, 12, 31)));
        assert_eq!("29.02.2028".parse(), Ok(DateInput(date(2028, 2, 29))));
    }

    #[test]
    fn other_shapes_are_refused_as_a_form() {
        for text in [
            "",
            " 05.11.2026",
            "05.11.2026 ",
            "05.11.26",
            "2026-1-5",
            "+2026-01-05",
            "2026-01-05T00:00",
            "05/11/2026",
            "05-11-2026",
            "005.11.2026",
            "05.011.2026",
            "05..2026",
            "05.11.2026.",
            "2026.11.05",
            "yesterday",
            "０５.１１.２０２６",
            "5.11.20266",
        ] {
            assert_eq!(parsed(text), Err(DateInputError::Form), "{text:?}");
        }
    }

    #[test]
    fn days_that_do_not_exist_are_refused() {
        for text in [
            "31.02.2026",
            "29.02.2026",
            "2026-13-01",
            "00.01.2026",
            "1.0.2026",
            "2026-02-30",
        ] {
            assert_eq!(parsed(text), Err(DateInputError::NoSuchDay), "{text:?}");
        }
    }

    #[test]
    fn what_is_read_is_written_back_as_iso() {
        assert_eq!(parsed("7.3.2026").unwrap().to_string(), "2026-03-07");
    }

    proptest::proptest! {
        /// Any text is a date or an error, never a panic; a date it reads
        /// reads the same from its ISO form and its DD.MM.YYYY form.
        #[test]
        fn any_text_is_parsed_or_refused_never_a_panic(
            text in "([0-9]{1,4}[.-][0-9]{1,4}[.-][0-9]{1,4}|\\PC{0,14})",
        ) {
            if let Ok(input) = DateInput::parse(&text) {
                let day = input.date();
                proptest::prop_assert_eq!(parsed(&day.to_string()), Ok(day));
                let dotted = day.strftime("%d.%m.%Y").to_string();
                proptest::prop_assert_eq!(parsed(&dotted), Ok(day));
            }
        }
    }
}
