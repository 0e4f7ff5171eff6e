//! The cabinet over HTTPS (deployment.md section 3), tested with a client
//! that is not ours: Python's `ssl` (OpenSSL) trusting only the demo CA
//! that `mpos admin tls demo-certs` writes. The login page and a logged-in
//! page over TLS 1.3 with ALPN `http/1.1`, `Strict-Transport-Security` on
//! every answer, Secure cookies whatever `public_url` says, e-mailed links
//! in https; TLS 1.2 still served; plain HTTP bytes and TLS 1.1 refused and counted in
//! `/metrics`; files that cannot be used stop `mpos serve` with one line
//! naming them; SIGHUP rotates the certificate without touching the
//! connections already open.

use mpos_testkit::flood::Flood;
use mpos_testkit::https::{self, DemoCerts, metric};
use mpos_testkit::server::{Mpos, Server};
use std::path::Path;
use std::time::{Duration, Instant};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

const EMAIL: &str = "demo@merchant.test";
const PASSWORD: &str = "demo-password-1";
const MERCHANT_NAME: &str = "ООО «Ромашка»";

/// The `/metrics` series of the cabinet's failed handshakes for `reason`.
fn failures(server: &Server, reason: &str) -> u64 {
    metric(
        &server.metrics(),
        &format!("mpos_tls_handshake_failures_total{{listener=\"http\",reason=\"{reason}\"}}"),
    )
}

