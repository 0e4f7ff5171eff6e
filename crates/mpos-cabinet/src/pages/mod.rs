//! One module per page, and what they share: the extractors every handler
//! takes (`extract.rs`: the language, the signed-in merchant, CSRF-checked
//! forms), the one error type they all end in (`error.rs`), rendering, and
//! the new-password rule.

pub mod devices;
mod error;
mod extract;
pub mod history;
pub mod home;
pub mod login;
pub mod password;
pub mod recovery;

pub(crate) use error::PageError;
pub(crate) use extract::{CsrfForm, GuestCsrfForm, Language, RememberedLang, SignedIn};

use crate::Cabinet;
use crate::i18n::Texts;
use crate::session::{self, SESSION_COOKIE};
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mpos_domain::input::{AppPassword, AppPasswordError, CabinetPassword, CabinetPasswordError};
use serde::Deserialize;

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

/// Renders a template with a status and extra cookies.
pub(crate) fn render(
    template: &impl Template,
    status: StatusCode,
    cookies: &[String],
) -> Result<Response, PageError> {
    let html = template.render()?;
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    for cookie in cookies {
        response = with_cookie(response, cookie);
    }
    Ok(response)
}

/// `response` with one more `Set-Cookie`.
pub(crate) fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `response` deleting the session cookie.
pub(crate) fn ending_session(cabinet: &Cabinet, response: Response) -> Response {
    let gone = session::set_cookie(SESSION_COOKIE, "", cabinet.secure_cookies(), "Lax", Some(0));
    with_cookie(response, &gone)
}

/// The stored form of a new password, hashed on the process's shared
/// password pool (it is slow on purpose, and must not take the CPU that
/// payments need).
pub(crate) async fn hash_password(
    cabinet: &Cabinet,
    password: String,
) -> Result<String, PageError> {
    let hash = cabinet.config.passwords.hash(password).await?;
    Ok(hash.as_str().to_owned())
}

/// The fields of a form that sets a new password (an app password, or the
/// cabinet's by an e-mailed link), beside its CSRF token; all optional so
/// that a forged form without them is a 403, not a parse error.
#[derive(Deserialize)]
pub struct NewPasswordForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_repeat: String,
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
