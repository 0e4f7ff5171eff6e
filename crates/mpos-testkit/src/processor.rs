//! A card processor that is not ours, for the upstream mode's whole-system
//! tests: `tests/interop/pyiso8583_processor.py` (pyiso8583, not our codec)
//! on a free loopback port, recording what it receives; and the
//! configuration file that points `mpos serve` at it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One message the processor received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Which of its connections (1, 2, … in accept order).
    pub conn: u64,
    /// The MTI.
    pub mti: String,
    /// Field texts by number.
    pub fields: BTreeMap<u8, String>,
    /// Over TLS: the version (`TLSv1.3`).
    pub tls: Option<String>,
    /// Over TLS with a client certificate: its common name.
    pub peer: Option<String>,
}

impl Received {
    /// A field's text.
    pub fn get(&self, n: u8) -> Option<&str> {
        self.fields.get(&n).map(String::as_str)
    }
}

/// The running processor, killed when dropped.
pub struct Processor {
    child: Child,
    /// Its `127.0.0.1:port`.
    pub address: String,
    record: PathBuf,
    control: PathBuf,
    _dir: tempfile::TempDir,
}

impl Processor {
    /// Starts the processor on a free port; late answers (amounts ending
    /// in 92) come after `late_ms`.
    pub fn start(late_ms: u64) -> Processor {
        Processor::start_on(0, late_ms)
    }

    /// Starts it on `port` (0: a free one), e.g. again on the port a
    /// killed one had.
    pub fn start_on(port: u16, late_ms: u64) -> Processor {
        Processor::start_with(port, late_ms, &[])
    }

    /// Starts it speaking TLS with `cert` and `key`, requiring a client
    /// certificate from `client_ca` when given.
    pub fn start_tls(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Processor {
        let mut args = vec![
            "--tls-cert".to_owned(),
            cert.display().to_string(),
            "--tls-key".to_owned(),
            key.display().to_string(),
        ];
        if let Some(ca) = client_ca {
            args.extend(["--client-ca".to_owned(), ca.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Processor::start_with(0, 3000, &args)
    }

    fn start_with(port: u16, late_ms: u64, extra: &[&str]) -> Processor {
        let dir = tempfile::tempdir().expect("temp dir");
        let record = dir.path().join("received.jsonl");
        let control = dir.path().join("control.json");
        let script = crate::workspace_root().join("tests/interop/pyiso8583_processor.py");
        let mut child = Command::new(crate::server::python())
            .arg(script)
            .arg("--record")
            .arg(&record)
            .arg("--control")
            .arg(&control)
            .args([
                "--late-ms",
                &late_ms.to_string(),
                "--port",
                &port.to_string(),
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python runs the processor");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the processor says where it listens");
        let address = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("the processor did not start: {line:?}"))
            .to_owned();
        Processor {
            child,
            address,
            record,
            control,
            _dir: dir,
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.address
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .expect("a port")
    }

    /// Changes its behaviour: `{"advices": "ignore"}`, `{"sign_on": "refuse"}`,
    /// `{}` for the defaults. Read on the next message.
    pub fn control(&self, json: &str) {
        std::fs::write(&self.control, json).expect("control file written");
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        let Ok(text) = std::fs::read_to_string(&self.record) else {
            return Vec::new();
        };
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .map(|value| Received {
                conn: value["conn"].as_u64().unwrap_or(0),
                mti: value["mti"].as_str().unwrap_or_default().to_owned(),
                tls: value["tls"].as_str().map(str::to_owned),
                peer: value["peer"].as_str().map(str::to_owned),
                fields: value["fields"]
                    .as_object()
                    .map(|fields| {
                        fields
                            .iter()
                            .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.to_owned())))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// How many messages of type `mti` the processor has received.
    pub fn count(&self, mti: &str) -> usize {
        self.received().iter().filter(|r| r.mti == mti).count()
    }

    /// The received messages `keep` selects, once there are at least
    /// `count` of them, waiting at most `wait`.
    pub fn wait_for(
        &self,
        count: usize,
        wait: Duration,
        keep: impl Fn(&Received) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + wait;
        loop {
            let found: Vec<Received> = self.received().into_iter().filter(&keep).collect();
            if found.len() >= count || Instant::now() >= deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it (its connections drop).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Processor {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The acquiring institution code the tests' hosts sign on with.
pub const ACQUIRER_ID: &str = "4242";

/// Writes, in `dir`, a configuration file for upstream mode against
/// `hosts` with `timeout_ms`, quick echoes and reconnection, and `extra`
/// TOML lines for `[upstream]`; its path, for `--config`.
pub fn upstream_config(dir: &Path, hosts: &[&str], timeout_ms: u64, extra: &str) -> PathBuf {
    let path = dir.join("upstream.toml");
    let hosts: Vec<String> = hosts.iter().map(|h| format!("{h:?}")).collect();
    std::fs::write(
        &path,
        format!(
            "[issuer]\nmode = \"upstream\"\n\n[upstream]\nhosts = [{}]\nacquirer_id = \"{ACQUIRER_ID}\"\n\
             timeout_ms = {timeout_ms}\nreconnect_max_secs = 1\nsaf_retry_secs = 1\n{extra}\n",
            hosts.join(", ")
        ),
    )
    .expect("configuration written");
    path
}
