//! `/login` and `/logout`. One message for any login failure (no hint
//! whether the e-mail exists, and an unknown e-mail costs a password check
//! too); five failures for an e-mail within 15 minutes lock its logins for
//! 15 minutes.

use super::{
    CsrfForm, GuestCsrfForm, Language, PageError, RememberedLang, SignedIn, ending_session,
    now_millis, render, with_cookie,
};
use crate::Cabinet;
use crate::i18n::Texts;
use crate::session::{self, CSRF_COOKIE, SESSION_COOKIE};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mpos_domain::password::PasswordHash;
use mpos_store::ops::{login_attempts, merchants, sessions};
use serde::Deserialize;
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

/// POST /login.
pub async fn submit(
    State(cabinet): State<Arc<Cabinet>>,
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
    let counted = email.clone();
    let (failures, _) = cabinet
        .read(move |c| login_attempts::failures_since(c, &counted, now - LOCK_MS))
        .await?;
    if failures >= MAX_FAILURES {
        return again(lang.texts().locked, StatusCode::TOO_MANY_REQUESTS);
    }
    let lookup = email.clone();
    let merchant = cabinet
        .read(move |c| merchants::by_email(c, &lookup))
        .await?;
    let stored = merchant.as_ref().map(|m| m.password_hash.clone());
    let password = form.password.clone();
    let cabinet_for_check = Arc::clone(&cabinet);
    let matches = tokio::task::spawn_blocking(move || match stored {
        Some(hash) => PasswordHash::parse(&hash).is_ok_and(|h| h.verify(&password)),
        None => {
            // Same cost for an unknown e-mail: the timing tells nothing.
            let decoy = cabinet_for_check
                .decoy
                .get_or_init(|| PasswordHash::new("decoy: no merchant has this password").ok());
            let _ = decoy.as_ref().map(|h| h.verify(&password));
            false
        }
    })
    .await
    .unwrap_or(false);
    let Some(merchant) = merchant.filter(|_| matches) else {
        let recorded = email.clone();
        cabinet
            .store
            .write(move |c| login_attempts::record(c, &recorded, now, false))
            .await?;
        return again(lang.texts().login_failed, StatusCode::UNAUTHORIZED);
    };
    let (Some(token), Some(session_csrf)) = (session::new_token(), session::new_token()) else {
        return Err(PageError::NoRandomness);
    };
    let hash = session::token_hash(&token);
    let merchant_id = merchant.id.clone();
    cabinet
        .store
        .write(move |c| {
            login_attempts::record(c, &email, now, true)?;
            sessions::create(c, &hash, &merchant_id, &session_csrf, now)
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
        .write(move |c| sessions::delete(c, &token_hash))
        .await?;
    Ok(ending_session(
        &cabinet,
        Redirect::to("/login").into_response(),
    ))
}

/// The double-submit CSRF token of a form shown before login: the
/// request's cookie, or a new one to set.
pub(super) fn anonymous_csrf(cabinet: &Cabinet, headers: &HeaderMap) -> (String, Option<String>) {
    match session::cookie(headers, CSRF_COOKIE).filter(|t| t.len() == 64) {
        Some(token) => (token.to_owned(), None),
        None => {
            let token = session::new_token().unwrap_or_default();
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
