//! `/password`: the merchant changes the cabinet password. The current one
//! must be right; the new one has at least 10 characters and both copies
//! agree; on success the merchant's other sessions end, any password reset
//! link e-mailed before stops working, and the change is audited.

use super::{
    CsrfForm, Language, PageError, RememberedLang, SignedIn, cabinet_password_problem,
    hash_password, new_password_errors, render,
};
use crate::Cabinet;
use crate::i18n::Texts;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
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

/// `?done=1` after a change (and `?lang=`, which [`Language`] reads).
#[derive(Deserialize)]
pub struct PageQuery {
    done: Option<String>,
}

/// GET /password.
pub async fn form(
    language: Language,
    Query(query): Query<PageQuery>,
    me: SignedIn,
) -> Result<Response, PageError> {
    let lang = language.lang;
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
    render(&page, StatusCode::OK, language.cookies())
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
}

/// POST /password.
pub async fn submit(
    State(cabinet): State<Arc<Cabinet>>,
    RememberedLang(lang): RememberedLang,
    CsrfForm { me, form }: CsrfForm<ChangeForm>,
) -> Result<Response, PageError> {
    let t = lang.texts();
    let current_ok = cabinet
        .config
        .passwords
        .verify(
            me.merchant.password_hash.clone(),
            form.current_password.clone(),
        )
        .await;
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
    let hash = hash_password(&cabinet, form.new_password).await?;
    let (merchant, keep) = (me.merchant.id.clone(), me.token_hash);
    cabinet
        .store
        .write(move |tx| {
            merchants::set_password_hash(tx, &merchant, &hash)?;
            let ended = sessions::delete_for_merchant(tx, &merchant, Some(&keep))?;
            let voided = reset_tokens::void_for_merchant(tx, &merchant)?;
            let detail = format!("{ended} other session(s) ended, {voided} reset link(s) voided");
            audit::record(
                tx,
                &Actor::Merchant(merchant.clone()),
                Some(&merchant),
                "merchant.password_changed",
                Some(&merchant),
                Some(&detail),
            )
        })
        .await?;
    Ok(Redirect::to("/password?done=1").into_response())
}
