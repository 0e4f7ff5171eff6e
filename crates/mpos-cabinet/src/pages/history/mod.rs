//! `/history` and `/history.csv`: the merchant's payments and refunds over a
//! period, by business day (with a chart of the net) or by transaction, with
//! filters by device, virtual terminal ID and name.
//!
//! ```text
//! query.rs   the query string → a checked Report (or a message per field)
//! date_input.rs  a typed date: DD.MM.YYYY, D.M.YYYY or YYYY-MM-DD
//! view.rs    store rows → what the page and the CSV show
//! chart.rs   the net per day as server-side SVG
//! csv.rs     CSV records (BOM, `;`, decimal comma)
//! export.rs  the streamed CSV download
//! texts.rs   the page's Russian and English texts
//! ```
//!
//! Every read is bound to the signed-in merchant in the store's queries
//! (`mpos_store::ops::history`): another merchant's device or terminal in
//! the query string simply matches nothing.

mod chart;
mod csv;
mod date_input;
mod export;
mod query;
mod texts;
mod view;

pub use export::download;
pub use query::HistoryQuery;
pub(crate) use view::{TotalRow, day_words, total_rows};

use super::{Language, PageError, SignedIn, render};
use crate::Cabinet;
use crate::i18n::{Lang, Texts};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mpos_store::ops::devices;
use mpos_store::ops::history::{self, DayTotal, HistoryFilter, HistoryRow};
use mpos_store::ops::terminals::{self, TerminalRow};
use mpos_store::{Reader, StoreError};
use query::{Echo, Field, QueryError, Report, View};
use std::sync::Arc;
use texts::HistoryTexts;
use view::{DayRow, Pager, TxnRow};

/// Rows per page of the transactions view.
const PAGE_SIZE: u64 = 50;

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage<'a> {
    t: &'a Texts,
    h: &'a HistoryTexts,
    lang: &'a str,
    csrf: &'a str,
    active: &'a str,
    echo: Echo,
    error: Option<(Field, &'a str)>,
    devices: Vec<String>,
    terminals: Vec<TerminalRow>,
    /// The period in words, e.g. «19.11.2026 — 25.11.2026».
    period: String,
    view: &'a str,
    /// The same report in the other language.
    lang_href: String,
    days_href: String,
    transactions_href: String,
    csv_href: String,
    charts: Vec<String>,
    days: Vec<DayRow>,
    totals: Vec<TotalRow>,
    transactions: Vec<TxnRow>,
    found: u64,
    pager: Option<Pager>,
}

impl HistoryPage<'_> {
    /// The error message of `field`, if it is the wrong one.
    fn error_of(&self, field: &str) -> Option<&str> {
        let (wrong, message) = self.error?;
        let name = match wrong {
            Field::Period => "period",
            Field::From => "from",
            Field::To => "to",
            Field::View => "view",
        };
        (name == field).then_some(message)
    }
}

/// What one report reads from the store, in one snapshot.
struct Loaded {
    devices: Vec<String>,
    terminals: Vec<TerminalRow>,
    totals: Vec<DayTotal>,
    rows: Vec<HistoryRow>,
}

/// GET /history.
pub async fn page(
    State(cabinet): State<Arc<Cabinet>>,
    language: Language,
    Query(query): Query<HistoryQuery>,
    me: SignedIn,
) -> Result<Response, PageError> {
    let (lang, cookies) = (language.lang, language.cookies());
    let h = texts::texts(lang);
    let today = cabinet.today();
    let parsed = query.parse(today);
    let merchant = me.merchant.id.clone();
    let report = parsed.as_ref().ok().cloned();
    let loaded = cabinet
        .read(move |reader| load(reader, &merchant, report.as_ref()))
        .await?;
    let mut page = HistoryPage {
        t: lang.texts(),
        h,
        lang: lang.code(),
        csrf: &me.csrf,
        active: "history",
        echo: query.echo(),
        error: None,
        devices: loaded.devices,
        terminals: Vec::new(),
        period: String::new(),
        view: "days",
        lang_href: format!("?lang={}", lang.texts().other_lang_code),
        days_href: String::new(),
        transactions_href: String::new(),
        csv_href: String::new(),
        charts: Vec::new(),
        days: Vec::new(),
        totals: Vec::new(),
        transactions: Vec::new(),
        found: 0,
        pager: None,
    };
    let report = match parsed {
        Ok(report) => report,
        Err(error) => {
            page.error = Some((error.field(), message(h, error)));
            page.terminals = loaded.terminals;
            return render(&page, StatusCode::BAD_REQUEST, cookies);
        }
    };
    // The date fields show the period shown, ready to be edited, in ISO
    // form whatever form was typed: a date picker shows nothing for any
    // other value, and a picker-less browser accepts it back.
    page.echo.from = report.from.to_string();
    page.echo.to = report.to.to_string();
    let names = view::terminal_names(&loaded.terminals);
    let zone = cabinet.config.business_day.zone();
    page.period = view::period_words(report.from, report.to);
    page.view = report.view.code();
    page.lang_href = format!(
        "{}&lang={}",
        report.query(report.view, Some(report.page)),
        lang.texts().other_lang_code
    );
    page.days_href = format!("/history{}", report.query(View::Days, None));
    page.transactions_href = format!("/history{}", report.query(View::Transactions, None));
    page.csv_href = format!("/history.csv{}", report.query(report.view, None));
    match report.view {
        View::Days => {
            page.days = view::day_rows(&loaded.totals, &names);
            page.totals = view::total_rows(&loaded.totals);
            page.charts = view::charts(&loaded.totals, &report, h);
        }
        View::Transactions => {
            page.found = history::count_rows(&loaded.totals);
            page.transactions = loaded
                .rows
                .iter()
                .map(|row| view::txn_row(row, &names, zone, lang, h))
                .collect();
            page.pager = Pager::new(&report, page.found, PAGE_SIZE);
        }
    }
    page.terminals = loaded.terminals;
    render(&page, StatusCode::OK, cookies)
}

