//! `/devices`: the merchant's card readers, their state toggle and their
//! app password. Another merchant's serial answers 404 exactly like one
//! that does not exist. Every change is audited, and the host sees it for
//! the device's next message (the directory is refreshed after the commit).

use super::{
    Current, app_password_problem, current, failure, forbidden, language, new_password_errors,
    not_found, render, to_login,
};
use crate::Cabinet;
use crate::i18n::Texts;
use crate::session;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mpos_domain::password::PasswordHash;
use mpos_store::ops::audit::{self, Actor};
use mpos_store::ops::devices;
use serde::Deserialize;
use std::sync::Arc;

/// One row of the devices table.
struct DeviceLine {
    serial: String,
    blocked: bool,
    last_sign_on: String,
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

/// `?lang=`, and after a change `?done=` with the device's `serial`.
#[derive(Deserialize)]
pub struct DevicesQuery {
    lang: Option<String>,
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
    new_password_error: Option<&'a str>,
    repeat_error: Option<&'a str>,
}

/// GET /devices.
pub async fn list(
    State(cabinet): State<Arc<Cabinet>>,
    headers: HeaderMap,
    Query(query): Query<DevicesQuery>,
) -> Response {
    let Some(me) = current(&cabinet, &headers).await else {
        return to_login();
    };
    let (lang, remember) = language(&headers, query.lang.as_deref());
    let merchant = me.merchant.id.clone();
    let rows = match cabinet
        .read(move |c| devices::list(c, Some(&merchant)))
        .await
    {
        Ok(rows) => rows,
        Err(error) => return failure(error),
    };
    let t = lang.texts();
    // Only about one of the merchant's own devices: the query is not trusted.
    let notice = query
        .done
        .as_deref()
        .and_then(Done::parse)
        .zip(query.serial.as_deref())
        .filter(|(_, serial)| rows.iter().any(|d| d.serial == *serial))
        .map(|(done, serial)| done.notice(t, serial));
    let devices = rows
        .into_iter()
        .map(|d| DeviceLine {
            last_sign_on: d
                .last_sign_on_at
                .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
                .map(|at| {
                    cabinet
                        .config
                        .time_zone
                        .to_datetime(at)
                        .strftime("%d.%m.%Y %H:%M")
                        .to_string()
                })
                .unwrap_or_else(|| t.never.to_owned()),
            serial: d.serial,
            blocked: d.blocked,
        })
        .collect();
    let page = DevicesPage {
        t,
        lang: lang.code(),
        csrf: &me.csrf,
        active: "devices",
        devices,
        notice,
    };
    render(
        &page,
        StatusCode::OK,
        &remember.into_iter().collect::<Vec<_>>(),
    )
}

/// The state toggle's fields.
#[derive(Deserialize)]
pub struct StateForm {
    #[serde(default)]
    state: String,
    #[serde(default)]
    csrf_token: String,
}

/// POST /devices/{serial}/state: block or unblock.
pub async fn set_state(
    State(cabinet): State<Arc<Cabinet>>,
    Path(serial): Path<String>,
    headers: HeaderMap,
    Form(form): Form<StateForm>,
) -> Response {
    let Some(Current { merchant, csrf, .. }) = current(&cabinet, &headers).await else {
        return to_login();
    };
    if !session::same_secret(&csrf, &form.csrf_token) {
        return forbidden();
    }
    let blocked = match form.state.as_str() {
        "active" => false,
        "blocked" => true,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                "400: state must be active or blocked.\n",
            )
                .into_response();
        }
    };
    let done = if blocked {
        Done::Blocked
    } else {
        Done::Unblocked
    };
    let shown = serial.clone();
    let changed = cabinet
        .store
        .write(move |c| {
            let changed = devices::set_blocked(c, &serial, Some(&merchant.id), blocked)?;
            if changed == Some(true) {
                let action = if blocked {
                    "device.blocked"
                } else {
                    "device.unblocked"
                };
                audit::record(
                    c,
                    &Actor::Merchant(merchant.id.clone()),
                    Some(&merchant.id),
                    action,
                    Some(&serial),
                    None,
                )?;
            }
            Ok(changed)
        })
        .await;
    match changed {
        Ok(None) => not_found(),
        Ok(Some(_)) => after_change(&cabinet, done, &shown).await,
        Err(error) => failure(error),
    }
}

/// GET /devices/{serial}/password.
pub async fn password_form(
    State(cabinet): State<Arc<Cabinet>>,
    Path(serial): Path<String>,
    headers: HeaderMap,
    Query(query): Query<super::login::LangQuery>,
) -> Response {
    let Some(me) = current(&cabinet, &headers).await else {
        return to_login();
    };
    match owns(&cabinet, &me, &serial).await {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(response) => return response,
    }
    let (lang, remember) = language(&headers, query.lang());
    let page = PasswordPage {
        t: lang.texts(),
        lang: lang.code(),
        csrf: &me.csrf,
        active: "devices",
        serial: &serial,
        new_password_error: None,
        repeat_error: None,
    };
    render(
        &page,
        StatusCode::OK,
        &remember.into_iter().collect::<Vec<_>>(),
    )
}

/// The app password form's fields.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_repeat: String,
    #[serde(default)]
    csrf_token: String,
}

/// POST /devices/{serial}/password: a new app password; the device's
/// current sign-ons are revoked (its credentials version moves on).
pub async fn set_password(
    State(cabinet): State<Arc<Cabinet>>,
    Path(serial): Path<String>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let Some(me) = current(&cabinet, &headers).await else {
        return to_login();
    };
    if !session::same_secret(&me.csrf, &form.csrf_token) {
        return forbidden();
    }
    match owns(&cabinet, &me, &serial).await {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(response) => return response,
    }
    let (lang, _) = language(&headers, None);
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
            new_password_error,
            repeat_error,
        };
        return render(&page, StatusCode::BAD_REQUEST, &[]);
    }
    let hash = match tokio::task::spawn_blocking(move || PasswordHash::new(&password)).await {
        Ok(Ok(hash)) => hash.as_str().to_owned(),
        Ok(Err(error)) => return failure(error),
        Err(error) => return failure(error),
    };
    let merchant = me.merchant.id.clone();
    let shown = serial.clone();
    let changed = cabinet
        .store
        .write(move |c| {
            let changed = devices::set_app_password(c, &serial, Some(&merchant), &hash)?;
            if changed {
                audit::record(
                    c,
                    &Actor::Merchant(merchant.clone()),
                    Some(&merchant),
                    "device.app_password_changed",
                    Some(&serial),
                    None,
                )?;
            }
            Ok(changed)
        })
        .await;
    match changed {
        Ok(false) => not_found(),
        Ok(true) => after_change(&cabinet, Done::AppPassword, &shown).await,
        Err(error) => failure(error),
    }
}

/// Whether the signed-in merchant owns the device; 500 if the store fails.
async fn owns(cabinet: &Cabinet, me: &Current, serial: &str) -> Result<bool, Response> {
    let (merchant, serial) = (me.merchant.id.clone(), serial.to_owned());
    cabinet
        .read(move |c| {
            Ok(devices::list(c, Some(&merchant))?
                .iter()
                .any(|d| d.serial == serial))
        })
        .await
        .map_err(failure)
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