/// Waits (at most 15 s) for the log file to hold `text`; the log.
fn wait_for_log(log: &Path, text: &str) -> String {
    let started = Instant::now();
    loop {
        let written = std::fs::read_to_string(log).unwrap_or_default();
        if written.contains(text) {
            return written;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no {text:?} in the log:\n{written}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_cabinet_over_https_logs_in_with_secure_cookies_and_hsts() {
    let certs = MPOS.demo_certs();
    let server = MPOS.serve_https(&certs.cert(), &certs.key(), &[]);
    let mut tls = https::connect(&certs.ca(), &server.http, None).expect("the handshake");
    assert_eq!(tls.tls.version, "TLSv1.3");
    assert_eq!(tls.tls.alpn.as_deref(), Some("http/1.1"));
    assert_eq!(tls.tls.cert, certs.cert_sha256());

    // The login page: HSTS, and its CSRF cookie Secure although
    // public_url is left at its default (http://...).
    let login = tls.get("/login", "");
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(
        login.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let csrf = login
        .headers
        .iter()
        .find(|(name, value)| name == "set-cookie" && value.starts_with("mpos_csrf="))
        .map(|(_, value)| value.clone())
        .expect("the CSRF cookie");
    assert!(csrf.contains("; Secure"), "{csrf}");

    // Logged in on the same connection: the Secure session cookie works
    // over TLS and opens the home page.
    let answer = tls.log_in(EMAIL, PASSWORD);
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(
        answer.header("strict-transport-security"),
        Some("max-age=31536000"),
        "a redirect carries HSTS too"
    );
    let session = answer
        .headers
        .iter()
        .find(|(name, value)| name == "set-cookie" && value.starts_with("mpos_session="))
        .map(|(_, value)| value.clone())
        .expect("the session cookie");
    assert!(session.contains("; Secure"), "{session}");
    let cookie = session.split(';').next().expect("name=value").to_owned();
    let (home, on) = tls.request("GET", "/", &cookie, None);
    assert_eq!(home.status, 200);
    assert!(home.body.contains(MERCHANT_NAME), "{}", home.body);
    assert_eq!(on.local, tls.tls.local, "one kept-alive connection");
    // Not only the cabinet: /healthz on this listener, and a 404.
    for path in ["/healthz", "/no-such-page"] {
        let answer = tls.get(path, "");
        assert_eq!(
            answer.header("strict-transport-security"),
            Some("max-age=31536000"),
            "{path}"
        );
    }

    // A reset link e-mailed with public_url at its default is the
    // listener's https address: the token never travels in clear.
    let forgot = tls.get("/password/forgot", "");
    let csrf = forgot.cookie("mpos_csrf").expect("a CSRF cookie");
    let (sent, _) = tls.request(
        "POST",
        "/password/forgot",
        &format!("mpos_csrf={csrf}"),
        Some(&format!(
            "email={}&csrf_token={}",
            EMAIL.replace('@', "%40"),
            forgot.csrf_token()
        )),
    );
    assert_eq!(sent.status, 200, "{}", sent.body);
    let link = format!("{}/password/reset?token=", server.http);
    let outbox = server.data_dir().join("outbox");
    let started = Instant::now();
    let mail = loop {
        let found = std::fs::read_dir(&outbox)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .map(|e| std::fs::read_to_string(e.path()).expect("a readable mail"))
            .next();
        if let Some(mail) = found {
            break mail;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no e-mail in the outbox"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(mail.contains(&link), "the link starts with {link}:\n{mail}");

    let metrics = server.metrics();
    assert!(
        metric(
            &metrics,
            "mpos_tls_handshakes_total{listener=\"http\",version=\"TLSv1.3\",kind=\"full\"}"
        ) >= 1,
        "{metrics}"
    );
    assert_eq!(
        metric(
            &metrics,
            "mpos_tls_connections{listener=\"http\",version=\"TLSv1.3\"}"
        ),
        1,
        "the one connection still open"
    );
}

#[test]
fn tls_1_2_is_served_while_plain_http_and_tls_1_1_get_nothing_and_are_counted() {
    let certs = MPOS.demo_certs();
    let server = MPOS.serve_https(&certs.cert(), &certs.key(), &[]);

    let before = failures(&server, "not_tls");
    let answer = https::plain_http_to(&server.http);
    let text = String::from_utf8_lossy(&answer);
    assert!(
        !text.contains("HTTP/1.1") && !text.contains("<html"),
        "plain HTTP gets no page: {text:?}"
    );
    assert_eq!(
        failures(&server, "not_tls"),
        before + 1,
        "counted as not TLS"
    );

    // An old client offering TLS 1.1 at most, any cipher: refused, and
    // the server counts it, so the test cannot pass merely because
    // OpenSSL would not speak 1.1.
    let before = failures(&server, "incompatible");
    let refused = https::connect(&certs.ca(), &server.http, Some("TLSv1_1"));
    let error = refused.err().expect("TLS 1.1 is refused");
    // rustls answers with an alert (handshake_failure): the refusal is
    // the server's, not OpenSSL's own.
    assert!(error.contains("ALERT"), "{error}");
    assert_eq!(
        failures(&server, "incompatible"),
        before + 1,
        "the server refused the handshake (OpenSSL said: {error})"
    );

    // TLS 1.2 is still served, for older clients.
    let mut tls12 =
        https::connect(&certs.ca(), &server.http, Some("TLSv1_2")).expect("a TLS 1.2 handshake");
    assert_eq!(tls12.tls.version, "TLSv1.2");
    assert_eq!(tls12.tls.alpn.as_deref(), Some("http/1.1"));
    assert_eq!(tls12.get("/login", "").status, 200);
    assert_eq!(
        metric(
            &server.metrics(),
            "mpos_tls_handshakes_total{listener=\"http\",version=\"TLSv1.2\",kind=\"full\"}"
        ),
        1
    );

    // Whoever does not trust the demo CA refuses the certificate; the
    // server sees the client's alert. A client that does trust it still
    // gets in: the refusals cost nothing.
    let other = MPOS.demo_certs();
    let error = https::connect(&other.ca(), &server.http, None)
        .err()
        .expect("another CA's client refuses the certificate");
    assert!(error.contains("CERTIFICATE_VERIFY_FAILED"), "{error}");
    let mut tls = https::connect(&certs.ca(), &server.http, None).expect("the handshake");
    assert_eq!(tls.get("/login", "").status, 200);
}

#[test]
fn silent_clients_cannot_stall_the_handshakes_of_others() {
    let certs = MPOS.demo_certs();
    // Handshakes in the accept loop would make a client wait out the
    // silent ones' 20 s each; in their own tasks it waits for nobody.
    let server = MPOS.serve_https(
        &certs.cert(),
        &certs.key(),
        &[("MPOS_HTTP__HEADER_TIMEOUT_SECS", "20")],
    );
    let silent = Flood::open(&server.http, 50);
    assert!(silent.wait_connected(50, Duration::from_secs(15)));
    let started = Instant::now();
    let mut tls = https::connect(&certs.ca(), &server.http, None).expect("the handshake");
    assert_eq!(tls.get("/login", "").status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a handshake behind 50 silent clients took {:?}",
        started.elapsed()
    );
    assert_eq!(silent.closed(), 0, "the silent ones still have their time");
    drop(silent);

    // The handshake's time is the header time: a client silent past it is
    // closed and counted.
    let server = MPOS.serve_https(
        &certs.cert(),
        &certs.key(),
        &[("MPOS_HTTP__HEADER_TIMEOUT_SECS", "1")],
    );
    let silent = Flood::open(&server.http, 5);
    assert!(silent.wait_connected(5, Duration::from_secs(15)));
    let started = Instant::now();
    while silent.closed() < 5 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{} of 5 silent clients closed",
            silent.closed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(failures(&server, "timeout"), 5);
}

#[test]
fn cookies_are_secure_over_https_whatever_public_url_says() {
    let certs = MPOS.demo_certs();
    let server = MPOS.serve_https(
        &certs.cert(),
        &certs.key(),
        &[("MPOS_CABINET__PUBLIC_URL", "http://cabinet.bank.test")],
    );
    let mut tls = https::connect(&certs.ca(), &server.http, None).expect("the handshake");
    let answer = tls.log_in(EMAIL, PASSWORD);
    assert_eq!(answer.status, 303, "{}", answer.body);
    let cookies: Vec<&str> = answer
        .headers
        .iter()
        .filter(|(name, _)| name == "set-cookie")
        .map(|(_, value)| value.as_str())
        .collect();
    assert!(!cookies.is_empty());
    assert!(
        cookies.iter().all(|c| c.contains("; Secure")),
        "{cookies:?}"
    );
}

#[test]
fn plain_http_sends_no_hsts_and_counts_no_tls() {
    let server = MPOS.serve();
    assert!(server.http.starts_with("http://"), "{}", server.http);
    let login = server.http("GET", "/login", "", None);
    assert_eq!(login.status, 200);
    assert_eq!(login.header("strict-transport-security"), None);
    assert!(
        login
            .cookie("mpos_csrf")
            .is_some_and(|_| !login.headers.iter().any(|(_, v)| v.contains("Secure"))),
        "no Secure cookie over plain HTTP at an http public_url"
    );
    assert!(!server.metrics().contains("mpos_tls_"), "no TLS listener");
}

/// `mpos serve` with `[http]` naming `cert` and `key` in a configuration
/// file: its exit code and standard error.
fn serve_with_files(cert: &Path, key: &Path) -> (Option<i32>, String) {
    let site = tempfile::tempdir().expect("temp dir");
    let config = site.path().join("mpos.toml");
    std::fs::write(
        &config,
        format!(
            "[http]\ntls_cert = {:?}\ntls_key = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        ),
    )
    .expect("a config file");
    let data = site.path().join("data");
    let out = MPOS.run(
        &[
            "serve",
            "--config",
            config.to_str().expect("UTF-8"),
            "--data-dir",
            data.to_str().expect("UTF-8"),
            "--iso-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        b"",
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn files_that_cannot_be_used_stop_serve_with_one_line_naming_them() {
    let certs = MPOS.demo_certs();
    let other = MPOS.demo_certs();
    let missing = certs.dir.path().join("missing.pem");
    let not_pem = certs.dir.path().join("notes.txt");
    std::fs::write(&not_pem, "this is not a key\n").expect("a text file");
    for (cert, key, named, problem) in [
        (&missing, &certs.key(), &missing, "cannot read it"),
        (&certs.cert(), &not_pem, &not_pem, "not PEM"),
        (
            &certs.cert(),
            &other.key(),
            &other.key(),
            "does not match the certificate",
        ),
    ] {
        let (code, stderr) = serve_with_files(cert, key);
        assert_eq!(code, Some(1), "{stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(
            lines[0].contains(&named.display().to_string()) && lines[0].contains(problem),
            "names {} ({problem}): {stderr}",
            named.display()
        );
        assert!(lines[0].contains("[http]"), "{stderr}");
    }
}

/// Overwrites `to`'s certificate and key with `from`'s, each file whole
/// (written aside, then renamed).
fn replace_files(from: &DemoCerts, to: &DemoCerts) {
    for (source, target) in [(from.cert(), to.cert()), (from.key(), to.key())] {
        let aside = target.with_extension("new");
        std::fs::copy(source, &aside).expect("a copy");
        std::fs::rename(aside, target).expect("a rename");
    }
}

#[test]
fn sighup_rotates_the_certificate_and_open_connections_keep_working() {
    let first = MPOS.demo_certs();
    let second = MPOS.demo_certs();
    let (first_sha, second_sha) = (first.cert_sha256(), second.cert_sha256());
    // The files the server is configured with: first's, replaced below.
    let live = MPOS.demo_certs();
    replace_files(&first, &live);
    let logs = tempfile::tempdir().expect("temp dir");
    let log_path = logs.path().join("mpos.log");
    let log = std::fs::File::create(&log_path).expect("a log file");
    let cert = live.cert().display().to_string();
    let key = live.key().display().to_string();
    let mut server = MPOS.serve_logging_with(
        log,
        "info",
        &[
            ("MPOS_HTTP__TLS_CERT", cert.as_str()),
            ("MPOS_HTTP__TLS_KEY", key.as_str()),
        ],
    );
    let mut before = https::connect(&first.ca(), &server.http, None).expect("the handshake");
    assert_eq!(before.tls.cert, first_sha);
    assert_eq!(before.get("/login", "").status, 200);

    replace_files(&second, &live);
    let pid = server.child.id().to_string();
    let hup = || {
        let status = std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill runs");
        assert!(status.success());
    };
    hup();
    wait_for_log(&log_path, "TLS certificate reloaded");

    // A new handshake gets the new certificate (and only a client of the
    // new CA accepts it); the connection from before keeps its own.
    let mut after = https::connect(&second.ca(), &server.http, None).expect("the new handshake");
    assert_eq!(after.tls.cert, second_sha);
    assert_eq!(after.get("/login", "").status, 200);
    let (answer, on) = before.request("GET", "/login", "", None);
    assert_eq!(answer.status, 200, "the kept-alive connection still works");
    assert_eq!(on.local, before.tls.local, "on the same connection");
    assert_eq!(on.cert, first_sha);

    // A bad new file is refused with a line naming it; the certificate in
    // force stays, and the process lives on.
    std::fs::write(live.cert(), "not a certificate\n").expect("a broken file");
    hup();
    let written = wait_for_log(&log_path, "TLS certificate not reloaded");
    let line = written
        .lines()
        .find(|line| line.contains("TLS certificate not reloaded"))
        .expect("the line");
    assert!(line.contains("ERROR") && line.contains(&cert), "{line}");
    let mut still = https::connect(&second.ca(), &server.http, None).expect("a handshake");
    assert_eq!(still.tls.cert, second_sha);
    assert_eq!(still.get("/login", "").status, 200);
    assert!(
        server.child.try_wait().expect("status").is_none(),
        "running"
    );
    assert_eq!(server.terminate().code(), Some(0));
}
