//! The history's query string, parsed once into a [`Report`]: the period as
//! two business days, the filters, the view and the page. Anything wrong is
//! a [`QueryError`] naming the field, shown next to it, never a 500.

use super::date_input::DateInput;
use crate::pages::percent_encode;
use jiff::civil::Date;
use serde::Deserialize;

/// The longest period a report covers, in days.
pub const MAX_DAYS: i32 = 366;

/// The query string as it arrives: every value optional and still text, so
/// that a wrong one becomes a message rather than a rejected request.
/// (`?lang=` is the `Language` extractor's.)
#[derive(Debug, Default, Deserialize)]
pub struct HistoryQuery {
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
    device: Option<String>,
    vt_id: Option<String>,
    vt_name: Option<String>,
    view: Option<String>,
    page: Option<String>,
}

/// The preset or custom period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    /// The last 7 days, today included.
    Week,
    /// The last 30 days, today included.
    Month,
    /// `from` to `to`, inclusive.
    Custom,
}

impl PeriodKind {
    /// The query value.
    pub fn code(self) -> &'static str {
        match self {
            PeriodKind::Week => "week",
            PeriodKind::Month => "month",
            PeriodKind::Custom => "custom",
        }
    }
}

/// The two views of the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// One row per business day and virtual terminal.
    Days,
    /// One row per transaction, newest first.
    Transactions,
}

impl View {
    /// The query value.
    pub fn code(self) -> &'static str {
        match self {
            View::Days => "days",
            View::Transactions => "transactions",
        }
    }
}

/// A field of the form that can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `period`.
    Period,
    /// `from`.
    From,
    /// `to`.
    To,
    /// `view`.
    View,
}

/// What is wrong with a query, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `period` or `view` is not one of the choices.
    #[error("{0:?} is not one of the choices")]
    BadChoice(Field),
    /// A date is none of the forms [`DateInput`] reads, or no such day.
    #[error("{0:?} is not a DD.MM.YYYY, D.M.YYYY or YYYY-MM-DD date")]
    BadDate(Field),
    /// A custom period lacks a date.
    #[error("a custom period needs both dates")]
    DatesNeeded,
    /// `from` is after `to`.
    #[error("from is after to")]
    FromAfterTo,
    /// The period is longer than [`MAX_DAYS`].
    #[error("the period is longer than {MAX_DAYS} days")]
    TooLong,
}

impl QueryError {
    /// The field the message goes next to.
    pub fn field(self) -> Field {
        match self {
            QueryError::BadChoice(field) | QueryError::BadDate(field) => field,
            QueryError::DatesNeeded | QueryError::FromAfterTo | QueryError::TooLong => Field::From,
        }
    }
}

/// A checked report request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// How the period was chosen.
    pub kind: PeriodKind,
    /// First business day.
    pub from: Date,
    /// Last business day.
    pub to: Date,
    /// Device serial filter, if any.
    pub device: Option<String>,
    /// Virtual terminal ID filter, if any.
    pub vt_id: Option<String>,
    /// Virtual terminal name filter (substring, any case), if any.
    pub vt_name: Option<String>,
    /// Days or transactions.
    pub view: View,
    /// Page of the transactions view, from 1.
    pub page: u64,
}

/// What the form shows back: the values as typed, even wrong ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Echo {
    /// `period` as given (or the default).
    pub period: String,
    /// `from` as given.
    pub from: String,
    /// `to` as given.
    pub to: String,
    /// `device` as given.
    pub device: String,
    /// `vt_id` as given.
    pub vt_id: String,
    /// `vt_name` as given.
    pub vt_name: String,
    /// `view` as given (or the default).
    pub view: String,
}

impl HistoryQuery {
    /// The values to show back in the form; a date that reads in any form
    /// comes back in ISO form, the only one a date picker shows (a wrong
    /// one comes back as typed, for its message to be about).
    pub fn echo(&self) -> Echo {
        let text = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_owned();
        let date = |v: &Option<String>| {
            let typed = text(v);
            DateInput::parse(&typed)
                .map(|input| input.date().to_string())
                .unwrap_or(typed)
        };
        Echo {
            period: self
                .period
                .as_deref()
                .filter(|p| !p.is_empty())
                .unwrap_or("week")
                .to_owned(),
            from: date(&self.from),
            to: date(&self.to),
            device: text(&self.device),
            vt_id: text(&self.vt_id),
            vt_name: text(&self.vt_name),
            view: self
                .view
                .as_deref()
                .filter(|v| !v.is_empty())
                .unwrap_or("days")
                .to_owned(),
        }
    }

