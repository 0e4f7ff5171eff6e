//! The cabinet's routes through the axum router, as a browser uses them:
//! login (cookies and their flags, CSRF, one message for every failure,
//! lockout), the home page, logout, language, security headers, expiry.

use axum::http::{StatusCode, header};
use mpos_domain::password::PasswordHash;
use mpos_store::ops::{audit, merchants};
use mpos_testkit::cabinet::*;
use mpos_testkit::provision::{MERCHANT, MERCHANT_EMAIL, MERCHANT_PASSWORD};

#[tokio::test]
async fn logging_in_sets_a_safe_session_cookie_and_opens_the_home_page() {
    let app = app("http://127.0.0.1:8080");
    let answer = post_login(&app, "Demo@Merchant.test", "demo-password-1").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers.get(header::LOCATION).unwrap(), "/");
    let cookie = answer.cookie("mpos_session").unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && !cookie.contains("Secure"),
        "{cookie}"
    );
    let token = answer.cookie_value("mpos_session").unwrap();
    let stored = mpos_testkit::sql::count(
        &app.store,
        "SELECT count(*) FROM cabinet_sessions WHERE token_hash = ?1",
        &[&token.as_bytes()],
    );
    assert_eq!(stored, 0, "the token itself is not stored, only its hash");

    let session = answer.cookie_value("mpos_session").unwrap();
    let home = call(&app, "GET", "/", &format!("mpos_session={session}"), None).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("ООО «Ромашка»"), "{}", home.body);
    assert!(home.body.contains("Скачать приложение"));
    assert!(home.body.contains("<html lang=\"ru\">"));
}

#[tokio::test]
async fn behind_https_the_cookies_are_secure() {
    let app = app("https://mpos.mtbank.by");
    let page = call(&app, "GET", "/login", "", None).await;
    assert!(page.cookie("mpos_csrf").unwrap().contains("Secure"));
    let session = logged_in(&app).await;
    assert!(!session.is_empty());
}

