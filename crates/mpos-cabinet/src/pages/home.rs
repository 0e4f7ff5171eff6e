//! `/`: the merchant's name, today's takings and the readers at a glance,
//! and the Android app; `/app/download` serves it.

use super::history::{TotalRow, day_words, total_rows};
use super::{Language, PageError, SignedIn, render};
use crate::i18n::Texts;
use crate::{AppDownload, Cabinet};
use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use mpos_store::ops::devices;
use mpos_store::ops::history::{self, HistoryFilter};
use std::sync::Arc;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    t: &'a Texts,
    lang: &'a str,
    csrf: &'a str,
    active: &'a str,
    merchant_name: &'a str,
    /// Today's business day, `25.11.2026`.
    today: String,
    /// Today's totals, one per currency; empty before the first approval.
    totals: Vec<TotalRow>,
    active_readers: usize,
    blocked_readers: usize,
}

/// GET /.
pub async fn page(
    State(cabinet): State<Arc<Cabinet>>,
    language: Language,
    me: SignedIn,
) -> Result<Response, PageError> {
    let lang = language.lang;
    let today = cabinet.today();
    let filter = HistoryFilter {
        merchant_id: me.merchant.id.clone(),
        from_day: today.to_string(),
        to_day: today.to_string(),
        device_serial: None,
        vt_ids: None,
    };
    let (readers, totals) = cabinet
        .read(move |reader| {
            let readers = devices::list(reader, Some(&filter.merchant_id))?;
            Ok((readers, history::day_totals(reader, &filter)?))
        })
        .await?;
    let blocked_readers = readers.iter().filter(|d| d.blocked).count();
    let page = HomePage {
        t: lang.texts(),
        lang: lang.code(),
        csrf: &me.csrf,
        active: "home",
        merchant_name: &me.merchant.name,
        today: day_words(today),
        totals: total_rows(&totals),
        active_readers: readers.len() - blocked_readers,
        blocked_readers,
    };
    render(&page, StatusCode::OK, language.cookies())
}

/// GET /app/download: the configured file, or a redirect to the configured address.
pub async fn download(State(cabinet): State<Arc<Cabinet>>, _: SignedIn) -> Response {
    match &cabinet.config.app_download {
        AppDownload::Url(url) => Redirect::to(url).into_response(),
        AppDownload::File(path) => match tokio::fs::read(path).await {
            Ok(bytes) => (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.android.package-archive",
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"mpos.apk\"",
                    ),
                ],
                bytes,
            )
                .into_response(),
            Err(error) => {
                tracing::error!(path = %path.display(), %error, "the app file is missing");
                (
                    StatusCode::NOT_FOUND,
                    "The app is not available right now.\n",
                )
                    .into_response()
            }
        },
    }
}
