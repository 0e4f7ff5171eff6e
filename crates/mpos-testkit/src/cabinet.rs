//! The cabinet in process: a fresh store with the demo's two merchants, the
//! axum router called as a browser would (cookies in, `Set-Cookie` out),
//! the login steps every cabinet test starts with, CSRF tokens, and the
//! mail outbox.

use crate::provision::{self, MERCHANT, MERCHANT_EMAIL, MERCHANT_PASSWORD, OTHER_MERCHANT};
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use mpos_cabinet::mail::{MailSettings, MailTransport, Mailer};
use mpos_cabinet::{AppDownload, Cabinet, CabinetConfig, router};
use mpos_store::Store;
use mpos_store::ops::devices;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tower::ServiceExt;

/// The app's hash of every device's app password: a placeholder, since the
/// cabinet only ever replaces it.
pub const OLD_APP_PASSWORD_HASH: &str = "old-hash";

/// The cabinet's configuration as `mpos serve` builds it over `app` (the
/// default business day: Minsk's), at `public_url`, offering
/// `app_download`; `mail` sends the recovery e-mails.
pub fn config(
    app: &mpos_cli::app::App,
    public_url: &str,
    app_download: AppDownload,
    mail: Mailer,
) -> CabinetConfig {
    CabinetConfig {
        public_url: public_url.into(),
        app_download,
        ..app.cabinet_config(mail)
    }
}

/// A mailer writing into `<dir>/outbox`, as `mpos serve` does by default.
pub fn outbox_mailer(dir: &Path) -> Mailer {
    Mailer::new(MailSettings {
        from: "МТБанк mPOS <no-reply@mpos.test>".into(),
        transport: MailTransport::Outbox(dir.join("outbox")),
    })
    .expect("an outbox mailer")
}

/// A cabinet over a fresh store in its own data folder.
pub struct App {
    /// The data folder: the store, the app's `.apk`, the mail outbox.
    pub dir: tempfile::TempDir,
    /// The store the cabinet reads and writes.
    pub store: Store,
    /// The cabinet's state.
    pub cabinet: Arc<Cabinet>,
    /// The application it was built from (store, clock, layout, key).
    pub built: mpos_cli::app::App,
}

/// The cabinet at `public_url` over the demo's two merchants (both with
/// password [`MERCHANT_PASSWORD`]) and their readers: `MPOS-0001` and
/// `MPOS-0002` (blocked) of the first, `MPOS-0101` of the other. The app
/// download is a file; mail goes to the outbox.
pub fn app(public_url: &str) -> App {
    let hash = provision::password_hash(MERCHANT_PASSWORD);
    let (dir, built) = provision::Provision::two_merchants(&hash)
        .device("MPOS-0001", MERCHANT, false, OLD_APP_PASSWORD_HASH)
        .device("MPOS-0002", MERCHANT, true, OLD_APP_PASSWORD_HASH)
        .device("MPOS-0101", OTHER_MERCHANT, false, OLD_APP_PASSWORD_HASH)
        .app();
    std::fs::write(dir.path().join("mpos.apk"), b"PK demo app").expect("the app file");
    let config = app_config(&built, dir.path(), public_url, outbox_mailer(dir.path()));
    App {
        store: built.store.clone(),
        cabinet: Cabinet::new(built.store.clone(), config),
        dir,
        built,
    }
}

/// The test app's configuration over its data folder.
fn app_config(
    built: &mpos_cli::app::App,
    dir: &Path,
    public_url: &str,
    mail: Mailer,
) -> CabinetConfig {
    config(
        built,
        public_url,
        AppDownload::File(dir.join("mpos.apk")),
        mail,
    )
}

/// The same app (store, data folder) with another mailer.
pub fn with_mailer(app: App, mail: Mailer) -> App {
    let config = app_config(&app.built, app.dir.path(), "http://localhost", mail);
    App {
        cabinet: Cabinet::new(app.store.clone(), config),
        ..app
    }
}

/// An answer of the router, its body read whole.
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Answer {
    /// The whole `Set-Cookie` header of cookie `name` (value and flags).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The value `Set-Cookie` gives cookie `name`.
    pub fn cookie_value(&self, name: &str) -> Option<String> {
        self.cookie(name).and_then(|c| {
            c.split(';')
                .next()
                .map(|kv| kv[name.len() + 1..].to_owned())
        })
    }

    /// The first hidden `csrf_token` of the page's forms.
    pub fn csrf_token(&self) -> String {
        csrf_token(&self.body)
    }
}

/// The value of the first hidden `csrf_token` field of `page`.
pub fn csrf_token(page: &str) -> String {
    page.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form with a CSRF token")
        .to_owned()
}

/// The client address of the router's requests (the TCP peer `mpos serve`
/// gives every request), unless a test picks one with [`call_router_from`].
pub const TEST_PEER: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40_000);

/// One request to `router` as a browser sends it: `cookies` as the
/// `Cookie` header (none if empty), `form` as an urlencoded body, from
/// [`TEST_PEER`].
pub async fn call_router(
    router: &axum::Router,
    method: &str,
    uri: &str,
    cookies: &str,
    form: Option<&str>,
) -> Answer {
    call_router_from(router, TEST_PEER, method, uri, cookies, form).await
}

