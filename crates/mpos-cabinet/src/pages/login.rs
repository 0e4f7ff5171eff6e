//! `/login` and `/logout`. One message for any login failure (no hint
//! whether the e-mail exists, and an unknown e-mail costs a password check
//! too); five failures for an e-mail within 15 minutes lock its logins for
//! 15 minutes; twenty from one client address within a minute answer its
//! logins 429 for the rest of that minute, before any password is checked
//! (`throttle.rs`). Every check runs on the process's shared password pool.

use super::{
    CsrfForm, GuestCsrfForm, Language, PageError, RememberedLang, SignedIn, ending_session,
    now_millis, render, with_cookie,
};
use crate::Cabinet;
use crate::i18n::Texts;
use crate::session::{self, CSRF_COOKIE, SESSION_COOKIE};
use crate::throttle::RetryAfter;
use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use mpos_store::ops::{login_attempts, merchants, sessions};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// Failures that lock an e-mail.
const MAX_FAILURES: u32 = 5;
/// The window of counted failures, and the length of the lock.
const LOCK_MS: i64 = 15 * 60 * 1000;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'a Texts,
    lang: &'a str,
    csrf: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

/// `?reset=done` after a password recovery (and `?lang=`, which
/// [`Language`] reads).
#[derive(Deserialize)]
pub struct LoginQuery {
    reset: Option<String>,
}

/// GET /login.
pub async fn form(
    State(cabinet): State<Arc<Cabinet>>,
    headers: HeaderMap,
    language: Language,
    Query(query): Query<LoginQuery>,
    me: Option<SignedIn>,
) -> Result<Response, PageError> {
    if me.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    let lang = language.lang;
    let (csrf, csrf_cookie) = anonymous_csrf(&cabinet, &headers);
    let page = LoginPage {
        t: lang.texts(),
        lang: lang.code(),
        csrf: &csrf,
        email: "",
        error: None,
        notice: (query.reset.as_deref() == Some("done"))
            .then_some(lang.texts().password_reset_done),
    };
    let cookies: Vec<String> = language.remember.into_iter().chain(csrf_cookie).collect();
    render(&page, StatusCode::OK, &cookies)
}

/// The login form's fields (beside its CSRF token); all optional so that a
/// forged form without them is a 403, not a parse error.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// POST /login. The client's address is the TCP peer's (`ConnectInfo`,
/// which the server gives every request).
pub async fn submit(
    State(cabinet): State<Arc<Cabinet>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RememberedLang(lang): RememberedLang,
    GuestCsrfForm { csrf, form }: GuestCsrfForm<LoginForm>,
) -> Result<Response, PageError> {
    let again = |error: &str, status| {
        let page = LoginPage {
            t: lang.texts(),
            lang: lang.code(),
            csrf: &csrf,
            email: form.email.trim(),
            error: Some(error),
            notice: None,
        };
        render(&page, status, &[])
    };
    let email = form.email.trim().to_owned();
    let now = now_millis();
    // First, before the store or any hashing: a sprayer's address is
    // refused for the rest of its minute at the cost of a map lookup.
    let counted = match cabinet.throttle.begin(peer.ip(), now) {
        Ok(counted) => counted,
        Err(RetryAfter(seconds)) => {
            let t = lang.texts();
            let error = format!("{} {seconds} {}.", t.address_throttled, t.seconds);
            let mut answer = again(&error, StatusCode::TOO_MANY_REQUESTS)?;
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            return Ok(answer);
        }
    };
    let lookup = email.clone();
    let failures = cabinet
        .read(move |reader| login_attempts::failures_since(reader, &lookup, now - LOCK_MS))
        .await;
    let (failures, _) = failures.inspect_err(|_| cabinet.throttle.forgive(counted))?;
    if failures >= MAX_FAILURES {
        // No password checked: the per-e-mail lock answers on its own.
        cabinet.throttle.forgive(counted);
        return again(lang.texts().locked, StatusCode::TOO_MANY_REQUESTS);
    }
    let lookup = email.clone();
    let merchant = cabinet
        .read(move |reader| merchants::by_email(reader, &lookup))
        .await
        .inspect_err(|_| cabinet.throttle.forgive(counted))?;
    let passwords = &cabinet.config.passwords;
    let password = form.password.clone();
    // Same cost for an unknown e-mail: the timing tells nothing.
    let matches = match merchant.as_ref() {
        Some(m) => passwords.verify(m.password_hash.clone(), password).await,
        None => passwords.verify_unknown(password).await,
    };
    let Some(merchant) = merchant.filter(|_| matches) else {
        let recorded = email.clone();
        cabinet
            .store
            .write(move |tx| login_attempts::record(tx, &recorded, now, false))
            .await?;
        return again(lang.texts().login_failed, StatusCode::UNAUTHORIZED);
    };
    cabinet.throttle.forgive(counted);
    let (Some(token), Some(session_csrf)) = (session::new_token(), session::new_token()) else {
        return Err(PageError::NoRandomness);
    };
    let hash = session::token_hash(&token);
    let merchant_id = merchant.id.clone();
    cabinet
        .store
        .write(move |tx| {
            login_attempts::record(tx, &email, now, true)?;
            sessions::create(tx, &hash, &merchant_id, &session_csrf, now)
        })
        .await?;
    let cookie = session::set_cookie(
        SESSION_COOKIE,
        &token,
        cabinet.secure_cookies(),
        "Lax",
        None,
    );
    Ok(with_cookie(Redirect::to("/").into_response(), &cookie))
}

/// POST /logout: ends the session (its form has only the CSRF token).
pub async fn logout(
    State(cabinet): State<Arc<Cabinet>>,
    CsrfForm { me, .. }: CsrfForm<()>,
) -> Result<Response, PageError> {
    let token_hash = me.token_hash;
    cabinet
        .store
        .write(move |tx| sessions::delete(tx, &token_hash))
        .await?;
    Ok(ending_session(
        &cabinet,
        Redirect::to("/login").into_response(),
    ))
}

/// The double-submit CSRF token of a form shown before login: the
/// request's cookie if this process signed it, or a new signed one to set
/// (empty, so that the form answers 403, only if randomness failed).
pub(super) fn anonymous_csrf(cabinet: &Cabinet, headers: &HeaderMap) -> (String, Option<String>) {
    let key = cabinet.csrf_key.as_ref();
    match session::cookie(headers, CSRF_COOKIE).filter(|t| key.is_some_and(|k| k.signed(t))) {
        Some(token) => (token.to_owned(), None),
        None => {
            let token = key
                .and_then(session::CsrfKey::new_token)
                .unwrap_or_default();
            let cookie = session::set_cookie(
                CSRF_COOKIE,
                &token,
                cabinet.secure_cookies(),
                "Strict",
                None,
            );
            (token, Some(cookie))
        }
    }
}
