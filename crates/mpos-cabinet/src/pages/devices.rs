//! `/devices`: the merchant's card readers, their state toggle and their
//! app password. Another merchant's serial answers 404 exactly like one
//! that does not exist. Every change is audited, and the host sees it for
//! the device's next message (the directory is refreshed after the commit).
//! Links and form actions carry the serial percent-encoded ([`device_path`]),
//! so any serial an operator may create (`MPOS/77?x#y`) can be managed.

use super::{
    CsrfForm, Language, NewPasswordForm, PageError, RememberedLang, SignedIn, app_password_problem,
    hash_password, new_password_errors, render,
};
use crate::Cabinet;
use crate::i18n::Texts;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use mpos_domain::rules::locked_until;
use mpos_store::ops::audit::Actor;
use mpos_store::ops::{devices, sign_on_failures};
use serde::Deserialize;
use std::sync::Arc;

/// One row of the devices table.
struct DeviceLine {
    serial: String,
    /// `/devices/<serial percent-encoded>`, the base of its actions.
    path: String,
    blocked: bool,
    last_sign_on: String,
    /// When its password sign-ons unlock, if wrong passwords locked them.
    locked_until: Option<String>,
}

#[derive(Template)]
#[template(path = "devices.html")]
struct DevicesPage<'a> {
    t: &'a Texts,
    lang: &'a str,
    csrf: &'a str,
    active: &'a str,
    devices: Vec<DeviceLine>,
    /// What the last change did, e.g. «Терминал MPOS-0002 заблокирован…».
    notice: Option<String>,
}

/// After a change, `?done=` with the device's `serial` (and `?lang=`, which
/// [`Language`] reads).
#[derive(Deserialize)]
pub struct DevicesQuery {
    done: Option<String>,
    serial: Option<String>,
}

/// What a change did, as the redirect after it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Done {
    Blocked,
    Unblocked,
    AppPassword,
}

impl Done {
    fn code(self) -> &'static str {
        match self {
            Done::Blocked => "blocked",
            Done::Unblocked => "unblocked",
            Done::AppPassword => "app_password",
        }
    }

    fn parse(text: &str) -> Option<Done> {
        [Done::Blocked, Done::Unblocked, Done::AppPassword]
            .into_iter()
            .find(|done| done.code() == text)
    }

    fn notice(self, t: &Texts, serial: &str) -> String {
        let what = match self {
            Done::Blocked => t.notice_blocked,
            Done::Unblocked => t.notice_unblocked,
            Done::AppPassword => t.notice_app_password,
        };
        format!("{} {serial}{what}", t.notice_reader)
    }
}

#[derive(Template)]
#[template(path = "device_password.html")]
struct PasswordPage<'a> {
    t: &'a Texts,
    lang: &'a str,
    csrf: &'a str,
    active: &'a str,
    serial: &'a str,
    /// [`device_path`] of the serial: the form's action.
    path: &'a str,
    new_password_error: Option<&'a str>,
    repeat_error: Option<&'a str>,
}

/// GET /devices.
pub async fn list(
    State(cabinet): State<Arc<Cabinet>>,
    language: Language,
    Query(query): Query<DevicesQuery>,
    me: SignedIn,
) -> Result<Response, PageError> {
    let merchant = me.merchant.id.clone();
    let now = mpos_store::ops::now_millis();
    // Each reader with when its password lockout ends, if it is locked.
    let rows = cabinet
        .read(move |reader| {
            devices::list(reader, Some(&merchant))?
                .into_iter()
                .map(|d| {
                    let (in_window, latest) = sign_on_failures::latest(reader, &d.serial)?;
                    Ok((d, locked_until(in_window, latest, now)))
                })
                .collect::<Result<Vec<_>, mpos_store::StoreError>>()
        })
        .await?;
    let t = language.lang.texts();
    // Only about one of the merchant's own devices: the query is not trusted.
    let notice = query
        .done
        .as_deref()
        .and_then(Done::parse)
        .zip(query.serial.as_deref())
        .filter(|(_, serial)| rows.iter().any(|(d, _)| d.serial == *serial))
        .map(|(done, serial)| done.notice(t, serial));
    let local = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms).ok().map(|at| {
            cabinet
                .config
                .business_day
                .zone()
                .to_datetime(at)
                .strftime("%d.%m.%Y %H:%M")
                .to_string()
        })
    };
    let devices = rows
        .into_iter()
        .map(|(d, locked)| DeviceLine {
            last_sign_on: d
                .last_sign_on_at
                .and_then(local)
                .unwrap_or_else(|| t.never.to_owned()),
            locked_until: locked.and_then(local),
            path: device_path(&d.serial),
            serial: d.serial,
            blocked: d.blocked,
        })
        .collect();
    let page = DevicesPage {
        t,
        lang: language.lang.code(),
        csrf: &me.csrf,
        active: "devices",
        devices,
        notice,
    };
    render(&page, StatusCode::OK, language.cookies())
}

