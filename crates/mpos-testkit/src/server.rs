//! The real `mpos` binary: `mpos serve` on free loopback ports with a fresh
//! data folder, `mpos admin` on it, and any other command.
//!
//! Only the root package's own tests know where cargo built the binary
//! (`env!("CARGO_BIN_EXE_mpos")` exists only while compiling them), so each
//! test file names it once and hands it to the kit:
//!
//! ```text
//! const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));
//! let server = MPOS.serve();
//! ```

use crate::http::{self, HttpAnswer};
use crate::iso::Client;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};

/// The `mpos` binary cargo built for the tests.
#[derive(Debug, Clone, Copy)]
pub struct Mpos {
    path: &'static str,
}

impl Mpos {
    /// The binary at `path`: `env!("CARGO_BIN_EXE_mpos")` in the root
    /// package's tests.
    pub const fn at(path: &'static str) -> Mpos {
        Mpos { path }
    }

    /// A command running the binary, with nothing set yet.
    pub fn command(&self) -> Command {
        Command::new(self.path)
    }

    /// Runs the binary with `args`, `stdin` as its input; its output.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the mpos binary starts");
        let written = child.stdin.take().expect("stdin is piped").write_all(stdin);
        // A command that fails before reading (a bad --layout) closes its stdin.
        if let Err(e) = written {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe,
                "stdin takes the input: {e}"
            );
        }
        child.wait_with_output().expect("mpos finishes")
    }

    /// Runs `mpos admin --data-dir <data_dir> <args>` (whatever
    /// `MPOS_DATA_DIR` says).
    pub fn admin(&self, data_dir: &Path, args: &[&str]) -> Output {
        let mut command = self.command();
        if let Some(url) = crate::backend::store_url(data_dir) {
            command.env("MPOS_STORE__URL", url);
        }
        command
            .arg("admin")
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .env_remove("MPOS_DATA_DIR")
            .output()
            .expect("mpos admin runs")
    }

    /// Starts `mpos serve` on port 0 with a fresh data folder (which loads
    /// the demo data) and waits for its banner.
    pub fn serve(&self) -> Server {
        self.serve_in(tempfile::tempdir().expect("temp dir"), &[], &[])
    }

    /// Starts `mpos serve` on an existing data folder with extra arguments
    /// and environment variables.
    pub fn serve_in(
        &self,
        data: tempfile::TempDir,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        self.start(data, "127.0.0.1:0", extra, env, Stdio::inherit())
    }

    /// Starts `mpos serve` on an existing data folder with its ISO 8583
    /// listener on `iso` (a restart on the address its clients know).
    pub fn serve_at(&self, data: tempfile::TempDir, iso: &str, extra: &[&str]) -> Server {
        self.serve_at_with(data, iso, extra, &[])
    }

    /// [`Mpos::serve_at`] with environment variables (TLS files, limits).
    pub fn serve_at_with(
        &self,
        data: tempfile::TempDir,
        iso: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        self.start(data, iso, extra, env, Stdio::inherit())
    }

    /// Starts `mpos serve` on a fresh data folder as [`Mpos::serve_in`]
    /// does, but through `launcher`: a command whose arguments end in the
    /// binary, which gets the serve arguments after them, e.g. `sh -c
    /// 'ulimit -Sn 1024; exec "$0" "$@"'` (see [`soft_open_files`]) or a
    /// command with another current folder.
    pub fn serve_launched(
        &self,
        launcher: Command,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let data = tempfile::tempdir().expect("temp dir");
        self.launch(launcher, data, "127.0.0.1:0", extra, env, Stdio::inherit())
    }

    /// [`Mpos::serve_launched`] with the log (stderr) written to `log` at
    /// level `rust_log`.
    pub fn serve_launched_logging_to(
        &self,
        launcher: Command,
        log: std::fs::File,
        rust_log: &str,
    ) -> Server {
        let data = tempfile::tempdir().expect("temp dir");
        self.launch(
            launcher,
            data,
            "127.0.0.1:0",
            &[],
            &[("RUST_LOG", rust_log)],
            Stdio::from(log),
        )
    }

    /// Starts `mpos serve` on a fresh data folder with its log (stderr)
    /// written to `log` at level `rust_log`, as an operator's
    /// `mpos serve 2> mpos.log` or systemd gets it: not a terminal.
    pub fn serve_logging_to(&self, log: std::fs::File, rust_log: &str) -> Server {
        self.serve_logging_with(log, rust_log, &[])
    }

    /// [`Mpos::serve_logging_to`] with more environment variables (the
    /// host's limits, for instance).
    pub fn serve_logging_with(
        &self,
        log: std::fs::File,
        rust_log: &str,
        env: &[(&str, &str)],
    ) -> Server {
        let data = tempfile::tempdir().expect("temp dir");
        let mut env = env.to_vec();
        env.push(("RUST_LOG", rust_log));
        self.start(data, "127.0.0.1:0", &[], &env, Stdio::from(log))
    }

    /// Starts `mpos serve` with its ISO 8583 listener on `iso` (port 0: a
    /// free one), HTTP and metrics on free ports, over `data`, and waits for
    /// its banner.
    /// The log is quiet (`RUST_LOG=error`) unless `env` says otherwise.
    fn start(
        &self,
        data: tempfile::TempDir,
        iso: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> Server {
        self.launch(self.command(), data, iso, extra, env, stderr)
    }

    /// [`Mpos::start`] through `launcher` (the binary itself, or a command
    /// that runs it with the arguments that follow).
    fn launch(
        &self,
        mut launcher: Command,
        data: tempfile::TempDir,
        iso: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        stderr: Stdio,
    ) -> Server {
        make_private(data.path());
        if let Some(url) = crate::backend::store_url(data.path()) {
            launcher.env("MPOS_STORE__URL", url);
        }
        let mut child = launcher
            .args([
                "serve",
                "--iso-listen",
                iso,
                "--http-listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(data.path())
            .args(extra)
            .env("RUST_LOG", "error")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("mpos serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let (mut iso, mut http, mut metrics) = (None, None, None);
        for line in lines.by_ref() {
            let line = line.expect("banner line");
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["ISO", "8583", "host", address, ..] => iso = Some(address.to_string()),
                ["HTTP", url, ..] => http = Some(url.to_string()),
                ["Metrics", url, ..] => {
                    metrics = url
                        .strip_suffix("/metrics")
                        .filter(|base| base.starts_with("http://"))
                        .map(str::to_owned);
                }
                ["Press", ..] => break,
                _ => {}
            }
        }
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Server {
            mpos: *self,
            child,
            iso: iso.expect("the banner names the ISO 8583 address"),
            http: http.expect("the banner names the HTTP address"),
            metrics,
            data,
        }
    }
}

/// A command that runs the binary at `mpos` with the arguments given after
/// it at a soft open-file limit of `limit` (the hard one as it is): for
/// [`Mpos::serve_launched`], as a service started with `ulimit -Sn 1024`.
pub fn soft_open_files(mpos: &Mpos, limit: u64) -> Command {
    let mut command = Command::new("sh");
    command.args([
        "-c",
        &format!("ulimit -Sn {limit} && exec \"$0\" \"$@\""),
        mpos.path,
    ]);
    command
}

/// A command that runs the binary at `mpos` with the arguments given after
/// it with files limited to `bytes` (RLIMIT_FSIZE, soft; the hard limit
/// unlimited), through util-linux's `prlimit`: a full disk without root.
/// [`lift_file_size_limit`] gives the space back to the running process.
pub fn limited_file_size(mpos: &Mpos, bytes: u64) -> Command {
    let mut command = Command::new("prlimit");
    command.args([&format!("--fsize={bytes}:unlimited"), "--", mpos.path]);
    command
}

/// Raises process `pid`'s file-size limit to unlimited (as `prlimit --pid`).
pub fn lift_file_size_limit(pid: u32) {
    let status = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), "--fsize=unlimited:unlimited"])
        .status()
        .expect("prlimit runs");
    assert!(status.success(), "prlimit --pid {pid} lifts the limit");
}

