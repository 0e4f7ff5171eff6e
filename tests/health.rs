//! Health under faults (deployment.md, section 5), against the real binary:
//! the store made full under a running host without root (a file-size
//! limit on the process, lifted later with `prlimit --pid`: SQLite's own
//! file, so on SQLite only), and readiness during a graceful shutdown.

use mpos_testkit::messages::purchase;
use mpos_testkit::server::{Mpos, lift_file_size_limit, limited_file_size};
use mpos_testkit::{backend, sql};
use std::time::{Duration, Instant};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

/// Room for the demo data and a few hundred payments' worth of WAL.
const FILE_LIMIT: u64 = 3 * 1024 * 1024;

#[test]
fn a_full_store_answers_96_turns_unready_logs_a_handful_and_comes_back() {
    if backend::sqlite_only(
        "a_full_store_answers_96_turns_unready_logs_a_handful_and_comes_back",
        "a full disk stood for by a file-size limit on SQLite's own file",
    ) {
        return;
    }
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("mpos.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server =
        MPOS.serve_launched_logging_to(limited_file_size(&MPOS, FILE_LIMIT), log, "warn");
    let mut client = server.signed_on("MPOS-0001", "app-pass-1");

    // Pay until the store is full: every request then gets 96.
    let mut stan = 0;
    let mut approved = Vec::new();
    let mut refused = 0;
    while refused < 300 && stan < 20_000 {
        stan += 1;
        let answer = client.exchange(&purchase(stan, 1_000));
        match answer.code() {
            "00" => approved.push(answer.get(37).expect("an RRN").to_owned()),
            "96" => refused += 1,
            other => panic!("purchase {stan}: {other}"),
        }
    }
    assert_eq!(
        refused,
        300,
        "the store filled up after {} approvals",
        approved.len()
    );
    assert!(!approved.is_empty());

    // Not ready, within 2 s, saying why.
    let started = Instant::now();
    let not_ready = loop {
        let answer = server.metrics_http("/readyz");
        if answer.status == 503 || started.elapsed() > Duration::from_secs(2) {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(not_ready.status, 503, "{}", not_ready.body);
    assert!(
        not_ready.body.starts_with("the store cannot commit"),
        "{}",
        not_ready.body
    );
    assert_eq!(server.http("GET", "/readyz", "", None).status, 503);
    assert!(server.metrics().contains("mpos_ready 0"));

    // Space again: approvals and readiness come back without a restart.
    lift_file_size_limit(server.child.id());
    let started = Instant::now();
    let mut back = false;
    while !back && started.elapsed() < Duration::from_secs(10) {
        stan += 1;
        let answer = client.exchange(&purchase(stan, 1_000));
        if answer.code() == "00" {
            approved.push(answer.get(37).expect("an RRN").to_owned());
            back = true;
        }
    }
    assert!(back, "approvals are back after the limit is lifted");
    let ready = server.metrics_http("/readyz");
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));

    // A handful of lines for 300 refused requests, not one each.
    let text = std::fs::read_to_string(&log_path).unwrap();
    let lines = text.lines().count();
    assert!(lines <= 10, "{lines} log lines:\n{text}");
    assert!(text.contains("store commits failing"), "{text}");
    assert!(text.contains("store commits work again"), "{text}");

    // Nothing stored is damaged, and every approval is there.
    assert_eq!(server.terminate().code(), Some(0));
    let store = mpos_testkit::app::in_dir(server.data_dir()).store;
    let check: String = store
        .read(|c| {
            Ok(c.sqlite_for_tests()
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
        })
        .unwrap();
    assert_eq!(check, "ok");
    for rrn in &approved {
        let codes: Vec<String> = sql::by_rrn(&store, rrn)
            .into_iter()
            .map(|row| row.response_code)
            .collect();
        assert_eq!(codes, ["00"], "approval {rrn} is stored");
    }
}

/// During a graceful shutdown the host still answers what it has in flight,
/// and meanwhile `/readyz` tells a load balancer it is going: 503.
#[test]
fn readyz_is_503_while_a_shutdown_answers_what_is_in_flight() {
    let mut server = MPOS.serve();
    let mut client = server.signed_on("MPOS-0001", "app-pass-1");
    assert_eq!(server.metrics_http("/readyz").status, 200);

    // Another writer holds what the purchase's insert needs, so the next
    // purchase stays in flight (the host's writer waits for the lock up to
    // 5 s on SQLite, 3 s on PostgreSQL).
    let store = mpos_testkit::app::in_dir(server.data_dir()).store;
    let locker = sql::hold_writes(&store);
    client.send(&purchase(1, 1_000));
    std::thread::sleep(Duration::from_millis(200));
    let pid = server.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());

    let started = Instant::now();
    let draining = loop {
        let answer = server.metrics_http("/readyz");
        if answer.status == 503 || started.elapsed() > Duration::from_secs(2) {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        (draining.status, draining.body.as_str()),
        (503, "shutting down\n")
    );
    assert_eq!(server.http("GET", "/readyz", "", None).status, 503);

    // The lock goes; the purchase in flight is answered and stored, then
    // the host stops.
    locker.release();
    let answer = client
        .receive()
        .expect("the purchase in flight is answered");
    assert_eq!(answer.code(), "00");
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
}
