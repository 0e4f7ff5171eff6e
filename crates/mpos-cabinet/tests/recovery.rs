//! Password recovery by e-mail through the router, as a browser and a
//! mailbox use it: the forgot page's one answer, the link in the outbox's
//! `.eml`, once only, expiry, a newer link voiding the older, field errors,
//! CSRF, the sessions it ends and the audit it leaves.

use axum::http::{StatusCode, header};
use mpos_cabinet::mail::{MailSettings, MailTransport, Mailer, Secret, SmtpSettings, TlsMode};
use mpos_store::ops::audit;
use mpos_testkit::cabinet::*;

const LINK_START: &str = "http://localhost/password/reset?token=";
const NEW_PASSWORD: &str = "brand-new-password-7";

/// The forgot page's CSRF cookie value (and token).
async fn forgot_csrf(app: &App) -> String {
    let page = call(app, "GET", "/password/forgot", "", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let token = page.cookie_value("mpos_csrf").expect("a CSRF cookie");
    assert!(
        page.body
            .contains(&format!("name=\"csrf_token\" value=\"{token}\"")),
        "{}",
        page.body
    );
    token
}

/// Asks for a link for `email`.
async fn forgot(app: &App, email: &str) -> Answer {
    forgot_with(app, &forgot_csrf(app).await, email).await
}

/// Asks for a link for `email` with this form token (and cookie).
async fn forgot_with(app: &App, csrf: &str, email: &str) -> Answer {
    call(
        app,
        "POST",
        "/password/forgot",
        &format!("mpos_csrf={csrf}"),
        Some(&format!("email={}&csrf_token={csrf}", encode(email))),
    )
    .await
}

/// The reset path (`/password/reset?token=…`) of an e-mail.
fn link_in(eml: &str) -> String {
    let start = eml.find(LINK_START).expect("the e-mail holds the link") + LINK_START.len();
    let token: String = eml[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64, "256 bits in hex");
    format!("/password/reset?token={token}")
}

/// Asks for a link for the demo merchant and returns the path it e-mails.
async fn new_link(app: &App, mails_before: usize) -> String {
    assert_eq!(
        forgot(app, "demo@merchant.test").await.status,
        StatusCode::OK
    );
    let mails = wait_for_mails(app, mails_before + 1).await;
    let known: Vec<String> = mails
        .iter()
        .take(mails_before)
        .map(|m| link_in(m))
        .collect();
    mails
        .iter()
        .map(|m| link_in(m))
        .find(|link| !known.contains(link))
        .expect("a new link")
}

/// GETs a reset link; returns the answer and the CSRF cookie to post with.
async fn open_link(app: &App, link: &str) -> (Answer, String) {
    let page = call(app, "GET", link, "", None).await;
    let csrf = page.cookie_value("mpos_csrf").unwrap_or_default();
    (page, csrf)
}

/// Posts the reset form of `link`.
async fn reset(app: &App, link: &str, password: &str, repeat: &str) -> Answer {
    let (page, csrf) = open_link(app, link).await;
    let csrf = if csrf.is_empty() {
        // The link no longer works: post anyway with a fresh form token.
        forgot_csrf(app).await
    } else {
        assert_eq!(page.status, StatusCode::OK);
        csrf
    };
    call(
        app,
        "POST",
        link,
        &format!("mpos_csrf={csrf}"),
        Some(&format!(
            "new_password={}&new_password_repeat={}&csrf_token={csrf}",
            encode(password),
            encode(repeat)
        )),
    )
    .await
}

/// Logs in as the demo merchant with `password`; the status.
async fn login_with(app: &App, password: &str) -> StatusCode {
    post_login(app, "demo@merchant.test", password).await.status
}

fn stored_tokens(app: &App) -> i64 {
    mpos_testkit::sql::in_table(&app.store, "password_reset_tokens")
}

fn password_hash(app: &App) -> String {
    app.store
        .read(|c| {
            Ok(mpos_store::ops::merchants::by_id(c, "MTB000000000001")?
                .unwrap()
                .password_hash)
        })
        .unwrap()
}

fn sessions_of_demo(app: &App) -> i64 {
    mpos_testkit::sql::count(
        &app.store,
        "SELECT count(*) FROM cabinet_sessions WHERE merchant_id = 'MTB000000000001'",
        &[],
    )
}

#[tokio::test]
async fn known_and_unknown_e_mails_get_the_same_answer_and_only_the_known_one_mail() {
    let app = app("http://localhost");
    let csrf = forgot_csrf(&app).await;
    let unknown = forgot_with(&app, &csrf, "nobody@merchant.test").await;
    let known = forgot_with(&app, &csrf, "Demo@Merchant.test").await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(unknown.status, known.status);
    assert_eq!(unknown.body, known.body, "not a byte tells them apart");
    assert!(
        known
            .body
            .contains("Если этот e-mail зарегистрирован в кабинете"),
        "{}",
        known.body
    );
    assert!(known.body.contains("role=\"status\""));
    assert!(
        !known.body.contains("action=\"/password/forgot\""),
        "once sent, the page offers a new request by link, not an empty form"
    );
    assert!(known.body.contains("Запросить ссылку ещё раз"));
    let sent = wait_for_mails(&app, 1).await;
    assert!(sent[0].contains("To: demo@merchant.test"), "{}", sent[0]);
    assert_eq!(stored_tokens(&app), 1);
    assert_eq!(mails(&app).len(), 1, "nothing for the unknown e-mail");
}

#[tokio::test]
async fn a_send_failure_does_not_change_the_answer() {
    // An SMTP port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let broken = Mailer::new(MailSettings {
        from: "no-reply@mpos.test".into(),
        transport: MailTransport::Smtp(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            username: String::new(),
            password: Secret::default(),
            tls: TlsMode::None,
        }),
    })
    .unwrap();
    let app = with_mailer(app("http://localhost"), broken);
    let csrf = forgot_csrf(&app).await;
    let known = forgot_with(&app, &csrf, "demo@merchant.test").await;
    let unknown = forgot_with(&app, &csrf, "nobody@merchant.test").await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(known.body, unknown.body);
}

