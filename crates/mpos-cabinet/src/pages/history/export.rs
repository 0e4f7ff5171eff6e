//! `/history.csv`: the chosen view over the whole period, streamed.
//!
//! The business-day view is a few rows per day and is written at once. The
//! transactions view may be a million rows: a blocking task reads them in
//! chunks of [`CHUNK`] (each read gives its connection back before the chunk
//! is sent), formats each chunk and hands it to the response body through a
//! channel of [`CHANNEL_DEPTH`] chunks. A slow download therefore holds a
//! few chunks of memory and no reader; a closed one stops the task.

use super::csv::{BOM, Record};
use super::query::{Report, View};
use super::texts::{self, HistoryTexts};
use super::view::{self, Names};
use super::{HistoryQuery, filter_of, message};
use crate::Cabinet;
use crate::i18n::Lang;
use crate::pages::{Language, PageError, SignedIn};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::tz::TimeZone;
use mpos_domain::money::Currency;
use mpos_store::ops::history::{self, Cursor, HistoryFilter};
use mpos_store::ops::terminals;
use mpos_store::{Store, StoreError};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Transactions read and written per step of an export.
const CHUNK: u64 = 2_000;
/// Chunks formatted ahead of the download.
const CHANNEL_DEPTH: usize = 4;

/// GET /history.csv.
///
/// A `?lang=` names the language of the headers but is not remembered: a
/// download sets no cookie.
pub async fn download(
    State(cabinet): State<Arc<Cabinet>>,
    Language { lang, .. }: Language,
    Query(query): Query<HistoryQuery>,
    me: SignedIn,
) -> Result<Response, PageError> {
    let h = texts::texts(lang);
    let report = query
        .parse(cabinet.today())
        .map_err(|error| PageError::BadRequest(message(h, error)))?;
    let merchant = me.merchant.id.clone();
    let for_filter = report.clone();
    let (names, filter, totals) = cabinet
        .read(move |reader| {
            let terminals = terminals::list(reader, Some(&merchant))?;
            let filter = filter_of(&merchant, &for_filter, &terminals);
            let totals = if for_filter.view == View::Days {
                history::day_totals(reader, &filter)?
            } else {
                Vec::new()
            };
            Ok((view::terminal_names(&terminals), filter, totals))
        })
        .await?;
    let body = match report.view {
        View::Days => Body::from(days_csv(&totals, &names, h)),
        View::Transactions => {
            let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
            let job = Export {
                store: cabinet.store.clone(),
                filter,
                names,
                zone: cabinet.config.business_day.zone().clone(),
                lang,
            };
            tokio::task::spawn_blocking(move || job.run(&sender));
            Body::from_stream(futures_util::stream::unfold(
                receiver,
                |mut receiver| async { receiver.recv().await.map(|chunk| (chunk, receiver)) },
            ))
        }
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file_name(&report)))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `history-days-2026-11-19-2026-11-25.csv`.
fn file_name(report: &Report) -> String {
    format!(
        "history-{}-{}-{}.csv",
        report.view.code(),
        report.from,
        report.to
    )
}

/// The business-day view as CSV: header, one record per day and terminal.
fn days_csv(totals: &[history::DayTotal], names: &Names, h: &HistoryTexts) -> String {
    let mut out = String::from(BOM);
    Record::new(&mut out)
        .text(h.business_day)
        .text(h.vt)
        .text(h.vt_name_column)
        .text(&format!("{}, {}", h.payments, h.count))
        .text(&format!("{}, {}", h.payments, h.sum))
        .text(&format!("{}, {}", h.refunds, h.count))
        .text(&format!("{}, {}", h.refunds, h.sum))
        .text(h.net)
        .text(h.currency)
        .end();
    for t in totals
        .iter()
        .filter(|t| t.payments_count > 0 || t.refunds_count > 0)
    {
        let currency = currency_of(t.currency);
        Record::new(&mut out)
            .text(&day_text(&t.business_day))
            .text(&t.vt_id)
            .text(names.get(&t.vt_id).map_or("", String::as_str))
            .number(t.payments_count)
            .amount(t.payments_minor, currency)
            .number(t.refunds_count)
            .amount(t.refunds_minor, currency)
            .amount(t.net_minor(), currency)
            .text(&currency.to_string())
            .end();
    }
    out
}

/// A streamed transactions export.
struct Export {
    store: Store,
    filter: HistoryFilter,
    names: Names,
    zone: TimeZone,
    lang: Lang,
}

impl Export {
    /// Reads, formats and sends chunk after chunk until the period is done,
    /// the download is closed, or the store fails (the download is then cut
    /// short with an error, so it cannot pass for a complete file).
    fn run(self, sender: &mpsc::Sender<Result<Bytes, std::io::Error>>) {
        let h = texts::texts(self.lang);
        let mut out = String::from(BOM);
        header_record(&mut out, h);
        let mut cursor: Option<Cursor> = None;
        loop {
            let filter = &self.filter;
            let after = cursor.clone();
            let rows = self
                .store
                .read(|reader| history::transactions_after(reader, filter, after.as_ref(), CHUNK));
            let rows = match rows {
                Ok(rows) => rows,
                Err(error) => {
                    tracing::error!(%error, "a CSV export failed to read the store");
                    let _ = sender.blocking_send(Err(std::io::Error::other(error_text(&error))));
                    return;
                }
            };
            let last = rows.len() < CHUNK as usize;
            for row in &rows {
                let shown = view::txn_row(row, &self.names, &self.zone, self.lang, h);
                Record::new(&mut out)
                    .text(&shown.time)
                    .text(&shown.day)
                    .text(&shown.device)
                    .text(&shown.vt_id)
                    .text(&shown.vt_name)
                    .text(shown.kind)
                    .text(&shown.card)
                    .amount(row.amount_minor, currency_of(row.currency))
                    .text(&currency_of(row.currency).to_string())
                    .text(&shown.code)
                    .text(shown.meaning)
                    .text(if shown.reversed { h.yes } else { h.no })
                    .text(&shown.rrn)
                    .text(&shown.auth_code)
                    .end();
            }
            cursor = rows.last().map(|row| Cursor {
                business_day: row.business_day.clone(),
                id: row.id,
            });
            let chunk = Bytes::from(std::mem::take(&mut out));
            if sender.blocking_send(Ok(chunk)).is_err() {
                return; // the download was closed
            }
            if last {
                return;
            }
        }
    }
}

fn header_record(out: &mut String, h: &HistoryTexts) {
    let mut record = Record::new(out);
    for title in [
        h.date_time,
        h.business_day,
        h.device,
        h.vt,
        h.vt_name_column,
        h.kind,
        h.card,
        h.amount,
        h.currency,
        h.response_code,
        h.result,
        h.reversed,
        h.rrn,
        h.auth_code,
    ] {
        record.text(title);
    }
    record.end();
}

fn currency_of(code: u16) -> Currency {
    Currency::new(code).unwrap_or(Currency::BYN)
}

fn day_text(day: &str) -> String {
    day.parse::<jiff::civil::Date>()
        .map(view::day_words)
        .unwrap_or_else(|_| day.to_owned())
}

fn error_text(error: &StoreError) -> String {
    format!("the export stopped: {error}")
}
