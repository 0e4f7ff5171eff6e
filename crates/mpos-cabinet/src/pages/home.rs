//! `/`: the merchant's name, today's takings and the readers at a glance,
//! and the Android app; `/app/download` serves it.

use super::history::{TotalRow, day_words, total_rows};
use super::{current, failure, language, render, to_login};
use crate::i18n::Texts;
use crate::{AppDownload, Cabinet};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
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
    headers: HeaderMap,
    Query(query): Query<super::login::LangQuery>,
) -> Response {
    let Some(me) = current(&cabinet, &headers).await else {
        return to_login();
    };
    let (lang, remember) = language(&headers, query_lang(&query));
    let today = cabinet.today();
    let filter = HistoryFilter {
        merchant_id: me.merchant.id.clone(),
        from_day: today.to_string(),
        to_day: today.to_string(),
        device_serial: None,
        vt_ids: None,
    };
    let glance = cabinet
        .read(move |c| {
            let readers = devices::list(c, Some(&filter.merchant_id))?;
            Ok((readers, history::day_totals(c, &filter)?))
        })
        .await;
    let (readers, totals) = match glance {
        Ok(glance) => glance,
        Err(error) => return failure(error),
    };
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
    render(
        &page,
        StatusCode::OK,
        &remember.into_iter().collect::<Vec<_>>(),
    )
}

fn query_lang(query: &super::login::LangQuery) -> Option<&str> {
    query.lang()
}

/// GET /app/download: the configured file, or a redirect to the configured address.
pub async fn download(State(cabinet): State<Arc<Cabinet>>, headers: HeaderMap) -> Response {
    if current(&cabinet, &headers).await.is_none() {
        return to_login();
    }
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
