//! The upstream mode (shared/spec/upstream-interface.md) end to end: the
//! real `mpos serve` against a card processor that is not ours
//! (tests/interop/pyiso8583_processor.py, on pyiso8583), driven by a device
//! over our test client. The processor records what it receives, so the
//! forwarded fields are checked as it saw them.
//!
//! The processor decides by the amount's last two digits: 51 and 05
//! decline, 77 answers "N7", 91 stays silent, 92 answers late, 93 drops
//! the connection; anything else is approved with DE 38 "A1B2C3".

use mpos_testkit::iso::Answer;
use mpos_testkit::messages::{self, CARD, ICC_DATA, TRANSMISSION_TIME};
use mpos_testkit::processor::{ACQUIRER_ID, Processor, Received, upstream_config};
use mpos_testkit::server::{Mpos, Server};
use std::time::{Duration, Instant};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

const WAIT: Duration = Duration::from_secs(10);

/// `mpos serve` in upstream mode against `hosts`, on a fresh data folder.
fn serve(config_dir: &tempfile::TempDir, hosts: &[&str], timeout_ms: u64, extra: &str) -> Server {
    let config = upstream_config(config_dir.path(), hosts, timeout_ms, extra);
    MPOS.serve_in(
        tempfile::tempdir().unwrap(),
        &["--config", config.to_str().unwrap()],
        &[],
    )
}

/// The same data folder again, after `server` stopped.
fn restart(
    server: &mut Server,
    config_dir: &tempfile::TempDir,
    hosts: &[&str],
    timeout_ms: u64,
) -> Server {
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().unwrap());
    let config = upstream_config(config_dir.path(), hosts, timeout_ms, "");
    MPOS.serve_in(data, &["--config", config.to_str().unwrap()], &[])
}