/// The open files of process `pid` (Linux's `/proc`).
pub fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the process's /proc/<pid>/fd")
        .count()
}

/// `dir` and everything under it (symbolic links not followed), each with
/// its permission bits and whether it is a folder, sorted by path.
pub fn modes_under(dir: &Path) -> Vec<(PathBuf, u32, bool)> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let meta = std::fs::symlink_metadata(&folder).expect("a folder's metadata");
        found.push((folder.clone(), meta.permissions().mode() & 0o777, true));
        for entry in std::fs::read_dir(&folder).expect("a readable folder") {
            let entry = entry.expect("a folder entry");
            let meta = entry.metadata().expect("an entry's metadata");
            if meta.is_dir() {
                folders.push(entry.path());
            } else {
                found.push((entry.path(), meta.permissions().mode() & 0o777, false));
            }
        }
    }
    found.sort();
    found
}

/// Makes `folder` its owner's only, as an operator prepares a data folder:
/// otherwise every start would warn that it had to tighten it.
pub fn make_private(folder: &Path) {
    std::fs::set_permissions(folder, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .expect("a private data folder");
}

/// A new temporary data folder, private to its owner ([`make_private`]).
pub fn private_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    make_private(dir.path());
    dir
}

/// A running `mpos serve`, killed when dropped.
pub struct Server {
    mpos: Mpos,
    /// The process.
    pub child: Child,
    /// The ISO 8583 listener's address (`127.0.0.1:port`).
    pub iso: String,
    /// The HTTP listener's base URL (`http://127.0.0.1:port`).
    pub http: String,
    /// The metrics' listener's base URL, unless the server serves no
    /// metrics (`--metrics-listen ""`).
    pub metrics: Option<String>,
    /// The data folder.
    pub data: tempfile::TempDir,
}

