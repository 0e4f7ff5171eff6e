//! Password recovery through a real SMTP server: the real `mpos serve`,
//! configured by `MPOS_MAIL__…` variables, sends the link to an aiosmtpd
//! server on 127.0.0.1 (tests/interop/smtp_sink.py); the test reads the
//! message as Python's e-mail package decodes it, follows the link, sets a
//! new password, logs in with it, and sees the link refuse a second use.

#[path = "support/host.rs"]
mod host;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PUBLIC_URL: &str = "https://mpos.example.test";
const NEW_PASSWORD: &str = "mailed-new-password-1";

/// The Python with aiosmtpd: `MPOS_PYTHON` or the repository's `.venv`.
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        std::env::var_os("MPOS_PYTHON").is_some() || venv.exists(),
        "aiosmtpd is needed: run scripts/install-test-deps.sh (or scripts/test-all.sh)"
    );
    host::python()
}

/// The SMTP sink, stopped when dropped (its stdin closes, then a kill).
struct Sink {
    child: Child,
    port: u16,
    folder: tempfile::TempDir,
}

impl Sink {
    fn start() -> Sink {
        let folder = tempfile::tempdir().expect("temp dir");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(folder.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut first = String::new();
            let _ = BufReader::new(stdout).read_line(&mut first);
            let _ = tx.send(first);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let port = line
            .trim()
            .strip_prefix("SMTP sink listening on 127.0.0.1:")
            .and_then(|port| port.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let mut stderr = String::new();
            if let Some(mut err) = child.stderr.take() {
                let _ = err.read_to_string(&mut stderr);
            }
            panic!(
                "the SMTP sink did not start (run scripts/install-test-deps.sh if aiosmtpd is missing): {line:?}\n{stderr}"
            );
        };
        Sink {
            child,
            port,
            folder,
        }
    }

    /// The messages received so far, as the sink's JSON records, in order.
    fn messages(&self) -> Vec<serde_json::Value> {
        (1..)
            .map(|n| self.folder.path().join(format!("{n}.json")))
            .take_while(|path| path.exists())
            .map(|path| serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("JSON"))
            .collect()
    }

    /// Waits, up to 20 s in 25 ms steps, for `count` messages.
    fn wait_for(&self, count: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "{count} message(s) expected at the SMTP sink within 20 s, got {}",
                messages.len()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer: status, `Set-Cookie` values (name=value), headers, body.
struct Answer {
    status: u16,
    location: Option<String>,
    cookies: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The hidden CSRF token of the page's form.
    fn csrf(&self) -> &str {
        self.body
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a form with a CSRF token")
    }
}

/// One HTTP/1.1 request to the server, `Connection: close`.
fn request(server: &host::Server, method: &str, path: &str, cookie: &str, form: &str) -> Answer {
    let address = server.http.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("HTTP connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    if !cookie.is_empty() {
        head.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if method == "POST" {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            form.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(form);
    stream.write_all(head.as_bytes()).expect("request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("response");
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").expect("a full answer");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let (mut location, mut cookies) = (None, Vec::new());
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("location") {
            location = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("set-cookie") {
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((n, v)) = pair.split_once('=') {
                cookies.push((n.to_owned(), v.to_owned()));
            }
        }
    }
    Answer {
        status,
        location,
        cookies,
        body: body.to_owned(),
    }
}

/// Logs in to the cabinet; the answer to the POST.
fn log_in(server: &host::Server, password: &str) -> Answer {
    let page = request(server, "GET", "/login", "", "");
    let csrf = page.cookie("mpos_csrf").expect("a CSRF cookie").to_owned();
    request(
        server,
        "POST",
        "/login",
        &format!("mpos_csrf={csrf}"),
        &format!("email=demo%40merchant.test&password={password}&csrf_token={csrf}"),
    )
}

#[test]
fn a_recovery_link_sent_by_smtp_sets_a_new_password_once() {
    let sink = Sink::start();
    let port = sink.port.to_string();
    let server = host::Server::start_with(
        tempfile::tempdir().expect("temp dir"),
        &[],
        &[
            ("MPOS_MAIL__TRANSPORT", "smtp"),
            ("MPOS_MAIL__SMTP__HOST", "127.0.0.1"),
            ("MPOS_MAIL__SMTP__PORT", &port),
            ("MPOS_MAIL__SMTP__TLS", "none"),
            (
                "MPOS_MAIL__FROM",
                "МТБанк mPOS <no-reply@mpos.example.test>",
            ),
            ("MPOS_CABINET__PUBLIC_URL", PUBLIC_URL),
        ],
    );

    // Ask for the link, as the manual's section 4.5 says.
    let form = request(&server, "GET", "/password/forgot", "", "");
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.cookie("mpos_csrf").expect("a CSRF cookie").to_owned();
    assert_eq!(form.csrf(), csrf);
    let sent = request(
        &server,
        "POST",
        "/password/forgot",
        &format!("mpos_csrf={csrf}"),
        &format!("email=demo%40merchant.test&csrf_token={csrf}"),
    );
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(
        sent.body
            .contains("Если этот e-mail зарегистрирован в кабинете"),
        "{}",
        sent.body
    );

    // The message, as the SMTP server received and Python decodes it.
    let message = sink.wait_for(1).remove(0);
    assert_eq!(
        message["rcpt_tos"],
        serde_json::json!(["demo@merchant.test"])
    );
    assert_eq!(message["mail_from"], "no-reply@mpos.example.test");
    assert_eq!(message["from"], "МТБанк mPOS <no-reply@mpos.example.test>");
    assert!(
        message["subject"]
            .as_str()
            .is_some_and(|s| s.contains("восстановление пароля")),
        "{message}"
    );
    assert_eq!(message["content_type"], "text/plain");
    assert_eq!(message["charset"], "utf-8");
    assert!(
        ["base64", "quoted-printable"]
            .contains(&message["transfer_encoding"].as_str().unwrap_or("")),
        "encoded for any relay, not 8bit: {message}"
    );
    let text = message["text"].as_str().expect("a plain-text body");
    assert!(text.starts_with("Здравствуйте!"), "{text}");
    let start = format!("{PUBLIC_URL}/password/reset?token=");
    let at = text.find(&start).expect("the link on the public URL") + start.len();
    let token: String = text[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64, "{text}");
    assert!(
        !server.data_dir().join("outbox").exists(),
        "SMTP, not the outbox"
    );

    // Follow the link on the server and set a new password.
    let path = format!("/password/reset?token={token}");
    let page = request(&server, "GET", &path, "", "");
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.cookie("mpos_csrf").expect("a CSRF cookie").to_owned();
    let done = request(
        &server,
        "POST",
        &path,
        &format!("mpos_csrf={csrf}"),
        &format!(
            "new_password={NEW_PASSWORD}&new_password_repeat={NEW_PASSWORD}&csrf_token={}",
            page.csrf()
        ),
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/login?reset=done"));

    // The new password opens the cabinet, the old one no longer does.
    let login = log_in(&server, NEW_PASSWORD);
    assert_eq!(login.status, 303, "{}", login.body);
    assert_eq!(login.location.as_deref(), Some("/"));
    assert!(login.cookie("mpos_session").is_some());
    assert_eq!(log_in(&server, "demo-password-1").status, 401);

    // The link works once.
    let again = request(&server, "GET", &path, "", "");
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(
        again.body.contains("Ссылка недействительна"),
        "{}",
        again.body
    );
    let replay = request(
        &server,
        "POST",
        &path,
        &format!("mpos_csrf={csrf}"),
        &format!(
            "new_password=another-password-2&new_password_repeat=another-password-2&csrf_token={csrf}"
        ),
    );
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert_eq!(log_in(&server, NEW_PASSWORD).status, 303, "unchanged");
    assert_eq!(sink.messages().len(), 1);
}
