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
fn blocked_devices_cannot_sign_on_and_strangers_learn_nothing() {
    let server = Server::start();
    let out = server.admin(&["device", "block", "MPOS-0002"]);
    assert!(out.status.success());
    let mut client = server.connect();
    assert_eq!(client.sign_on("MPOS-0002", "app-pass-2").code(), "58");
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
