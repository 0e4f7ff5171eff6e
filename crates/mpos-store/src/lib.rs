//! The durable heart of the host: SQLite behind one group-commit writer,
//! a pool of read-only readers, and an in-memory directory of devices and
//! virtual terminals.
//!
//! Every write goes through [`Store::write`]: it is queued to the writer
//! thread, committed together with whatever else is waiting, and its
//! acknowledgement arrives only after the commit, so "acknowledged" means
//! "durable" (with the default `synchronous=FULL`). The host sends an
//! approval only after that acknowledgement.
//!
//! Callers never name the backend: a write job gets a [`Tx`], a read a
//! [`Reader`], and both go through the typed operations of [`ops`] (and the
//! domain's `Ledger`, [`ledger::SqlLedger`]). SQLite is the only backend
//! today; the handles are shaped so that another fits behind them.

#![warn(missing_docs)]

mod deferred;
mod directory;
mod error;
pub mod fault_log;
pub mod health;
pub mod ledger;
mod migrations;
mod migrations_pg;
pub mod ops;
mod pg;
mod readers;
mod sql;
#[cfg(test)]
mod test_db;
mod unit;
mod writer;

pub use directory::{Directory, Snapshot};
pub use error::{DatabaseError, StoreError};
pub use migrations::SCHEMA_VERSION;
use ops::transactions::DuplicateKey;
pub use pg::PostgresUrl;
#[cfg(feature = "testing")]
pub use unit::testing;
pub use unit::{Db, Opened, Reader, Tx};

use crossbeam_channel::{RecvTimeoutError, TryRecvError};
use pg::PgConn;
use readers::{ReaderConn, Readers};
use rusqlite::{Connection, OpenFlags};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;
use writer::{Reply, WriterConfig, WriterConn, WriterHandle};

/// How recent a commit (or a failure) must be for readiness to trust it
/// without a probe write.
pub const FRESH: Duration = Duration::from_secs(2);

/// How long a readiness probe write may take before the store counts as
/// unable to commit.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Most writes in one PostgreSQL batch. Each write runs in a savepoint,
/// a subtransaction; past 64 of them in one transaction PostgreSQL's
/// caches of them overflow and visibility checks in the batch walk the
/// whole list, so a batch's cost grows with the square of its size (a
/// batch of 256 payments took ~1 ms per payment). Several writers make up
/// for smaller batches.
const POSTGRES_MAX_BATCH: usize = 32;

/// How hard SQLite works to make a commit survive a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// fsync on every commit: an acknowledged write survives power loss.
    #[default]
    Full,
    /// fsync at checkpoints only: survives a crash of the process, not
    /// necessarily of the machine. Faster; never the default.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Knobs of an open store; the defaults suit the host.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Durability of commits.
    pub synchronous: Synchronous,
    /// Read-only connections in the pool.
    pub readers: usize,
    /// Write connections on PostgreSQL, each committing its own batches in
    /// parallel (SQLite has one writer whatever this says).
    pub writers: usize,
    /// Most writes committed together.
    pub max_batch: usize,
    /// Writes that may wait before submitters block (backpressure). Size it
    /// above what async callers can have in flight: a full queue blocks the
    /// submitting thread.
    pub queue: usize,
    /// How often the directory looks for changes made by other processes.
    pub directory_poll: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            synchronous: Synchronous::Full,
            readers: 4,
            writers: 4,
            max_batch: 1024,
            queue: 16 * 1024,
            directory_poll: Duration::from_millis(250),
        }
    }
}

/// A handle to the store; cheap to clone, shared by the host and the cabinet.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    location: Location,
    /// This store's name among the hosts of a shared database
    /// ([`ops::hosts`]).
    instance: String,
    writer: Option<WriterHandle>,
    readers: Readers,
    directory: Arc<Directory>,
    health: Arc<health::StoreHealth>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Dropping it stops the directory poller.
    stop_poller: Option<crossbeam_channel::Sender<()>>,
}

