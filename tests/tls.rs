//! TLS on the device link (host-interface.md section 8) against the real
//! `mpos serve`, with clients that are not ours: Python's `ssl` (OpenSSL)
//! carrying pyiso8583, and raw sockets for what a TLS client would never
//! send.

use mpos_testkit::https::metric;
use mpos_testkit::server::{Mpos, python};
use mpos_testkit::tls::{DemoPki, HeldConnection, probe, serve_with};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

/// Runs the pyiso8583 client's whole conversation against `iso` with the
/// TLS options given; panics with its output unless every answer agrees.
fn pyiso8583_client_agrees(iso: &str, tls: &[&str]) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/pyiso8583_client.py"
    );
    let out = Command::new(python())
        .arg(script)
        .arg(iso)
        .args(tls)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("all answers agree with the host interface"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn failure(metrics: &str, reason: &str) -> u64 {
    metric(
        metrics,
        &format!("mpos_tls_handshake_failures_total{{listener=\"iso\",reason=\"{reason}\"}}"),
    )
}

#[test]
fn over_tls_a_pyiso8583_client_pays_and_plain_bytes_or_tls_1_1_get_nothing() {
    let pki = DemoPki::new(&MPOS, &[]);
    let server = serve_with(&MPOS, &pki.host_env(false));
    let ca = pki.file("ca.pem");
    pyiso8583_client_agrees(&server.iso, &["--ca", &ca]);

    // A plain ISO 8583 sign-on on the TLS port: no answer, only (at most)
    // a TLS alert, and the connection is closed.
    let mut plain = server.connect();
    plain.send(&mpos_testkit::messages::sign_on(
        1,
        "MPOS-0001",
        "app-pass-1",
    ));
    plain
        .stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut received = Vec::new();
    let _ = plain.stream.read_to_end(&mut received);
    assert!(
        received.is_empty() || received[0] == 0x15,
        "plain bytes got something other than a TLS alert: {received:?}"
    );
    assert!(!received.windows(4).any(|w| w == b"0810"));

    // TLS 1.1 offered by OpenSSL: refused by the host, which counts it (so
    // the test cannot pass by the client refusing to speak 1.1 at all).
    let old = probe(&["old-version", &server.iso, &ca]);
    assert!(old.starts_with("refused"), "{old}");

    let sign_on = probe(&["sign-on", &server.iso, &ca, "MPOS-0001", "app-pass-1"]);
    assert_eq!(sign_on, "00 TLSv1.3");
    let metrics = server.metrics();
    assert_eq!(failure(&metrics, "not_tls"), 1, "{metrics}");
    assert_eq!(failure(&metrics, "incompatible"), 1, "{metrics}");
    assert!(
        metric(
            &metrics,
            "mpos_tls_handshakes_total{listener=\"iso\",version=\"TLSv1.3\",kind=\"full\"}"
        ) >= 3,
        "{metrics}"
    );
}

#[test]
fn mutual_tls_admits_only_the_reader_its_certificate_names() {
    let pki = DemoPki::new(&MPOS, &["MPOS-0001", "MPOS-0002"]);
    let stranger = DemoPki::new(&MPOS, &["MPOS-0001"]);
    let server = serve_with(&MPOS, &pki.host_env(true));
    let (ca, iso) = (pki.file("ca.pem"), server.iso.clone());
    let (cert, key) = (pki.file("MPOS-0001.pem"), pki.file("MPOS-0001.key"));
    pyiso8583_client_agrees(&iso, &["--ca", &ca, "--cert", &cert, "--key", &key]);

    let sign_on = |files: &[&str]| {
        let mut args = vec![
            "sign-on",
            iso.as_str(),
            ca.as_str(),
            "MPOS-0001",
            "app-pass-1",
        ];
        args.extend_from_slice(files);
        probe(&args)
    };
    let without = sign_on(&[]);
    assert!(without.starts_with("refused"), "no certificate: {without}");
    let (their_cert, their_key) = (
        stranger.file("MPOS-0001.pem"),
        stranger.file("MPOS-0001.key"),
    );
    let foreign = sign_on(&[&their_cert, &their_key]);
    assert!(
        foreign.starts_with("refused"),
        "another CA's certificate: {foreign}"
    );

    // MPOS-0002's certificate with MPOS-0001's right password: 63, decided
    // before any password is hashed.
    let hashes = server.password_hashes();
    let (other_cert, other_key) = (pki.file("MPOS-0002.pem"), pki.file("MPOS-0002.key"));
    assert_eq!(sign_on(&[&other_cert, &other_key]), "63 TLSv1.3");
    assert_eq!(server.password_hashes(), hashes);
    assert_eq!(sign_on(&[&cert, &key]), "00 TLSv1.3");

    let metrics = server.metrics();
    assert_eq!(failure(&metrics, "no_client_certificate"), 1, "{metrics}");
    assert_eq!(failure(&metrics, "bad_client_certificate"), 1, "{metrics}");
}

/// Polls `/metrics` until `name_and_labels` reaches `at_least`.
fn wait_for_metric(server: &mpos_testkit::server::Server, name_and_labels: &str, at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = server.metrics();
        if metric(&metrics, name_and_labels) >= at_least {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name_and_labels} never reached {at_least}: {metrics}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_rotates_the_certificate_for_new_handshakes_and_keeps_what_is_open() {
    let first = DemoPki::new(&MPOS, &[]);
    let second = DemoPki::new(&MPOS, &[]);
    let live = tempfile::tempdir().unwrap();
    let (cert, key) = (
        live.path().join("server.pem"),
        live.path().join("server.key"),
    );
    std::fs::copy(first.path("server.pem"), &cert).unwrap();
    std::fs::copy(first.path("server.key"), &key).unwrap();
    let trusted = live.path().join("both-cas.pem");
    let both = std::fs::read_to_string(first.path("ca.pem")).unwrap()
        + &std::fs::read_to_string(second.path("ca.pem")).unwrap();
    std::fs::write(&trusted, both).unwrap();
    let trusted = trusted.to_str().unwrap();
    let server = serve_with(
        &MPOS,
        &[
            ("MPOS_HOST__TLS_CERT", cert.to_str().unwrap().to_owned()),
            ("MPOS_HOST__TLS_KEY", key.to_str().unwrap().to_owned()),
        ],
    );
    let held = HeldConnection::open(&server.iso, trusted, "MPOS-0001", "app-pass-1");
    let before = held.fingerprint.clone();
    let hangup = || {
        let status = Command::new("kill")
            .args(["-HUP", &server.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };

    // A bad new key: refused, the old certificate still served.
    std::fs::write(&key, "not a key").unwrap();
    hangup();
    wait_for_metric(
        &server,
        "mpos_tls_reloads_total{listener=\"iso\",outcome=\"refused\"}",
        1,
    );
    assert_eq!(probe(&["fingerprint", &server.iso, trusted]), before);

    // The new pair: new handshakes see the new certificate.
    std::fs::copy(second.path("server.pem"), &cert).unwrap();
    std::fs::copy(second.path("server.key"), &key).unwrap();
    hangup();
    wait_for_metric(
        &server,
        "mpos_tls_reloads_total{listener=\"iso\",outcome=\"loaded\"}",
        1,
    );
    let after = probe(&["fingerprint", &server.iso, trusted]);
    assert_ne!(
        after, before,
        "a handshake after SIGHUP sees the new certificate"
    );
    // Trusting only the old CA, a new connection is refused now.
    let old_only = probe(&[
        "sign-on",
        &server.iso,
        &first.file("ca.pem"),
        "MPOS-0001",
        "app-pass-1",
    ]);
    assert!(old_only.starts_with("refused"), "{old_only}");
    // The connection opened before the rotation still works.
    assert_eq!(held.echo(), "echo 00");
}

/// Runs `mpos serve` with `env` and `extra` arguments, expecting it to
/// refuse to start: its exit code and standard error. Killed (and the test
/// failed) if it is still running after 20 s.
fn refused_start(env: &[(&str, String)], extra: &[&str]) -> (Option<i32>, String) {
    let data = tempfile::tempdir().unwrap();
    let mut child = MPOS
        .command()
        .args([
            "serve",
            "--http-listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data.path())
        .args(extra)
        .env("RUST_LOG", "error")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("mpos serve started with {env:?} {extra:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap().code(), stderr)
}

#[test]
fn tls_files_that_cannot_be_used_stop_the_start_with_one_line_naming_the_file() {
    let pki = DemoPki::new(&MPOS, &[]);
    let other = DemoPki::new(&MPOS, &[]);
    let junk = pki.dir.path().join("junk.pem");
    std::fs::File::create(&junk)
        .unwrap()
        .write_all(b"hello\n")
        .unwrap();
    let junk = junk.to_str().unwrap().to_owned();
    let missing = pki
        .dir
        .path()
        .join("missing.pem")
        .to_str()
        .unwrap()
        .to_owned();
    let with = |cert: &str, key: &str| {
        vec![
            ("MPOS_HOST__TLS_CERT", cert.to_owned()),
            ("MPOS_HOST__TLS_KEY", key.to_owned()),
        ]
    };
    let (cert, key) = (pki.file("server.pem"), pki.file("server.key"));
    let cases = [
        (with(&missing, &key), missing.clone(), "cannot read it"),
        (with(&junk, &key), junk.clone(), "not PEM"),
        (with(&cert, &junk), junk.clone(), "not PEM"),
        (
            with(&cert, &other.file("server.key")),
            other.file("server.key"),
            "does not match",
        ),
        (
            [
                with(&cert, &key),
                vec![("MPOS_HOST__CLIENT_CA", junk.clone())],
            ]
            .concat(),
            junk.clone(),
            "not PEM",
        ),
    ];
    for (env, file, words) in cases {
        let (code, stderr) = refused_start(&env, &["--iso-listen", "127.0.0.1:0"]);
        assert_eq!(code, Some(1), "{env:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(&file) && stderr.contains(words),
            "{env:?}: {stderr}"
        );
    }
    // A certificate without its key is a configuration error naming the key.
    let (code, stderr) = refused_start(
        &[("MPOS_HOST__TLS_CERT", cert.clone())],
        &["--iso-listen", "127.0.0.1:0"],
    );
    assert_eq!(code, Some(1));
    assert!(stderr.contains("host.tls_key"), "{stderr}");
}

#[test]
fn a_plain_listener_off_loopback_is_refused_unless_plaintext_is_allowed() {
    // Refused at the configuration check, before anything binds.
    let (code, stderr) = refused_start(&[], &["--iso-listen", "0.0.0.0:0"]);
    assert_eq!(code, Some(1));
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    for words in [
        "host.listen",
        "0.0.0.0:0",
        "in clear",
        "host.tls_cert",
        "allow_plaintext",
    ] {
        assert!(stderr.contains(words), "{words}: {stderr}");
    }
}