#[tokio::test]
async fn the_e_mailed_link_sets_a_new_password_once() {
    let app = app("http://localhost");
    let link = new_link(&app, 0).await;
    let eml = &mails(&app)[0];
    assert!(
        eml.contains("Здравствуйте!") && eml.contains("Hello"),
        "{eml}"
    );
    assert!(
        eml.find("Здравствуйте") < eml.find("Hello"),
        "Russian first"
    );

    // Only the SHA-256 of the token is kept.
    let token = link.rsplit('=').next().unwrap().to_owned();
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let stored = |value: &[u8]| {
        mpos_testkit::sql::count(
            &app.store,
            "SELECT count(*) FROM password_reset_tokens WHERE token_hash = ?1",
            &[&value],
        )
    };
    let (hashed, plain) = (stored(digest.as_ref()), stored(token.as_bytes()));
    assert_eq!((hashed, plain), (1, 0));

    let (form, _) = open_link(&app, &link).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("Новый пароль к кабинету"),
        "{}",
        form.body
    );
    assert!(form.body.contains("<label for=\"new_password\">"));
    assert!(
        form.body
            .contains(&format!("action=\"{}\"", link.replace('&', "&amp;"))),
        "the form posts back to its link: {}",
        form.body
    );

    let done = reset(&app, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        done.headers.get(header::LOCATION).unwrap(),
        "/login?reset=done"
    );
    let notice = call(&app, "GET", "/login?reset=done", "", None).await;
    assert!(
        notice
            .body
            .contains("Пароль изменён. Войдите с новым паролем."),
        "{}",
        notice.body
    );
    assert_eq!(login_with(&app, NEW_PASSWORD).await, StatusCode::SEE_OTHER);
    assert_eq!(
        login_with(&app, "demo-password-1").await,
        StatusCode::UNAUTHORIZED
    );
    assert!(password_hash(&app).starts_with("pbkdf2"), "a PBKDF2 hash");

    // Once only.
    let (again, _) = open_link(&app, &link).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(
        again.body.contains("Ссылка недействительна"),
        "{}",
        again.body
    );
    assert!(
        again.body.contains("href=\"/password/forgot\""),
        "a way to ask again"
    );
    let hash = password_hash(&app);
    let replay = reset(&app, &link, "another-password-9", "another-password-9").await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(password_hash(&app), hash, "nothing changed");
}

#[tokio::test]
async fn an_expired_or_made_up_link_is_refused_with_a_clear_page() {
    let app = app("http://localhost");
    let link = new_link(&app, 0).await;
    mpos_testkit::sql::execute(
        &app.store,
        "UPDATE password_reset_tokens SET created_at = created_at - 3600001,
         expires_at = expires_at - 3600001",
    );
    let hash = password_hash(&app);
    let made_up = format!("/password/reset?token={}", "0".repeat(64));
    for path in [
        link.as_str(),
        made_up.as_str(),
        "/password/reset?token=short",
        "/password/reset",
        "/password/reset?token=%00%FF",
    ] {
        let (page, _) = open_link(&app, path).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.body.contains("устарела"), "{path}: {}", page.body);
        let refused = reset(&app, path, NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{path}");
    }
    assert_eq!(password_hash(&app), hash);
    let (english, _) = open_link(&app, &format!("{link}&lang=en")).await;
    assert!(
        english.body.contains("This link does not work"),
        "{}",
        english.body
    );
}

