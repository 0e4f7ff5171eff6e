//! TLS in whole-system tests: throwaway certificates written by the real
//! `mpos admin tls demo-certs`, the environment that makes `mpos serve`
//! speak TLS with them, and the Python `ssl` probe
//! (`tests/interop/tls_probe.py`), a client that is not ours.

use crate::server::{Mpos, Server, python};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A CA, a server certificate for localhost and 127.0.0.1, and device
/// certificates, in a temporary folder.
pub struct DemoPki {
    /// The folder: `ca.pem`, `server.pem`/`.key`, `<serial>.pem`/`.key`.
    pub dir: tempfile::TempDir,
}

impl DemoPki {
    /// Runs `mpos admin tls demo-certs` for `devices`.
    pub fn new(mpos: &Mpos, devices: &[&str]) -> DemoPki {
        let dir = tempfile::tempdir().expect("temp dir");
        let folder = dir.path().join("pki");
        let mut args = vec!["tls", "demo-certs", folder.to_str().expect("UTF-8 path")];
        for device in devices {
            args.extend(["--device", device]);
        }
        let out = mpos.admin(dir.path(), &args);
        assert!(
            out.status.success(),
            "demo-certs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        DemoPki { dir }
    }

    /// A file of the set, e.g. `ca.pem` or `MPOS-0001.key`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join("pki").join(name)
    }

    /// The CA that signed every certificate of the set.
    pub fn ca(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// The server's certificate (localhost, 127.0.0.1).
    pub fn cert(&self) -> PathBuf {
        self.path("server.pem")
    }

    /// The server certificate's key.
    pub fn key(&self) -> PathBuf {
        self.path("server.key")
    }

    /// The SHA-256 of the server certificate's DER, in hex, as Python's
    /// `ssl` computes it: what a client that got it reports.
    pub fn cert_sha256(&self) -> String {
        let out = Command::new(python())
            .args([
                "-c",
                "import hashlib,ssl,sys; \
                 print(hashlib.sha256(ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())).hexdigest())",
            ])
            .arg(self.cert())
            .output()
            .expect("python runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .expect("hex")
            .trim()
            .to_owned()
    }

    /// [`DemoPki::path`] as text, for arguments and the environment.
    pub fn file(&self, name: &str) -> String {
        self.path(name).to_str().expect("UTF-8 path").to_owned()
    }

    /// The environment that makes `mpos serve`'s ISO 8583 listener speak
    /// TLS with the server certificate, and require client certificates
    /// from this CA when `mutual`.
    pub fn host_env(&self, mutual: bool) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("MPOS_HOST__TLS_CERT", self.file("server.pem")),
            ("MPOS_HOST__TLS_KEY", self.file("server.key")),
        ];
        if mutual {
            env.push(("MPOS_HOST__CLIENT_CA", self.file("ca.pem")));
        }
        env
    }
}

/// Starts `mpos serve` on a fresh data folder with `env`.
pub fn serve_with(mpos: &Mpos, env: &[(&'static str, String)]) -> Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    mpos.serve_in(tempfile::tempdir().expect("temp dir"), &[], &env)
}

fn probe_script() -> PathBuf {
    crate::workspace_root().join("tests/interop/tls_probe.py")
}

/// Runs one `tls_probe.py` command; its one line of output.
pub fn probe(args: &[&str]) -> String {
    let out = Command::new(python())
        .arg(probe_script())
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "tls_probe {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A Python client holding a signed-on TLS connection open (`tls_probe.py
/// hold`) until [`HeldConnection::echo`].
pub struct HeldConnection {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: std::io::BufReader<ChildStdout>,
    /// The fingerprint of the certificate the host showed it.
    pub fingerprint: String,
}

impl HeldConnection {
    /// Signs on as `serial` over TLS trusting `ca`, and waits until it is.
    pub fn open(address: &str, ca: &str, serial: &str, password: &str) -> HeldConnection {
        use std::io::BufRead;
        let mut child = Command::new(python())
            .arg(probe_script())
            .args(["hold", address, ca, serial, password])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python runs");
        let stdin = child.stdin.take();
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the probe's first line");
        let fingerprint = line
            .trim()
            .strip_prefix("signed-on ")
            .unwrap_or_else(|| panic!("the held connection signs on: {line}"))
            .to_owned();
        HeldConnection {
            child,
            stdin,
            stdout,
            fingerprint,
        }
    }

    /// Sends an echo on the held connection; the probe's line
    /// (`echo 00` when the connection still works).
    pub fn echo(mut self) -> String {
        use std::io::{BufRead, Write};
        let mut stdin = self.stdin.take().expect("stdin");
        stdin.write_all(b"go\n").expect("the probe reads stdin");
        drop(stdin);
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("the probe's answer");
        let _ = self.child.wait();
        line.trim().to_owned()
    }
}

impl Drop for HeldConnection {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