/// The state toggle's fields.
#[derive(Deserialize)]
pub struct StateForm {
    #[serde(default)]
    state: String,
}

/// POST /devices/{serial}/state: block or unblock.
pub async fn set_state(
    State(cabinet): State<Arc<Cabinet>>,
    Path(serial): Path<String>,
    CsrfForm { me, form }: CsrfForm<StateForm>,
) -> Result<Response, PageError> {
    let merchant = me.merchant;
    let blocked = match form.state.as_str() {
        "active" => false,
        "blocked" => true,
        _ => return Err(PageError::BadRequest("state must be active or blocked.")),
    };
    let done = if blocked {
        Done::Blocked
    } else {
        Done::Unblocked
    };
    let shown = serial.clone();
    let changed = cabinet
        .store
        .write(move |tx| {
            let actor = Actor::Merchant(merchant.id.clone());
            devices::set_blocked(tx, &serial, Some(&merchant.id), blocked, &actor)
        })
        .await?;
    match changed {
        None => Err(PageError::NotFound),
        Some(_) => Ok(after_change(&cabinet, done, &shown).await),
    }
}

/// GET /devices/{serial}/password.
pub async fn password_form(
    State(cabinet): State<Arc<Cabinet>>,
    Path(serial): Path<String>,
    language: Language,
    me: SignedIn,
) -> Result<Response, PageError> {
    owns(&cabinet, &me, &serial).await?;
    let lang = language.lang;
    let page = PasswordPage {
        t: lang.texts(),
        lang: lang.code(),
        csrf: &me.csrf,
        active: "devices",
        serial: &serial,
        path: &device_path(&serial),
        new_password_error: None,
        repeat_error: None,
    };
    render(&page, StatusCode::OK, language.cookies())
}

/// POST /devices/{serial}/password: a new app password; the device's
/// current sign-ons are revoked (its credentials version moves on).
pub async fn set_password(
    State(cabinet): State<Arc<Cabinet>>,
    Path(serial): Path<String>,
    RememberedLang(lang): RememberedLang,
    CsrfForm { me, form }: CsrfForm<NewPasswordForm>,
) -> Result<Response, PageError> {
    owns(&cabinet, &me, &serial).await?;
    let t = lang.texts();
    let password = form.new_password;
    let (new_password_error, repeat_error) = new_password_errors(
        t,
        &password,
        &form.new_password_repeat,
        app_password_problem,
    );
    if new_password_error.is_some() || repeat_error.is_some() {
        let page = PasswordPage {
            t,
            lang: lang.code(),
            csrf: &me.csrf,
            active: "devices",
            serial: &serial,
            path: &device_path(&serial),
            new_password_error,
            repeat_error,
        };
        return render(&page, StatusCode::BAD_REQUEST, &[]);
    }
    let hash = hash_password(&cabinet, password).await?;
    let merchant = me.merchant.id.clone();
    let shown = serial.clone();
    let changed = cabinet
        .store
        .write(move |tx| {
            let actor = Actor::Merchant(merchant.clone());
            devices::set_app_password(tx, &serial, Some(&merchant), &hash, &actor)
        })
        .await?;
    if !changed {
        return Err(PageError::NotFound);
    }
    Ok(after_change(&cabinet, Done::AppPassword, &shown).await)
}

/// `/devices/<serial>` with the serial percent-encoded as one path segment:
/// a `/`, `?` or `#` in it stays part of the serial (axum's `Path` decodes
/// it back).
pub(crate) fn device_path(serial: &str) -> String {
    let mut path = String::from("/devices/");
    super::percent_encode(serial, &mut path);
    path
}

/// Nothing if the signed-in merchant owns the device; 404 (the same for
/// another merchant's and for no such device) if not.
async fn owns(cabinet: &Cabinet, me: &SignedIn, serial: &str) -> Result<(), PageError> {
    let (merchant, serial) = (me.merchant.id.clone(), serial.to_owned());
    let owned = cabinet
        .read(move |reader| {
            Ok(devices::list(reader, Some(&merchant))?
                .iter()
                .any(|d| d.serial == serial))
        })
        .await?;
    owned.then_some(()).ok_or(PageError::NotFound)
}

/// After a committed change: the host's directory now, then back to the
/// list, which says what was done.
async fn after_change(cabinet: &Arc<Cabinet>, done: Done, serial: &str) -> Response {
    let store = cabinet.store.clone();
    // The poller would see it within 250 ms; refreshing now makes it at once.
    let _ = tokio::task::spawn_blocking(move || store.refresh_directory()).await;
    let mut location = format!("/devices?done={}&serial=", done.code());
    super::percent_encode(serial, &mut location);
    Redirect::to(&location).into_response()
}
