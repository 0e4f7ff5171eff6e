//! The host as the Android apps meet it: the real `mpos serve` on free
//! loopback ports, spoken to over TCP. Every rule of the host interface that
//! is about the connection (framing, pipelining, sessions, closing) and the
//! store's reach into it (blocking, revocation, durability) is here; the
//! decision rules themselves are table-tested in mpos-domain.

#[path = "support/host.rs"]
mod host;

use host::{Client, Server};
use std::time::{Duration, Instant};

const CARD: &str = "4276550012341239";

fn purchase(stan: &str, amount: &str) -> Vec<(u8, String)> {
    [
        (2, CARD),
        (3, "000000"),
        (4, amount),
        (7, "1125093000"),
        (11, stan),
        (14, "2812"),
        (22, "071"),
        (41, "10000001"),
        (42, "MTB000000000001"),
        (49, "933"),
    ]
    .into_iter()
    .map(|(n, v)| (n, v.to_owned()))
    .collect()
}

fn send(client: &mut Client, mti: &str, fields: &[(u8, String)]) {
    let borrowed: Vec<(u8, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    client.send(mti, &borrowed);
}

fn pay(client: &mut Client, stan: u32) -> host::Answer {
    send(
        client,
        "0200",
        &purchase(&format!("{stan:06}"), "000000001000"),
    );
    client.receive().expect("an answer")
}

fn signed_on(server: &Server) -> Client {
    let mut client = server.connect();
    assert_eq!(client.sign_on("MPOS-0001", "app-pass-1").code(), "00");
    client
}

#[test]
fn pipelined_requests_are_answered_in_arrival_order() {
    let server = Server::start();
    let mut client = signed_on(&server);
    // 40 requests without waiting, mixing approvals and declines.
    for i in 0..40u32 {
        let amount = if i % 5 == 0 {
            "000000001051"
        } else {
            "000000001000"
        };
        send(
            &mut client,
            "0200",
            &purchase(&format!("{:06}", 100 + i), amount),
        );
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
    let server = Server::start();
    let mut client = server.connect();
    send(&mut client, "0200", &purchase("000001", "000000001000"));
    client.send(
        "0800",
        &[
            (7, "1125093000"),
            (11, "000002"),
            (48, "app-pass-1"),
            (62, "MPOS-0001"),
            (70, "001"),
        ],
    );
    send(&mut client, "0200", &purchase("000003", "000000001000"));
    let codes: Vec<String> = (0..3)
        .map(|_| client.receive().expect("answer").code().to_owned())
        .collect();
    assert_eq!(codes, ["63", "00", "00"]);
}

#[test]
fn bad_length_headers_close_only_their_connection() {
    let server = Server::start();
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
    let server = Server::start();
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
    let server = Server::start();
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
    let mut missing = purchase("000050", "000000001000");
    missing.retain(|(n, _)| *n != 22);
    send(&mut client, "0200", &missing);
    assert_eq!(client.receive().expect("answer").code(), "30");
    let mut transfer = purchase("000051", "000000001000");
    transfer[1].1 = "400000".into();
    send(&mut client, "0200", &transfer);
    assert_eq!(client.receive().expect("answer").code(), "12");
    client.send("0800", &[(7, "1125093000"), (11, "000052"), (70, "999")]);
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
    let server = Server::start();
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
    let server = Server::start();
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
    let server = Server::start();
    let mut client = signed_on(&server);
    // Every printable ASCII character, spaces inside, 999 in all: the most
    // `mpos admin` (and the cabinet) accept, and exactly what DE 48 carries.
    let printable: String = (0x20u8..=0x7E).map(char::from).collect();
    let inner: String = printable.chars().cycle().take(997).collect();
    let password = format!("!{inner}~");
    assert_eq!(password.len(), 999);
    let out = server.admin(&[
        "device",
        "set-password",
        "MPOS-0001",
        "--password",
        &password,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Once the host has seen the change (the old sign-on is revoked)...
    until_code(&mut client, "63", 1);
    assert_eq!(client.sign_on("MPOS-0001", &password).code(), "00");
    assert_eq!(pay(&mut client, 500).code(), "00");
}

#[test]
fn blocked_devices_cannot_sign_on_and_strangers_learn_nothing() {
    let server = Server::start();
    let out = server.admin(&["device", "block", "MPOS-0002"]);
    assert!(out.status.success());
    let mut client = server.connect();
    // The block reaches the host within a second.
    let deadline = Instant::now() + Duration::from_secs(1);
    while client.sign_on("MPOS-0002", "app-pass-2").code() != "58" {
        assert!(Instant::now() < deadline, "58 within a second of the block");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(client.sign_on("MPOS-0002", "wrong-pass").code(), "63");
    assert_eq!(client.sign_on("NO-SUCH", "app-pass-2").code(), "63");
}

#[test]
fn idle_connections_are_closed() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data, &[], &[("MPOS_HOST__IDLE_TIMEOUT_SECS", "1")]);
    let mut client = signed_on(&server);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(client.is_closed());
}

#[test]
fn shutdown_answers_what_is_in_flight_and_loses_nothing() {
    let mut server = Server::start();
    let mut client = signed_on(&server);
    for i in 0..20u32 {
        send(
            &mut client,
            "0200",
            &purchase(&format!("{:06}", 300 + i), "000000001000"),
        );
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
    let store = mpos_store::Store::open(
        &server.data_dir().join("mpos.db"),
        &mpos_store::StoreOptions::default(),
    )
    .unwrap();
    for rrn in approved {
        let found = store
            .read(|c| mpos_store::ops::transactions::find_refund_target(c, &rrn))
            .unwrap();
        assert!(found.is_some(), "approval {rrn} is in the database");
    }
}

#[test]
fn metrics_and_health_are_served() {
    let server = Server::start();
    let mut client = signed_on(&server);
    pay(&mut client, 1);
    assert_eq!(server.http_get("/healthz"), "ok\n");
    let metrics = server.http_get("/metrics");
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
}

#[test]
fn every_response_code_of_the_spec_through_the_wire() {
    let server = Server::start();
    let mut c = signed_on(&server);
    let mut stan = 1000u32;
    let mut next = || {
        stan += 1;
        format!("{stan:06}")
    };
    let with = |changes: &[(u8, &str)], stan: String| {
        let mut fields = purchase(&stan, "000000010000");
        for (n, v) in changes {
            fields.retain(|(f, _)| f != n);
            fields.push((*n, (*v).to_owned()));
        }
        fields.sort_by_key(|(n, _)| *n);
        fields
    };
    let check = |c: &mut Client,
                 label: &str,
                 mti: &str,
                 fields: Vec<(u8, String)>,
                 code: &str|
     -> host::Answer {
        send(c, mti, &fields);
        let answer = c.receive().expect("an answer");
        assert_eq!(answer.code(), code, "{label}");
        answer
    };
    let approved = check(&mut c, "00 approved", "0200", with(&[], next()), "00");
    let rrn = approved.get(37).expect("RRN").to_owned();
    check(
        &mut c,
        "03 foreign terminal",
        "0200",
        with(&[(41, "20000001")], next()),
        "03",
    );
    check(
        &mut c,
        "05 do not honour",
        "0200",
        with(&[(4, "000000010005")], next()),
        "05",
    );
    check(
        &mut c,
        "12 invalid transaction",
        "0200",
        with(&[(3, "310000")], next()),
        "12",
    );
    check(
        &mut c,
        "13 over the terminal's limit",
        "0200",
        with(&[(41, "10000002"), (4, "000000500001")], next()),
        "13",
    );
    check(
        &mut c,
        "13 wrong currency",
        "0200",
        with(&[(49, "643")], next()),
        "13",
    );
    check(
        &mut c,
        "14 invalid card number",
        "0200",
        with(&[(2, "4276550012341234")], next()),
        "14",
    );
    check(
        &mut c,
        "25 original not found",
        "0200",
        with(&[(3, "200000"), (37, "999999999999")], next()),
        "25",
    );
    check(
        &mut c,
        "13 refund over the purchase",
        "0200",
        with(&[(3, "200000"), (37, &rrn), (4, "000000010001")], next()),
        "13",
    );
    check(
        &mut c,
        "00 refund within it",
        "0200",
        with(&[(3, "200000"), (37, &rrn), (4, "000000002500")], next()),
        "00",
    );
    check(
        &mut c,
        "30 format error",
        "0200",
        with(&[(7, "1399999999")], next()),
        "30",
    );
    check(
        &mut c,
        "30 comes before 12 in step 1",
        "0200",
        with(&[(7, "1399999999"), (3, "310000")], next()),
        "30",
    );
    check(
        &mut c,
        "51 insufficient funds",
        "0200",
        with(&[(4, "000000010051")], next()),
        "51",
    );
    check(
        &mut c,
        "54 expired card",
        "0200",
        with(&[(14, "2001")], next()),
        "54",
    );
    let twice = next();
    let single = twice.clone();
    check(
        &mut c,
        "00 first of a pair",
        "0200",
        with(&[], twice.clone()),
        "00",
    );
    check(
        &mut c,
        "94 same key, other content",
        "0200",
        with(&[(4, "000000020000")], twice),
        "94",
    );
    let reversal = |amount: &str, original: &str, stan: String| -> Vec<(u8, String)> {
        [
            (3, "000000"),
            (4, amount),
            (7, "1125093000"),
            (11, &stan),
            (41, "10000001"),
            (42, "MTB000000000001"),
            (49, "933"),
        ]
        .into_iter()
        .map(|(n, v)| (n, v.to_owned()))
        .chain([(90, format!("0200{original}1125093000{}", "0".repeat(22)))])
        .collect()
    };
    let first = approved.get(11).expect("DE 11 echoed").to_owned();
    check(
        &mut c,
        "12 reversing a purchase with refunds",
        "0400",
        reversal("000000010000", &first, next()),
        "12",
    );
    check(
        &mut c,
        "13 reversal amount differs",
        "0400",
        reversal("000000000001", &single, next()),
        "13",
    );

    let out = server.admin(&["device", "block", "MPOS-0002"]);
    assert!(out.status.success());
    // The block reaches the host within a second (spec step 3).
    let mut blocked = server.connect();
    let deadline = Instant::now() + Duration::from_secs(1);
    while blocked.sign_on("MPOS-0002", "app-pass-2").code() != "58" {
        assert!(Instant::now() < deadline, "58 blocked, within a second");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stranger = server.connect();
    check(
        &mut stranger,
        "63 not signed on",
        "0200",
        with(&[], next()),
        "63",
    );
}

#[test]
fn when_storing_fails_the_answer_is_96_and_nothing_is_approved() {
    let server = Server::start();
    let mut client = signed_on(&server);
    assert_eq!(pay(&mut client, 1).code(), "00");
    // Break the store under the running host.
    let conn = mpos_store::rusqlite::Connection::open(server.data_dir().join("mpos.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.execute_batch("DROP TABLE transactions").unwrap();
    let answer = pay(&mut client, 2);
    assert_eq!(answer.code(), "96");
    assert_eq!(answer.get(37), None, "no RRN: nothing approved");
    assert_eq!(answer.get(11), Some("000002"), "still echoes the request");
}

#[test]
fn connections_over_the_limit_wait_until_one_ends() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(data, &[], &[("MPOS_HOST__MAX_CONNECTIONS", "1")]);
    let mut first = signed_on(&server);
    let mut second = server.connect();
    second
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    second.send("0800", &[(7, "1125093000"), (11, "000009"), (70, "301")]);
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
