//! One module per page, and what they share: the language of a request,
//! the signed-in merchant, rendering, and the error answers.

pub mod devices;
pub mod history;
pub mod home;
pub mod login;
pub mod password;
pub mod recovery;

use crate::Cabinet;
use crate::i18n::{Lang, Texts};
use crate::session::{self, LANG_COOKIE, SESSION_COOKIE};
use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use mpos_domain::input::{AppPassword, AppPasswordError, CabinetPassword, CabinetPasswordError};
use mpos_store::ops::merchants::{self, MerchantRow};
use mpos_store::ops::sessions;

/// The stylesheet, compiled in: no external assets.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/cabinet.css"),
    )
}

/// The icon browsers show in the tab, compiled in like the stylesheet.
pub async fn favicon() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "image/svg+xml")],
        include_str!("../../static/favicon.svg"),
    )
}

/// The language of a request: `?lang=` (then remembered), the cookie, or Russian.
pub(crate) fn language(headers: &HeaderMap, query: Option<&str>) -> (Lang, Option<String>) {
    if let Some(lang) = query.and_then(Lang::parse) {
        let remember = session::set_cookie(
            LANG_COOKIE,
            lang.code(),
            false,
            "Lax",
            Some(365 * 24 * 3600),
        );
        return (lang, Some(remember));
    }
    let lang = session::cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .unwrap_or(Lang::Ru);
    (lang, None)
}

/// The signed-in merchant of a request.
pub(crate) struct Current {
    pub merchant: MerchantRow,
    pub csrf: String,
    pub token_hash: [u8; 32],
}

/// The signed-in merchant, or `None` (no, unknown or expired session).
pub(crate) async fn current(cabinet: &Cabinet, headers: &HeaderMap) -> Option<Current> {
    let token_hash = session::token_hash(session::cookie(headers, SESSION_COOKIE)?);
    let row = cabinet
        .read(move |c| sessions::find(c, &token_hash))
        .await
        .ok()??;
    let now = now_millis();
    if !session::alive(row.created_at, row.last_seen_at, now) {
        drop(
            cabinet
                .store
                .write(move |c| sessions::delete(c, &token_hash)),
        );
        return None;
    }
    // The idle clock restarts; the answer does not wait for it.
    drop(
        cabinet
            .store
            .write(move |c| sessions::touch(c, &token_hash, now)),
    );
    let merchant_id = row.merchant_id.clone();
    let merchant = cabinet
        .read(move |c| merchants::by_id(c, &merchant_id))
        .await
        .ok()??;
    Some(Current {
        merchant,
        csrf: row.csrf_token,
        token_hash,
    })
}

/// Renders a template with a status and extra cookies.
pub(crate) fn render(template: &impl Template, status: StatusCode, cookies: &[String]) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (
                status,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response();
            for cookie in cookies {
                if let Ok(value) = HeaderValue::from_str(cookie) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// 303 to the login page.
pub(crate) fn to_login() -> Response {
    Redirect::to("/login").into_response()
}

/// 403: a POST without the right CSRF token; nothing was changed.
pub(crate) fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "403: the form is out of date or not ours; reload the page and try again.\n",
    )
        .into_response()
}

/// 404: not this merchant's (or no such) thing; the same answer for both.
pub(crate) fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404: not found.\n").into_response()
}

/// 500 after a store failure, logged.
pub(crate) fn failure(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "the cabinet could not reach the store");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "500: please try again in a moment.\n",
    )
        .into_response()
}

/// What is wrong with a new password and its repeated copy, each message
/// for its own field; the repeat is judged only once the password is good.
/// `rule` is [`cabinet_password_problem`] or [`app_password_problem`].
pub(crate) fn new_password_errors(
    t: &'static Texts,
    password: &str,
    repeat: &str,
    rule: fn(&'static Texts, &str) -> Option<&'static str>,
) -> (Option<&'static str>, Option<&'static str>) {
    let password_error = rule(t, password);
    let repeat_error =
        (password_error.is_none() && password != repeat).then_some(t.passwords_differ);
    (password_error, repeat_error)
}

/// The cabinet's words for what the domain finds wrong with a new cabinet
/// password, if anything.
pub(crate) fn cabinet_password_problem(t: &'static Texts, password: &str) -> Option<&'static str> {
    CabinetPassword::new(password)
        .err()
        .map(|error| match error {
            CabinetPasswordError::TooShort => t.password_too_short,
        })
}

/// The cabinet's words for what the domain finds wrong with a new app
/// password (the app sends it in DE 48), if anything.
pub(crate) fn app_password_problem(t: &'static Texts, password: &str) -> Option<&'static str> {
    AppPassword::new(password).err().map(|error| match error {
        AppPasswordError::TooShort => t.password_too_short,
        AppPasswordError::TooLong => t.password_too_long,
        AppPasswordError::NotPrintable | AppPasswordError::SurroundingSpaces => {
            t.password_not_ascii
        }
    })
}

/// Percent-encodes a query value onto `out`: everything but the unreserved
/// characters, so any serial or filter text makes a safe link.
pub(crate) fn percent_encode(value: &str, out: &mut String) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> i64 {
    mpos_store::ops::now_millis()
}
