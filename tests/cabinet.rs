//! The cabinet on the real `mpos serve`: the HTTP listener serves it beside
//! /healthz (/metrics has its own listener: tests/host.rs).

use mpos_testkit::iso::Client;
use mpos_testkit::messages::CARD;
use mpos_testkit::server::{Mpos, Server};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

#[test]
fn the_login_page_is_served_in_russian_with_its_stylesheet() {
    let server = MPOS.serve();
    let login = server.http_get("/login");
    assert!(login.contains("Вход в личный кабинет"), "{login}");
    assert!(login.contains("name=\"csrf_token\""));
    // The stylesheet served is the cabinet's, whole (it no longer has a
    // `--brand` custom property to look for: the manual's browsers lack them).
    assert_eq!(
        server.http_get("/static/cabinet.css"),
        include_str!("../crates/mpos-cabinet/static/cabinet.css")
    );
    assert_eq!(server.http_get("/healthz"), "ok\n");
}

/// A server where MPOS-0001 paid `amount_minor` (approved) and stays
/// signed on, and the demo merchant's cabinet session cookie.
fn paid_and_logged_in(amount_minor: u64) -> (Server, Client, String) {
    let server = MPOS.serve();
    let mut client = server.signed_on("MPOS-0001", "app-pass-1");
    assert_eq!(client.pay(1, amount_minor), "00");
    let cookie = server.cabinet_login("demo@merchant.test", "demo-password-1");
    (server, client, cookie)
}

#[test]
fn what_the_host_approves_the_cabinet_shows_and_a_block_there_reaches_the_host_within_a_second() {
    let (server, mut client, cookie) = paid_and_logged_in(123_450);

    let history = server.http("GET", "/history?view=transactions", &cookie, None);
    assert_eq!(history.status, 200);
    assert!(
        history.body.contains("1\u{a0}234,50\u{a0}BYN"),
        "{}",
        history.body
    );
    assert!(history.body.contains("427655******1239"));
    assert!(!history.body.contains(CARD), "never the full card number");
    let csv = server.http("GET", "/history.csv?view=transactions", &cookie, None);
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with('\u{feff}') && csv.body.contains(";1234,50;BYN;00;"));

    // Block the connected device in the cabinet: its very next payments are
    // refused, without reconnecting, within a second.
    let devices = server.http("GET", "/devices", &cookie, None);
    let csrf = devices.csrf_token();
    let blocked = server.http(
        "POST",
        "/devices/MPOS-0001/state",
        &cookie,
        Some(&format!("state=blocked&csrf_token={csrf}")),
    );
    assert_eq!(blocked.status, 303, "{}", blocked.body);
    let stan = client.pay_until("58", 2);
    let unblocked = server.http(
        "POST",
        "/devices/MPOS-0001/state",
        &cookie,
        Some(&format!("state=active&csrf_token={csrf}")),
    );
    assert_eq!(unblocked.status, 303);
    client.pay_until("00", stan);
}

#[test]
fn a_new_app_password_set_in_the_cabinet_revokes_the_connected_sign_on_within_a_second() {
    let (server, mut client, cookie) = paid_and_logged_in(100);
    let form = server.http("GET", "/devices/MPOS-0001/password", &cookie, None);
    assert_eq!(form.status, 200);
    let changed = server.http(
        "POST",
        "/devices/MPOS-0001/password",
        &cookie,
        Some(&format!(
            "new_password=new-app-pass-2&new_password_repeat=new-app-pass-2&csrf_token={}",
            form.csrf_token()
        )),
    );
    assert_eq!(changed.status, 303, "{}", changed.body);
    let stan = client.pay_until("63", 2);
    assert_eq!(client.sign_on("MPOS-0001", "app-pass-1").code(), "63");
    assert_eq!(client.sign_on("MPOS-0001", "new-app-pass-2").code(), "00");
    assert_eq!(client.pay(stan, 100), "00");
}

/// A database fault while the session is looked up is an error page, not a
/// sign-out: the merchant is not sent to /login, the session survives, and
/// the same cookie works again once the store is back.
#[test]
fn a_store_fault_shows_an_error_page_and_keeps_the_session() {
    let server = MPOS.serve();
    let cookie = server.cabinet_login("demo@merchant.test", "demo-password-1");
    assert_eq!(server.http("GET", "/devices", &cookie, None).status, 200);

    // A real fault of the running process's store: another connection takes
    // the sessions table away, so the lookup fails inside the database at
    // once ("no such table", "relation does not exist"), with no wait.
    let outside = mpos_testkit::app::in_dir(server.data_dir()).store;
    let rename = |from, to| mpos_testkit::sql::rename_table(&outside, from, to);
    rename("cabinet_sessions", "cabinet_sessions_away");
    for path in ["/", "/devices"] {
        let answer = server.http("GET", path, &cookie, None);
        assert_eq!(answer.status, 500, "{path}: {}", answer.body);
        assert!(answer.body.starts_with("500:"), "{path}: {}", answer.body);
        assert!(
            !answer.headers.iter().any(|(k, _)| k == "location"),
            "{path}: not a redirect to /login"
        );
        assert!(answer.cookie("mpos_session").is_none(), "{path}");
    }

    rename("cabinet_sessions_away", "cabinet_sessions");
    for path in ["/", "/devices"] {
        let answer = server.http("GET", path, &cookie, None);
        assert_eq!(answer.status, 200, "{path}: the same session works again");
    }
    let devices = server.http("GET", "/devices", &cookie, None);
    assert!(devices.body.contains("MPOS-0001"), "{}", devices.body);
}

