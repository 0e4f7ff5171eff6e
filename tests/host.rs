//! The host as the Android apps meet it: the real `mpos serve` on free
//! loopback ports, spoken to over TCP. Every rule of the host interface that
//! is about the connection (framing, pipelining, sessions, closing) and the
//! store's reach into it (blocking, revocation, durability) is here; the
//! decision rules themselves are table-tested in mpos-domain.

use mpos_testkit::iso::{Answer, Client};
use mpos_testkit::messages::{Request, TRANSMISSION_TIME, purchase, reversal, sign_on};
use mpos_testkit::provision::OTHER_MERCHANT;
use mpos_testkit::server::{Mpos, Server};
use std::time::{Duration, Instant};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

/// Fields to change in the standard purchase.
type Changes<'a> = &'a [(u8, &'a str)];

fn pay(client: &mut Client, stan: u32) -> Answer {
    client.exchange(&purchase(stan, 1_000))
}

/// A new app password for `serial` with `mpos admin device set-password`.
fn set_app_password(server: &Server, serial: &str, password: &str) {
    let out = server.admin(&["device", "set-password", serial, "--password", password]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn signed_on(server: &Server) -> Client {
    server.signed_on("MPOS-0001", "app-pass-1")
}

#[test]
fn pipelined_requests_are_answered_in_arrival_order() {
    let server = MPOS.serve();
    let mut client = signed_on(&server);
    // 40 requests without waiting, mixing approvals and declines.
    for i in 0..40u32 {
        let amount = if i % 5 == 0 { 1_051 } else { 1_000 };
        client.send(&purchase(100 + i, amount));
    }
    for i in 0..40u32 {
        let answer = client.receive().expect("an answer");
        assert_eq!(
            answer.get(11),
            Some(format!("{:06}", 100 + i).as_str()),
            "answer {i} out of order"
        );
        assert_eq!(answer.code(), if i % 5 == 0 { "51" } else { "00" });
    }
}

#[test]
fn a_sign_on_in_the_pipeline_applies_to_what_follows() {
    let server = MPOS.serve();
    let mut client = server.connect();
    client.send(&purchase(1, 1_000));
    client.send(&sign_on(2, "MPOS-0001", "app-pass-1"));
    client.send(&purchase(3, 1_000));
    let codes: Vec<String> = (0..3)
        .map(|_| client.receive().expect("answer").code().to_owned())
        .collect();
    assert_eq!(codes, ["63", "00", "00"]);
}

#[test]
fn bad_length_headers_close_only_their_connection() {
    let server = MPOS.serve();
    let mut healthy = signed_on(&server);
    for header in [[0u8, 0], [0x20, 0x01]] {
        let mut bad = server.connect();
        use std::io::Write;
        bad.stream.write_all(&header).unwrap();
        bad.stream.write_all(&[b'0'; 16]).unwrap();
        assert!(bad.is_closed(), "header {header:?} closes the connection");
    }
    assert_eq!(
        pay(&mut healthy, 1).code(),
        "00",
        "other connections are unaffected"
    );
}

#[test]
fn unreadable_or_unsupported_mtis_close_the_connection() {
    let server = MPOS.serve();
    for raw in [
        &b"0100822000000000000004000000000000001125093000000001301"[..],
        b"ABCD",
        b"02",
    ] {
        let mut client = server.connect();
        client.send_raw(raw);
        assert!(
            client.is_closed(),
            "{:?} closes the connection",
            String::from_utf8_lossy(raw)
        );
    }
}

#[test]
fn known_mtis_that_fail_parsing_get_30_with_de11_when_readable() {
    let server = MPOS.serve();
    let mut client = signed_on(&server);
    // DE 11 then a DE 41 cut short.
    client.send_raw(b"02000020000000800000000042100");
    let answer = client.receive().expect("answer");
    assert_eq!(
        (answer.mti.as_str(), answer.code(), answer.get(11)),
        ("0210", "30", Some("000042"))
    );
    // A broken bitmap: no DE 11 to echo.
    client.send_raw(b"0400ZZZZ");
    let answer = client.receive().expect("answer");
    assert_eq!(
        (answer.mti.as_str(), answer.code(), answer.get(11)),
        ("0410", "30", None)
    );
    // Still connected: step 1 also answers a missing field (30) and a
    // processing code that is neither purchase nor refund (12).
    client.send(&purchase(50, 1_000).without(22));
    assert_eq!(client.receive().expect("answer").code(), "30");
    client.send(&purchase(51, 1_000).set(3, "400000"));
    assert_eq!(client.receive().expect("answer").code(), "12");
    client.send(&Request::new(
        "0800",
        &[(7, "1125093000"), (11, "000052"), (70, "999")],
    ));
    assert_eq!(
        client.receive().expect("answer").code(),
        "12",
        "unknown network code"
    );
}

/// Pays until the answer is `code`, for at most 1 second.
fn until_code(client: &mut Client, code: &str, mut stan: u32) -> Duration {
    let start = Instant::now();
    loop {
        let answer = pay(client, stan);
        if answer.code() == code {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "still {} after 1 s",
            answer.code()
        );
        stan += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_device_blocked_in_the_store_is_refused_within_a_second_without_reconnecting() {
    let server = MPOS.serve();
    let mut client = signed_on(&server);
    assert_eq!(pay(&mut client, 1).code(), "00");
    let out = server.admin(&["device", "block", "MPOS-0001"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    until_code(&mut client, "58", 100);
    let out = server.admin(&["device", "unblock", "MPOS-0001"]);
    assert!(out.status.success());
    until_code(&mut client, "00", 200);
}

#[test]
fn a_new_app_password_revokes_the_sign_on() {
    let server = MPOS.serve();
    let mut client = signed_on(&server);
    let out = server.admin(&[
        "device",
        "set-password",
        "MPOS-0001",
        "--password",
        "new-app-pass",
    ]);
    assert!(out.status.success());
    until_code(&mut client, "63", 1);
    assert_eq!(
        client.sign_on("MPOS-0001", "app-pass-1").code(),
        "63",
        "the old password is gone"
    );
    assert_eq!(client.sign_on("MPOS-0001", "new-app-pass").code(), "00");
    assert_eq!(pay(&mut client, 500).code(), "00");
}

#[test]
fn the_longest_app_password_the_rule_allows_reaches_the_host_in_de48() {
    let server = MPOS.serve();
    let mut client = signed_on(&server);
    // Every printable ASCII character, spaces inside, 999 in all: the most
    // `mpos admin` (and the cabinet) accept, and exactly what DE 48 carries.
    let printable: String = (0x20u8..=0x7E).map(char::from).collect();
    let inner: String = printable.chars().cycle().take(997).collect();
    let password = format!("!{inner}~");
    assert_eq!(password.len(), 999);
    set_app_password(&server, "MPOS-0001", &password);
    // Once the host has seen the change (the old sign-on is revoked)...
    until_code(&mut client, "63", 1);
    assert_eq!(client.sign_on("MPOS-0001", &password).code(), "00");
    assert_eq!(pay(&mut client, 500).code(), "00");
}

/// Blocks MPOS-0002 with `mpos admin` and returns a connection whose
/// sign-on the host refused with 58: the block reaches the host within a
/// second (spec step 3).
fn block_mpos_0002(server: &Server) -> Client {
    let out = server.admin(&["device", "block", "MPOS-0002"]);
    assert!(out.status.success());
    let mut client = server.connect();
    let deadline = Instant::now() + Duration::from_secs(1);
    while client.sign_on("MPOS-0002", "app-pass-2").code() != "58" {
        assert!(Instant::now() < deadline, "58 within a second of the block");
        std::thread::sleep(Duration::from_millis(20));
    }
    client
}

#[test]
fn blocked_devices_cannot_sign_on_and_strangers_learn_nothing() {
    let server = MPOS.serve();
    let mut client = block_mpos_0002(&server);
    assert_eq!(client.sign_on("MPOS-0002", "wrong-pass").code(), "63");
    assert_eq!(client.sign_on("NO-SUCH", "app-pass-2").code(), "63");
}

#[test]
fn idle_connections_are_closed() {
    let data = tempfile::tempdir().unwrap();
    let server = MPOS.serve_in(data, &[], &[("MPOS_HOST__IDLE_TIMEOUT_SECS", "1")]);
    let mut client = signed_on(&server);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(client.is_closed());
}

#[test]
fn shutdown_answers_what_is_in_flight_and_loses_nothing() {
    let mut server = MPOS.serve();
    let mut client = signed_on(&server);
    for i in 0..20u32 {
        client.send(&purchase(300 + i, 1_000));
    }
    // Let the requests arrive (the host reads up to 32 ahead), then stop it.
    std::thread::sleep(Duration::from_millis(500));
    let status = server.terminate();
    let mut approved = Vec::new();
    while let Some(answer) = client.receive() {
        assert_eq!(answer.code(), "00");
        approved.push(answer.get(37).expect("an RRN").to_owned());
    }
    assert_eq!(approved.len(), 20, "every request in flight was answered");
    assert!(status.success(), "mpos exits 0 on SIGTERM: {status:?}");
    let store = mpos_testkit::app::in_dir(server.data_dir()).store;
    for rrn in approved {
        let found = store
            .read(|c| mpos_store::ops::transactions::find_refund_target(c, &rrn))
            .unwrap();
        assert!(found.is_some(), "approval {rrn} is in the database");
    }
}

/// `/metrics` on its own listener only (its counts are not for the
/// cabinet's public one); `/healthz` on both.
#[test]
fn metrics_and_health_are_served() {
    let server = MPOS.serve();
    let mut client = signed_on(&server);
    pay(&mut client, 1);
    assert_eq!(server.http_get("/healthz"), "ok\n");
    assert_eq!(server.metrics_http("/healthz").body, "ok\n");
    assert_eq!(
        server.http("GET", "/metrics", "", None).status,
        404,
        "no metrics on the cabinet's listener"
    );
    let answer = server.metrics_http("/metrics");
    assert_eq!(answer.status, 200);
    let metrics = answer.body;
    assert!(
        metrics.contains("mpos_host_responses_total{mti=\"0200\",code=\"00\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mpos_host_responses_total{mti=\"0800\",code=\"00\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mpos_host_latency_seconds_count{mti=\"0200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("mpos_ready 1"), "{metrics}");
    assert!(
        metrics.contains("mpos_store_commit_failures_total{reason=\"disk_full\"} 0"),
        "{metrics}"
    );
}

/// `/readyz` for a load balancer, on both listeners: 200 while the store
/// commits; and once nothing was committed for a while, a probe write
/// decides, again 200.
#[test]
fn ready_on_both_listeners_while_the_store_commits() {
    let server = MPOS.serve();
    let mut client = signed_on(&server);
    pay(&mut client, 1);
    for answer in [
        server.http("GET", "/readyz", "", None),
        server.metrics_http("/readyz"),
    ] {
        assert_eq!((answer.status, answer.body.as_str()), (200, "ready\n"));
    }
    std::thread::sleep(mpos_store::FRESH + Duration::from_millis(200));
    let answer = server.metrics_http("/readyz");
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, "ready\n"),
        "by a probe"
    );
}

#[test]
fn every_response_code_of_the_spec_through_the_wire() {
    let server = MPOS.serve();
    let mut c = signed_on(&server);
    let mut stan = 1000u32;
    let mut next = || {
        stan += 1;
        stan
    };
    let with = |changes: Changes, stan: u32| purchase(stan, 10_000).with(changes);
    let check = |c: &mut Client, label: &str, request: Request, code: &str| -> Answer {
        c.send(&request);
        let answer = c.receive().expect("an answer");
        assert_eq!(answer.code(), code, "{label}");
        answer
    };
    let approved = check(&mut c, "00 approved", with(&[], next()), "00");
    let rrn = approved.get(37).expect("RRN").to_owned();
    // Each case: the standard purchase with these fields changed, a new STAN.
    let cases: [(&str, Changes, &str); 13] = [
        ("03 foreign terminal", &[(41, "20000001")], "03"),
        ("05 do not honour", &[(4, "000000010005")], "05"),
        ("12 invalid transaction", &[(3, "310000")], "12"),
        (
            "13 over the terminal's limit",
            &[(41, "10000002"), (4, "000000500001")],
            "13",
        ),
        ("13 wrong currency", &[(49, "643")], "13"),
        ("14 invalid card number", &[(2, "4276550012341234")], "14"),
        (
            "25 original not found",
            &[(3, "200000"), (37, "999999999999")],
            "25",
        ),
        (
            "13 refund over the purchase",
            &[(3, "200000"), (37, &rrn), (4, "000000010001")],
            "13",
        ),
        (
            "00 refund within it",
            &[(3, "200000"), (37, &rrn), (4, "000000002500")],
            "00",
        ),
        ("30 format error", &[(7, "1399999999")], "30"),
        (
            "30 comes before 12 in step 1",
            &[(7, "1399999999"), (3, "310000")],
            "30",
        ),
        ("51 insufficient funds", &[(4, "000000010051")], "51"),
        ("54 expired card", &[(14, "2001")], "54"),
    ];
    for (label, changes, code) in cases {
        check(&mut c, label, with(changes, next()), code);
    }
    let twice = next();
    let single = twice;
    check(&mut c, "00 first of a pair", with(&[], twice), "00");
    check(
        &mut c,
        "94 same key, other content",
        with(&[(4, "000000020000")], twice),
        "94",
    );
    let first = approved.get(11).expect("DE 11 echoed").to_owned();
    check(
        &mut c,
        "12 reversing a purchase with refunds",
        reversal(next(), 10_000, &first),
        "12",
    );
    check(
        &mut c,
        "13 reversal amount differs",
        reversal(next(), 1, &format!("{single:06}")),
        "13",
    );

    block_mpos_0002(&server);
    let mut stranger = server.connect();
    check(&mut stranger, "63 not signed on", with(&[], next()), "63");
}

/// The rows stored under `stan` and DE 7 [`TRANSMISSION_TIME`] for
/// MPOS-0001, by MTI: (MTI, DE 39) in insertion order.
fn rows_under_key(server: &Server, stan: u32) -> Vec<(String, String)> {
    let store = mpos_testkit::app::in_dir(server.data_dir()).store;
    store
        .read(|c| {
            c.sql_for_tests().query(
                "SELECT mti, response_code FROM transactions
                 WHERE device_serial = 'MPOS-0001' AND stan = ?1 AND transmission_time = ?2
                 ORDER BY id",
                &[&format!("{stan:06}"), &TRANSMISSION_TIME],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
        })
        .expect("the rows read")
}

/// Steps 3 and 4 come before the duplicate check (step 5): a 0200 or 0400
/// they refuse that reuses a stored key gets 58 or 03, not the 96 of a
/// second row under the key, and stores nothing new (like a 94).
#[test]
fn a_58_or_03_under_a_stored_key_is_answered_and_stores_nothing_new() {
    let server = MPOS.serve();
    let mut c = signed_on(&server);
    let foreign_terminal: Changes = &[(41, "20000001")];
    let foreign_merchant: Changes = &[(42, OTHER_MERCHANT)];
    let approved = pay(&mut c, 7);
    assert_eq!(approved.code(), "00");
    for changes in [foreign_terminal, foreign_merchant] {
        let answer = c.exchange(&purchase(7, 1_000).with(changes));
        assert_eq!(answer.code(), "03", "{changes:?} under an approval's key");
        assert_eq!(answer.get(37), None, "no RRN");
    }
    // A 03 stored first, then the same request again: 03 again.
    let refused = purchase(8, 1_000).with(foreign_terminal);
    assert_eq!(c.exchange(&refused).code(), "03");
    assert_eq!(c.exchange(&refused).code(), "03", "the 03 retransmitted");
    // A 0400 under a stored reversal's key.
    assert_eq!(c.exchange(&reversal(9, 1_000, "000007")).code(), "00");
    for changes in [foreign_terminal, foreign_merchant] {
        let answer = c.exchange(&reversal(9, 1_000, "000007").with(changes));
        assert_eq!(answer.code(), "03", "0400 {changes:?} under a stored key");
    }
    // Blocked: the approval retransmitted is replayed until the block
    // reaches the host, then 58 (step 3), never 96.
    let out = server.admin(&["device", "block", "MPOS-0001"]);
    assert!(out.status.success());
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let answer = pay(&mut c, 7);
        if answer.code() == "58" {
            break;
        }
        assert_eq!(answer.code(), "00", "a replay until the block is seen");
        assert_eq!(answer.get(37), approved.get(37), "the same RRN");
        assert!(Instant::now() < deadline, "58 within a second of the block");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(c.exchange(&reversal(9, 1_000, "000007")).code(), "58");

    let one = |mti: &str, code: &str| vec![(mti.to_owned(), code.to_owned())];
    assert_eq!(rows_under_key(&server, 7), one("0200", "00"));
    assert_eq!(rows_under_key(&server, 8), one("0200", "03"));
    assert_eq!(rows_under_key(&server, 9), one("0400", "00"));
}

#[test]
fn when_storing_fails_the_answer_is_96_and_nothing_is_approved() {
    let server = MPOS.serve();
    let mut client = signed_on(&server);
    assert_eq!(pay(&mut client, 1).code(), "00");
    // Break the store under the running host: the table it writes to goes.
    let store = mpos_testkit::app::in_dir(server.data_dir()).store;
    mpos_testkit::sql::rename_table(&store, "transactions", "transactions_away");
    let answer = pay(&mut client, 2);
    assert_eq!(answer.code(), "96");
    assert_eq!(answer.get(37), None, "no RRN: nothing approved");
    assert_eq!(answer.get(11), Some("000002"), "still echoes the request");
}

#[test]
fn connections_over_the_limit_wait_until_one_ends() {
    let data = tempfile::tempdir().unwrap();
    let server = MPOS.serve_in(data, &[], &[("MPOS_HOST__MAX_CONNECTIONS", "1")]);
    let mut first = signed_on(&server);
    let mut second = server.connect();
    second
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    second.send(&Request::new(
        "0800",
        &[(7, "1125093000"), (11, "000009"), (70, "301")],
    ));
    assert!(
        second.receive().is_none(),
        "the second connection is not served yet"
    );
    assert_eq!(pay(&mut first, 1).code(), "00");
    drop(first);
    second
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(
        second.receive().expect("served once the first left").code(),
        "00"
    );
}

/// `mpos serve 2> mpos.log` (or systemd): the log says what happened in
/// plain text, without a terminal's colour escape codes.
#[test]
fn the_log_written_to_a_file_has_no_escape_codes() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("mpos.log");
    let log = std::fs::File::create(&path).expect("the log file");
    let mut server = MPOS.serve_logging_to(log, "info,mpos_acquirer::connection=debug");
    let mut client = signed_on(&server);
    assert_eq!(pay(&mut client, 1).code(), "00");
    drop(client);
    assert!(server.terminate().success());
    let text = std::fs::read_to_string(&path).expect("the log reads");
    assert!(
        text.contains("INFO") && text.contains("signed on"),
        "the sign-on is logged: {text}"
    );
    assert!(
        text.contains("stan=Some(\"000001\")") && text.contains("code=00"),
        "the connection's DEBUG line names each answer's STAN: {text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "no escape codes in a log file: {text:?}"
    );
}

/// The ticket of a successful sign-on's 0810 (DE 61): 64 hex characters.
fn ticket_of(answer: &Answer) -> String {
    assert_eq!(answer.code(), "00", "a successful sign-on");
    let ticket = answer
        .get(61)
        .expect("the 0810 carries a ticket")
        .to_owned();
    assert!(
        ticket.len() == 64 && ticket.bytes().all(|b| b.is_ascii_hexdigit()),
        "{ticket:?}"
    );
    ticket
}

#[test]
fn a_ticket_signs_on_without_the_password_and_is_replaced_by_the_next() {
    let server = MPOS.serve();
    let first = ticket_of(&server.connect().sign_on("MPOS-0001", "app-pass-1"));

    let mut client = server.connect();
    let answer = client.sign_on_by_ticket("MPOS-0001", &first);
    let second = ticket_of(&answer);
    assert_ne!(second, first, "every sign-on issues a new ticket");
    assert_eq!(pay(&mut client, 2).code(), "00", "the connection is bound");

    let refused = server.connect().sign_on_by_ticket("MPOS-0001", &first);
    assert_eq!(refused.code(), "63", "the replaced ticket is void");
    assert!(refused.get(61).is_none(), "no ticket with a refusal");
    for (serial, ticket) in [
        ("MPOS-0002", second.as_str()),
        ("MPOS-0001", "not a ticket"),
        ("MPOS-9999", second.as_str()),
    ] {
        assert_eq!(
            server.connect().sign_on_by_ticket(serial, ticket).code(),
            "63",
            "{serial} {ticket}"
        );
    }
    let lower = second.to_ascii_lowercase();
    ticket_of(&server.connect().sign_on_by_ticket("MPOS-0001", &lower));
}

#[test]
fn a_sign_on_needs_exactly_one_of_password_and_ticket() {
    let server = MPOS.serve();
    let ticket = ticket_of(&server.connect().sign_on("MPOS-0001", "app-pass-1"));
    let mut client = server.connect();
    let both = sign_on(1, "MPOS-0001", "app-pass-1").with(&[(61, &ticket)]);
    assert_eq!(client.exchange(&both).code(), "30");
    let neither = sign_on(2, "MPOS-0001", "").without(48);
    assert_eq!(client.exchange(&neither).code(), "30");
    assert_eq!(pay(&mut client, 3).code(), "63", "not signed on");
    ticket_of(&client.sign_on_by_ticket("MPOS-0001", &ticket));
}

#[test]
fn signing_off_and_a_new_app_password_void_the_ticket() {
    let server = MPOS.serve();
    let mut client = server.connect();
    let ticket = ticket_of(&client.sign_on("MPOS-0001", "app-pass-1"));
    let sign_off = sign_on(2, "MPOS-0001", "")
        .without(48)
        .without(62)
        .with(&[(70, "002")]);
    assert_eq!(client.exchange(&sign_off).code(), "00");
    assert_eq!(
        server
            .connect()
            .sign_on_by_ticket("MPOS-0001", &ticket)
            .code(),
        "63",
        "void on sign-off"
    );

    let mut signed_on = server.connect();
    let ticket = ticket_of(&signed_on.sign_on("MPOS-0001", "app-pass-1"));
    set_app_password(&server, "MPOS-0001", "new-app-pass-1");
    assert_eq!(
        server
            .connect()
            .sign_on_by_ticket("MPOS-0001", &ticket)
            .code(),
        "63",
        "void on a new app password"
    );
    // Once the host's directory has the new password (the old sign-on is
    // revoked), it signs on and gets a ticket.
    until_code(&mut signed_on, "63", 10);
    ticket_of(&server.connect().sign_on("MPOS-0001", "new-app-pass-1"));
}

#[test]
fn a_ticket_survives_a_restart_of_the_host() {
    let mut server = MPOS.serve();
    let ticket = ticket_of(&server.connect().sign_on("MPOS-0001", "app-pass-1"));
    assert!(server.terminate().success());
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("temp dir"));
    drop(server);
    let server = MPOS.serve_in(data, &[], &[]);
    let mut client = server.connect();
    ticket_of(&client.sign_on_by_ticket("MPOS-0001", &ticket));
    assert_eq!(pay(&mut client, 2).code(), "00");
}

/// Five wrong passwords for one serial within 15 minutes: its password
/// sign-ons get 75, the right password too, until 15 minutes after the
/// last failure; its ticket still signs on.
fn lock_out(server: &Server, serial: &str) {
    let mut client = server.connect();
    for attempt in 0..5 {
        assert_eq!(
            client.sign_on(serial, "wrong-password").code(),
            "63",
            "{serial}: attempt {attempt}"
        );
    }
}

#[test]
fn five_wrong_passwords_lock_password_sign_ons_but_not_tickets() {
    let server = MPOS.serve();
    let ticket = ticket_of(&server.connect().sign_on("MPOS-0001", "app-pass-1"));
    lock_out(&server, "MPOS-0001");
    let mut client = server.connect();
    let locked = client.sign_on("MPOS-0001", "app-pass-1");
    assert_eq!(locked.code(), "75", "the right password is refused too");
    assert!(locked.get(61).is_none());
    assert_eq!(pay(&mut client, 2).code(), "63", "not signed on");
    ticket_of(&client.sign_on_by_ticket("MPOS-0001", &ticket));
    assert_eq!(pay(&mut client, 3).code(), "00", "signed on by ticket");
    assert_eq!(
        server.connect().sign_on("MPOS-0002", "app-pass-2").code(),
        "00",
        "other serials are not affected"
    );
    // Serials that do not exist are counted alike.
    lock_out(&server, "MPOS-9999");
    assert_eq!(server.connect().sign_on("MPOS-9999", "x").code(), "75");
}

#[test]
fn a_lockout_survives_a_restart_and_a_new_app_password_lifts_it() {
    let mut server = MPOS.serve();
    let ticket = ticket_of(&server.connect().sign_on("MPOS-0001", "app-pass-1"));
    lock_out(&server, "MPOS-0001");
    assert!(server.terminate().success());
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("temp dir"));
    drop(server);
    let server = MPOS.serve_in(data, &[], &[]);
    assert_eq!(
        server.connect().sign_on("MPOS-0001", "app-pass-1").code(),
        "75",
        "the count survives the restart"
    );

    // Signed on by ticket (which the lockout leaves alone), the connection
    // sees the new app password revoke it: then the host has the new
    // password, and the lockout is lifted.
    let mut by_ticket = server.connect();
    ticket_of(&by_ticket.sign_on_by_ticket("MPOS-0001", &ticket));
    set_app_password(&server, "MPOS-0001", "new-app-pass-1");
    until_code(&mut by_ticket, "63", 10);
    ticket_of(&server.connect().sign_on("MPOS-0001", "new-app-pass-1"));
}

/// The host raises its open-file limit so that `[host] max_connections`
/// signed-on readers fit, as far as the hard limit allows.
#[test]
fn the_host_raises_its_open_file_limit_for_its_connections() {
    // Start it under a low soft limit (as most shells give), which it
    // inherits from this process for the moment it is spawned.
    let (soft, hard) = rlimit::Resource::NOFILE.get().expect("the limit");
    rlimit::Resource::NOFILE
        .set(soft.min(1024), hard)
        .expect("lowered");
    let server = MPOS.serve_in(
        tempfile::tempdir().expect("temp dir"),
        &[],
        &[("MPOS_HOST__MAX_CONNECTIONS", "10000")],
    );
    rlimit::Resource::NOFILE.set(soft, hard).expect("restored");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.child.id()))
        .expect("the process's limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("the open-file limit");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok().or((w == "unlimited").then_some(u64::MAX)))
        .collect();
    let (soft, hard) = (numbers[0], numbers[1]);
    let wanted = 10_000 + 1024 + 64;
    assert!(soft >= wanted.min(hard), "{line}");
}