#[tokio::test]
async fn every_login_failure_gets_the_same_message_and_is_counted() {
    let app = app("http://localhost");
    let csrf = login_csrf(&app).await;
    let cookie = format!("mpos_csrf={csrf}");
    for form in [
        format!("email=demo%40merchant.test&password=wrong-password&csrf_token={csrf}"),
        format!("email=nobody%40merchant.test&password=demo-password-1&csrf_token={csrf}"),
    ] {
        let answer = call(&app, "POST", "/login", &cookie, Some(&form)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(
            answer.body.contains("Неверный e-mail или пароль."),
            "{}",
            answer.body
        );
        assert!(answer.cookie("mpos_session").is_none());
    }
    assert_eq!(attempts(&app), 2);
}

#[tokio::test]
async fn five_failures_lock_the_e_mail_for_fifteen_minutes() {
    let app = app("http://localhost");
    let csrf = login_csrf(&app).await;
    let cookie = format!("mpos_csrf={csrf}");
    for _ in 0..5 {
        let wrong = format!("email=demo%40merchant.test&password=nope-nope-nope&csrf_token={csrf}");
        assert_eq!(
            call(&app, "POST", "/login", &cookie, Some(&wrong))
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let right = format!("email=demo%40merchant.test&password=demo-password-1&csrf_token={csrf}");
    let locked = call(&app, "POST", "/login", &cookie, Some(&right)).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        locked.body.contains("заблокирован на 15 минут"),
        "{}",
        locked.body
    );
    assert!(
        locked.cookie("mpos_session").is_none(),
        "even the right password is refused"
    );
}

#[tokio::test]
async fn a_post_without_the_right_csrf_token_is_403_and_changes_nothing() {
    let app = app("http://localhost");
    let csrf = login_csrf(&app).await;
    let form = "email=demo%40merchant.test&password=demo-password-1";
    for (cookie, body) in [
        (format!("mpos_csrf={csrf}"), form.to_owned()),
        (String::new(), format!("{form}&csrf_token={csrf}")),
        (
            format!("mpos_csrf={csrf}"),
            format!("{form}&csrf_token=forged"),
        ),
    ] {
        let answer = call(&app, "POST", "/login", &cookie, Some(&body)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert!(answer.cookie("mpos_session").is_none());
    }
    assert_eq!(attempts(&app), 0, "nothing recorded");

    let session = logged_in(&app).await;
    let cookie = format!("mpos_session={session}");
    let refused = call(&app, "POST", "/logout", &cookie, Some("csrf_token=forged")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        call(&app, "GET", "/", &cookie, None).await.status,
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let app = app("http://localhost");
    let session = logged_in(&app).await;
    let cookie = format!("mpos_session={session}");
    let home = call(&app, "GET", "/", &cookie, None).await;
    let csrf = home.csrf_token();
    let out = call(
        &app,
        "POST",
        "/logout",
        &cookie,
        Some(&format!("csrf_token={csrf}")),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.headers.get(header::LOCATION).unwrap(), "/login");
    assert!(out.cookie("mpos_session").unwrap().contains("Max-Age=0"));
    let after = call(&app, "GET", "/", &cookie, None).await;
    assert_eq!(
        after.status,
        StatusCode::SEE_OTHER,
        "the old cookie no longer works"
    );
}

#[tokio::test]
async fn pages_need_a_live_session() {
    let app = app("http://localhost");
    for path in ["/", "/app/download"] {
        let answer = call(&app, "GET", path, "", None).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(answer.headers.get(header::LOCATION).unwrap(), "/login");
    }
    assert_eq!(
        call(&app, "GET", "/", "mpos_session=made-up", None)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    for (why, aging) in [
        (
            "31 minutes idle",
            "UPDATE cabinet_sessions SET last_seen_at = last_seen_at - 31 * 60 * 1000",
        ),
        (
            "busy, but 12 hours old",
            "UPDATE cabinet_sessions SET created_at = created_at - 12 * 3600 * 1000",
        ),
    ] {
        let session = logged_in(&app).await;
        mpos_testkit::sql::execute(&app.store, aging);
        assert_eq!(
            call(&app, "GET", "/", &format!("mpos_session={session}"), None)
                .await
                .status,
            StatusCode::SEE_OTHER,
            "{why}"
        );
    }
}

#[tokio::test]
async fn english_on_request_remembered_in_a_cookie() {
    let app = app("http://localhost");
    let page = call(&app, "GET", "/login?lang=en", "", None).await;
    assert!(
        page.body.contains("Merchant cabinet sign-in") && page.body.contains("<html lang=\"en\">")
    );
    let lang = page.cookie("mpos_lang").unwrap();
    assert!(lang.starts_with("mpos_lang=en"));
    let again = call(&app, "GET", "/login", "mpos_lang=en", None).await;
    assert!(again.body.contains("Sign in"));
    assert!(
        call(&app, "GET", "/login", "", None)
            .await
            .body
            .contains("Войти")
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_the_app_downloads() {
    let app = app("http://localhost");
    let page = call(&app, "GET", "/login", "", None).await;
    let csp = page
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(
        page.headers.get("x-content-type-options").unwrap(),
        "nosniff"
    );
    assert!(!page.body.contains("<script"), "no scripts at all");
    let css = call(&app, "GET", "/static/cabinet.css", "", None).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    let session = logged_in(&app).await;
    let apk = call(
        &app,
        "GET",
        "/app/download",
        &format!("mpos_session={session}"),
        None,
    )
    .await;
    assert_eq!(apk.status, StatusCode::OK);
    assert_eq!(apk.body, "PK demo app");
    assert!(
        apk.headers
            .get(header::CONTENT_DISPOSITION)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("attachment")
    );
}

#[tokio::test]
async fn the_devices_page_lists_only_the_merchants_own_readers() {
    let app = app("http://localhost");
    let (cookie, _) = session_and_csrf(&app).await;
    let page = call(&app, "GET", "/devices", &cookie, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("MPOS-0001") && page.body.contains("MPOS-0002"));
    assert!(
        !page.body.contains("MPOS-0101"),
        "another merchant's reader"
    );
    assert!(page.body.contains("Активен") && page.body.contains("Заблокирован"));
    assert!(page.body.contains("Сменить пароль"));
    assert!(page.body.contains("не было"), "no sign-on yet");
}

#[tokio::test]
async fn blocking_and_unblocking_take_effect_in_the_directory_and_are_audited() {
    let app = app("http://localhost");
    let (cookie, csrf) = session_and_csrf(&app).await;
    let block = call(
        &app,
        "POST",
        "/devices/MPOS-0001/state",
        &cookie,
        Some(&format!("state=blocked&csrf_token={csrf}")),
    )
    .await;
    assert_eq!(block.status, StatusCode::SEE_OTHER);
    let location = block
        .headers
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(location, "/devices?done=blocked&serial=MPOS-0001");
    let list = call(&app, "GET", location, &cookie, None).await;
    assert!(
        list.body.contains(
            "<p class=\"notice\" role=\"status\">Терминал MPOS-0001 заблокирован: \
             приложение на нём не проведёт новых операций.</p>"
        ),
        "{}",
        list.body
    );
    let foreign = call(
        &app,
        "GET",
        "/devices?done=blocked&serial=MPOS-0101",
        &cookie,
        None,
    )
    .await;
    assert!(
        !foreign.body.contains("class=\"notice\""),
        "no notice about another merchant's reader"
    );
    assert!(device(&app, "MPOS-0001").blocked);
    assert!(
        app.store.directory().device("MPOS-0001").unwrap().blocked,
        "the host sees it at once"
    );
    let unblock = call(
        &app,
        "POST",
        "/devices/MPOS-0002/state",
        &cookie,
        Some(&format!("state=active&csrf_token={csrf}")),
    )
    .await;
    assert_eq!(unblock.status, StatusCode::SEE_OTHER);
    assert!(!device(&app, "MPOS-0002").blocked);
    let log = app
        .store
        .read(|c| audit::recent(c, Some("MTB000000000001"), 10))
        .unwrap();
    let actions: Vec<(String, String, Option<String>)> = log
        .into_iter()
        .map(|e| (e.actor, e.action, e.subject))
        .collect();
    assert!(
        actions.contains(&(
            "merchant:MTB000000000001".into(),
            "device.blocked".into(),
            Some("MPOS-0001".into())
        )),
        "{actions:?}"
    );
    assert!(
        actions.contains(&(
            "merchant:MTB000000000001".into(),
            "device.unblocked".into(),
            Some("MPOS-0002".into())
        )),
        "{actions:?}"
    );
    let bad = call(
        &app,
        "POST",
        "/devices/MPOS-0001/state",
        &cookie,
        Some(&format!("state=frozen&csrf_token={csrf}")),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn another_merchants_device_answers_404_like_one_that_does_not_exist() {
    let app = app("http://localhost");
    let (cookie, csrf) = session_and_csrf(&app).await;
    for serial in ["MPOS-0101", "NO-SUCH"] {
        let state = call(
            &app,
            "POST",
            &format!("/devices/{serial}/state"),
            &cookie,
            Some(&format!("state=blocked&csrf_token={csrf}")),
        )
        .await;
        assert_eq!(state.status, StatusCode::NOT_FOUND, "{serial}");
        let form = call(
            &app,
            "GET",
            &format!("/devices/{serial}/password"),
            &cookie,
            None,
        )
        .await;
        assert_eq!(form.status, StatusCode::NOT_FOUND, "{serial}");
        let change = call(
            &app,
            "POST",
            &format!("/devices/{serial}/password"),
            &cookie,
            Some(&format!(
                "new_password=new-app-pass-1&new_password_repeat=new-app-pass-1&csrf_token={csrf}"
            )),
        )
        .await;
        assert_eq!(change.status, StatusCode::NOT_FOUND, "{serial}");
    }
    let theirs = device(&app, "MPOS-0101");
    assert!(
        !theirs.blocked && theirs.app_password_hash == "old-hash",
        "untouched"
    );
}

#[tokio::test]
async fn device_changes_without_the_csrf_token_are_403_and_change_nothing() {
    let app = app("http://localhost");
    let (cookie, _) = session_and_csrf(&app).await;
    let state = call(
        &app,
        "POST",
        "/devices/MPOS-0001/state",
        &cookie,
        Some("state=blocked"),
    )
    .await;
    assert_eq!(state.status, StatusCode::FORBIDDEN);
    let change = call(
        &app,
        "POST",
        "/devices/MPOS-0001/password",
        &cookie,
        Some("new_password=new-app-pass-1&new_password_repeat=new-app-pass-1&csrf_token=forged"),
    )
    .await;
    assert_eq!(change.status, StatusCode::FORBIDDEN);
    let d = device(&app, "MPOS-0001");
    assert!(!d.blocked && d.app_password_hash == "old-hash");
    let no_session = call(
        &app,
        "POST",
        "/devices/MPOS-0001/state",
        "",
        Some("state=blocked"),
    )
    .await;
    assert_eq!(
        no_session.status,
        StatusCode::SEE_OTHER,
        "to the login page"
    );
}

/// POSTs a new app password for MPOS-0001, typed twice alike.
async fn new_app_password(app: &App, cookie: &str, csrf: &str, password: &str) -> Answer {
    let form = format!("new_password={password}&new_password_repeat={password}&csrf_token={csrf}");
    call(
        app,
        "POST",
        "/devices/MPOS-0001/password",
        cookie,
        Some(&form),
    )
    .await
}

#[tokio::test]
async fn a_new_app_password_is_checked_next_to_its_field_then_revokes_sign_ons() {
    let app = app("http://localhost");
    let (cookie, csrf) = session_and_csrf(&app).await;
    let form = call(&app, "GET", "/devices/MPOS-0001/password", &cookie, None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("name=\"new_password\"")
            && form.body.contains("name=\"new_password_repeat\"")
    );
    // The domain's one app-password rule: what DE 48 can carry, at least 10.
    let too_long = "x".repeat(mpos_domain::input::MAX_APP_PASSWORD_LEN + 1);
    for (new, repeat, message) in [
        ("short", "short", "не менее 10 символов"),
        ("new-app-pass-1", "new-app-pass-2", "Пароли не совпадают"),
        ("пароль-пароль-1", "пароль-пароль-1", "латинские буквы"),
        (
            too_long.as_str(),
            too_long.as_str(),
            "не более 999 символов",
        ),
        (" app-pass-10", " app-pass-10", "без пробелов по краям"),
        ("app-pass-10 ", "app-pass-10 ", "без пробелов по краям"),
        ("app-pass\t-10", "app-pass\t-10", "латинские буквы"),
    ] {
        let body = format!(
            "new_password={}&new_password_repeat={}&csrf_token={csrf}",
            encode(new),
            encode(repeat)
        );
        let answer = call(
            &app,
            "POST",
            "/devices/MPOS-0001/password",
            &cookie,
            Some(&body),
        )
        .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{new:?}");
        assert!(
            answer.body.contains(message),
            "{message} for {new:?} in {}",
            answer.body
        );
        assert!(answer.body.contains("aria-invalid=\"true\""));
    }
    assert_eq!(
        device(&app, "MPOS-0001").app_password_hash,
        "old-hash",
        "nothing changed"
    );
    let before = device(&app, "MPOS-0001").credentials_version;
    let ok = new_app_password(&app, &cookie, &csrf, "new-app-pass-1").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let after = device(&app, "MPOS-0001");
    assert!(
        PasswordHash::parse(&after.app_password_hash)
            .unwrap()
            .verify("new-app-pass-1")
    );
    assert_eq!(after.credentials_version, before + 1, "sign-ons revoked");
    assert_eq!(
        app.store
            .directory()
            .device("MPOS-0001")
            .unwrap()
            .credentials_version,
        before + 1
    );
}

#[tokio::test]
async fn changing_the_cabinet_password_checks_each_field_and_ends_other_sessions() {
    let app = app("http://localhost");
    let (cookie, csrf) = session_and_csrf(&app).await;
    let other = format!("mpos_session={}", logged_in(&app).await);
    let form = call(&app, "GET", "/password", &cookie, None).await;
    assert_eq!(form.status, StatusCode::OK);
    for field in ["current_password", "new_password", "new_password_repeat"] {
        assert!(form.body.contains(&format!("name=\"{field}\"")), "{field}");
    }
    for (current, new, repeat, message) in [
        (
            "wrong-password",
            "brand-new-pass-1",
            "brand-new-pass-1",
            "Текущий пароль указан неверно",
        ),
        ("demo-password-1", "short", "short", "не менее 10 символов"),
        (
            "demo-password-1",
            "brand-new-pass-1",
            "brand-new-pass-2",
            "Пароли не совпадают",
        ),
    ] {
        let body = format!(
            "current_password={current}&new_password={new}&new_password_repeat={repeat}&csrf_token={csrf}"
        );
        let answer = call(&app, "POST", "/password", &cookie, Some(&body)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{message}");
        assert!(answer.body.contains(message), "{message}");
    }
    let forged = "current_password=demo-password-1&new_password=brand-new-pass-1&new_password_repeat=brand-new-pass-1&csrf_token=forged";
    assert_eq!(
        call(&app, "POST", "/password", &cookie, Some(forged))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let unchanged = app
        .store
        .read(|c| merchants::by_id(c, "MTB000000000001"))
        .unwrap()
        .unwrap();
    assert!(
        PasswordHash::parse(&unchanged.password_hash)
            .unwrap()
            .verify("demo-password-1"),
        "nothing changed yet"
    );

    let body = format!(
        "current_password=demo-password-1&new_password=brand-new-pass-1&new_password_repeat=brand-new-pass-1&csrf_token={csrf}"
    );
    let done = call(&app, "POST", "/password", &cookie, Some(&body)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        done.headers.get(header::LOCATION).unwrap(),
        "/password?done=1"
    );
    let notice = call(&app, "GET", "/password?done=1", &cookie, None).await;
    assert!(
        notice.body.contains("Пароль изменён"),
        "this session goes on"
    );
    assert_eq!(
        call(&app, "GET", "/", &other, None).await.status,
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    let merchant = app
        .store
        .read(|c| merchants::by_id(c, "MTB000000000001"))
        .unwrap()
        .unwrap();
    assert!(
        PasswordHash::parse(&merchant.password_hash)
            .unwrap()
            .verify("brand-new-pass-1")
    );
    let log = app
        .store
        .read(|c| audit::recent(c, Some("MTB000000000001"), 5))
        .unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "merchant.password_changed"
                && e.actor == "merchant:MTB000000000001")
    );
    // The old password no longer logs in; the new one does.
    let old = post_login(&app, "demo@merchant.test", "demo-password-1").await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_reader_locked_by_wrong_passwords_shows_until_when_and_a_new_app_password_lifts_it() {
    use mpos_store::ops::sign_on_failures;
    let app = app("http://localhost");
    let (cookie, csrf) = session_and_csrf(&app).await;
    let now = mpos_store::ops::now_millis();
    app.store
        .write_blocking(move |c| {
            for n in 0..5 {
                sign_on_failures::record(c, "MPOS-0001", now - 1_000 + n)?;
            }
            sign_on_failures::record(c, "MPOS-0002", now)
        })
        .unwrap();
    let page = call(&app, "GET", "/devices", &cookie, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.body.matches("Вход по паролю заблокирован до").count(),
        1,
        "MPOS-0001 only (one failure does not lock MPOS-0002): {}",
        page.body
    );
    let row = &page.body[page.body.find("MPOS-0001").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("Вход по паролю заблокирован до"), "{row}");

    let changed = new_app_password(&app, &cookie, &csrf, "new-app-pass-1").await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    let failures = app
        .store
        .read(|c| sign_on_failures::latest(c, "MPOS-0001"))
        .unwrap();
    assert_eq!(
        failures,
        (0, None),
        "the new app password lifts the lockout"
    );
    let page = call(&app, "GET", "/devices", &cookie, None).await;
    assert!(!page.body.contains("Вход по паролю заблокирован до"));
}

/// The login form's CSRF cookie and token, with the email and password.
fn login_form(csrf: &str, email: &str, password: &str) -> String {
    format!(
        "email={}&password={}&csrf_token={csrf}",
        encode(email),
        encode(password)
    )
}

#[tokio::test]
async fn twenty_failures_from_one_address_answer_its_logins_429_without_a_password_check() {
    let app = app("http://localhost");
    let router = mpos_cabinet::router(std::sync::Arc::clone(&app.cabinet));
    let sprayer: std::net::SocketAddr = "192.0.2.7:51000".parse().unwrap();
    let csrf = login_csrf_of(&router).await;
    let cookie = format!("mpos_csrf={csrf}");
    for n in 0..20 {
        let form = login_form(&csrf, &format!("spray-{n}@example.test"), "wrong-pass-1");
        let failed =
            call_router_from(&router, sprayer, "POST", "/login", &cookie, Some(&form)).await;
        assert_eq!(failed.status, StatusCode::UNAUTHORIZED, "failure {n}");
    }
    let (hashed, recorded) = (app.built.passwords.computed(), attempts(&app));
    assert_eq!(recorded, 20);
    // The 21st, even with the right password and from another port of the
    // same address: 429, a readable page, Retry-After; nothing checked or
    // stored.
    let right = login_form(&csrf, MERCHANT_EMAIL, MERCHANT_PASSWORD);
    let same_host: std::net::SocketAddr = "192.0.2.7:51001".parse().unwrap();
    let refused =
        call_router_from(&router, same_host, "POST", "/login", &cookie, Some(&right)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        refused.body.contains(&format!(
            "Слишком много неудачных попыток входа с вашего адреса. Попробуйте снова через {wait} с."
        )),
        "{}",
        refused.body
    );
    assert!(refused.cookie("mpos_session").is_none());
    assert_eq!(
        app.built.passwords.computed(),
        hashed,
        "no password checked"
    );
    assert_eq!(attempts(&app), recorded, "nothing stored");
    // In English for a merchant who chose it.
    let english = format!("{cookie}; mpos_lang=en");
    let refused =
        call_router_from(&router, sprayer, "POST", "/login", &english, Some(&right)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused
            .body
            .contains("Too many failed sign-in attempts from your address. Try again in"),
        "{}",
        refused.body
    );
    // Another address logs in as usual.
    let elsewhere: std::net::SocketAddr = "198.51.100.1:40000".parse().unwrap();
    let welcome =
        call_router_from(&router, elsewhere, "POST", "/login", &cookie, Some(&right)).await;
    assert_eq!(welcome.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn successful_logins_do_not_count_towards_the_address_limit() {
    let app = app("http://localhost");
    let router = mpos_cabinet::router(std::sync::Arc::clone(&app.cabinet));
    for _ in 0..25 {
        log_in(&router, MERCHANT_EMAIL, MERCHANT_PASSWORD).await;
    }
}

#[tokio::test]
async fn a_forged_or_unsigned_csrf_cookie_with_a_matching_form_token_is_403() {
    let app = app("http://localhost");
    let signed = login_csrf(&app).await;
    let (nonce, signature) = signed.split_once('.').expect("a signed token");
    let other_app = mpos_testkit::cabinet::app("http://localhost");
    let foreign = login_csrf(&other_app).await;
    for token in [
        "a".repeat(64),
        nonce.to_owned(),
        format!("{nonce}.{}", "0".repeat(64)),
        format!("{}.{signature}", "b".repeat(64)),
        foreign,
    ] {
        let form = login_form(&token, MERCHANT_EMAIL, MERCHANT_PASSWORD);
        let answer = call(
            &app,
            "POST",
            "/login",
            &format!("mpos_csrf={token}"),
            Some(&form),
        )
        .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{token}");
        assert!(answer.cookie("mpos_session").is_none());
    }
    assert_eq!(attempts(&app), 0, "nothing recorded");
    // An unsigned cookie is replaced by a signed one when the form is shown.
    let page = call(
        &app,
        "GET",
        "/login",
        &format!("mpos_csrf={}", "a".repeat(64)),
        None,
    )
    .await;
    let fresh = page.cookie_value("mpos_csrf").expect("a new cookie");
    assert_ne!(fresh, "a".repeat(64));
    assert_eq!(page.csrf_token(), fresh);
}

#[tokio::test]
async fn a_serial_with_slash_question_mark_and_hash_is_managed_through_encoded_links() {
    const SERIAL: &str = "MPOS/77?x#y";
    const ENCODED: &str = "MPOS%2F77%3Fx%23y";
    let app = app("http://localhost");
    mpos_testkit::provision::Provision::new()
        .device(SERIAL, MERCHANT, false, OLD_APP_PASSWORD_HASH)
        .apply(&app.store);
    let (cookie, csrf) = session_and_csrf(&app).await;
    let list = call(&app, "GET", "/devices", &cookie, None).await;
    assert!(
        list.body
            .contains(&format!("action=\"/devices/{ENCODED}/state\"")),
        "{}",
        list.body
    );
    assert!(
        list.body
            .contains(&format!("href=\"/devices/{ENCODED}/password\""))
    );
    let state = format!("/devices/{ENCODED}/state");
    let blocked = call(
        &app,
        "POST",
        &state,
        &cookie,
        Some(&format!("state=blocked&csrf_token={csrf}")),
    )
    .await;
    assert_eq!(blocked.status, StatusCode::SEE_OTHER, "{}", blocked.body);
    assert_eq!(
        blocked.headers[header::LOCATION],
        format!("/devices?done=blocked&serial={ENCODED}").as_str()
    );
    assert!(device(&app, SERIAL).blocked);
    let unblocked = call(
        &app,
        "POST",
        &state,
        &cookie,
        Some(&format!("state=active&csrf_token={csrf}")),
    )
    .await;
    assert_eq!(unblocked.status, StatusCode::SEE_OTHER);
    assert!(!device(&app, SERIAL).blocked);

    let form = call(
        &app,
        "GET",
        &format!("/devices/{ENCODED}/password"),
        &cookie,
        None,
    )
    .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body
            .contains(&format!("action=\"/devices/{ENCODED}/password\"")),
        "{}",
        form.body
    );
    let changed = call(
        &app,
        "POST",
        &format!("/devices/{ENCODED}/password"),
        &cookie,
        Some(&format!(
            "new_password=new-app-pass-77&new_password_repeat=new-app-pass-77&csrf_token={csrf}"
        )),
    )
    .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    let hash = device(&app, SERIAL).app_password_hash;
    assert!(
        PasswordHash::parse(&hash)
            .unwrap()
            .verify("new-app-pass-77")
    );
    // The unencoded form is another path: not this device.
    let raw = call(
        &app,
        "POST",
        "/devices/MPOS/77/state",
        &cookie,
        Some(&format!("state=blocked&csrf_token={csrf}")),
    )
    .await;
    assert_eq!(raw.status, StatusCode::NOT_FOUND);
    assert!(!device(&app, SERIAL).blocked);
}
