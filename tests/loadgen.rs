//! `mpos loadgen` against the real `mpos serve` with the load fixture: the
//! JSON summary, the approvals log, and — killing the host with SIGKILL in
//! the middle of the load — that every approval the client received is in
//! the database after a restart, and that the devices, like the app, come
//! back by ticket to the restarted host and pay again.

use mpos_testkit::server::{Mpos, Server};
use mpos_testkit::sql;
use std::process::Command;
use std::time::Duration;

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

fn load_server(data: tempfile::TempDir) -> Server {
    let fixture = mpos_testkit::fixture("load.toml");
    let fixture = fixture.to_str().expect("a UTF-8 path");
    MPOS.serve_in(data, &["--fixtures", fixture], &[])
}

/// Devices and requests each keeps in flight, as [`loadgen`] runs them.
const DEVICES: f64 = 4.0;
const PIPELINE: f64 = 4.0;

fn loadgen(iso: &str, seconds: &str, log: &std::path::Path) -> Command {
    let mut command = MPOS.command();
    command
        .args([
            "loadgen",
            "--iso",
            iso,
            "--devices",
            &DEVICES.to_string(),
            "--pipeline",
            &PIPELINE.to_string(),
            "--duration",
            seconds,
            "--json",
            "--log-approved",
        ])
        .arg(log);
    command
}

fn json_number(json: &str, key: &str) -> f64 {
    let at = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("{key} in {json}"));
    json[at + key.len() + 3..]
        .split([',', '}'])
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} is a number in {json}"))
}

/// Starts `mpos loadgen` for `seconds` (approvals logged into the data
/// folder, `extra` options after the usual ones), and 1.5 s into the load
/// kills the host with SIGKILL.
fn load_then_kill_the_host(
    server: &mut Server,
    seconds: &str,
    extra: &[String],
) -> std::process::Child {
    let log = server.data_dir().join("approved.log");
    let client = loadgen(&server.iso, seconds, &log)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    server.child.kill().unwrap(); // SIGKILL, mid-load
    server.child.wait().unwrap();
    client
}

/// Every "SERIAL STAN RRN" line of the log is an approved transaction in the database.
fn assert_all_logged_approvals_stored(data: &std::path::Path, log: &std::path::Path) -> usize {
    let store = mpos_testkit::app::in_dir(data).store;
    let text = std::fs::read_to_string(log).unwrap();
    let mut checked = 0;
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "SERIAL STAN RRN: {line:?}");
        let (serial, stan, rrn) = (fields[0], fields[1], fields[2]);
        assert!(
            serial.starts_with("LOAD-") && stan.len() == 6 && rrn.len() == 12,
            "{line:?}"
        );
        let stored: Vec<(String, String, String)> = sql::by_rrn(&store, rrn)
            .into_iter()
            .map(|row| (row.device_serial, row.stan, row.response_code))
            .collect();
        assert_eq!(
            stored,
            [(serial.to_owned(), stan.to_owned(), "00".to_owned())],
            "approval {line:?} is stored"
        );
        checked += 1;
    }
    checked
}

#[test]
fn a_short_run_prints_a_json_summary_and_logs_every_approval() {
    let server = load_server(tempfile::tempdir().unwrap());
    let log = server.data_dir().join("approved.log");
    let out = loadgen(&server.iso, "2", &log).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = String::from_utf8(out.stdout).unwrap();
    assert_eq!(json.lines().count(), 1, "one JSON line: {json}");
    for key in [
        "sent", "approved", "declined", "errors", "tps", "p50_ms", "p99_ms", "p999_ms",
    ] {
        json_number(&json, key);
    }
    assert!(json_number(&json, "approved") > 100.0, "{json}");
    assert_eq!(json_number(&json, "errors"), 0.0, "{json}");
    let logged = assert_all_logged_approvals_stored(server.data_dir(), &log);
    assert!(logged > 100);
}