#[tokio::test]
async fn a_newer_link_voids_the_older_one() {
    let app = app("http://localhost");
    let older = new_link(&app, 0).await;
    let newer = new_link(&app, 1).await;
    assert_ne!(older, newer);
    assert_eq!(
        open_link(&app, &older).await.0.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(open_link(&app, &newer).await.0.status, StatusCode::OK);
    assert_eq!(
        reset(&app, &older, NEW_PASSWORD, NEW_PASSWORD).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        reset(&app, &newer, NEW_PASSWORD, NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn field_errors_are_shown_beside_their_fields_and_keep_the_link() {
    let app = app("http://localhost");
    let link = new_link(&app, 0).await;
    let hash = password_hash(&app);

    let short = reset(&app, &link, "short", "short").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(
        short.body.contains(
            "<p class=\"field-error\" id=\"new_password-error\">Пароль должен содержать не менее 10 символов.</p>"
        ),
        "{}",
        short.body
    );
    assert!(short.body.contains(
        "aria-describedby=\"new_password-hint new_password-error\" aria-invalid=\"true\""
    ));

    let differ = reset(&app, &link, NEW_PASSWORD, "brand-new-password-8").await;
    assert_eq!(differ.status, StatusCode::BAD_REQUEST);
    assert!(
        differ.body.contains(
            "<p class=\"field-error\" id=\"new_password_repeat-error\">Пароли не совпадают.</p>"
        ),
        "{}",
        differ.body
    );
    assert!(!differ.body.contains("id=\"new_password-error\""));

    assert_eq!(password_hash(&app), hash, "nothing changed");
    assert_eq!(
        open_link(&app, &link).await.0.status,
        StatusCode::OK,
        "still valid"
    );

    // The forgot page checks only the form of the e-mail.
    for (email, error) in [("", "Введите e-mail."), ("demo", "name@example.by")] {
        let answer = forgot(&app, email).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert!(
            answer.body.contains("id=\"email-error\"") && answer.body.contains(error),
            "{}",
            answer.body
        );
        assert!(answer.body.contains("aria-invalid=\"true\""));
    }
}

#[tokio::test]
async fn posts_without_the_right_csrf_token_are_403_and_change_nothing() {
    let app = app("http://localhost");
    let csrf = forgot_csrf(&app).await;
    for (cookie, body) in [
        (
            format!("mpos_csrf={csrf}"),
            "email=demo%40merchant.test".to_owned(),
        ),
        (
            String::new(),
            format!("email=demo%40merchant.test&csrf_token={csrf}"),
        ),
        (
            format!("mpos_csrf={csrf}"),
            "email=demo%40merchant.test&csrf_token=forged".to_owned(),
        ),
    ] {
        let answer = call(&app, "POST", "/password/forgot", &cookie, Some(&body)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
    }

    let link = new_link(&app, 0).await;
    let session = format!("mpos_session={}", logged_in(&app).await);
    let hash = password_hash(&app);
    let (_, csrf) = open_link(&app, &link).await;
    let fields = format!("new_password={NEW_PASSWORD}&new_password_repeat={NEW_PASSWORD}");
    for (cookie, body) in [
        (format!("mpos_csrf={csrf}"), fields.clone()),
        (String::new(), format!("{fields}&csrf_token={csrf}")),
        (
            format!("mpos_csrf={csrf}"),
            format!("{fields}&csrf_token=forged"),
        ),
    ] {
        let answer = call(&app, "POST", &link, &cookie, Some(&body)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(password_hash(&app), hash);
    assert_eq!(
        open_link(&app, &link).await.0.status,
        StatusCode::OK,
        "unused"
    );
    assert_eq!(
        call(&app, "GET", "/", &session, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        stored_tokens(&app),
        1,
        "only the one asked for with the token"
    );
    assert_eq!(mails(&app).len(), 1);
}

#[tokio::test]
async fn a_reset_ends_every_session_lifts_the_lockout_and_is_audited() {
    let app = app("http://localhost");
    let first = format!("mpos_session={}", logged_in(&app).await);
    let second = format!("mpos_session={}", logged_in(&app).await);
    assert_eq!(sessions_of_demo(&app), 2);
    // Forgetting the password: five failures lock the e-mail.
    for _ in 0..5 {
        assert_eq!(
            login_with(&app, "not-the-password").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_with(&app, "demo-password-1").await,
        StatusCode::TOO_MANY_REQUESTS
    );

    let link = new_link(&app, 0).await;
    assert_eq!(
        reset(&app, &link, NEW_PASSWORD, NEW_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(sessions_of_demo(&app), 0);
    for cookie in [&first, &second] {
        let answer = call(&app, "GET", "/", cookie, None).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
        assert_eq!(answer.headers.get(header::LOCATION).unwrap(), "/login");
    }
    assert_eq!(
        login_with(&app, NEW_PASSWORD).await,
        StatusCode::SEE_OTHER,
        "the mailbox's owner is not locked out"
    );

    let entries = app
        .store
        .read(|c| audit::recent(c, Some("MTB000000000001"), 10))
        .unwrap();
    let reset = entries
        .iter()
        .find(|e| e.action == "merchant.password_reset")
        .expect("the reset is audited");
    assert_eq!(reset.actor, "merchant:MTB000000000001");
    assert_eq!(reset.subject.as_deref(), Some("MTB000000000001"));
    let detail = reset.detail.as_deref().unwrap();
    assert!(detail.contains("2 session(s) ended"), "{detail}");
    assert!(
        !detail.contains(link.rsplit('=').next().unwrap()),
        "no token"
    );
    assert!(
        entries
            .iter()
            .any(|e| e.action == "merchant.password_reset_requested")
    );
    let other = app
        .store
        .read(|c| audit::recent(c, Some("MTB000000000002"), 10))
        .unwrap();
    assert!(other.is_empty(), "the other merchant is untouched");
}

#[tokio::test]
async fn the_pages_speak_english_and_keep_the_link_when_switching() {
    let app = app("http://localhost");
    let page = call(&app, "GET", "/password/forgot?lang=en", "", None).await;
    assert!(page.body.contains("Password recovery"), "{}", page.body);
    assert!(page.body.contains("<label for=\"email\">"));
    assert!(page.body.contains("aria-describedby=\"forgot-intro\""));
    let login = call(&app, "GET", "/login", "", None).await;
    assert!(login.body.contains("href=\"/password/forgot\""));

    let link = new_link(&app, 0).await;
    let (form, _) = open_link(&app, &link).await;
    let token = link.rsplit('=').next().unwrap();
    assert!(
        form.body
            .contains(&format!("href=\"?token={token}&amp;lang=en\"")),
        "{}",
        form.body
    );
    let (english, _) = open_link(&app, &format!("{link}&lang=en")).await;
    assert!(
        english.body.contains("New cabinet password"),
        "{}",
        english.body
    );
}

#[tokio::test]
async fn changing_the_password_voids_a_link_asked_for_before() {
    let app = app("http://localhost");
    let link = new_link(&app, 0).await;
    assert_eq!(open_link(&app, &link).await.0.status, StatusCode::OK);
    let (cookie, csrf) = session_and_csrf(&app).await;
    let changed = call(
        &app,
        "POST",
        "/password",
        &cookie,
        Some(&format!(
            "current_password=demo-password-1&new_password={0}&new_password_repeat={0}&csrf_token={csrf}",
            encode(NEW_PASSWORD)
        )),
    )
    .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        open_link(&app, &link).await.0.status,
        StatusCode::BAD_REQUEST,
        "the link no longer works"
    );
    assert_eq!(
        reset(&app, &link, "another-password-9", "another-password-9")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(login_with(&app, NEW_PASSWORD).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn at_most_five_links_an_hour_are_e_mailed_and_the_answer_stays_the_same() {
    let app = app("http://localhost");
    let csrf = forgot_csrf(&app).await;
    let first = forgot_with(&app, &csrf, "demo@merchant.test").await;
    wait_for_mails(&app, 1).await;
    for sent in 2..=5 {
        forgot_with(&app, &csrf, "demo@merchant.test").await;
        wait_for_mails(&app, sent).await;
    }
    let sixth = forgot_with(&app, &csrf, "demo@merchant.test").await;
    assert_eq!((sixth.status, &sixth.body), (first.status, &first.body));
    // The refusal is audited; once it is there, nothing more was sent.
    let throttled = || {
        app.store
            .read(|c| {
                mpos_store::ops::audit::count_since(
                    c,
                    "MTB000000000001",
                    "merchant.password_reset_throttled",
                    0,
                )
            })
            .unwrap()
    };
    let start = std::time::Instant::now();
    while throttled() == 0 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "no refusal audited"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(mails(&app).len(), 5);
}
