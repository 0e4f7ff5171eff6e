//! Starts the real `mpos serve` on free loopback ports with a fresh data
//! folder, and talks ISO 8583 to it with our codec: the harness of the
//! whole-system tests.
// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use bytes::BytesMut;
use mpos_iso8583::{Layout, MessageBuilder, Mti};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `mpos serve`, killed when dropped.
pub struct Server {
    pub child: Child,
    pub iso: String,
    pub http: String,
    pub data: tempfile::TempDir,
}

impl Server {
    /// Starts `mpos serve` on port 0 with a fresh data folder and waits
    /// for its banner.
    pub fn start() -> Server {
        Server::start_in(tempfile::tempdir().expect("temp dir"), &[])
    }

    /// Starts it on an existing data folder with extra arguments.
    pub fn start_in(data: tempfile::TempDir, extra: &[&str]) -> Server {
        Server::start_with(data, extra, &[])
    }

    /// Starts it with extra arguments and environment variables.
    pub fn start_with(data: tempfile::TempDir, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mpos"))
            .args([
                "serve",
                "--iso-listen",
                "127.0.0.1:0",
                "--http-listen",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(data.path())
            .args(extra)
            .envs(env.iter().copied())
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mpos serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut iso, mut http) = (None, None);
        for line in lines.by_ref() {
            let line = line.expect("banner line");
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["ISO", "8583", "host", address, ..] => iso = Some(address.to_string()),
                ["HTTP", url, ..] => http = Some(url.to_string()),
                ["Press", ..] => break,
                _ => {}
            }
        }
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            iso: iso.expect("the banner names the ISO 8583 address"),
            http: http.expect("the banner names the HTTP address"),
            data,
        }
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// A new client connection.
    pub fn connect(&self) -> Client {
        Client::connect(&self.iso)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().expect("mpos exits")
    }

    /// Runs `mpos admin` on this server's data folder.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_mpos"))
            .arg("admin")
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .output()
            .expect("mpos admin runs")
    }

    /// GET an HTTP path, returning the body.
    /// One HTTP/1.1 request with optional cookies and form body.
    pub fn http(&self, method: &str, path: &str, cookie: &str, form: Option<&str>) -> HttpAnswer {
        let address = self.http.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("HTTP connects");
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
        if !cookie.is_empty() {
            request.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        let body = form.unwrap_or("");
        if form.is_some() {
            request.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).expect("request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("response");
        let split = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP head");
        let head = String::from_utf8_lossy(&response[..split]).into_owned();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let raw = &response[split + 4..];
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        let body = if chunked { dechunk(raw) } else { raw.to_vec() };
        let body = String::from_utf8(body).expect("a UTF-8 body");
        HttpAnswer {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    /// Logs in to the cabinet; returns the session cookie (`mpos_session=…`).
    pub fn cabinet_login(&self, email: &str, password: &str) -> String {
        let form = self.http("GET", "/login", "", None);
        let csrf = form
            .cookie("mpos_csrf")
            .expect("the login form's CSRF cookie");
        let answer = self.http(
            "POST",
            "/login",
            &format!("mpos_csrf={csrf}"),
            Some(&format!(
                "email={}&password={password}&csrf_token={csrf}",
                email.replace('@', "%40")
            )),
        );
        assert_eq!(answer.status, 303, "login: {}", answer.body);
        format!(
            "mpos_session={}",
            answer.cookie("mpos_session").expect("a session cookie")
        )
    }

    pub fn http_get(&self, path: &str) -> String {
        let address = self.http.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("HTTP connects");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .expect("request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response");
        response
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of a chunked transfer: sizes in hex, each chunk followed by CRLF.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size");
        let size_text = String::from_utf8_lossy(&raw[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .expect("a hex chunk size");
        raw = &raw[line_end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// An HTTP answer: status, headers (names in lower case), body.
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpAnswer {
    /// The value a `Set-Cookie` header gives cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next())
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    /// The first hidden `csrf_token` of the page.
    pub fn csrf_token(&self) -> String {
        self.body
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a form with a CSRF token")
            .to_owned()
    }
}

/// A decoded answer: MTI and field texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub mti: String,
    pub fields: BTreeMap<u8, String>,
}

impl Answer {
    /// DE 39.
    pub fn code(&self) -> &str {
        self.fields.get(&39).map(String::as_str).unwrap_or("")
    }

    /// A field's text.
    pub fn get(&self, n: u8) -> Option<&str> {
        self.fields.get(&n).map(String::as_str)
    }
}

/// A blocking ISO 8583 client over our codec.
pub struct Client {
    pub stream: TcpStream,
    layout: Layout,
}

impl Client {
    pub fn connect(address: &str) -> Client {
        let stream = TcpStream::connect(address).expect("ISO 8583 connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        Client {
            stream,
            layout: Layout::shipped("generic-1987-ascii").expect("layout"),
        }
    }

    /// Encodes and sends one framed message without waiting.
    pub fn send(&mut self, mti: &str, fields: &[(u8, &str)]) {
        let mut builder = MessageBuilder::new(Mti::new(mti).expect("MTI"));
        for (n, v) in fields {
            builder.set(*n, v);
        }
        let mut body = BytesMut::new();
        self.layout
            .encode(&builder, &mut body)
            .expect("test messages encode");
        self.send_raw(&body);
    }

    /// Sends bytes with a correct length header.
    pub fn send_raw(&mut self, body: &[u8]) {
        let mut frame = (body.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(body);
        self.stream.write_all(&frame).expect("send");
    }

    /// Reads one answer; `None` if the host closed the connection.
    pub fn receive(&mut self) -> Option<Answer> {
        let mut header = [0u8; 2];
        self.stream.read_exact(&mut header).ok()?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(header))];
        self.stream.read_exact(&mut body).ok()?;
        let message = self
            .layout
            .decode(&body)
            .expect("the host's answers decode");
        Some(Answer {
            mti: message.mti().as_str().to_owned(),
            fields: message
                .fields()
                .map(|f| (f.number(), f.text().into_owned()))
                .collect(),
        })
    }

    /// Sends and waits for the answer.
    pub fn exchange(&mut self, mti: &str, fields: &[(u8, &str)]) -> Answer {
        self.send(mti, fields);
        self.receive().expect("an answer")
    }

    /// Whether the host closed the connection (reads EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_))
    }

    /// Signs on as a demo device.
    pub fn sign_on(&mut self, serial: &str, password: &str) -> Answer {
        self.exchange(
            "0800",
            &[
                (7, "1125093000"),
                (11, "000001"),
                (48, password),
                (62, serial),
                (70, "001"),
            ],
        )
    }
}

/// The Python with pyiso8583: `MPOS_PYTHON` (set by scripts/test-all.sh)
/// or the repository's `.venv`.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("MPOS_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "pyiso8583 is needed: run scripts/install-test-deps.sh (or scripts/test-all.sh)"
    );
    venv
}