#[test]
fn every_approval_received_survives_a_sigkill_of_the_host() {
    let data = tempfile::tempdir().unwrap();
    let mut server = load_server(data);
    let client = load_then_kill_the_host(&mut server, "6", &[]);
    let out = client.wait_with_output().unwrap();
    assert!(out.status.success(), "loadgen exits 0 when the host dies");
    let json = String::from_utf8(out.stdout).unwrap();
    assert!(json_number(&json, "approved") > 0.0, "{json}");
    assert!(
        json_number(&json, "errors") > 0.0,
        "the host's death is counted: {json}"
    );

    // Restart on the same data folder: nothing approved is lost.
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().unwrap());
    drop(server);
    let restarted = load_server(data);
    let logged = assert_all_logged_approvals_stored(
        restarted.data_dir(),
        &restarted.data_dir().join("approved.log"),
    );
    assert!(logged > 0);
}

/// Approved transactions in the data folder of a stopped host.
fn approved_rows(data: &std::path::Path) -> i64 {
    sql::approved(&mpos_testkit::app::in_dir(data).store)
}

#[test]
fn devices_resume_by_ticket_across_a_sigkill_and_restart_of_the_host() {
    let mut server = load_server(tempfile::tempdir().unwrap());
    let iso = server.iso.clone();
    let client = load_then_kill_the_host(&mut server, "7", &[]);
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().unwrap());
    drop(server);
    let approved_at_kill = approved_rows(data.path());
    assert!(approved_at_kill > 0);
    // Down long enough for every device to notice and back off.
    std::thread::sleep(Duration::from_millis(500));
    let fixture = mpos_testkit::fixture("load.toml");
    let restarted = MPOS.serve_at(data, &iso, &["--fixtures", fixture.to_str().unwrap()]);

    let out = client.wait_with_output().unwrap();
    assert!(out.status.success(), "loadgen exits 0");
    let json = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        json_number(&json, "sign_ons_by_password"),
        DEVICES,
        "{json}"
    );
    assert_eq!(json_number(&json, "drops"), DEVICES, "{json}");
    assert_eq!(
        json_number(&json, "reconnects"),
        DEVICES,
        "every device came back: {json}"
    );
    assert_eq!(
        json_number(&json, "sign_ons_by_ticket"),
        DEVICES,
        "and by ticket, its password never needed again: {json}"
    );
    assert_eq!(json_number(&json, "tickets_refused"), 0.0, "{json}");
    assert!(json_number(&json, "all_resumed_ms") >= 0.0, "{json}");
    let errors = json_number(&json, "errors");
    assert!(
        errors <= DEVICES * PIPELINE,
        "no errors beyond the requests in flight at the kill: {json}"
    );

    let data = restarted.data_dir().to_owned();
    let logged = assert_all_logged_approvals_stored(&data, &data.join("approved.log"));
    assert!(logged > 0);
    let mut restarted = restarted;
    restarted.terminate();
    assert!(
        approved_rows(&data) > approved_at_kill,
        "the devices paid again after the restart"
    );
}

