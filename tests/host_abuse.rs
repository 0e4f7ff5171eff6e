//! The host under abuse (host interface, section 1): connections that never
//! sign on have a deadline echoes do not extend and at most a quarter of
//! `[host] max_connections`, so they cannot take signed-on readers' slots;
//! a failed sign-on ends the connection's binding.
//!
//! A file of its own: the flood raises this process's open-file limit, and
//! `tests/host.rs` lowers it for a moment in another test.

use mpos_testkit::iso::{Client, count_closed, idle_connections};
use mpos_testkit::messages::{echo, purchase, sign_on};
use mpos_testkit::server::{Mpos, Server};
use std::time::{Duration, Instant};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

/// `mpos serve` with these `[host]` settings from the environment.
fn serve(env: &[(&str, &str)]) -> Server {
    MPOS.serve_in(tempfile::tempdir().expect("temp dir"), &[], env)
}

/// A purchase on `client` answered 00 within a second.
fn pays_within_a_second(client: &mut Client, stan: u32) {
    let start = Instant::now();
    let answer = client.exchange(&purchase(stan, 1_000));
    assert_eq!(answer.code(), "00", "purchase {stan}");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "purchase {stan} took {:?}",
        start.elapsed()
    );
}

/// Sends an echo every 100 ms until the host closes the connection (each
/// answered 00 before); how long after `since` that happened, at most 15 s.
fn echo_until_closed(client: &mut Client, since: Instant) -> Duration {
    for stan in 1..=150 {
        match client.try_exchange(&echo(stan)) {
            Some(answer) => assert_eq!(answer.code(), "00", "echo {stan}"),
            None => return since.elapsed(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("still open 15 s later: the echoes extended the deadline");
}

#[test]
fn an_unsigned_connection_sending_echoes_is_closed_at_the_sign_on_deadline() {
    let server = serve(&[("MPOS_HOST__SIGNON_TIMEOUT_SECS", "2")]);
    let mut reader = server.signed_on("MPOS-0001", "app-pass-1");
    let accepted = Instant::now();
    let mut echoing = server.connect();
    let closed_after = echo_until_closed(&mut echoing, accepted);
    assert!(
        closed_after >= Duration::from_millis(1_500) && closed_after < Duration::from_secs(6),
        "closed {closed_after:?} after the accept, the deadline being 2 s"
    );
    // The deadline is for connections that have not signed on.
    assert!(accepted.elapsed() > Duration::from_secs(2));
    pays_within_a_second(&mut reader, 1);
}

#[test]
fn a_failed_sign_on_ends_the_binding_and_starts_a_new_deadline() {
    let server = serve(&[("MPOS_HOST__SIGNON_TIMEOUT_SECS", "2")]);
    let mut client = server.signed_on("MPOS-0001", "app-pass-1");
    pays_within_a_second(&mut client, 1);
    // A wrong password for the same device, then an unknown device: each
    // ends the binding the connection had, and a 0200 after it gets 63.
    assert_eq!(client.sign_on("MPOS-0001", "wrong-pass").code(), "63");
    assert_eq!(client.exchange(&purchase(2, 1_000)).code(), "63");
    assert_eq!(client.sign_on("MPOS-0001", "app-pass-1").code(), "00");
    pays_within_a_second(&mut client, 3);
    assert_eq!(client.sign_on("NO-SUCH", "app-pass-1").code(), "63");
    assert_eq!(client.exchange(&purchase(4, 1_000)).code(), "63");

    // Signed on past the deadline of its accept, the connection stays;
    // losing its binding then gives it a new deadline from that moment.
    assert_eq!(client.sign_on("MPOS-0001", "app-pass-1").code(), "00");
    std::thread::sleep(Duration::from_millis(2_500));
    pays_within_a_second(&mut client, 5);
    assert_eq!(client.sign_on("MPOS-0001", "wrong-pass").code(), "63");
    let lost = Instant::now();
    let closed_after = echo_until_closed(&mut client, lost);
    assert!(
        closed_after >= Duration::from_millis(1_500) && closed_after < Duration::from_secs(6),
        "closed {closed_after:?} after the binding ended, the deadline being 2 s"
    );
}

/// The `closed=N` counts of the host's lines about connections closed for
/// want of an unsigned slot.
fn refusal_counts(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|line| line.contains("closed new connections at once"))
        .map(|line| {
            let count = line
                .split_whitespace()
                .find_map(|word| word.strip_prefix("closed="))
                .unwrap_or_else(|| panic!("a count in {line:?}"));
            count.parse().expect("a number")
        })
        .collect()
}

#[test]
fn connections_not_signed_on_take_at_most_a_quarter_of_the_slots() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("mpos.log");
    let log = std::fs::File::create(&path).expect("the log file");
    // 40 slots: 10 for connections not signed on.
    let server = MPOS.serve_logging_with(log, "warn", &[("MPOS_HOST__MAX_CONNECTIONS", "40")]);
    // Signed-on readers are not counted in the quarter.
    let mut readers: Vec<Client> = (0..15)
        .map(|_| server.signed_on("MPOS-0001", "app-pass-1"))
        .collect();
    let mut idle: Vec<Client> = (0..10).map(|_| server.connect()).collect();
    for (i, client) in idle.iter_mut().enumerate() {
        let stan = u32::try_from(i).expect("small");
        assert_eq!(client.exchange(&echo(stan)).code(), "00", "idle {i} served");
    }
    // Past the quarter a new connection is closed at once.
    for i in 0..5 {
        let mut refused = server.connect();
        assert!(
            refused.closes_within(Duration::from_secs(5)),
            "connection {i} past the quarter is closed"
        );
    }
    for (i, reader) in readers.iter_mut().enumerate() {
        pays_within_a_second(reader, 100 + u32::try_from(i).expect("small"));
    }
    // A reader that loses its binding while the quarter is full gets its
    // answer, then is closed: it would be one more not signed on.
    let mut losing = readers.pop().expect("a reader");
    assert_eq!(losing.sign_on("MPOS-0001", "wrong-pass").code(), "63");
    assert!(losing.closes_within(Duration::from_secs(5)));
    // One of the idle signs on: its place in the quarter is free again.
    assert_eq!(idle[0].sign_on("MPOS-0002", "app-pass-2").code(), "00");
    let mut newcomer = server.signed_on("MPOS-0001", "app-pass-1");
    pays_within_a_second(&mut newcomer, 200);

    // Six refusals: logged at once, then the rest within the next second,
    // never a line each.
    std::thread::sleep(Duration::from_millis(1_500));
    let text = std::fs::read_to_string(&path).expect("the log reads");
    let counts = refusal_counts(&text);
    assert_eq!(counts.iter().sum::<u64>(), 6, "{text}");
    assert!((1..=3).contains(&counts.len()), "{text}");
}

#[test]
fn three_thousand_idle_unsigned_connections_leave_payments_and_sign_ons_alone() {
    // 3,000 sockets here, 3,000 in the host (which raises its own limit).
    rlimit::increase_nofile_limit(8_192).expect("the open-file limit");
    // The default 10,000 slots: 2,500 for connections not signed on. The
    // flood is cut at the deadline, 20 s after its accept.
    let server = serve(&[("MPOS_HOST__SIGNON_TIMEOUT_SECS", "20")]);
    let mut reader = server.signed_on("MPOS-0001", "app-pass-1");
    let flooded = Instant::now();
    let mut flood = idle_connections(&server.iso, 2_400);
    // Within the quarter: all held, and a new reader signs on at once.
    assert_eq!(
        count_closed(&flood, 0, Duration::ZERO, Duration::from_millis(300)),
        0
    );
    pays_within_a_second(&mut reader, 1);
    let start = Instant::now();
    let mut newcomer = server.signed_on("MPOS-0002", "app-pass-2");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    pays_within_a_second(&mut newcomer, 1);

    // 600 more make 3,000: the 100 that fit the quarter are held, the 500
    // past it closed at once.
    let more = idle_connections(&server.iso, 600);
    let refused = count_closed(
        &more,
        500,
        Duration::from_secs(5),
        Duration::from_millis(300),
    );
    assert_eq!(refused, 500, "closed at once past the quarter");
    for stan in 2..12 {
        pays_within_a_second(&mut reader, stan);
    }
    assert!(
        flooded.elapsed() < Duration::from_secs(15),
        "the checks above ran while the flood was held ({:?})",
        flooded.elapsed()
    );
    // A reader arriving now finds the quarter full: closed at once, it
    // retries (as the app does) and signs on when the deadline has cut the
    // flood.
    let arrived = Instant::now();
    let mut late = loop {
        let mut client = server.connect();
        if let Some(answer) = client.try_exchange(&sign_on(1, "MPOS-0001", "app-pass-1")) {
            assert_eq!(answer.code(), "00");
            break client;
        }
        assert!(
            flooded.elapsed() < Duration::from_secs(30),
            "a new reader signs on within the flood's deadline (20 s)"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    pays_within_a_second(&mut late, 100);
    assert!(
        flooded.elapsed() >= Duration::from_secs(15),
        "the new reader came in when the flood was cut ({:?} after it, {:?} after it tried)",
        flooded.elapsed(),
        arrived.elapsed()
    );
    flood.extend(more);
    assert_eq!(
        count_closed(&flood, 3_000, Duration::from_secs(5), Duration::ZERO),
        3_000,
        "the deadline cut every connection that never signed on"
    );
    pays_within_a_second(&mut reader, 200);
}
