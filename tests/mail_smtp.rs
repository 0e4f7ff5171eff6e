//! Password recovery through a real SMTP server: the real `mpos serve`,
//! configured by `MPOS_MAIL__…` variables, sends the link to an aiosmtpd
//! server on 127.0.0.1 (tests/interop/smtp_sink.py); the test reads the
//! message as Python's e-mail package decodes it, follows the link, sets a
//! new password, logs in with it, and sees the link refuse a second use.

use mpos_testkit::http::HttpAnswer;
use mpos_testkit::server::{Mpos, Server, python};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PUBLIC_URL: &str = "https://mpos.example.test";
const NEW_PASSWORD: &str = "mailed-new-password-1";

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

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

/// Logs in to the cabinet as the demo merchant; the answer to the POST.
fn log_in(server: &Server, password: &str) -> HttpAnswer {
    server.cabinet_log_in("demo@merchant.test", password)
}

#[test]
fn a_recovery_link_sent_by_smtp_sets_a_new_password_once() {
    let sink = Sink::start();
    let port = sink.port.to_string();
    let server = MPOS.serve_in(
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
    let form = server.http("GET", "/password/forgot", "", None);
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.cookie("mpos_csrf").expect("a CSRF cookie").to_owned();
    assert_eq!(form.csrf_token(), csrf);
    let sent = server.http(
        "POST",
        "/password/forgot",
        &format!("mpos_csrf={csrf}"),
        Some(&format!("email=demo%40merchant.test&csrf_token={csrf}")),
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
    let page = server.http("GET", &path, "", None);
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.cookie("mpos_csrf").expect("a CSRF cookie").to_owned();
    let done = server.http(
        "POST",
        &path,
        &format!("mpos_csrf={csrf}"),
        Some(&format!(
            "new_password={NEW_PASSWORD}&new_password_repeat={NEW_PASSWORD}&csrf_token={}",
            page.csrf_token()
        )),
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.header("location"), Some("/login?reset=done"));

    // The new password opens the cabinet, the old one no longer does.
    let login = log_in(&server, NEW_PASSWORD);
    assert_eq!(login.status, 303, "{}", login.body);
    assert_eq!(login.header("location"), Some("/"));
    assert!(login.cookie("mpos_session").is_some());
    assert_eq!(log_in(&server, "demo-password-1").status, 401);

    // The link works once.
    let again = server.http("GET", &path, "", None);
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(
        again.body.contains("Ссылка недействительна"),
        "{}",
        again.body
    );
    let replay = server.http(
        "POST",
        &path,
        &format!("mpos_csrf={csrf}"),
        Some(&format!(
            "new_password=another-password-2&new_password_repeat=another-password-2&csrf_token={csrf}"
        )),
    );
    assert_eq!(replay.status, 400, "{}", replay.body);
    assert_eq!(log_in(&server, NEW_PASSWORD).status, 303, "unchanged");
    assert_eq!(sink.messages().len(), 1);
}
