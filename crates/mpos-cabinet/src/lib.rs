//! The merchant cabinet: what `shared/spec/cabinet.md` and the bank's manual
//! describe, as an axum router over the host's store.
//!
//! ```text
//! session.rs    tokens (stored hashed), cookies, CSRF (signed before login), expiry
//! throttle.rs   failed logins per client address (429 past 20 a minute)
//! security.rs   CSP, no framing, no sniffing, on every answer
//! i18n.rs       Russian first, English by ?lang=en
//! mail.rs       sending e-mail: an outbox folder of .eml files, or SMTP
//! pages/        one module per page: login (and logout), home, devices,
//!               password, recovery (forgot / reset by the e-mailed link),
//!               history (with its chart and CSV export); what every
//!               handler takes as extractors (extract.rs: the language,
//!               the signed-in merchant, CSRF-checked forms) and the one
//!               error they end in (error.rs: PageError, 303/403/404/500)
//! templates/    askama templates; static/ the stylesheet
//! ```
//!
//! Built so far: login with lockout, logout, the home page with the app
//! download, the devices (block, unblock, app password), the cabinet
//! password's change and its recovery by e-mail, the payment history and
//! its CSV.

#![warn(missing_docs)]

mod i18n;
pub mod mail;
mod pages;
mod security;
mod session;
mod throttle;

pub use i18n::Lang;

use axum::Router;
use axum::routing::{get, post};
use mpos_passwords::PasswordPool;
use mpos_store::{Reader, Store, StoreError};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the Android app is downloaded from.
#[derive(Debug, Clone)]
pub enum AppDownload {
    /// A file the cabinet serves itself.
    File(PathBuf),
    /// An address the cabinet redirects to.
    Url(String),
}

/// The cabinet's settings.
#[derive(Debug, Clone)]
pub struct CabinetConfig {
    /// The address merchants use, e.g. `https://mpos.mtbank.by`; https makes
    /// the cookies Secure, and e-mailed links start with it.
    pub public_url: String,
    /// Whether the cabinet's own listener serves HTTPS: the cookies are
    /// then Secure whatever `public_url` says.
    pub https: bool,
    /// The Android app.
    pub app_download: AppDownload,
    /// The business day (zone and cutoff): the history's periods end on
    /// today's business day, and times are shown in its zone.
    pub business_day: mpos_domain::business_day::BusinessDayClock,
    /// Sends the password recovery e-mails.
    pub mail: mail::Mailer,
    /// The process's one pool of password checks, shared with the host's
    /// sign-ons: every login, password change and new password hashes on
    /// it, so that together they leave payments a core.
    pub passwords: Arc<PasswordPool>,
}

/// The cabinet's shared state.
pub struct Cabinet {
    store: Store,
    config: CabinetConfig,
    /// Failed logins per client address.
    throttle: throttle::LoginThrottle,
    /// Signs the double-submit CSRF tokens of forms shown before login;
    /// `None` only if the system's randomness failed at start, and then
    /// those forms answer 403 rather than take unsigned tokens.
    csrf_key: Option<session::CsrfKey>,
}

impl Cabinet {
    /// The cabinet over `store`.
    pub fn new(store: Store, config: CabinetConfig) -> Arc<Cabinet> {
        let csrf_key = session::CsrfKey::random();
        if csrf_key.is_none() {
            tracing::error!("no randomness for the CSRF key: the login form will answer 403");
        }
        Arc::new(Cabinet {
            store,
            config,
            throttle: throttle::LoginThrottle::default(),
            csrf_key,
        })
    }

    /// Cookies only for https: the cabinet serves HTTPS itself, or merchants
    /// reach it by an https address (a TLS-terminating proxy in front).
    fn secure_cookies(&self) -> bool {
        self.config.https || self.config.public_url.starts_with("https://")
    }

    /// Today's business day.
    fn today(&self) -> jiff::civil::Date {
        self.config
            .business_day
            .business_day(jiff::Timestamp::now())
    }

    /// A read on the blocking pool: SQLite must not hold an async thread.
    async fn read<T, F>(&self, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Reader<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.read(read))
            .await
            .map_err(|e| StoreError::TaskDied(e.to_string()))?
    }
}

/// The cabinet's routes, with security headers on every answer.
pub fn router(cabinet: Arc<Cabinet>) -> Router {
    Router::new()
        .route("/login", get(pages::login::form).post(pages::login::submit))
        .route("/logout", post(pages::login::logout))
        .route("/", get(pages::home::page))
        .route("/app/download", get(pages::home::download))
        .route(
            "/password",
            get(pages::password::form).post(pages::password::submit),
        )
        .route(
            "/password/forgot",
            get(pages::recovery::forgot_form).post(pages::recovery::forgot_submit),
        )
        .route(
            "/password/reset",
            get(pages::recovery::reset_form).post(pages::recovery::reset_submit),
        )
        .route("/devices", get(pages::devices::list))
        .route("/devices/{serial}/state", post(pages::devices::set_state))
        .route(
            "/devices/{serial}/password",
            get(pages::devices::password_form).post(pages::devices::set_password),
        )
        .route("/history", get(pages::history::page))
        .route("/history.csv", get(pages::history::download))
        .route("/static/cabinet.css", get(pages::stylesheet))
        .route("/static/favicon.svg", get(pages::favicon))
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(cabinet)
}