/// One request to `router` (see [`call_router`]) from client address
/// `peer`, given as axum's `MockConnectInfo` since there is no socket.
pub async fn call_router_from(
    router: &axum::Router,
    peer: SocketAddr,
    method: &str,
    uri: &str,
    cookies: &str,
    form: Option<&str>,
) -> Answer {
    let router = router.clone().layer(MockConnectInfo(peer));
    let mut request = Request::builder().method(method).uri(uri);
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, cookies);
    }
    let body = match form {
        Some(form) => {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(form.to_owned())
        }
        None => Body::empty(),
    };
    let response = router
        .oneshot(request.body(body).expect("a valid test request"))
        .await
        .expect("the router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("a body under 1 MiB");
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// One request to the app's cabinet (see [`call_router`]).
pub async fn call(app: &App, method: &str, uri: &str, cookies: &str, form: Option<&str>) -> Answer {
    call_router(
        &router(Arc::clone(&app.cabinet)),
        method,
        uri,
        cookies,
        form,
    )
    .await
}

/// The login form's CSRF cookie, checked to be the form's token too.
pub async fn login_csrf_of(router: &axum::Router) -> String {
    let page = call_router(router, "GET", "/login", "", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let token = page.cookie_value("mpos_csrf").expect("a CSRF cookie");
    assert!(
        page.body
            .contains(&format!("name=\"csrf_token\" value=\"{token}\""))
    );
    token
}

/// Posts the login form of `router` (its CSRF token taken from a GET
/// first) as `email` with `password`; the answer.
pub async fn post_login_to(router: &axum::Router, email: &str, password: &str) -> Answer {
    let csrf = login_csrf_of(router).await;
    call_router(
        router,
        "POST",
        "/login",
        &format!("mpos_csrf={csrf}"),
        Some(&format!(
            "email={}&password={}&csrf_token={csrf}",
            encode(email),
            encode(password)
        )),
    )
    .await
}

/// Logs in to `router` as `email` and returns the session cookie's value.
pub async fn log_in(router: &axum::Router, email: &str, password: &str) -> String {
    let answer = post_login_to(router, email, password).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "logged in");
    answer
        .cookie_value("mpos_session")
        .expect("a session cookie")
}

/// Posts the app's login form as `email` with `password`; the answer.
pub async fn post_login(app: &App, email: &str, password: &str) -> Answer {
    post_login_to(&router(Arc::clone(&app.cabinet)), email, password).await
}

/// The app's login form's CSRF cookie and token.
pub async fn login_csrf(app: &App) -> String {
    login_csrf_of(&router(Arc::clone(&app.cabinet))).await
}

/// Logs in to the app as the demo merchant; the session cookie's value.
pub async fn logged_in(app: &App) -> String {
    log_in(
        &router(Arc::clone(&app.cabinet)),
        MERCHANT_EMAIL,
        MERCHANT_PASSWORD,
    )
    .await
}

/// The session cookie header and the CSRF token of its pages.
pub async fn session_and_csrf(app: &App) -> (String, String) {
    let cookie = format!("mpos_session={}", logged_in(app).await);
    let page = call(app, "GET", "/devices", &cookie, None).await;
    (cookie, page.csrf_token())
}

/// How many login attempts the store holds.
pub fn attempts(app: &App) -> i64 {
    crate::sql::in_table(&app.store, "login_attempts")
}

/// The stored device `serial`.
pub fn device(app: &App, serial: &str) -> devices::DeviceRow {
    let serial = serial.to_owned();
    app.store
        .read(move |c| {
            Ok(devices::list(c, None)?
                .into_iter()
                .find(|d| d.serial == serial))
        })
        .expect("devices listed")
        .expect("the device exists")
}

/// Percent-encodes a form value (all but ASCII letters, digits and `-`).
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The app's mail outbox folder.
pub fn outbox(app: &App) -> PathBuf {
    app.dir.path().join("outbox")
}

/// The `.eml` files of the outbox, oldest first.
pub fn mails(app: &App) -> Vec<String> {
    let mut files: Vec<(SystemTime, String)> = std::fs::read_dir(outbox(app))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .map(|e| {
                    let modified = e
                        .metadata()
                        .and_then(|m| m.modified())
                        .expect("a modification time");
                    let text = std::fs::read_to_string(e.path()).expect("a readable mail");
                    (modified, text)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.into_iter().map(|(_, text)| text).collect()
}

/// Waits (up to 10 s, polling every 10 ms) until the outbox holds `count`
/// messages, and returns them, oldest first. Mail is sent in a task after
/// the page has answered.
pub async fn wait_for_mails(app: &App, count: usize) -> Vec<String> {
    for _ in 0..1000 {
        let found = mails(app);
        if found.len() >= count {
            assert_eq!(found.len(), count, "more mail than expected");
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{count} message(s) expected in the outbox, found {}",
        mails(app).len()
    );
}
