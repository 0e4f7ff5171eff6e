//! Store rows turned into what the history page shows: formatted amounts,
//! local times, terminal names, marks for declines and reversals, the
//! per-currency totals, the charts and the pager.

use super::chart::{self, ChartDay};
use super::domain_lang;
use super::query::{Report, View};
use super::texts::HistoryTexts;
use crate::i18n::Lang;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use mpos_domain::money::{Currency, format_major};
use mpos_domain::response::ResponseCode;
use mpos_store::ops::history::{DayTotal, HistoryRow};
use mpos_store::ops::terminals::TerminalRow;
use std::collections::{BTreeMap, HashMap};

/// Terminal ID → name, for the merchant's terminals.
pub type Names = HashMap<String, String>;

/// The names of `terminals`.
pub fn terminal_names(terminals: &[TerminalRow]) -> Names {
    terminals
        .iter()
        .map(|t| (t.id.clone(), t.name.clone()))
        .collect()
}

/// A day as people read it here: `25.11.2026`.
pub fn day_words(day: Date) -> String {
    day.strftime("%d.%m.%Y").to_string()
}

/// «19.11.2026 — 25.11.2026», or one date.
pub fn period_words(from: Date, to: Date) -> String {
    if from == to {
        day_words(from)
    } else {
        format!("{} — {}", day_words(from), day_words(to))
    }
}

/// An amount with its currency, `1 234,50 BYN`.
pub fn money(minor: i64, currency: u16) -> String {
    match Currency::new(currency) {
        Ok(currency) => format_major(minor, currency),
        Err(_) => format!("{minor} ({currency:03})"),
    }
}

/// A business-day row of the page.
pub struct DayRow {
    /// `25.11.2026`.
    pub day: String,
    /// DE 41.
    pub vt_id: String,
    /// The terminal's name, empty if it is not (or no longer) the merchant's.
    pub vt_name: String,
    /// Payments.
    pub payments_count: u64,
    /// Their sum.
    pub payments_sum: String,
    /// Refunds.
    pub refunds_count: u64,
    /// Their sum.
    pub refunds_sum: String,
    /// Payments less refunds.
    pub net: String,
    /// Whether the net is below zero.
    pub negative: bool,
}

/// The rows of the business-day view: days with something approved.
pub fn day_rows(totals: &[DayTotal], names: &Names) -> Vec<DayRow> {
    totals
        .iter()
        .filter(|t| t.payments_count > 0 || t.refunds_count > 0)
        .map(|t| DayRow {
            day: t
                .business_day
                .parse::<Date>()
                .map(day_words)
                .unwrap_or_else(|_| t.business_day.clone()),
            vt_id: t.vt_id.clone(),
            vt_name: names.get(&t.vt_id).cloned().unwrap_or_default(),
            payments_count: t.payments_count,
            payments_sum: money(t.payments_minor, t.currency),
            refunds_count: t.refunds_count,
            refunds_sum: money(t.refunds_minor, t.currency),
            net: money(t.net_minor(), t.currency),
            negative: t.net_minor() < 0,
        })
        .collect()
}

/// The period's total in one currency.
pub struct TotalRow {
    /// Payments.
    pub payments_count: u64,
    /// Their sum.
    pub payments_sum: String,
    /// Refunds.
    pub refunds_count: u64,
    /// Their sum.
    pub refunds_sum: String,
    /// Payments less refunds.
    pub net: String,
    /// Whether the net is below zero.
    pub negative: bool,
}

/// One [`TotalRow`] per currency of the period with anything approved.
pub fn total_rows(totals: &[DayTotal]) -> Vec<TotalRow> {
    sums_by_currency(totals)
        .into_iter()
        .filter(|(_, s)| s.payments_count > 0 || s.refunds_count > 0)
        .map(|(currency, s)| TotalRow {
            payments_count: s.payments_count,
            payments_sum: money(s.payments_minor, currency),
            refunds_count: s.refunds_count,
            refunds_sum: money(s.refunds_minor, currency),
            net: money(s.payments_minor - s.refunds_minor, currency),
            negative: s.payments_minor < s.refunds_minor,
        })
        .collect()
}

#[derive(Default)]
struct Sums {
    payments_count: u64,
    payments_minor: i64,
    refunds_count: u64,
    refunds_minor: i64,
}

fn sums_by_currency(totals: &[DayTotal]) -> BTreeMap<u16, Sums> {
    let mut sums: BTreeMap<u16, Sums> = BTreeMap::new();
    for t in totals {
        let s = sums.entry(t.currency).or_default();
        s.payments_count += t.payments_count;
        s.payments_minor += t.payments_minor;
        s.refunds_count += t.refunds_count;
        s.refunds_minor += t.refunds_minor;
    }
    sums
}

/// One chart of the net per day per currency with anything approved; every
/// day of the period has its bar, empty days included.
pub fn charts(totals: &[DayTotal], report: &Report, h: &HistoryTexts) -> Vec<String> {
    let currencies: Vec<u16> = total_rows_currencies(totals);
    let many = currencies.len() > 1;
    currencies
        .into_iter()
        .map(|currency| {
            let mut net: HashMap<&str, i64> = HashMap::new();
            for t in totals.iter().filter(|t| t.currency == currency) {
                *net.entry(t.business_day.as_str()).or_default() += t.net_minor();
            }
            let days: Vec<ChartDay> = report
                .from
                .series(jiff::Span::new().days(1))
                .take_while(|day| *day <= report.to)
                .map(|day| {
                    let minor = net.get(day.to_string().as_str()).copied().unwrap_or(0);
                    ChartDay {
                        day,
                        net_minor: minor,
                        label: money(minor, currency),
                    }
                })
                .collect();
            let title = if many {
                let code = Currency::new(currency)
                    .map_or_else(|_| format!("{currency:03}"), |c| c.to_string());
                format!("{}, {code}", h.chart_title)
            } else {
                h.chart_title.to_owned()
            };
            let description = format!(
                "{}: {}",
                h.chart_description,
                period_words(report.from, report.to)
            );
            chart::net_per_day(&days, &title, &description, &format!("chart-{currency}"))
        })
        .collect()
}

