//! The PostgreSQL side of the store: where the database is
//! ([`PostgresUrl`], which never shows its password), and one connection
//! with its cache of prepared statements ([`PgConn`]).
//!
//! Connections are bounded in time so that a database that vanishes makes
//! requests fail within seconds rather than hang: connecting gives up after
//! [`CONNECT_TIMEOUT`], and a connection whose peer stops answering is
//! dropped by the kernel after [`TCP_USER_TIMEOUT`] (keepalives find a
//! silent one while idle).

use crate::error::StoreError;
use crate::sql::postgres_placeholders;
use postgres::config::{Host, SslMode};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Config, Statement};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long connecting may take, unless the URL says (`connect_timeout`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long sent data may stay unacknowledged before the connection counts
/// as lost, unless the URL says (`tcp_user_timeout`).
pub const TCP_USER_TIMEOUT: Duration = Duration::from_secs(5);

/// The channel the schema's triggers NOTIFY when devices or terminals change
/// (`migrations_pg.rs`).
pub(crate) const DIRECTORY_CHANNEL: &str = "mpos_directory";

/// The least time between two attempts to reconnect a lost connection.
pub(crate) const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// How long a pooled connection may sit unused before it is checked.
pub(crate) const IDLE_CHECK: Duration = Duration::from_secs(1);

/// How long that check may take.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest a statement of the host or the cabinet may run.
pub(crate) const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a statement may wait for a row lock another transaction holds.
pub(crate) const LOCK_TIMEOUT: Duration = Duration::from_secs(3);

/// Most statements a connection keeps prepared; the store's are far fewer,
/// the bound only guards against a caller building endless variants.
const STATEMENT_CACHE: usize = 256;

/// A PostgreSQL database's address as given in `[store] url`
/// (`postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require`, the
/// libpq URL form). It prints without the password.
#[derive(Clone)]
pub struct PostgresUrl(Arc<Parsed>);

struct Parsed {
    config: Config,
    shown: String,
    /// The store these connections are for ([`PostgresUrl::for_instance`]).
    instance: Option<String>,
}

impl PostgresUrl {
    /// Parses a `postgres://` or `postgresql://` URL.
    pub fn parse(url: &str) -> Result<PostgresUrl, StoreError> {
        let mut config = Config::from_str(url).map_err(|error| StoreError::BadUrl {
            // The parser's message never quotes the URL back.
            reason: error.to_string(),
        })?;
        if config.get_hosts().is_empty() {
            return Err(StoreError::BadUrl {
                reason: "no host in the URL".into(),
            });
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10));
        config.application_name(APPLICATION);
        let shown = shown(&config);
        Ok(PostgresUrl(Arc::new(Parsed {
            config,
            shown,
            instance: None,
        })))
    }

    /// The connection settings.
    pub(crate) fn config(&self) -> &Config {
        &self.0.config
    }

    /// This URL for one store, one host's: its connections name themselves
    /// `mpos <schema> <instance>` (`application_name`, in
    /// `pg_stat_activity`), so that a host can tell whether others serve
    /// from the same schema of the same database ([`crate::ops::hosts`]).
    pub(crate) fn for_instance(&self, instance: &str) -> PostgresUrl {
        PostgresUrl(Arc::new(Parsed {
            config: self.0.config.clone(),
            shown: self.0.shown.clone(),
            instance: Some(instance.to_owned()),
        }))
    }
}

/// What every connection of the store calls itself on the server
/// (followed by the store's instance, [`PostgresUrl::for_instance`]).
pub(crate) const APPLICATION: &str = "mpos";

/// `postgres://user@host:port/database`: what logs and errors may show.
fn shown(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            format!("{name}:{port}")
        })
        .collect();
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let database = config.get_dbname().unwrap_or("");
    format!("postgres://{user}{}/{database}", hosts.join(","))
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.shown)
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({})", self.0.shown)
    }
}

/// What a kept connection is for: its session's settings follow
/// ([`PgConn::configure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A writer's: the payments' key lookups and inserts.
    Writer,
    /// The read pool's or the directory poller's.
    Reader,
}

/// One connection and the statements prepared on it.
pub(crate) struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
    /// Whether this connection LISTENs for directory changes.
    listening: bool,
    /// Sequence numbers taken and not used yet, by sequence.
    reserved: HashMap<&'static str, std::collections::VecDeque<i64>>,
    /// The batch a writer connection is running ([`crate::deferred`]).
    pub(crate) batch: crate::deferred::Batch,
}