/// Where the store lives: `[store] url` empty means a SQLite file in the
/// data folder, a `postgres://` URL a PostgreSQL database.
#[derive(Debug, Clone)]
pub enum Location {
    /// A SQLite database file, created if missing.
    Sqlite(PathBuf),
    /// A PostgreSQL database, which must exist (the schema is created in it).
    Postgres(PostgresUrl),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => write!(f, "{url}"),
        }
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path`: the
    /// embedded default. See [`Store::open_at`].
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Store, StoreError> {
        Store::open_at(&Location::Sqlite(path.to_owned()), options)
    }

    /// Opens the store at `location`, applies pending migrations (on
    /// PostgreSQL under an advisory lock, so hosts starting together apply
    /// them once), and starts the writer and the directory poller.
    pub fn open_at(location: &Location, options: &StoreOptions) -> Result<Store, StoreError> {
        // This store's name among the hosts of a shared database.
        let instance = ops::hosts::new_instance();
        let (writer_conns, reader_connections, poll_conn) = match location {
            Location::Sqlite(path) => open_sqlite(path, options)?,
            Location::Postgres(url) => {
                let url = url.for_instance(&instance);
                pg::off_the_runtime(|| open_postgres(&url, options))?
            }
        };
        let readers = Readers::new(reader_connections);

        let directory = Arc::new(Directory::new());
        let mut poll_conn = poll_conn;
        poll_conn.with(|reader| directory.reload(reader))?;

        let health = Arc::new(health::StoreHealth::default());
        let (writer, mut threads) = writer::start(
            writer_conns,
            WriterConfig {
                max_batch: match location {
                    Location::Sqlite(_) => options.max_batch,
                    Location::Postgres(_) => options.max_batch.min(POSTGRES_MAX_BATCH),
                },
                queue: options.queue,
            },
            &health,
        )
        .map_err(|source| StoreError::Thread {
            thread: "writer",
            source,
        })?;

        let (stop_poller, stopped) = crossbeam_channel::bounded::<()>(0);
        let poll_directory = Arc::clone(&directory);
        let interval = options.directory_poll;
        let poller = std::thread::Builder::new()
            .name("mpos-directory".into())
            .spawn(move || {
                // Until the store drops (the channel disconnects): wait for
                // a change's notification (PostgreSQL) or the poll interval,
                // then look at the version. A failed look is retried at the
                // next turn; the snapshot stays.
                loop {
                    let go_on = match poll_conn.wait_for_directory_change(interval) {
                        Some(()) => stopped.try_recv() == Err(TryRecvError::Empty),
                        None => stopped.recv_timeout(interval) == Err(RecvTimeoutError::Timeout),
                    };
                    if !go_on {
                        break;
                    }
                    let _ = poll_conn.with(|reader| poll_directory.refresh(reader));
                }
            })
            .map_err(|source| StoreError::Thread {
                thread: "directory poller",
                source,
            })?;

        Ok(Store {
            inner: Arc::new(Inner {
                location: location.clone(),
                instance,
                writer: Some(writer),
                readers,
                directory,
                health,
                threads: Mutex::new({
                    threads.push(poller);
                    threads
                }),
                stop_poller: Some(stop_poller),
            }),
        })
    }

    /// Where the store is (a SQLite file, or PostgreSQL's URL without its
    /// password).
    pub fn location(&self) -> &Location {
        &self.inner.location
    }

    /// Queues a write; the returned future resolves once the batch holding
    /// it has committed (or with the error that stopped it). The write is
    /// queued at once, not when the future is first polled. `work` runs on
    /// the writer's thread with the job's [`Tx`]: what it does through the
    /// typed operations commits with the batch, or not at all.
    pub fn write<T, F>(&self, work: F) -> WriteAck<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, receiver) = oneshot::channel();
        match &self.inner.writer {
            Some(writer) => writer.submit(work, Reply::Async(reply)),
            None => {
                let _ = reply.send(Err(StoreError::Closed));
            }
        }
        WriteAck(receiver)
    }

    /// [`Store::write`], on the writer that takes every write of `key` (a
    /// device's serial): one key's writes commit in the order they were
    /// queued, and on PostgreSQL, where several writers commit at once,
    /// the rows a key's writes share (its daily totals) are never contended
    /// for by two writers of this host, so their batches cannot deadlock
    /// on them. On SQLite, with its one writer, it is [`Store::write`].
    pub fn write_keyed<T, F>(&self, key: &str, work: F) -> WriteAck<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.write_routed(key, None, work)
    }

    /// [`Store::write_keyed`] by the device of `duplicate`, the duplicate
    /// key that `work` looks up first (a 0200 or 0400 of a signed-on
    /// device): a PostgreSQL writer looks up the keys of all its batch's
    /// writes in one statement before it runs them, rather than one round
    /// trip each. The lookup itself is unchanged.
    pub fn write_expecting<T, F>(&self, duplicate: DuplicateKey, work: F) -> WriteAck<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let device = duplicate.device_serial.clone();
        self.write_routed(&device, Some(duplicate), work)
    }

    fn write_routed<T, F>(&self, key: &str, lookahead: Option<DuplicateKey>, work: F) -> WriteAck<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, receiver) = oneshot::channel();
        match &self.inner.writer {
            Some(writer) => {
                // One writer (SQLite): nothing to choose, nothing to hash.
                let index = match writer.count() {
                    0 | 1 => 0,
                    count => {
                        let mut hasher = std::hash::DefaultHasher::new();
                        std::hash::Hash::hash(key, &mut hasher);
                        (std::hash::Hasher::finish(&hasher) % count as u64) as usize
                    }
                };
                // SQLite looks each key up as it comes: nothing to gain.
                let lookahead =
                    lookahead.filter(|_| matches!(self.inner.location, Location::Postgres(_)));
                writer.submit_to(index, lookahead, work, Reply::Async(reply));
            }
            None => {
                let _ = reply.send(Err(StoreError::Closed));
            }
        }
        WriteAck(receiver)
    }

    /// [`Store::write`] for code outside an async runtime (the admin CLI,
    /// tests): blocks the thread until the write is durable. From async code
    /// prefer `write(..).await`, which does not hold a worker thread.
    pub fn write_blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let writer = self.inner.writer.as_ref().ok_or(StoreError::Closed)?;
        let (reply, receiver) = std::sync::mpsc::sync_channel(1);
        writer.submit(work, Reply::Blocking(reply));
        receiver.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Runs `read` on a [`Reader`] of the pool (blocking; from async code
    /// wrap it in `spawn_blocking`). It sees the last committed state; for
    /// several reads of one state, [`Reader::snapshot`].
    pub fn read<T: Send>(
        &self,
        read: impl FnOnce(&mut Reader<'_>) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        self.inner.readers.with(read)
    }

    /// This store's name among the hosts of a shared database: a fresh
    /// one each time a store is opened ([`ops::hosts`]).
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// Whether other hosts serve from this store's database now: another
    /// process's store has connections open to it (PostgreSQL). Always
    /// `false` on SQLite, a store of this host's own.
    pub fn other_hosts_serving(&self) -> Result<bool, StoreError> {
        let instance = self.inner.instance.clone();
        self.read(move |reader| ops::hosts::others_serving(reader, &instance))
    }

    /// Whether the store can commit, as the writer last saw it (readiness, metrics).
    pub fn health(&self) -> &health::StoreHealth {
        &self.inner.health
    }

    /// Whether the store can commit now, for readiness: `Err` says why not,
    /// in one line. A write failed by the store's fault within [`FRESH`]:
    /// not ready. A batch committed within [`FRESH`]: ready. Otherwise a
    /// probe write (one row rewritten) decides, within [`PROBE_TIMEOUT`]; a
    /// probe that commits also ends a fault that no request has met since.
    pub async fn ready(&self) -> Result<(), String> {
        let health = self.health().snapshot();
        let recent = |since: Option<Duration>| since.is_some_and(|d| d < FRESH);
        if let (Some(reason), true) = (&health.failing, recent(health.since_failure)) {
            return Err(format!("the store cannot commit: {reason}"));
        }
        if health.failing.is_none() && recent(health.since_commit) {
            return Ok(());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let probe = self.write(move |tx| {
            unit::sql(tx).execute("UPDATE readiness_probe SET at = ?1 WHERE id = 1", &[&now])?;
            Ok(())
        });
        match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("the store cannot commit: {error}")),
            Err(_) => Err(format!(
                "the store did not commit a probe within {} ms",
                PROBE_TIMEOUT.as_millis()
            )),
        }
    }

    /// The in-memory directory of devices and terminals.
    pub fn directory(&self) -> &Arc<Directory> {
        &self.inner.directory
    }

    /// Reloads the directory now (after a change this process committed), so
    /// the host sees it for the very next message.
    pub fn refresh_directory(&self) -> Result<(), StoreError> {
        let directory = Arc::clone(&self.inner.directory);
        self.read(move |reader| directory.refresh(reader).map(|_| ()))
    }

    /// Resolves once every write queued before it has committed (on every
    /// writer).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let writer = self.inner.writer.as_ref().ok_or(StoreError::Closed)?;
        let mut acks = Vec::with_capacity(writer.count());
        for index in 0..writer.count() {
            let (reply, receiver) = oneshot::channel();
            writer.submit_to(index, None, |_| Ok(()), Reply::Async(reply));
            acks.push(WriteAck(receiver));
        }
        for ack in acks {
            ack.await?;
        }
        Ok(())
    }

    /// [`Store::flush`] for code outside an async runtime: returns once
    /// every write queued before it has committed.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        let writer = self.inner.writer.as_ref().ok_or(StoreError::Closed)?;
        let mut waits = Vec::with_capacity(writer.count());
        for index in 0..writer.count() {
            let (reply, receiver) = std::sync::mpsc::sync_channel(1);
            writer.submit_to(index, None, |_| Ok(()), Reply::Blocking(reply));
            waits.push(receiver);
        }
        for wait in waits {
            wait.recv().unwrap_or(Err(StoreError::Closed))?;
        }
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queue lets the writer drain, commit and end.
        self.writer.take();
        self.stop_poller.take();
        let threads = match self.threads.get_mut() {
            Ok(threads) => std::mem::take(threads),
            Err(poisoned) => std::mem::take(poisoned.into_inner()),
        };
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// The acknowledgement of a queued write: resolves after the commit.
#[must_use = "a write is only known to be durable once its acknowledgement resolves"]
pub struct WriteAck<T>(oneshot::Receiver<Result<T, StoreError>>);

impl<T> Future for WriteAck<T> {
    type Output = Result<T, StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|received| received.unwrap_or(Err(StoreError::Closed)))
    }
}

/// The writers', the readers' and the directory poller's connections.
type Connections = (Vec<WriterConn>, Vec<ReaderConn>, ReaderConn);

fn open_sqlite(path: &Path, options: &StoreOptions) -> Result<Connections, StoreError> {
    let open_error = |source: rusqlite::Error| StoreError::Open {
        target: path.display().to_string(),
        source: source.into(),
    };
    let mut conn = Connection::open(path).map_err(open_error)?;
    configure_writer(&conn, options.synchronous).map_err(open_error)?;
    migrations::migrate(&mut conn)?;
    let readers = (0..options.readers.max(1))
        .map(|_| open_reader(path).map(ReaderConn::Sqlite))
        .collect::<Result<Vec<_>, _>>()
        .map_err(open_error)?;
    let poll = ReaderConn::Sqlite(open_reader(path).map_err(open_error)?);
    Ok((vec![WriterConn::Sqlite(conn)], readers, poll))
}

fn open_postgres(url: &PostgresUrl, options: &StoreOptions) -> Result<Connections, StoreError> {
    let mut conn = PgConn::connect(url)?;
    migrations::migrate_postgres(&mut conn)?;
    let writer = |conn| {
        pg::Reconnecting::new(url, conn, pg::Role::Writer)
            .map(|writer| WriterConn::Postgres(Box::new(writer)))
    };
    let mut writers = vec![writer(conn)?];
    for _ in 1..options.writers.max(1) {
        writers.push(writer(PgConn::connect(url)?)?);
    }
    let readers = (0..options.readers.max(1))
        .map(|_| PgConn::connect(url).and_then(|conn| ReaderConn::postgres(url, conn)))
        .collect::<Result<Vec<_>, _>>()?;
    let poll = ReaderConn::postgres(url, PgConn::connect(url)?)?;
    Ok((writers, readers, poll))
}

fn configure_writer(conn: &Connection, synchronous: Synchronous) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "journal_mode WAL refused (got {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", synchronous.pragma())?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}
