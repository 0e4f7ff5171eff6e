//! `/password/forgot` and `/password/reset?token=…`: a merchant who forgot
//! the cabinet password asks for a link by e-mail (manual, section 4.5),
//! opens it, and sets a new password.
//!
//! - The forgot page gives one answer, at once, whether or not the e-mail is
//!   registered: the lookup, the token and the e-mail happen in a spawned
//!   task after the answer, so neither the text nor the time tells.
//! - The token is 256 random bits, e-mailed as a link on the public URL and
//!   stored only as its SHA-256; it is valid for an hour, usable once, and a
//!   newer one voids the older ones. It never reaches the logs. At most five
//!   links per merchant per hour are e-mailed, so the page cannot flood a
//!   mailbox; the visitor's answer is the same either way.
//! - A reset stores the new PBKDF2 hash, uses the token, ends every session
//!   of the merchant, lifts a login lockout and writes the audit log, all in
//!   one writer job; then the merchant is sent to `/login` with a notice.
//! - A link that does not work (unknown, expired, used, replaced) gets one
//!   clear page with a way to ask again, status 400, never a 500.

use super::login::anonymous_csrf;
use super::{
    GuestCsrfForm, Language, NewPasswordForm, PageError, RememberedLang, cabinet_password_problem,
    ending_session, hash_password, new_password_errors, now_millis, render,
};
use crate::Cabinet;
use crate::i18n::{Lang, Texts};
use crate::mail::Email;
use crate::session;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mpos_store::fault_log::FaultLog;
use mpos_store::ops::audit::{self, Actor};
use mpos_store::ops::{login_attempts, merchants, reset_tokens, sessions};
use serde::Deserialize;
use std::sync::Arc;

/// How long an e-mailed link works.
pub const TOKEN_TTL_MS: i64 = 60 * 60 * 1000;
/// Longest e-mail address (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

#[derive(Template)]
#[template(path = "forgot.html")]
struct ForgotPage<'a> {
    t: &'a Texts,
    lang: &'a str,
    csrf: &'a str,
    email: &'a str,
    sent: bool,
    email_error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage<'a> {
    t: &'a Texts,
    lang: &'a str,
    csrf: &'a str,
    token: &'a str,
    new_password_error: Option<&'a str>,
    repeat_error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "reset_invalid.html")]
struct InvalidLinkPage<'a> {
    t: &'a Texts,
    lang: &'a str,
}

/// GET /password/forgot.
pub async fn forgot_form(
    State(cabinet): State<Arc<Cabinet>>,
    headers: HeaderMap,
    language: Language,
) -> Result<Response, PageError> {
    let lang = language.lang;
    let (csrf, csrf_cookie) = anonymous_csrf(&cabinet, &headers);
    let page = ForgotPage {
        t: lang.texts(),
        lang: lang.code(),
        csrf: &csrf,
        email: "",
        sent: false,
        email_error: None,
    };
    let cookies: Vec<String> = language.remember.into_iter().chain(csrf_cookie).collect();
    render(&page, StatusCode::OK, &cookies)
}

/// The forgot form's fields (beside its CSRF token); all optional so that a
/// forged form without them is a 403, not a parse error.
#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// POST /password/forgot: the same answer for every well-formed e-mail;
/// the link, if any, is made and sent after it.
pub async fn forgot_submit(
    State(cabinet): State<Arc<Cabinet>>,
    RememberedLang(lang): RememberedLang,
    GuestCsrfForm { csrf, form }: GuestCsrfForm<ForgotForm>,
) -> Result<Response, PageError> {
    let t = lang.texts();
    let email = form.email.trim();
    let email_error = email_problem(email, t);
    if email_error.is_none() {
        tokio::spawn(send_link(Arc::clone(&cabinet), email.to_owned()));
    }
    let page = ForgotPage {
        t,
        lang: lang.code(),
        csrf: &csrf,
        email: if email_error.is_some() { email } else { "" },
        sent: email_error.is_none(),
        email_error,
    };
    let status = if email_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(&page, status, &[])
}

/// `?token=` (and `?lang=`, which [`Language`] reads).
#[derive(Deserialize)]
pub struct ResetQuery {
    token: Option<String>,
}

/// GET /password/reset?token=…: the new password form, or the page of a
/// link that does not work.
pub async fn reset_form(
    State(cabinet): State<Arc<Cabinet>>,
    headers: HeaderMap,
    language: Language,
    Query(query): Query<ResetQuery>,
) -> Result<Response, PageError> {
    let lang = language.lang;
    let Some(token) = valid_token(&cabinet, &query).await? else {
        return invalid_link(lang, language.cookies());
    };
    let (csrf, csrf_cookie) = anonymous_csrf(&cabinet, &headers);
    let page = ResetPage {
        t: lang.texts(),
        lang: lang.code(),
        csrf: &csrf,
        token,
        new_password_error: None,
        repeat_error: None,
    };
    let cookies: Vec<String> = language.remember.into_iter().chain(csrf_cookie).collect();
    render(&page, StatusCode::OK, &cookies)
}