/// Waits until `/readyz` says 200 (the link is up), at most [`WAIT`].
fn wait_ready(server: &Server) {
    let deadline = Instant::now() + WAIT;
    while server.metrics_http("/readyz").status != 200 {
        assert!(
            Instant::now() < deadline,
            "the link comes up within {WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn is(mti: &'static str) -> impl Fn(&Received) -> bool {
    move |r| r.mti == mti
}

fn pay(server: &Server, stan: u32, amount: u64) -> Answer {
    let mut device = server.signed_on("MPOS-0001", "app-pass-1");
    device.exchange(&messages::purchase(stan, amount))
}

/// The stored response code of the device's 0200 with `stan`.
fn stored_code(server: &Server, stan: u32) -> String {
    mpos_testkit::app::in_dir(server.data_dir())
        .store
        .read(move |c| {
            c.sql_for_tests().query_one(
                "SELECT response_code FROM transactions WHERE mti = '0200' AND stan = ?1",
                &[&messages::stan(stan)],
                |r| r.get(0),
            )
        })
        .unwrap()
}

#[test]
fn signs_on_echoes_forwards_the_spec_fields_and_relays_the_processors_answers() {
    let processor = Processor::start(3000);
    let config = tempfile::tempdir().unwrap();
    let server = serve(
        &config,
        &[&processor.address],
        5000,
        "echo_interval_secs = 1",
    );
    wait_ready(&server);

    // Sign-on: 0800 with DE 7, 11, 70 = 001 and DE 32.
    let sign_on = &processor.wait_for(1, WAIT, is("0800"))[0];
    assert_eq!(sign_on.get(70), Some("001"));
    assert_eq!(sign_on.get(32), Some(ACQUIRER_ID));
    assert_eq!(sign_on.get(7).map(str::len), Some(10));
    assert_eq!(sign_on.get(11).map(str::len), Some(6));
    // The processor's own echo after the sign-on is answered 0810 00,
    // echoing DE 7, 11 and 70.
    let answer = &processor.wait_for(1, WAIT, is("0810"))[0];
    assert_eq!(
        (answer.get(11), answer.get(39), answer.get(70)),
        (Some("900001"), Some("00"), Some("301"))
    );
    assert_eq!(answer.get(7).map(str::len), Some(10));

    // A contactless purchase (DE 12, 13, 55) approved: the processor's
    // DE 38, the host's own DE 37.
    let mut device = server.signed_on("MPOS-0001", "app-pass-1");
    let approved = device.exchange(&messages::contactless_purchase(2, 12_500));
    assert_eq!(approved.code(), "00");
    assert_eq!(approved.get(38), Some("A1B2C3"));
    let rrn = approved.get(37).expect("the host's RRN").to_owned();
    let forwarded = processor.wait_for(1, WAIT, is("0200")).remove(0);
    let numbers: Vec<u8> = forwarded.fields.keys().copied().collect();
    assert_eq!(
        numbers,
        [2, 3, 4, 7, 11, 12, 13, 14, 22, 32, 37, 41, 42, 43, 49, 55],
        "exactly the spec's fields (no DE 48, 61, 62, 63 for a purchase)"
    );
    assert_eq!(forwarded.get(2), Some(CARD), "DE 2 as the device sent it");
    assert_eq!(forwarded.get(3), Some("000000"));
    assert_eq!(forwarded.get(4), Some("000000012500"));
    assert_ne!(
        forwarded.get(7),
        Some(TRANSMISSION_TIME),
        "DE 7 is the host's now"
    );
    assert_eq!(forwarded.get(12).map(str::len), Some(6));
    assert_eq!(forwarded.get(13).map(str::len), Some(4));
    assert_eq!(forwarded.get(14), Some("2812"));
    assert_eq!(forwarded.get(22), Some("071"));
    assert_eq!(forwarded.get(32), Some(ACQUIRER_ID));
    assert_eq!(forwarded.get(37), Some(rrn.as_str()));
    assert_eq!(forwarded.get(41), Some(mpos_testkit::provision::TERMINAL));
    assert_eq!(forwarded.get(42), Some(mpos_testkit::provision::MERCHANT));
    assert_eq!(
        forwarded.get(43),
        Some(format!("{:<40}", "OOO \"Romashka\"").as_str()),
        "the merchant's name, transliterated, space-padded to 40"
    );
    assert_eq!(forwarded.get(49), Some("933"));
    assert_eq!(forwarded.get(55), Some(ICC_DATA));
    assert_ne!(forwarded.get(11), sign_on.get(11), "a link STAN of its own");

    // A refund carries DE 63 = the purchase's RRN.
    let refund = device.exchange(&messages::refund(3, 500, &rrn));
    assert_eq!(refund.code(), "00");
    let forwarded = processor.wait_for(2, WAIT, is("0200")).remove(1);
    assert_eq!(forwarded.get(3), Some("200000"));
    assert_eq!(forwarded.get(63), Some(rrn.as_str()));
    assert_eq!(forwarded.get(37), refund.get(37));

    // Declines and an unusual code are relayed as they came, and stored.
    for (stan, amount, code) in [(4, 1_051, "51"), (5, 1_005, "05"), (6, 1_077, "N7")] {
        let answer = device.exchange(&messages::purchase(stan, amount));
        assert_eq!(answer.code(), code, "amount {amount}");
        assert_eq!(answer.get(38), None);
        assert_eq!(stored_code(&server, stan), code);
    }

    // Silence: the host echoes (DE 70 = 301) after echo_interval_secs.
    let echoes = processor.wait_for(1, WAIT, |r| r.mti == "0800" && r.get(70) == Some("301"));
    assert!(!echoes.is_empty(), "an echo after a second of silence");

    let metrics = server.metrics();
    assert!(
        metrics.contains(&format!(
            "mpos_upstream_up{{address=\"{}\"}} 1",
            processor.address
        )),
        "{metrics}"
    );
    assert!(metrics.contains("mpos_upstream_latency_seconds_count"));
    assert!(metrics.contains("mpos_upstream_advice_queue 0"));
}

/// Reversal advices seen by the processor: 0420s and 0421s.
fn advices(processor: &Processor, count: usize) -> Vec<Received> {
    processor.wait_for(count, WAIT, |r| r.mti == "0420" || r.mti == "0421")
}

/// DE 90 of an advice for the forwarded 0200 `original`.
fn original_data(original: &Received) -> String {
    format!(
        "0200{}{}{ACQUIRER_ID:0>11}{}",
        original.get(11).unwrap(),
        original.get(7).unwrap(),
        "0".repeat(11)
    )
}

/// Waits until `/metrics` shows no advice waiting.
fn wait_queue_empty(server: &Server) {
    let deadline = Instant::now() + WAIT;
    while !server.metrics().contains("mpos_upstream_advice_queue 0\n") {
        assert!(Instant::now() < deadline, "the advice queue empties");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_timeout_is_91_and_its_advice_is_repeated_until_acknowledged_across_a_restart() {
    let processor = Processor::start(3000);
    processor.control(r#"{"advices": "ignore"}"#);
    let config = tempfile::tempdir().unwrap();
    let mut server = serve(&config, &[&processor.address], 1000, "");
    wait_ready(&server);

    let started = Instant::now();
    assert_eq!(pay(&server, 2, 1_091).code(), "91", "no answer within 1 s");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(stored_code(&server, 2), "91");
    let original = processor.wait_for(1, WAIT, is("0200")).remove(0);

    // A 0420, then 0421s every saf_retry_secs (1 s) while none is acknowledged.
    let sent = advices(&processor, 3);
    assert_eq!(
        sent.iter().map(|r| r.mti.as_str()).collect::<Vec<_>>()[..3],
        ["0420", "0421", "0421"]
    );
    for advice in &sent {
        let numbers: Vec<u8> = advice.fields.keys().copied().collect();
        assert_eq!(numbers, [3, 4, 7, 11, 32, 37, 39, 41, 42, 49, 90]);
        assert_eq!(advice.get(39), Some("68"), "the host gave up waiting");
        assert_eq!(advice.get(37), original.get(37), "the original's RRN");
        assert_eq!(advice.get(3), original.get(3));
        assert_eq!(advice.get(4), Some("000000001091"));
        assert_eq!(advice.get(32), Some(ACQUIRER_ID));
        assert_eq!(advice.get(41), original.get(41));
        assert_eq!(advice.get(42), original.get(42));
        assert_eq!(advice.get(49), Some("933"));
        assert_eq!(advice.get(90), Some(original_data(&original).as_str()));
        assert_ne!(advice.get(11), original.get(11), "a new link STAN");
    }

    // Durable: after a restart the same advice goes on, as a repeat.
    let before = processor.received().iter().map(|r| r.conn).max().unwrap();
    server.terminate();
    let server = restart(&mut server, &config, &[&processor.address], 1000);
    let after: Vec<Received> = processor
        .wait_for(1, WAIT, |r| r.conn > before && r.mti.starts_with("042"))
        .into_iter()
        .collect();
    assert_eq!(after[0].mti, "0421", "still not acknowledged: a repeat");
    assert_eq!(after[0].get(90), Some(original_data(&original).as_str()));

    // Acknowledged: off the queue, and no more repeats.
    processor.control("{}");
    wait_queue_empty(&server);
    let count = advices(&processor, 0).len();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        advices(&processor, 0).len(),
        count,
        "nothing after the 0430"
    );
    assert!(server.metrics().contains("mpos_upstream_timeouts_total 1"));
}

#[test]
fn a_request_pending_at_a_sigkill_is_a_91_with_an_advice_after_the_restart() {
    let processor = Processor::start(3000);
    let config = tempfile::tempdir().unwrap();
    let mut server = serve(&config, &[&processor.address], 60_000, "");
    wait_ready(&server);
    let mut device = server.signed_on("MPOS-0001", "app-pass-1");
    device.send(&messages::purchase(2, 1_091)); // the processor stays silent
    let original = processor.wait_for(1, WAIT, is("0200")).remove(0);
    server.child.kill().unwrap(); // SIGKILL while the host waits on the processor
    let _ = server.child.wait();

    let server = restart(&mut server, &config, &[&processor.address], 60_000);
    let advice = advices(&processor, 1).remove(0);
    assert_eq!(advice.mti, "0420");
    assert_eq!(advice.get(39), Some("68"));
    assert_eq!(advice.get(37), original.get(37));
    assert_eq!(advice.get(90), Some(original_data(&original).as_str()));
    assert_eq!(stored_code(&server, 2), "91");
    // The device's retransmission gets the stored 91; nothing goes upstream again.
    wait_ready(&server);
    let mut device = server.signed_on("MPOS-0001", "app-pass-1");
    assert_eq!(device.exchange(&messages::purchase(2, 1_091)).code(), "91");
    wait_queue_empty(&server);
    assert_eq!(processor.count("0200"), 1);
}

#[test]
fn a_retransmission_while_pending_gets_the_same_answer_and_a_device_reversal_queues_reason_17() {
    let processor = Processor::start(1500);
    let config = tempfile::tempdir().unwrap();
    let server = serve(&config, &[&processor.address], 10_000, "");
    wait_ready(&server);
    let mut device = server.signed_on("MPOS-0001", "app-pass-1");
    // Answered after 1.5 s; the device retransmits meanwhile (same DE 11 and 7).
    let purchase = messages::purchase(2, 1_092);
    device.send(&purchase);
    processor.wait_for(1, WAIT, is("0200"));
    device.send(&purchase);
    let (first, second) = (device.receive().unwrap(), device.receive().unwrap());
    assert_eq!(first.code(), "00");
    assert_eq!(first.get(38), Some("LATE01"));
    assert_eq!(first, second, "the same answer, once it was known");
    std::thread::sleep(Duration::from_millis(200));
    let forwarded = processor.wait_for(1, WAIT, is("0200"));
    assert_eq!(forwarded.len(), 1, "nothing sent upstream twice");

    // The device reverses it: 00 after the local commit, and a 0420 with 17.
    let reversal = device.exchange(&messages::reversal(3, 1_092, "000002"));
    assert_eq!(reversal.code(), "00");
    let advice = advices(&processor, 1).remove(0);
    assert_eq!(advice.mti, "0420");
    assert_eq!(advice.get(39), Some("17"), "the device reversed it");
    assert_eq!(advice.get(37), first.get(37));
    assert_eq!(advice.get(90), Some(original_data(&forwarded[0]).as_str()));
    wait_queue_empty(&server);

    // A device that leaves before its answer: the request is settled all
    // the same (approved, answered late), with no reversal.
    let mut leaving = server.signed_on("MPOS-0001", "app-pass-1");
    leaving.send(&messages::purchase(10, 2_092));
    processor.wait_for(2, WAIT, is("0200"));
    drop(leaving);
    let deadline = Instant::now() + WAIT;
    while stored_code(&server, 10) != "00" {
        assert!(Instant::now() < deadline, "settled without its device");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        advices(&processor, 0).len(),
        1,
        "only the device's reversal"
    );
}

#[test]
fn fails_over_to_the_second_address_answers_91_at_once_while_down_and_comes_back() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let processor = Processor::start(3000);
    let port = processor.port();
    let config = tempfile::tempdir().unwrap();
    let server = serve(&config, &[&closed, &processor.address], 5000, "");
    wait_ready(&server);
    assert_eq!(
        pay(&server, 2, 1_000).code(),
        "00",
        "through the second address"
    );
    assert!(server.metrics().contains(&format!(
        "mpos_upstream_up{{address=\"{}\"}} 1",
        processor.address
    )));

    // The processor drops the connection with the request unanswered: 91,
    // and since it may have been approved, a reversal once it is back.
    assert_eq!(pay(&server, 3, 1_093).code(), "91");
    let dropped = processor.wait_for(2, WAIT, is("0200")).remove(1);
    let advice = advices(&processor, 1).remove(0);
    assert_eq!(advice.get(39), Some("68"));
    assert_eq!(advice.get(37), dropped.get(37));
    assert!(advice.conn > dropped.conn, "sent on the new connection");
    wait_queue_empty(&server);

    // Dead: not ready, and 91 at once with nothing sent.
    let mut processor = processor;
    processor.kill();
    let deadline = Instant::now() + WAIT;
    while server.metrics_http("/readyz").status != 503 {
        assert!(Instant::now() < deadline, "not ready once the link is down");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        server
            .metrics_http("/readyz")
            .body
            .contains("card processor")
    );
    let started = Instant::now();
    assert_eq!(pay(&server, 4, 1_004).code(), "91");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "at once, not after the 5 s timeout: {:?}",
        started.elapsed()
    );
    assert_eq!(stored_code(&server, 4), "91");
    // The cabinet shows it like any other decline, with its meaning.
    let cookie = server.cabinet_login("demo@merchant.test", "demo-password-1");
    for (lang, meaning) in [
        ("en", "Issuer or processor unavailable"),
        ("ru", "Эмитент или процессинг недоступен"),
    ] {
        let page = server.http(
            "GET",
            &format!("/history?view=transactions&lang={lang}"),
            &cookie,
            None,
        );
        assert_eq!(page.status, 200);
        assert!(page.body.contains(meaning), "{lang}: {}", page.body);
    }

    // Back on its port: the link comes up again, and the refused request
    // was never sent.
    let processor = Processor::start_on(port, 3000);
    wait_ready(&server);
    assert_eq!(pay(&server, 5, 1_000).code(), "00");
    let forwarded = processor.wait_for(1, WAIT, is("0200"));
    assert_eq!(
        forwarded
            .iter()
            .map(|r| r.get(4).unwrap())
            .collect::<Vec<_>>(),
        ["000000001000"],
        "only the new purchase reached the processor, never the refused one"
    );
}

#[test]
fn the_link_runs_over_tls_with_a_client_certificate_and_checks_the_processors_name() {
    let certs = tempfile::tempdir().unwrap();
    let made = MPOS.run(
        &[
            "admin",
            "tls",
            "demo-certs",
            certs.path().to_str().unwrap(),
            "--device",
            "acquirer-4242",
        ],
        b"",
    );
    assert!(made.status.success(), "{made:?}");
    let file = |name: &str| certs.path().join(name);
    // Python's ssl on the processor's side, requiring our client certificate.
    let processor = Processor::start_tls(
        &file("server.pem"),
        &file("server.key"),
        Some(&file("ca.pem")),
    );
    let tls = |server_name: &str| {
        format!(
            "tls = true\nca = {:?}\nserver_name = {server_name:?}\ncert = {:?}\nkey = {:?}",
            file("ca.pem"),
            file("acquirer-4242.pem"),
            file("acquirer-4242.key")
        )
    };
    let config = tempfile::tempdir().unwrap();
    let server = serve(&config, &[&processor.address], 5000, &tls("localhost"));
    wait_ready(&server);
    assert_eq!(pay(&server, 2, 1_000).code(), "00");
    let forwarded = processor.wait_for(1, WAIT, is("0200")).remove(0);
    assert!(
        matches!(forwarded.tls.as_deref(), Some("TLSv1.3" | "TLSv1.2")),
        "{:?}",
        forwarded.tls
    );
    assert_eq!(forwarded.peer.as_deref(), Some("acquirer-4242"));
    assert_eq!(forwarded.get(2), Some(CARD));

    // A name the processor's certificate does not carry: never up, never sent.
    let other = tempfile::tempdir().unwrap();
    let wrong = serve(
        &other,
        &[&processor.address],
        5000,
        &tls("processor.example"),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(wrong.metrics_http("/readyz").status, 503);
    assert_eq!(pay(&wrong, 3, 1_000).code(), "91");
    assert_eq!(processor.count("0200"), 1);
}

#[test]
fn a_configuration_error_names_the_key() {
    let config = tempfile::tempdir().unwrap();
    for (hosts, extra, key) in [
        (&[][..], "", "upstream.hosts"),
        (&["10.1.2.3"][..], "", "upstream.hosts"),
        (
            &["127.0.0.1:7000"][..],
            "acquirer_id = \"12ab\"",
            "upstream.acquirer_id",
        ),
        (
            &["127.0.0.1:7000"][..],
            "tls = true\nca = \"/nonexistent/ca.pem\"\nserver_name = \"localhost\"",
            "upstream.ca",
        ),
    ] {
        let path = upstream_config(config.path(), hosts, 1000, extra);
        // A later acquirer_id replaces the kit's: TOML refuses duplicates,
        // so the kit's line is dropped when the test gives its own.
        let text = std::fs::read_to_string(&path).unwrap();
        let text = if extra.starts_with("acquirer_id") {
            text.replacen(&format!("acquirer_id = \"{ACQUIRER_ID}\"\n"), "", 1)
        } else {
            text
        };
        std::fs::write(&path, text).unwrap();
        let data = mpos_testkit::server::private_tempdir();
        let out = MPOS
            .command()
            .args([
                "serve",
                "--iso-listen",
                "127.0.0.1:0",
                "--http-listen",
                "127.0.0.1:0",
            ])
            .args([
                "--metrics-listen",
                "127.0.0.1:0",
                "--config",
                path.to_str().unwrap(),
            ])
            .arg("--data-dir")
            .arg(data.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key}: refused");
        assert!(stderr.contains(key), "{key}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
}