/// Issue 11, item 4: a client spraying logins with ever-new e-mails gets
/// 429 on its 21st failure within the minute, answered before any password
/// is hashed (the shared pool's counter does not move), with a readable
/// page and `Retry-After`.
#[test]
fn the_21st_failed_login_from_one_address_is_429_without_hashing() {
    let server = MPOS.serve();
    let at_start = server.password_hashes();
    for n in 0..20 {
        let failed = server.cabinet_log_in(&format!("spray-{n}@example.test"), "wrong-pass-1");
        assert_eq!(failed.status, 401, "failure {n}: {}", failed.body);
    }
    let before = server.password_hashes();
    assert!(
        before >= at_start + 20,
        "each failure was a check: {at_start} then {before}"
    );
    // Even the right password is not checked now.
    let refused = server.cabinet_log_in("demo@merchant.test", "demo-password-1");
    assert_eq!(refused.status, 429, "{}", refused.body);
    let wait: u64 = refused
        .header("retry-after")
        .and_then(|s| s.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert!(
        refused
            .body
            .contains("Слишком много неудачных попыток входа с вашего адреса"),
        "{}",
        refused.body
    );
    assert!(refused.cookie("mpos_session").is_none());
    assert_eq!(
        server.password_hashes(),
        before,
        "the 429 was answered without hashing"
    );
}

/// Issue 11, item 7: a serial an operator created with `/`, `?` and `#` is
/// listed with encoded links, and blocked and unblocked through the
/// cabinet; the host sees both.
#[test]
fn a_serial_with_slash_question_mark_and_hash_is_blocked_and_unblocked_in_the_cabinet() {
    const SERIAL: &str = "MPOS/77?x#y";
    const ENCODED: &str = "MPOS%2F77%3Fx%23y";
    // Added before the server starts, so the host knows it from its first
    // directory load: the demo data, then the serial.
    let data = tempfile::tempdir().expect("a data folder");
    let demo = mpos_testkit::fixture("demo.toml");
    let demo = demo.to_str().expect("a UTF-8 path");
    for args in [
        &["load", demo][..],
        &[
            "device",
            "add",
            "--serial",
            SERIAL,
            "--merchant",
            "MTB000000000001",
            "--password",
            "app-pass-77",
        ],
    ] {
        let out = MPOS.admin(data.path(), args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let server = MPOS.serve_in(data, &[], &[]);
    let mut client = server.signed_on(SERIAL, "app-pass-77");
    assert_eq!(client.pay(2, 100), "00");
    let cookie = server.cabinet_login("demo@merchant.test", "demo-password-1");
    let devices = server.http("GET", "/devices", &cookie, None);
    assert!(
        devices
            .body
            .contains(&format!("action=\"/devices/{ENCODED}/state\"")),
        "{}",
        devices.body
    );
    assert!(
        devices
            .body
            .contains(&format!("href=\"/devices/{ENCODED}/password\""))
    );
    let csrf = devices.csrf_token();
    let state = format!("/devices/{ENCODED}/state");
    let blocked = server.http(
        "POST",
        &state,
        &cookie,
        Some(&format!("state=blocked&csrf_token={csrf}")),
    );
    assert_eq!(blocked.status, 303, "{}", blocked.body);
    let back = blocked.header("location").expect("back to the list");
    assert_eq!(back, format!("/devices?done=blocked&serial={ENCODED}"));
    let notice = server.http("GET", back, &cookie, None);
    assert!(
        notice.body.contains("MPOS/77?x#y заблокирован"),
        "{}",
        notice.body
    );
    assert_eq!(listed_state(&server, SERIAL), "blocked");
    let stan = client.pay_until("58", 3);

    let unblocked = server.http(
        "POST",
        &state,
        &cookie,
        Some(&format!("state=active&csrf_token={csrf}")),
    );
    assert_eq!(unblocked.status, 303, "{}", unblocked.body);
    client.pay_until("00", stan);
    assert_eq!(listed_state(&server, SERIAL), "active");
}

/// The state `mpos admin device list` shows for `serial`.
fn listed_state(server: &Server, serial: &str) -> String {
    let list = String::from_utf8_lossy(&server.admin(&["device", "list"]).stdout).into_owned();
    list.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|columns| columns.first() == Some(&serial))
        .and_then(|columns| columns.get(2).map(|s| (*s).to_owned()))
        .unwrap_or_else(|| panic!("{serial} in {list}"))
}