/// POST /password/reset?token=…: sets the new password and uses the token.
pub async fn reset_submit(
    State(cabinet): State<Arc<Cabinet>>,
    RememberedLang(lang): RememberedLang,
    Query(query): Query<ResetQuery>,
    GuestCsrfForm { csrf, form }: GuestCsrfForm<NewPasswordForm>,
) -> Result<Response, PageError> {
    let t = lang.texts();
    let Some(token) = valid_token(&cabinet, &query).await? else {
        return invalid_link(lang, &[]);
    };
    let hash = session::token_hash(token);
    let (new_password_error, repeat_error) = new_password_errors(
        t,
        &form.new_password,
        &form.new_password_repeat,
        cabinet_password_problem,
    );
    if new_password_error.is_some() || repeat_error.is_some() {
        let page = ResetPage {
            t,
            lang: lang.code(),
            csrf: &csrf,
            token,
            new_password_error,
            repeat_error,
        };
        return render(&page, StatusCode::BAD_REQUEST, &[]);
    }
    let password_hash = hash_password(&cabinet, form.new_password).await?;
    // The hash took a while: the token is checked again, and used, in the
    // same job as the change it allows.
    let now = now_millis();
    let reset = cabinet
        .store
        .write(move |tx| {
            let Some(merchant_id) = reset_tokens::take(tx, &hash, now)? else {
                return Ok(false);
            };
            if !merchants::set_password_hash(tx, &merchant_id, &password_hash)? {
                return Err(mpos_store::StoreError::NoMerchant(merchant_id));
            }
            let ended = sessions::delete_for_merchant(tx, &merchant_id, None)?;
            if let Some(merchant) = merchants::by_id(tx, &merchant_id)? {
                login_attempts::forget_failures(tx, &merchant.email)?;
            }
            let detail = format!("by the e-mailed link; {ended} session(s) ended");
            audit::record(
                tx,
                &Actor::Merchant(merchant_id.clone()),
                Some(&merchant_id),
                "merchant.password_reset",
                Some(&merchant_id),
                Some(&detail),
            )?;
            Ok(true)
        })
        .await?;
    if !reset {
        // Used or voided while the password was being hashed.
        return invalid_link(lang, &[]);
    }
    Ok(ending_session(
        &cabinet,
        Redirect::to("/login?reset=done").into_response(),
    ))
}

/// The query's token if it is well formed and still valid (unknown,
/// expired, used and replaced ones are `None`).
async fn valid_token<'q>(
    cabinet: &Cabinet,
    query: &'q ResetQuery,
) -> Result<Option<&'q str>, PageError> {
    let Some(token) = query.token.as_deref().filter(|t| well_formed(t)) else {
        return Ok(None);
    };
    let (hash, now) = (session::token_hash(token), now_millis());
    let found = cabinet
        .read(move |reader| reset_tokens::find_valid(reader, &hash, now))
        .await?;
    Ok(found.map(|_| token))
}