impl PgConn {
    /// Connects, over TLS unless the URL says `sslmode=disable` (with the
    /// default `prefer`, plain when the server offers no TLS).
    pub(crate) fn connect(url: &PostgresUrl) -> Result<PgConn, StoreError> {
        let config = url.config();
        let unreachable = |source: postgres::Error| StoreError::Unreachable {
            target: url.to_string(),
            source: source.into(),
        };
        let client = match config.get_ssl_mode() {
            SslMode::Disable => config.connect(postgres::NoTls).map_err(unreachable)?,
            _ => {
                let connector = tls::connector().map_err(|error| StoreError::BadUrl {
                    reason: format!("cannot set up TLS: {error}"),
                })?;
                config.connect(connector).map_err(unreachable)?
            }
        };
        let mut conn = PgConn {
            client,
            statements: HashMap::new(),
            listening: false,
            reserved: HashMap::new(),
            batch: crate::deferred::Batch::default(),
        };
        if let Some(instance) = &url.0.instance {
            conn.client
                .execute(
                    "SELECT set_config('application_name',
                         $1 || ' ' || coalesce(current_schema(), '-') || ' ' || $2, false)",
                    &[&APPLICATION, instance],
                )
                .map_err(unreachable)?;
        }
        Ok(conn)
    }

    /// Sets the session up for `role`, on every connection the store keeps
    /// (made at the start or again after a loss; migrations run before it,
    /// unbounded):
    ///
    /// - A statement may wait only so long, so that a request is answered
    ///   within seconds even when the database is slow or another host holds
    ///   a lock it needs and has stopped: a statement is cancelled after
    ///   [`STATEMENT_TIMEOUT`], a lock waited for after [`LOCK_TIMEOUT`]
    ///   (the batch fails, its requests get 96, the writer carries on).
    /// - A reader plans each statement for its values (`plan_cache_mode =
    ///   force_custom_plan`). The cabinet's history ranges over days whose
    ///   spread a generic plan cannot know: measured on a million rows, the
    ///   generic plans of a rare reader's page and of a year's totals took
    ///   119 ms and 36-56 ms, the custom ones 0.2 ms and 21-25 ms, for a
    ///   millisecond of planning at most. The writers' statements are
    ///   fixed-shape key lookups and inserts: their generic plans are right,
    ///   and planning each would cost the payments' path.
    pub(crate) fn configure(&mut self, role: Role) -> Result<(), postgres::Error> {
        let plans = match role {
            Role::Writer => "",
            Role::Reader => "; SET plan_cache_mode = force_custom_plan",
        };
        self.client.batch_execute(&format!(
            "SET statement_timeout = {}; SET lock_timeout = {}{plans}",
            STATEMENT_TIMEOUT.as_millis(),
            LOCK_TIMEOUT.as_millis()
        ))
    }

    /// The client, for statements already prepared.
    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Whether the connection is gone (the server closed it or it failed).
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Waits up to `timeout` for a change of the devices or terminals,
    /// which the schema's triggers announce with a NOTIFY on
    /// [`DIRECTORY_CHANNEL`] when they commit, whichever host made them;
    /// whether one came. The first call LISTENs.
    pub(crate) fn wait_for_directory_change(
        &mut self,
        timeout: Duration,
    ) -> Result<bool, postgres::Error> {
        if !self.listening {
            self.client
                .batch_execute(&format!("LISTEN {DIRECTORY_CHANNEL}"))?;
            self.listening = true;
        }
        let mut notifications = self.client.notifications();
        let came = notifications.timeout_iter(timeout).next()?.is_some();
        // Several changes in a burst need one reload: take them all now.
        while notifications.iter().next()?.is_some() {}
        Ok(came)
    }

    /// The next number of `sequence` from this connection's block, taking
    /// [`crate::sql::ID_BLOCK`] more when it is empty. Numbers of a block
    /// are never handed out twice, whoever else takes from the sequence; those
    /// unused when the connection ends are gaps, as a rolled-back insert's.
    pub(crate) fn reserve_id(&mut self, sequence: &'static str) -> Result<i64, StoreError> {
        if let Some(id) = self
            .reserved
            .get_mut(sequence)
            .and_then(|ids| ids.pop_front())
        {
            return Ok(id);
        }
        let statement = self.statement(
            "SELECT nextval(CAST(CAST(?1 AS TEXT) AS regclass)) FROM generate_series(1, CAST(?2 AS BIGINT))",
        )?;
        let rows = self
            .client
            .query(&statement, &[&sequence, &crate::sql::ID_BLOCK])?;
        let mut ids: std::collections::VecDeque<i64> = rows
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        let first = ids.pop_front();
        self.reserved.insert(sequence, ids);
        first.ok_or_else(|| StoreError::Missing(format!("a number of the sequence {sequence}")))
    }

    /// `sql` (in SQLite's placeholders) prepared on this connection, from
    /// the cache after the first time.
    pub(crate) fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&postgres_placeholders(sql))?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// Runs `work`, which uses PostgreSQL's synchronous client, where that
