//! The harness of the cabinet's route tests: a fresh store with two
//! merchants and their readers, the router called as a browser would, and
//! the login steps every test starts with.
// Each test file uses only part of it.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use mpos_cabinet::{AppDownload, Cabinet, CabinetConfig, router};
use mpos_domain::password::PasswordHash;
use mpos_store::ops::devices;
use mpos_store::ops::merchants::{self, MerchantRow};
use mpos_store::{Store, StoreOptions};
use std::sync::Arc;
use tower::ServiceExt;

pub struct App {
    pub _dir: tempfile::TempDir,
    pub store: Store,
    pub cabinet: Arc<Cabinet>,
}

pub fn app(public_url: &str) -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mpos.db"), &StoreOptions::default()).unwrap();
    let apk = dir.path().join("mpos.apk");
    std::fs::write(&apk, b"PK demo app").unwrap();
    let hash = PasswordHash::new("demo-password-1")
        .unwrap()
        .as_str()
        .to_owned();
    store
        .write_blocking(move |c| {
            for (id, name, email) in [
                ("MTB000000000001", "ООО «Ромашка»", "demo@merchant.test"),
                ("MTB000000000002", "ИП Второй", "second@merchant.test"),
            ] {
                merchants::insert(
                    c,
                    &MerchantRow {
                        id: id.into(),
                        name: name.into(),
                        email: email.into(),
                        password_hash: hash.clone(),
                    },
                )?;
            }
            devices::insert(c, "MPOS-0001", "MTB000000000001", false, "old-hash")?;
            devices::insert(c, "MPOS-0002", "MTB000000000001", true, "old-hash")?;
            devices::insert(c, "MPOS-0101", "MTB000000000002", false, "old-hash")?;
            Ok(())
        })
        .unwrap();
    let cabinet = Cabinet::new(
        store.clone(),
        CabinetConfig {
            public_url: public_url.into(),
            app_download: AppDownload::File(apk),
            business_day: mpos_domain::business_day::BusinessDayClock::minsk().unwrap(),
            mail: outbox_mailer(dir.path()),
        },
    );
    App {
        _dir: dir,
        store,
        cabinet,
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    pub fn cookie_value(&self, name: &str) -> Option<String> {
        self.cookie(name).and_then(|c| {
            c.split(';')
                .next()
                .map(|kv| kv[name.len() + 1..].to_owned())
        })
    }
}

pub async fn call(app: &App, method: &str, uri: &str, cookies: &str, form: Option<&str>) -> Answer {
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
    let response = router(Arc::clone(&app.cabinet))
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The login form's CSRF cookie and token.
pub async fn login_csrf(app: &App) -> String {
    let page = call(app, "GET", "/login", "", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let token = page.cookie_value("mpos_csrf").expect("a CSRF cookie");
    assert!(
        page.body
            .contains(&format!("name=\"csrf_token\" value=\"{token}\""))
    );
    token
}

/// Logs in and returns the session cookie's value.
pub async fn logged_in(app: &App) -> String {
    let csrf = login_csrf(app).await;
    let answer = call(
        app,
        "POST",
        "/login",
        &format!("mpos_csrf={csrf}"),
        Some(&format!(
            "email=demo%40merchant.test&password=demo-password-1&csrf_token={csrf}"
        )),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    answer
        .cookie_value("mpos_session")
        .expect("a session cookie")
}

pub fn attempts(app: &App) -> i64 {
    app.store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM login_attempts", [], |r| r.get(0))?))
        .unwrap()
}

/// The session cookie header and the CSRF token of its pages.
pub async fn session_and_csrf(app: &App) -> (String, String) {
    let cookie = format!("mpos_session={}", logged_in(app).await);
    let page = call(app, "GET", "/devices", &cookie, None).await;
    let csrf = page
        .body
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

pub fn device(app: &App, serial: &str) -> devices::DeviceRow {
    let serial = serial.to_owned();
    app.store
        .read(move |c| {
            Ok(devices::list(c, None)?
                .into_iter()
                .find(|d| d.serial == serial))
        })
        .unwrap()
        .unwrap()
}

/// Percent-encodes a form value.
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

/// A mailer writing into `<dir>/outbox`, as `mpos serve` does by default.
pub fn outbox_mailer(dir: &std::path::Path) -> mpos_cabinet::mail::Mailer {
    mpos_cabinet::mail::Mailer::new(mpos_cabinet::mail::MailSettings {
        from: "МТБанк mPOS <no-reply@mpos.test>".into(),
        transport: mpos_cabinet::mail::MailTransport::Outbox(dir.join("outbox")),
    })
    .unwrap()
}

/// The app's mail outbox folder.
pub fn outbox(app: &App) -> std::path::PathBuf {
    app._dir.path().join("outbox")
}

/// The `.eml` files of the outbox, oldest first.
pub fn mails(app: &App) -> Vec<String> {
    let mut files: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(outbox(app))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .map(|e| {
                    let modified = e.metadata().and_then(|m| m.modified()).unwrap();
                    (modified, std::fs::read_to_string(e.path()).unwrap())
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
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!(
        "{count} message(s) expected in the outbox, found {}",
        mails(app).len()
    );
}

/// The same app (store, data folder) with another mailer.
pub fn with_mailer(app: App, mail: mpos_cabinet::mail::Mailer) -> App {
    let cabinet = Cabinet::new(
        app.store.clone(),
        CabinetConfig {
            public_url: "http://localhost".into(),
            app_download: AppDownload::File(app._dir.path().join("mpos.apk")),
            business_day: mpos_domain::business_day::BusinessDayClock::minsk().unwrap(),
            mail,
        },
    );
    App { cabinet, ..app }
}