/// Why `email` cannot be an e-mail address, if it cannot. Only the form is
/// checked, never whether anyone has it.
fn email_problem(email: &str, t: &'static Texts) -> Option<&'static str> {
    if email.is_empty() {
        return Some(t.email_required);
    }
    let well_formed = email.len() <= MAX_EMAIL
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .rsplit_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    (!well_formed).then_some(t.email_invalid)
}

/// Whether `token` looks like one of ours (64 lowercase hex digits); others
/// are refused without a lookup.
fn well_formed(token: &str) -> bool {
    token.len() == 64
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The page of a link that does not work, with a way to ask again.
fn invalid_link(lang: Lang, cookies: &[String]) -> Result<Response, PageError> {
    let page = InvalidLinkPage {
        t: lang.texts(),
        lang: lang.code(),
    };
    render(&page, StatusCode::BAD_REQUEST, cookies)
}

/// The audit action of an e-mailed recovery link; rate limits count them.
const REQUESTED: &str = "merchant.password_reset_requested";
/// The audit action of a request refused by the rate limit.
const THROTTLED: &str = "merchant.password_reset_throttled";
/// At most this many recovery e-mails per merchant per window, so that the
/// forgot page cannot be used to flood a merchant's mailbox.
const MAX_LINKS_PER_WINDOW: u64 = 5;
/// The rate limit's window: an hour, the life of a link.
const LINKS_WINDOW_MS: i64 = TOKEN_TTL_MS;

/// After the forgot page has answered: if `email` is a merchant's, make a
/// token, keep its hash, and e-mail the link. Failures are logged without
/// the token or the address and change nothing the visitor sees.
async fn send_link(cabinet: Arc<Cabinet>, email: String) {
    let merchant = match cabinet
        .read(move |reader| merchants::by_email(reader, &email))
        .await
    {
        Ok(Some(merchant)) => merchant,
        Ok(None) => return,
        Err(error) => {
            tracing::error!(%error, "password recovery: the merchant could not be looked up");
            return;
        }
    };
    let Some(token) = session::new_token() else {
        tracing::error!("password recovery: no randomness for a token");
        return;
    };
    let (hash, now) = (session::token_hash(&token), now_millis());
    let merchant_id = merchant.id.clone();
    let stored = cabinet
        .store
        .write(move |tx| {
            let recent = audit::count_since(tx, &merchant_id, REQUESTED, now - LINKS_WINDOW_MS)?;
            if recent >= MAX_LINKS_PER_WINDOW {
                audit::record(
                    tx,
                    &Actor::System,
                    Some(&merchant_id),
                    THROTTLED,
                    Some(&merchant_id),
                    Some("too many recovery links this hour: none e-mailed"),
                )?;
                return Ok(false);
            }
            reset_tokens::create(tx, &hash, &merchant_id, now, now + TOKEN_TTL_MS)?;
            audit::record(
                tx,
                &Actor::System,
                Some(&merchant_id),
                REQUESTED,
                Some(&merchant_id),
                Some("a recovery link was e-mailed"),
            )?;
            Ok(true)
        })
        .await;
    match stored {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(merchant = %merchant.id, "password recovery: too many links this hour, none sent");
            return;
        }
        Err(error) => {
            tracing::error!(merchant = %merchant.id, %error, "password recovery: the token could not be stored");
            return;
        }
    }
    let link = format!(
        "{}/password/reset?token={token}",
        cabinet.config.public_url.trim_end_matches('/')
    );
    match cabinet
        .config
        .mail
        .send(reset_email(merchant.email, &link))
        .await
    {
        Ok(()) => {
            MAIL.succeeded();
            tracing::info!(merchant = %merchant.id, "password recovery: link e-mailed");
        }
        Err(error) => {
            // A mail server that is down fails every e-mail: logged when it
            // starts, every 10 s with a count, and when it ends.
            MAIL.failed(&error);
            tracing::debug!(merchant = %merchant.id, %error, "password recovery: the e-mail was not sent");
        }
    }
}

/// Sending mail, as a fault that may repeat (the mail server down).
static MAIL: FaultLog = FaultLog::new("sending mail");

/// The e-mail: Russian first, then English, the link in both.
fn reset_email(to: String, link: &str) -> Email {
    let (ru, en) = (Lang::Ru.texts(), Lang::En.texts());
    Email {
        to,
        subject: format!("{} / {}", ru.reset_mail_subject, en.reset_mail_subject),
        text: format!(
            "{}\n----------------------------------------\n\n{}",
            ru.reset_mail_text.replace("{link}", link),
            en.reset_mail_text.replace("{link}", link)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_form_of_an_e_mail_is_checked() {
        let t = Lang::Ru.texts();
        assert_eq!(email_problem("", t), Some(t.email_required));
        for bad in ["demo", "@merchant.test", "demo@", "de mo@merchant.test"] {
            assert_eq!(email_problem(bad, t), Some(t.email_invalid), "{bad}");
        }
        assert_eq!(
            email_problem(&format!("{}@x.by", "a".repeat(250)), t),
            Some(t.email_invalid)
        );
        assert_eq!(email_problem("nobody@merchant.test", t), None);
    }

    #[test]
    fn tokens_of_another_form_are_refused_before_any_lookup() {
        let token = session::new_token().unwrap();
        assert!(well_formed(&token));
        assert!(!well_formed(&token.to_uppercase()));
        assert!(!well_formed(&token[1..]));
        assert!(!well_formed(&format!("{}%", &token[1..])));
    }

    #[test]
    fn the_e_mail_holds_the_link_in_russian_then_english() {
        let link = "https://mpos.mtbank.by/password/reset?token=abc";
        let email = reset_email("demo@merchant.test".into(), link);
        assert!(email.subject.starts_with("МТБанк mPOS"));
        assert_eq!(email.text.matches(link).count(), 2);
        let (ru, en) = (
            email.text.find("Здравствуйте").unwrap(),
            email.text.find("Hello").unwrap(),
        );
        assert!(ru < en);
        assert!(!email.text.contains("{link}"));
    }
}