impl Server {
    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// A new ISO 8583 connection.
    pub fn connect(&self) -> Client {
        Client::connect(&self.iso)
    }

    /// A new connection signed on as `serial` (answer 00 checked).
    pub fn signed_on(&self, serial: &str, password: &str) -> Client {
        let mut client = self.connect();
        assert_eq!(
            client.sign_on(serial, password).code(),
            "00",
            "{serial} signs on"
        );
        client
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().expect("mpos exits")
    }

    /// Runs `mpos admin` on this server's data folder.
    pub fn admin(&self, args: &[&str]) -> Output {
        self.mpos.admin(self.data_dir(), args)
    }

    /// One HTTP/1.1 request with optional cookies and form body.
    pub fn http(&self, method: &str, path: &str, cookie: &str, form: Option<&str>) -> HttpAnswer {
        http::request(&self.http, method, path, cookie, form)
    }

    /// GETs a path without cookies; the body.
    pub fn http_get(&self, path: &str) -> String {
        self.http("GET", path, "", None).body
    }

    /// GETs a path of the metrics' listener without cookies; the answer.
    pub fn metrics_http(&self, path: &str) -> HttpAnswer {
        let base = self
            .metrics
            .as_deref()
            .expect("the server has a metrics listener");
        http::request(base, "GET", path, "", None)
    }

    /// Posts the cabinet's login form (its CSRF token taken from a GET
    /// first) as `email` with `password`; the answer.
    pub fn cabinet_log_in(&self, email: &str, password: &str) -> HttpAnswer {
        let form = self.http("GET", "/login", "", None);
        let csrf = form
            .cookie("mpos_csrf")
            .expect("the login form's CSRF cookie");
        self.http(
            "POST",
            "/login",
            &format!("mpos_csrf={csrf}"),
            Some(&format!(
                "email={}&password={password}&csrf_token={csrf}",
                email.replace('@', "%40")
            )),
        )
    }

    /// The Prometheus text of `/metrics`.
    pub fn metrics(&self) -> String {
        let answer = self.metrics_http("/metrics");
        assert_eq!(answer.status, 200, "/metrics: {}", answer.body);
        answer.body
    }

    /// PBKDF2 runs of the process's shared password pool so far
    /// (`mpos_password_hashes_total`): how a test proves an answer came
    /// without hashing.
    pub fn password_hashes(&self) -> u64 {
        let metrics = self.metrics();
        metrics
            .lines()
            .find_map(|line| line.strip_prefix("mpos_password_hashes_total "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no mpos_password_hashes_total in {metrics}"))
    }

    /// Asks for a password recovery e-mail for `email` through the
    /// cabinet's form (its CSRF token taken from a GET first); the answer.
    pub fn cabinet_forgot(&self, email: &str) -> HttpAnswer {
        let form = self.http("GET", "/password/forgot", "", None);
        let cookie = form
            .cookie("mpos_csrf")
            .expect("the forgot form's CSRF cookie");
        self.http(
            "POST",
            "/password/forgot",
            &format!("mpos_csrf={cookie}"),
            Some(&format!(
                "email={}&csrf_token={}",
                email.replace('@', "%40"),
                form.csrf_token()
            )),
        )
    }

    /// Logs in to the cabinet; the session cookie (`mpos_session=…`).
    pub fn cabinet_login(&self, email: &str, password: &str) -> String {
        let answer = self.cabinet_log_in(email, password);
        assert_eq!(answer.status, 303, "login: {}", answer.body);
        format!(
            "mpos_session={}",
            answer.cookie("mpos_session").expect("a session cookie")
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python with pyiso8583 and aiosmtpd: `MPOS_PYTHON` (set by
/// scripts/test-all.sh) or the repository's `.venv`.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("MPOS_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = crate::workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "pyiso8583 and aiosmtpd are needed: run scripts/install-test-deps.sh (or scripts/test-all.sh)"
    );
    venv
}