/// A host that signs devices on and then never answers: loadgen still ends
/// soon after its duration, counting what went unanswered as errors.
#[test]
fn a_host_that_stops_answering_does_not_keep_loadgen_running() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(DEVICES as usize) {
            let mut stream = stream.unwrap();
            std::thread::spawn(move || {
                let layout = mpos_iso8583::Layout::shipped("generic-1987-ascii").unwrap();
                let mut length = [0u8; 2];
                while stream.read_exact(&mut length).is_ok() {
                    let mut frame = vec![0u8; usize::from(u16::from_be_bytes(length))];
                    if stream.read_exact(&mut frame).is_err() {
                        return;
                    }
                    if !frame.starts_with(b"0800") {
                        continue; // payments: never answered
                    }
                    let request = layout.decode(&frame).unwrap();
                    let answer = mpos_testkit::messages::Request::new(
                        "0810",
                        &[
                            (7, request.str(7).unwrap()),
                            (11, request.str(11).unwrap()),
                            (39, "00"),
                            (61, &"ab".repeat(32)),
                            (70, "001"),
                        ],
                    )
                    .encode(&layout);
                    let length = u16::try_from(answer.len()).unwrap().to_be_bytes();
                    let _ = stream.write_all(&[&length[..], &answer].concat());
                }
            });
        }
    });
    let log = tempfile::NamedTempFile::new().unwrap();
    let started = std::time::Instant::now();
    let mut client = loadgen(&address, "1", log.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded by the duration and the 5 s wait for answers; killed past that.
    while client.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let ended = client.try_wait().unwrap().is_some();
    let _ = client.kill();
    let out = client.wait_with_output().unwrap();
    let took = started.elapsed();
    assert!(ended, "loadgen still running after {took:?}");
    assert!(out.status.success());
    assert!(
        took < Duration::from_secs(1 + 5 + 4),
        "bounded by the duration and the 5 s wait for answers: {took:?}"
    );
    let json = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        json_number(&json, "sign_ons_by_password"),
        DEVICES,
        "{json}"
    );
    assert_eq!(json_number(&json, "approved"), 0.0, "{json}");
    assert_eq!(
        json_number(&json, "errors"),
        DEVICES * PIPELINE,
        "every request in flight is lost: {json}"
    );
}

/// Demo certificates for the load fixture's first [`DEVICES`] readers.
fn load_devices_pki() -> mpos_testkit::tls::DemoPki {
    let serials: Vec<String> = (1..=DEVICES as u32)
        .map(|n| format!("LOAD-{n:04}"))
        .collect();
    let serials: Vec<&str> = serials.iter().map(String::as_str).collect();
    mpos_testkit::tls::DemoPki::new(&MPOS, &serials)
}

/// A load host over `data` on `iso` that requires `pki`'s client certificates.
fn serve_load_over_mutual_tls(
    pki: &mpos_testkit::tls::DemoPki,
    data: tempfile::TempDir,
    iso: &str,
) -> Server {
    let fixture = mpos_testkit::fixture("load.toml");
    let env = pki.host_env(true);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    MPOS.serve_at_with(data, iso, &["--fixtures", fixture.to_str().unwrap()], &env)
}

/// loadgen's options for mutual TLS with `pki`'s certificates.
fn mutual_tls_args(pki: &mpos_testkit::tls::DemoPki) -> [String; 4] {
    [
        "--tls-ca".into(),
        pki.file("ca.pem"),
        "--tls-cert-dir".into(),
        pki.path("").to_str().unwrap().to_owned(),
    ]
}

