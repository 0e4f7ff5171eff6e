//! Throwaway PostgreSQL clusters for tests: `initdb` into a temporary
//! folder, a server on a free loopback port, stopped (and the folder
//! removed) when the value is dropped. From Debian's `postgresql` package
//! (`scripts/install-test-deps.sh` installs it); its own service is never
//! used. PostgreSQL refuses to run as root, so under root (CI) the cluster
//! runs as the package's `postgres` user.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running cluster; the superuser `mpos` connects without a password
/// from loopback (trust), as tests need and nothing else can reach.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// The server's loopback port.
    pub port: u16,
}

/// The folder of the newest installed PostgreSQL's programs.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed: run scripts/install-test-deps.sh")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("an initdb under /usr/lib/postgresql: run scripts/install-test-deps.sh")
}

fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

impl Postgres {
    /// Creates and starts a cluster; panics, saying why, if it cannot.
    pub fn start() -> Postgres {
        let dir = tempfile::Builder::new()
            .prefix("mpos-pg")
            .tempdir()
            .expect("temp dir");
        let cluster = Postgres {
            bin: bin_dir(),
            port: free_port(),
            dir,
        };
        if running_as_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(cluster.dir.path())
                .status()
                .expect("chown runs");
            assert!(
                status.success(),
                "the cluster's folder given to the postgres user"
            );
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                cluster.data().to_str().expect("UTF-8 path"),
                "-U",
                "mpos",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        );
        cluster.start_server();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// One of PostgreSQL's programs, run as `postgres` under root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        }
    }

    /// Runs one of PostgreSQL's programs; panics with its output unless it
    /// succeeds.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let out = self
            .command(program)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{program} runs: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Starts the server (again, after [`Postgres::stop`]) and waits until
    /// it accepts connections.
    pub fn start_server(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().expect("UTF-8 path"),
                "-l",
                log.to_str().expect("UTF-8 path"),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stops the server (fast shutdown: connections are closed), keeping
    /// the cluster for [`Postgres::start_server`]: a database outage.
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().expect("UTF-8 path"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// Runs SQL in `database` with psql; its output (unaligned, tuples only).
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "mpos",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                sql,
            ],
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Creates an empty database; its URL.
    pub fn create_database(&self, name: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        self.url(name)
    }

    /// The URL of `database` for `[store] url`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://mpos@127.0.0.1:{}/{database}", self.port)
    }

    /// The server's log so far, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The cluster's folder.
    pub fn folder(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throwaway_cluster_starts_answers_stops_and_starts_again() {
        let cluster = Postgres::start();
        let url = cluster.create_database("mpos_test");
        assert!(url.starts_with("postgres://mpos@127.0.0.1:"), "{url}");
        assert_eq!(cluster.psql("mpos_test", "SELECT 40 + 2"), "42");
        let version: u32 = cluster
            .psql("mpos_test", "SHOW server_version_num")
            .parse()
            .unwrap();
        assert!(version >= 130_000, "PostgreSQL 13 or later: {version}");
        cluster.stop();
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", cluster.port)).is_err(),
            "stopped: {}",
            cluster.log()
        );
        cluster.start_server();
        assert_eq!(cluster.psql("mpos_test", "SELECT 1"), "1");
    }
}
