//! The cabinet over HTTPS, as clients that are not ours see it: the demo
//! certificates (`mpos admin tls demo-certs`), `mpos serve` with them, and
//! an HTTPS connection through Python's `ssl` and `http.client`
//! (`tests/interop/https_client.py`) that trusts only the demo CA.

use crate::http::HttpAnswer;
use crate::server::{Mpos, Server, python};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Lines, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

/// The demo certificates (`mpos admin tls demo-certs`): one kind for the
/// ISO and the HTTP listeners' tests.
pub use crate::tls::DemoPki as DemoCerts;

impl Mpos {
    /// Writes a fresh set of demo certificates (no device certificates)
    /// with `mpos admin tls demo-certs`.
    pub fn demo_certs(&self) -> DemoCerts {
        DemoCerts::new(self, &[])
    }

    /// `mpos serve` (as [`Mpos::serve_in`], on a fresh data folder) serving
    /// the cabinet over HTTPS with `cert` and `key`, set through the
    /// environment (`MPOS_HTTP__TLS_CERT`, `MPOS_HTTP__TLS_KEY`) with `env`.
    pub fn serve_https(&self, cert: &Path, key: &Path, env: &[(&str, &str)]) -> Server {
        let cert = cert.to_str().expect("a UTF-8 path");
        let key = key.to_str().expect("a UTF-8 path");
        let mut env = env.to_vec();
        env.extend([("MPOS_HTTP__TLS_CERT", cert), ("MPOS_HTTP__TLS_KEY", key)]);
        let server = self.serve_in(tempfile::tempdir().expect("temp dir"), &[], &env);
        assert!(
            server.http.starts_with("https://"),
            "the banner names the cabinet with https: {}",
            server.http
        );
        server
    }
}

/// What a TLS connection is: as Python's `ssl` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// The protocol ALPN settled on.
    pub alpn: Option<String>,
    /// The SHA-256 of the server's certificate, in hex.
    pub cert: String,
    /// The client's port: the same port, the same connection.
    pub local: u16,
}

impl Tls {
    fn of(line: &Value) -> Tls {
        Tls {
            version: line["version"].as_str().expect("a version").to_owned(),
            alpn: line["alpn"].as_str().map(str::to_owned),
            cert: line["cert"].as_str().expect("a certificate").to_owned(),
            local: line["local"]
                .as_u64()
                .and_then(|port| u16::try_from(port).ok())
                .expect("a port"),
        }
    }
}

/// One kept-alive HTTPS connection of Python's, open until dropped.
pub struct HttpsConnection {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
    /// The connection as its handshake made it.
    pub tls: Tls,
}

/// `base`'s host and port (`https://127.0.0.1:PORT`).
fn host_and_port(base: &str) -> (&str, &str) {
    base.trim_start_matches("https://")
        .trim_end_matches('/')
        .rsplit_once(':')
        .expect("host:port")
}

/// Opens an HTTPS connection to `base` trusting only `ca`, offering at
/// most `max_version` (e.g. `TLSv1_1`, every cipher allowed) when given;
/// the handshake's error as OpenSSL words it when it fails.
pub fn connect(
    ca: &Path,
    base: &str,
    max_version: Option<&str>,
) -> Result<HttpsConnection, String> {
    let script = crate::workspace_root().join("tests/interop/https_client.py");
    let (host, port) = host_and_port(base);
    let mut command = Command::new(python());
    command.arg(script).arg(ca).args([host, port]);
    if let Some(version) = max_version {
        command.args(["--max-version", version]);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python runs");
    let stdin = child.stdin.take();
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let first = next_json(&mut lines);
    if first["connected"] != json!(true) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(first["error"].as_str().unwrap_or("no error").to_owned());
    }
    Ok(HttpsConnection {
        child,
        stdin,
        lines,
        tls: Tls::of(&first),
    })
}

/// The next JSON line of the client (it answers within its 30 s socket
/// timeout, or exits).
fn next_json(lines: &mut Lines<BufReader<ChildStdout>>) -> Value {
    let line = lines
        .next()
        .expect("the HTTPS client answers")
        .expect("a line");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

impl HttpsConnection {
    /// One request on this connection: `cookie` as the `Cookie` header
    /// (none if empty), `form` as an urlencoded body; the answer and the
    /// connection it came on.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        cookie: &str,
        form: Option<&str>,
    ) -> (HttpAnswer, Tls) {
        let request = json!({ "method": method, "path": path, "cookie": cookie, "form": form });
        let stdin = self.stdin.as_mut().expect("the client's input is open");
        writeln!(stdin, "{request}").expect("the HTTPS client takes a request");
        stdin.flush().expect("flushed");
        let line = next_json(&mut self.lines);
        assert!(line.get("error").is_none(), "{method} {path}: {line}");
        let headers = line["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|pair| {
                (
                    pair[0].as_str().expect("a name").to_owned(),
                    pair[1].as_str().expect("a value").to_owned(),
                )
            })
            .collect();
        let answer = HttpAnswer {
            status: line["status"]
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .expect("a status"),
            headers,
            body: line["body"].as_str().expect("a body").to_owned(),
        };
        (answer, Tls::of(&line))
    }

    /// GETs `path` with `cookie`; the answer.
    pub fn get(&mut self, path: &str, cookie: &str) -> HttpAnswer {
        self.request("GET", path, cookie, None).0
    }

    /// Logs in to the cabinet (its CSRF token from a GET of the form
    /// first); the login's answer.
    pub fn log_in(&mut self, email: &str, password: &str) -> HttpAnswer {
        let form = self.get("/login", "");
        let csrf = form
            .cookie("mpos_csrf")
            .expect("the login form's CSRF cookie");
        let body = format!(
            "email={}&password={password}&csrf_token={csrf}",
            email.replace('@', "%40")
        );
        self.request("POST", "/login", &format!("mpos_csrf={csrf}"), Some(&body))
            .0
    }
}

impl Drop for HttpsConnection {
    fn drop(&mut self) {
        // Closing its input ends the client; kill it should it hang.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a plain HTTP request to the HTTPS listener at `base` and returns
/// whatever comes back before the server closes (or 15 s pass): a TLS
/// alert at most, never a page.
pub fn plain_http_to(base: &str) -> Vec<u8> {
    let (host, port) = host_and_port(base);
    let mut stream = std::net::TcpStream::connect(format!("{host}:{port}")).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("a read timeout");
    stream
        .write_all(b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("the request is sent");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

/// The value of the series `series` (name and labels, as printed) in a
/// Prometheus text.
pub fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in /metrics:\n{text}"))
}