/// `loadgen` over mutual TLS with the demo certificates of its devices:
/// payments as over plain TCP; every device resumes its own session on
/// each new connection (`--handshakes`), unless told not to.
#[test]
fn over_mutual_tls_devices_pay_and_resume_their_own_sessions() {
    let pki = load_devices_pki();
    let server = serve_load_over_mutual_tls(&pki, tempfile::tempdir().unwrap(), "127.0.0.1:0");
    let run = |extra: &[&str]| {
        let log = server.data_dir().join("approved.log");
        let out = loadgen(&server.iso, "2", &log)
            .args(mutual_tls_args(&pki))
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let paid = run(&[]);
    assert!(json_number(&paid, "approved") > 50.0, "{paid}");
    assert_eq!(json_number(&paid, "errors"), 0.0, "{paid}");
    assert_eq!(json_number(&paid, "tls_full_handshakes"), DEVICES, "{paid}");
    assert_eq!(json_number(&paid, "tls_handshake_failures"), 0.0, "{paid}");
    assert_all_logged_approvals_stored(server.data_dir(), &server.data_dir().join("approved.log"));

    let resumed = run(&["--handshakes"]);
    assert_eq!(
        json_number(&resumed, "tls_full_handshakes"),
        DEVICES,
        "{resumed}"
    );
    assert!(
        json_number(&resumed, "tls_resumed_handshakes") > 4.0 * DEVICES,
        "{resumed}"
    );
    assert_eq!(
        json_number(&resumed, "tls_handshake_failures"),
        0.0,
        "{resumed}"
    );
    let full = run(&["--handshakes", "--tls-no-resume"]);
    assert_eq!(json_number(&full, "tls_resumed_handshakes"), 0.0, "{full}");
    assert!(
        json_number(&full, "tls_full_handshakes") > 4.0 * DEVICES,
        "{full}"
    );
    // The host agrees: resumed handshakes on its side too.
    let metrics = server.metrics();
    let host_resumed = mpos_testkit::https::metric(
        &metrics,
        "mpos_tls_handshakes_total{listener=\"iso\",version=\"TLSv1.3\",kind=\"resumed\"}",
    );
    assert!(
        host_resumed as f64 >= json_number(&resumed, "tls_resumed_handshakes"),
        "{metrics}"
    );
}

/// A TLS host killed and restarted under load: every device comes back
/// and resumes its TLS session (the ticket keys outlive the process), so
/// the reconnect storm pays no full handshakes.
#[test]
fn over_tls_a_restarted_host_resumes_every_devices_session() {
    let pki = load_devices_pki();
    let mut server = serve_load_over_mutual_tls(&pki, tempfile::tempdir().unwrap(), "127.0.0.1:0");
    let iso = server.iso.clone();
    let client = load_then_kill_the_host(&mut server, "6", &mutual_tls_args(&pki));
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().unwrap());
    drop(server);
    std::thread::sleep(Duration::from_millis(500));
    let restarted = serve_load_over_mutual_tls(&pki, data, &iso);

    let out = client.wait_with_output().unwrap();
    assert!(out.status.success(), "loadgen exits 0");
    let json = String::from_utf8(out.stdout).unwrap();
    assert_eq!(json_number(&json, "reconnects"), DEVICES, "{json}");
    assert_eq!(
        json_number(&json, "tls_full_handshakes"),
        DEVICES,
        "only the first: {json}"
    );
    assert_eq!(
        json_number(&json, "tls_resumed_handshakes"),
        DEVICES,
        "{json}"
    );
    assert_eq!(json_number(&json, "tls_handshake_failures"), 0.0, "{json}");
    let metrics = restarted.metrics();
    assert_eq!(
        mpos_testkit::https::metric(
            &metrics,
            "mpos_tls_handshakes_total{listener=\"iso\",version=\"TLSv1.3\",kind=\"full\"}"
        ),
        0,
        "the restarted host did no full handshake: {metrics}"
    );
}

/// `--iso A,B`: the devices are spread over two hosts; when A dies, its
/// devices move to B and pay there (each host here has its own database,
/// so they sign on again by password; on one shared database their tickets
/// would do).
#[test]
fn devices_move_to_the_next_host_when_theirs_dies() {
    let mut a = load_server(tempfile::tempdir().unwrap());
    let b = load_server(tempfile::tempdir().unwrap());
    let log = b.data_dir().join("approved.log");
    let client = loadgen(&format!("{},{}", a.iso, b.iso), "6", &log)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    a.child.kill().unwrap(); // SIGKILL, mid-load
    a.child.wait().unwrap();
    let out = client.wait_with_output().unwrap();
    assert!(out.status.success(), "loadgen exits 0");
    let json = String::from_utf8(out.stdout).unwrap();
    // Devices 1 and 3 (LOAD-0001, LOAD-0003) were on A.
    assert_eq!(json_number(&json, "drops"), 2.0, "{json}");
    assert_eq!(json_number(&json, "reconnects"), 2.0, "{json}");
    assert!(json_number(&json, "failovers") >= 2.0, "{json}");
    assert_eq!(json_number(&json, "sign_ons_by_password"), 6.0, "{json}");
    assert!(
        json_number(&json, "errors") <= 2.0 * PIPELINE,
        "no errors beyond the requests in flight at the kill: {json}"
    );
    let store = mpos_testkit::app::in_dir(b.data_dir()).store;
    for serial in ["LOAD-0001", "LOAD-0003"] {
        let paid_on_b = sql::approved_of(&store, serial);
        assert!(paid_on_b > 0, "{serial} moved to B and paid there");
    }
}