/// Reads the form's choices and, for a valid report, its rows, all in one
/// read transaction so the totals and the page agree.
fn load(
    reader: &mut Reader<'_>,
    merchant_id: &str,
    report: Option<&Report>,
) -> Result<Loaded, StoreError> {
    reader.snapshot(|snapshot| load_from(snapshot, merchant_id, report))
}

/// [`load`] inside its read transaction.
fn load_from(
    snapshot: &mut Reader<'_>,
    merchant_id: &str,
    report: Option<&Report>,
) -> Result<Loaded, StoreError> {
    let devices = devices::list(snapshot, Some(merchant_id))?
        .into_iter()
        .map(|d| d.serial)
        .collect();
    let terminals = terminals::list(snapshot, Some(merchant_id))?;
    let mut loaded = Loaded {
        devices,
        terminals,
        totals: Vec::new(),
        rows: Vec::new(),
    };
    let Some(report) = report else {
        return Ok(loaded);
    };
    let filter = filter_of(merchant_id, report, &loaded.terminals);
    loaded.totals = history::day_totals(snapshot, &filter)?;
    if report.view == View::Transactions {
        let pages = history::count_rows(&loaded.totals)
            .div_ceil(PAGE_SIZE)
            .max(1);
        let offset = (report.page.min(pages) - 1) * PAGE_SIZE;
        loaded.rows =
            history::transactions_page(snapshot, &filter, &loaded.totals, offset, PAGE_SIZE)?;
    }
    Ok(loaded)
}

/// The store's filter of a report: the name filter becomes the IDs of the
/// merchant's terminals whose name holds it (any case, Cyrillic included),
/// intersected with the ID filter.
fn filter_of(merchant_id: &str, report: &Report, terminals: &[TerminalRow]) -> HistoryFilter {
    let vt_ids = match (&report.vt_id, &report.vt_name) {
        (None, None) => None,
        (Some(id), None) => Some(vec![id.clone()]),
        (id, Some(name)) => {
            let needle = name.to_lowercase();
            Some(
                terminals
                    .iter()
                    .filter(|t| t.name.to_lowercase().contains(&needle))
                    .filter(|t| id.as_ref().is_none_or(|id| *id == t.id))
                    .map(|t| t.id.clone())
                    .collect(),
            )
        }
    };
    HistoryFilter {
        merchant_id: merchant_id.to_owned(),
        from_day: report.from.to_string(),
        to_day: report.to.to_string(),
        device_serial: report.device.clone(),
        vt_ids,
    }
}

/// The message of a query error.
fn message(h: &HistoryTexts, error: QueryError) -> &'static str {
    match error {
        QueryError::BadChoice(_) => h.bad_choice,
        QueryError::BadDate(_) => h.bad_date,
        QueryError::DatesNeeded => h.dates_needed,
        QueryError::FromAfterTo => h.from_after_to,
        QueryError::TooLong => h.too_long,
    }
}

/// The domain's language of the cabinet's.
fn domain_lang(lang: Lang) -> mpos_domain::response::Lang {
    match lang {
        Lang::Ru => mpos_domain::response::Lang::Ru,
        Lang::En => mpos_domain::response::Lang::En,
    }
}