/// client may run. The client drives its connection with a runtime of its
/// own, which tokio refuses to start on a thread that is running async
/// tasks. Outside any runtime (the writers, the directory poller, the
/// admin CLI) and on a blocking-pool thread (`spawn_blocking`) `work` runs
/// as it is; on an async worker of a multi-threaded runtime it runs in
/// `block_in_place` (the worker's other tasks move on meanwhile); on a
/// single-threaded runtime, which cannot give its thread away, on a thread
/// of its own.
pub(crate) fn off_the_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Err(_) => work(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        Ok(_) => std::thread::scope(|scope| match scope.spawn(work).join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// A connection that is made again when it was lost, at most once per
/// [`RECONNECT_PAUSE`]; between attempts it fails at once, so that callers
/// are answered rather than left waiting on a database that is down.
pub(crate) struct Reconnecting {
    url: PostgresUrl,
    role: Role,
    conn: Option<PgConn>,
    last_attempt: Option<Instant>,
    last_used: Instant,
}

impl Reconnecting {
    /// Starts from a connection made already, set up for `role` now.
    pub(crate) fn new(url: &PostgresUrl, mut conn: PgConn, role: Role) -> Result<Self, StoreError> {
        conn.configure(role)?;
        Ok(Reconnecting {
            url: url.clone(),
            role,
            conn: Some(conn),
            last_attempt: None,
            last_used: Instant::now(),
        })
    }

    /// The live connection, made again if it was lost. A connection idle
    /// for [`IDLE_CHECK`] is asked first whether it still lives (one empty
    /// query): the client learns that the server went away only when it
    /// next uses the connection, and the first request after an outage
    /// should not be the one to find out.
    pub(crate) fn connection(&mut self) -> Result<&mut PgConn, StoreError> {
        let idle = std::mem::replace(&mut self.last_used, Instant::now()).elapsed();
        let dead = self.conn.as_mut().is_some_and(|conn| {
            conn.is_closed() || (idle > IDLE_CHECK && conn.client.is_valid(PING_TIMEOUT).is_err())
        });
        if dead {
            self.conn = None;
        }
        if self.conn.is_none() {
            if self
                .last_attempt
                .is_some_and(|at| at.elapsed() < RECONNECT_PAUSE)
            {
                return Err(StoreError::Disconnected {
                    target: self.url.to_string(),
                });
            }
            self.last_attempt = Some(Instant::now());
            let mut conn = PgConn::connect(&self.url)?;
            conn.configure(self.role)?;
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or(StoreError::Disconnected {
            target: self.url.to_string(),
        })
    }
}

/// TLS to the database the way libpq's `sslmode=require` does it: the
/// connection is encrypted and the handshake's signatures are checked, but
/// the server's certificate is not checked against a CA (that is libpq's
/// `verify-full`, which the driver does not offer).
mod tls {
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use std::sync::Arc;

    /// Accepts the server's certificate as libpq's `require` does, while
    /// still verifying that the server holds its key.
    #[derive(Debug)]
    struct EncryptOnly(Arc<CryptoProvider>);

    impl ServerCertVerifier for EncryptOnly {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    /// The connector for `postgres::Config::connect`.
    pub(super) fn connector() -> Result<tokio_postgres_rustls::MakeRustlsConnect, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth();
        Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_shown() {
        let url = PostgresUrl::parse("postgres://mpos:s3cret@db.example:6432/payments").unwrap();
        assert_eq!(url.to_string(), "postgres://mpos@db.example:6432/payments");
        assert!(!format!("{url:?}").contains("s3cret"));
        let url =
            PostgresUrl::parse("postgresql://mpos:s3cret@a:5432,b:5433/p?sslmode=require").unwrap();
        assert_eq!(url.to_string(), "postgres://mpos@a:5432,b:5433/p");
    }

    #[test]
    fn a_bad_url_says_why_without_quoting_it() {
        let error = PostgresUrl::parse("postgres://mpos:s3cret@host:notaport/db").unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}
