//! `/password`: the merchant changes the cabinet password. The current one
//! must be right; the new one has at least 10 characters and both copies
//! agree; on success the merchant's other sessions end, any password reset
//! link e-mailed before stops working, and the change is audited.

use super::{
    cabinet_password_problem, current, failure, forbidden, language, new_password_errors, render,
    to_login,
};
use crate::Cabinet;
use crate::i18n::Texts;
use crate::session;
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mpos_domain::password::PasswordHash;
use mpos_store::ops::audit::{self, Actor};
use mpos_store::ops::{merchants, reset_tokens, sessions};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage<'a> {
    t: &'a Texts,
    lang: &'a str,
    csrf: &'a str,
    active: &'a str,
    done: bool,
    current_error: Option<&'a str>,
    new_password_error: Option<&'a str>,
    repeat_error: Option<&'a str>,
}

/// `?lang=` and `?done=1` (after a change).
#[derive(Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
    done: Option<String>,
}

/// GET /password.
pub async fn form(
    State(cabinet): State<Arc<Cabinet>>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    let Some(me) = current(&cabinet, &headers).await else {
        return to_login();
    };
    let (lang, remember) = language(&headers, query.lang.as_deref());
    let page = PasswordPage {
        t: lang.texts(),
        lang: lang.code(),
        csrf: &me.csrf,
        active: "password",
        done: query.done.as_deref() == Some("1"),
        current_error: None,
        new_password_error: None,
        repeat_error: None,
    };
    render(
        &page,
        StatusCode::OK,
        &remember.into_iter().collect::<Vec<_>>(),
    )
}

/// The form's fields.
#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_repeat: String,
    #[serde(default)]
    csrf_token: String,
}

/// POST /password.
pub async fn submit(
    State(cabinet): State<Arc<Cabinet>>,
    headers: HeaderMap,
    Form(form): Form<ChangeForm>,
) -> Response {
    let Some(me) = current(&cabinet, &headers).await else {
        return to_login();
    };
    if !session::same_secret(&me.csrf, &form.csrf_token) {
        return forbidden();
    }
    let (lang, _) = language(&headers, None);
    let t = lang.texts();
    let stored = me.merchant.password_hash.clone();
    let given = form.current_password.clone();
    let current_ok = tokio::task::spawn_blocking(move || {
        PasswordHash::parse(&stored).is_ok_and(|h| h.verify(&given))
    })
    .await
    .unwrap_or(false);
    let current_error = (!current_ok).then_some(t.wrong_current);
    let (new_password_error, repeat_error) = new_password_errors(
        t,
        &form.new_password,
        &form.new_password_repeat,
        cabinet_password_problem,
    );
    if current_error.is_some() || new_password_error.is_some() || repeat_error.is_some() {
        let page = PasswordPage {
            t,
            lang: lang.code(),
            csrf: &me.csrf,
            active: "password",
            done: false,
            current_error,
            new_password_error,
            repeat_error,
        };
        return render(&page, StatusCode::BAD_REQUEST, &[]);
    }
    let new_password = form.new_password;
    let hash = match tokio::task::spawn_blocking(move || PasswordHash::new(&new_password)).await {
        Ok(Ok(hash)) => hash.as_str().to_owned(),
        Ok(Err(error)) => return failure(error),
        Err(error) => return failure(error),
    };
    let (merchant, keep) = (me.merchant.id.clone(), me.token_hash);
    let changed = cabinet
        .store
        .write(move |c| {
            merchants::set_password_hash(c, &merchant, &hash)?;
            let ended = sessions::delete_for_merchant(c, &merchant, Some(&keep))?;
            let voided = reset_tokens::void_for_merchant(c, &merchant)?;
            let detail = format!("{ended} other session(s) ended, {voided} reset link(s) voided");
            audit::record(
                c,
                &Actor::Merchant(merchant.clone()),
                Some(&merchant),
                "merchant.password_changed",
                Some(&merchant),
                Some(&detail),
            )
        })
        .await;
    match changed {
        Ok(()) => Redirect::to("/password?done=1").into_response(),
        Err(error) => failure(error),
    }
}