    /// Checks the query against `today`'s business day.
    pub fn parse(&self, today: Date) -> Result<Report, QueryError> {
        let kind = match non_empty(&self.period) {
            None | Some("week") => PeriodKind::Week,
            Some("month") => PeriodKind::Month,
            Some("custom") => PeriodKind::Custom,
            Some(_) => return Err(QueryError::BadChoice(Field::Period)),
        };
        let view = match non_empty(&self.view) {
            None | Some("days") => View::Days,
            Some("transactions") => View::Transactions,
            Some(_) => return Err(QueryError::BadChoice(Field::View)),
        };
        let days_back = |n: i32| {
            today
                .checked_sub(jiff::Span::new().days(n))
                .unwrap_or(today)
        };
        let (from, to) = match kind {
            PeriodKind::Week => (days_back(6), today),
            PeriodKind::Month => (days_back(29), today),
            PeriodKind::Custom => {
                let from = parse_date(non_empty(&self.from), Field::From)?;
                let to = parse_date(non_empty(&self.to), Field::To)?;
                let (Some(from), Some(to)) = (from, to) else {
                    return Err(QueryError::DatesNeeded);
                };
                if from > to {
                    return Err(QueryError::FromAfterTo);
                }
                let length = from
                    .until(to)
                    .map(|span| span.get_days())
                    .unwrap_or(i32::MAX);
                if length >= MAX_DAYS {
                    return Err(QueryError::TooLong);
                }
                (from, to)
            }
        };
        let page = non_empty(&self.page)
            .and_then(|p| p.parse::<u64>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1);
        Ok(Report {
            kind,
            from,
            to,
            device: non_empty(&self.device).map(str::to_owned),
            vt_id: non_empty(&self.vt_id).map(str::to_owned),
            vt_name: non_empty(&self.vt_name).map(str::to_owned),
            view,
            page,
        })
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A date in any form [`DateInput`] reads, or `None` if absent.
fn parse_date(text: Option<&str>, field: Field) -> Result<Option<Date>, QueryError> {
    text.map(|text| {
        DateInput::parse(text)
            .map(DateInput::date)
            .map_err(|_| QueryError::BadDate(field))
    })
    .transpose()
}

impl Report {
    /// The query string of this report (without `page` and `view`, which
    /// the links set themselves), percent-encoded, starting with `?`.
    pub fn query(&self, view: View, page: Option<u64>) -> String {
        let mut pairs: Vec<(&str, String)> = vec![("period", self.kind.code().to_owned())];
        if self.kind == PeriodKind::Custom {
            pairs.push(("from", self.from.to_string()));
            pairs.push(("to", self.to.to_string()));
        }
        for (name, value) in [
            ("device", &self.device),
            ("vt_id", &self.vt_id),
            ("vt_name", &self.vt_name),
        ] {
            if let Some(value) = value {
                pairs.push((name, value.clone()));
            }
        }
        pairs.push(("view", view.code().to_owned()));
        if let Some(page) = page {
            pairs.push(("page", page.to_string()));
        }
        let mut out = String::from("?");
        for (i, (name, value)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(name);
            out.push('=');
            percent_encode(value, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn query(pairs: &[(&str, &str)]) -> HistoryQuery {
        let mut q = HistoryQuery::default();
        for (name, value) in pairs {
            let value = Some((*value).to_owned());
            match *name {
                "period" => q.period = value,
                "from" => q.from = value,
                "to" => q.to = value,
                "device" => q.device = value,
                "vt_id" => q.vt_id = value,
                "vt_name" => q.vt_name = value,
                "view" => q.view = value,
                "page" => q.page = value,
                _ => unreachable!(),
            }
        }
        q
    }

    const TODAY: Date = date(2026, 11, 25);

    #[test]
    fn presets_end_today_and_include_it() {
        let week = query(&[]).parse(TODAY).unwrap();
        assert_eq!((week.from, week.to), (date(2026, 11, 19), TODAY));
        assert_eq!((week.view, week.page), (View::Days, 1));
        let month = query(&[("period", "month")]).parse(TODAY).unwrap();
        assert_eq!((month.from, month.to), (date(2026, 10, 27), TODAY));
    }

    #[test]
    fn a_custom_period_is_checked_field_by_field() {
        let ok = query(&[
            ("period", "custom"),
            ("from", "2026-02-01"),
            ("to", "2026-02-28"),
        ])
        .parse(TODAY)
        .unwrap();
        assert_eq!((ok.from, ok.to), (date(2026, 2, 1), date(2026, 2, 28)));
        for (pairs, error) in [
            (
                vec![("from", "2026-02-30"), ("to", "2026-03-01")],
                QueryError::BadDate(Field::From),
            ),
            (
                vec![("from", "01/02/2026"), ("to", "2026-03-01")],
                QueryError::BadDate(Field::From),
            ),
            (
                vec![("from", "2026-02-01"), ("to", "31.02.2026")],
                QueryError::BadDate(Field::To),
            ),
            (
                vec![("from", "2026-02-01"), ("to", "+2026-3-1")],
                QueryError::BadDate(Field::To),
            ),
            (vec![("from", "2026-02-01")], QueryError::DatesNeeded),
            (
                vec![("from", "2026-03-01"), ("to", "2026-02-01")],
                QueryError::FromAfterTo,
            ),
            (
                vec![("from", "2024-01-01"), ("to", "2026-01-01")],
                QueryError::TooLong,
            ),
        ] {
            let mut all = vec![("period", "custom")];
            all.extend(pairs.iter().copied());
            assert_eq!(query(&all).parse(TODAY), Err(error), "{pairs:?}");
        }
        assert_eq!(
            query(&[("period", "year")]).parse(TODAY),
            Err(QueryError::BadChoice(Field::Period))
        );
        assert_eq!(
            query(&[("view", "chart")]).parse(TODAY),
            Err(QueryError::BadChoice(Field::View))
        );
    }

    #[test]
    fn the_russian_forms_give_the_iso_period_and_iso_links() {
        let iso = query(&[
            ("period", "custom"),
            ("from", "2026-02-01"),
            ("to", "2026-02-28"),
        ])
        .parse(TODAY)
        .unwrap();
        for (from, to) in [("01.02.2026", "28.02.2026"), ("1.2.2026", "28.2.2026")] {
            let typed = query(&[("period", "custom"), ("from", from), ("to", to)])
                .parse(TODAY)
                .unwrap();
            assert_eq!(typed, iso, "{from} {to}");
            assert_eq!(
                typed.query(View::Days, None),
                "?period=custom&from=2026-02-01&to=2026-02-28&view=days"
            );
        }
    }

    #[test]
    fn the_form_shows_readable_dates_in_iso_and_wrong_ones_as_typed() {
        let echo = query(&[("from", " 5.1.2026 "), ("to", "31.02.2026")]).echo();
        assert_eq!(
            (echo.from.as_str(), echo.to.as_str()),
            ("2026-01-05", "31.02.2026")
        );
    }

    #[test]
    fn a_year_is_allowed_and_a_bad_page_is_the_first() {
        let year = query(&[
            ("period", "custom"),
            ("from", "2025-11-26"),
            ("to", "2026-11-25"),
            ("page", "x"),
        ])
        .parse(TODAY)
        .unwrap();
        assert_eq!(year.page, 1);
        assert_eq!(query(&[("page", "0")]).parse(TODAY).unwrap().page, 1);
        assert_eq!(query(&[("page", "7")]).parse(TODAY).unwrap().page, 7);
    }

    #[test]
    fn links_keep_the_filters_encoded() {
        let report = query(&[
            ("period", "custom"),
            ("from", "2026-11-01"),
            ("to", "2026-11-25"),
            ("vt_name", "Рассрочка 6&7"),
            ("device", "MPOS-0001"),
        ])
        .parse(TODAY)
        .unwrap();
        assert_eq!(
            report.query(View::Transactions, Some(2)),
            "?period=custom&from=2026-11-01&to=2026-11-25&device=MPOS-0001\
             &vt_name=%D0%A0%D0%B0%D1%81%D1%81%D1%80%D0%BE%D1%87%D0%BA%D0%B0%206%267\
             &view=transactions&page=2"
        );
    }

    proptest::proptest! {
        /// Whatever the query string holds, parsing answers (never panics),
        /// and what it accepts is a period of at most MAX_DAYS days ending
        /// no later than it began plus MAX_DAYS, with a page from 1.
        #[test]
        fn any_query_is_parsed_or_refused_never_a_panic(
            period in proptest::option::of("(week|month|custom|[a-z]{0,8})"),
            from in proptest::option::of("([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{4}|\\PC{0,12})"),
            to in proptest::option::of("([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{4}|\\PC{0,12})"),
            view in proptest::option::of("(days|transactions|\\PC{0,6})"),
            page in proptest::option::of("([0-9]{0,25}|\\PC{0,6})"),
            text in proptest::option::of("\\PC{0,20}"),
        ) {
            let q = HistoryQuery {
                period, from, to, view, page,
                device: text.clone(), vt_id: text.clone(), vt_name: text,
            };
            if let Ok(report) = q.parse(TODAY) {
                proptest::prop_assert!(report.from <= report.to);
                let days = report.from.until(report.to).unwrap().get_days();
                proptest::prop_assert!(days < MAX_DAYS);
                proptest::prop_assert!(report.page >= 1);
                let link = report.query(report.view, Some(report.page));
                proptest::prop_assert!(link.bytes().all(|b| b.is_ascii_graphic()), "{}", link);
            }
            let _ = q.echo();
        }
    }
}