fn total_rows_currencies(totals: &[DayTotal]) -> Vec<u16> {
    sums_by_currency(totals)
        .into_iter()
        .filter(|(_, s)| s.payments_count > 0 || s.refunds_count > 0)
        .map(|(currency, _)| currency)
        .collect()
}

/// A transaction row of the page (and of the CSV).
pub struct TxnRow {
    /// `25.11.2026 14:03:12`, in the business day's time zone.
    pub time: String,
    /// `25.11.2026`.
    pub day: String,
    /// Device serial.
    pub device: String,
    /// DE 41.
    pub vt_id: String,
    /// The terminal's name, if it is the merchant's.
    pub vt_name: String,
    /// Оплата / Возврат.
    pub kind: &'static str,
    /// Masked PAN.
    pub card: String,
    /// Amount with currency.
    pub amount: String,
    /// DE 39.
    pub code: String,
    /// Its meaning.
    pub meaning: &'static str,
    /// Whether it was declined.
    pub declined: bool,
    /// Whether it was reversed.
    pub reversed: bool,
    /// DE 37.
    pub rrn: String,
    /// DE 38.
    pub auth_code: String,
}

/// The page's view of a stored transaction.
pub fn txn_row(
    row: &HistoryRow,
    names: &Names,
    zone: &TimeZone,
    lang: Lang,
    h: &HistoryTexts,
) -> TxnRow {
    TxnRow {
        time: local_time(row.received_at, zone),
        day: row
            .business_day
            .parse::<Date>()
            .map(day_words)
            .unwrap_or_else(|_| row.business_day.clone()),
        device: row.device_serial.clone(),
        vt_id: row.vt_id.clone(),
        vt_name: names.get(&row.vt_id).cloned().unwrap_or_default(),
        kind: if row.refund { h.refund } else { h.purchase },
        card: row.masked_pan.clone().unwrap_or_default(),
        amount: money(row.amount_minor, row.currency),
        code: row.response_code.clone(),
        meaning: ResponseCode::parse(&row.response_code)
            .map_or("", |code| code.meaning(domain_lang(lang))),
        declined: row.response_code != "00",
        reversed: row.reversed,
        rrn: row.rrn.clone().unwrap_or_default(),
        auth_code: row.auth_code.clone().unwrap_or_default(),
    }
}

/// `25.11.2026 14:03:12` of Unix milliseconds in `zone`.
pub fn local_time(millis: i64, zone: &TimeZone) -> String {
    Timestamp::from_millisecond(millis)
        .map(|at| {
            zone.to_datetime(at)
                .strftime("%d.%m.%Y %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

/// The transactions view's page links.
pub struct Pager {
    /// This page, from 1.
    pub page: u64,
    /// How many pages.
    pub pages: u64,
    /// The previous page, if any.
    pub previous: Option<String>,
    /// The next page, if any.
    pub next: Option<String>,
}

impl Pager {
    /// The pager of `found` rows, `None` when they fit one page.
    pub fn new(report: &Report, found: u64, page_size: u64) -> Option<Pager> {
        let pages = found.div_ceil(page_size).max(1);
        if pages == 1 {
            return None;
        }
        let page = report.page.min(pages);
        let href = |p: u64| format!("/history{}", report.query(View::Transactions, Some(p)));
        Some(Pager {
            page,
            pages,
            previous: (page > 1).then(|| href(page - 1)),
            next: (page < pages).then(|| href(page + 1)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_the_business_day_zone() {
        let minsk = TimeZone::get("Europe/Minsk").unwrap();
        // 2026-11-25T21:30:00Z is 00:30 the next day in Minsk (UTC+3).
        let at = "2026-11-25T21:30:00Z".parse::<Timestamp>().unwrap();
        assert_eq!(
            local_time(at.as_millisecond(), &minsk),
            "26.11.2026 00:30:00"
        );
    }

    #[test]
    fn only_days_with_approvals_are_rows_and_totals_add_up() {
        let t = |day: &str, vt: &str, p: u64, pm: i64, r: u64, rm: i64, rows: u64| DayTotal {
            business_day: day.into(),
            vt_id: vt.into(),
            currency: 933,
            payments_count: p,
            payments_minor: pm,
            refunds_count: r,
            refunds_minor: rm,
            rows,
        };
        let totals = [
            t("2026-11-25", "10000001", 2, 30_000, 1, 5_000, 4),
            t("2026-11-25", "20000001", 0, 0, 0, 0, 1),
            t("2026-11-24", "10000001", 0, 0, 1, 12_550, 1),
        ];
        let names = Names::from([("10000001".to_owned(), "Оплата".to_owned())]);
        let rows = day_rows(&totals, &names);
        assert_eq!(rows.len(), 2, "a day of declines only is not a row");
        assert_eq!(rows[0].day, "25.11.2026");
        assert_eq!(rows[0].net, "250,00\u{a0}BYN");
        assert!(rows[1].negative);
        let total = total_rows(&totals);
        assert_eq!(total.len(), 1);
        assert_eq!(total[0].net, "124,50\u{a0}BYN");
    }
}
