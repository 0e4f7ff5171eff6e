//! The write path: one thread owns the write connection and is fed
//! through a crossbeam channel. It drains every waiting write into one
//! transaction (group commit), commits, and only then acknowledges each
//! caller, so an acknowledgement means "durable": on disk with SQLite's
//! `synchronous=FULL`, and after PostgreSQL's COMMIT (whose default
//! `synchronous_commit` flushes the WAL, and waits for a synchronous
//! standby where one is configured).
//!
//! Each write runs inside its own savepoint: a write that fails is rolled
//! back alone and gets its own error, the rest of the batch still commits.
//! If the commit itself fails, every write of the batch is told so. (On
//! PostgreSQL the savepoint is taken only by a write that needs one, and
//! the transactions' rows are inserted together: [`crate::deferred`].)
//!
//! A PostgreSQL connection that is lost is made again for a later batch (at
//! most once per [`crate::pg::RECONNECT_PAUSE`]); meanwhile batches fail at
//! once, so requests are answered rather than left waiting.

use crate::error::StoreError;
use crate::health::{FailureReason, StoreHealth};
use crate::ops::transactions::DuplicateKey;
use crate::pg::Reconnecting;
use crate::unit::Tx;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use rusqlite::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// One write waiting for the writer: its work, then its acknowledgement.
pub(crate) trait Job: Send {
    /// Runs the write inside the batch's transaction and keeps its result.
    fn apply(&mut self, tx: &mut Tx<'_>) -> Result<(), ()>;
    /// Sends the result once the batch has committed (or failed to).
    fn finish(self: Box<Self>, commit: Result<(), &str>);
    /// The duplicate key the write will look up first, if it named one.
    fn lookahead(&mut self) -> Option<DuplicateKey>;
    /// Fails the write after the fact: a row it deferred was refused when
    /// its batch inserted it ([`crate::deferred`]).
    fn reject(&mut self, error: StoreError);
    /// Why the write failed, when that is the store's fault (disk full,
    /// I/O) rather than the request's.
    fn fault(&self) -> Option<(FailureReason, String)>;
}

/// Where a job's result goes: an async waiter or a blocked thread.
pub(crate) enum Reply<T> {
    /// Awaited through a [`crate::WriteAck`].
    Async(oneshot::Sender<Result<T, StoreError>>),
    /// Waited for by a thread outside any async runtime.
    Blocking(std::sync::mpsc::SyncSender<Result<T, StoreError>>),
}

impl<T> Reply<T> {
    fn send(self, outcome: Result<T, StoreError>) {
        // The caller may have given up waiting; nothing to do then.
        match self {
            Reply::Async(sender) => {
                let _ = sender.send(outcome);
            }
            Reply::Blocking(sender) => {
                let _ = sender.send(outcome);
            }
        }
    }
}

/// A job whose closure returns a `T` for the caller; it runs on a [`Tx`]
/// over the writer's connection, inside its savepoint.
struct Typed<T, F> {
    lookahead: Option<DuplicateKey>,
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: Reply<T>,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send,
    F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send,
{
    fn apply(&mut self, tx: &mut Tx<'_>) -> Result<(), ()> {
        let Some(work) = self.work.take() else {
            return Err(());
        };
        let result = work(tx);
        let ok = result.is_ok();
        self.result = Some(result);
        if ok { Ok(()) } else { Err(()) }
    }

    fn lookahead(&mut self) -> Option<DuplicateKey> {
        self.lookahead.take()
    }

    fn reject(&mut self, error: StoreError) {
        self.result = Some(Err(error));
    }

    fn fault(&self) -> Option<(FailureReason, String)> {
        match &self.result {
            Some(Err(error)) => error.failure().map(|reason| (reason, error.to_string())),
            _ => None,
        }
    }

    fn finish(self: Box<Self>, commit: Result<(), &str>) {
        let outcome = match (commit, self.result) {
            (_, Some(Err(own))) => Err(own),
            (Err(reason), _) => Err(StoreError::CommitFailed(reason.to_owned())),
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Ok(()), None) => Err(StoreError::Closed),
        };
        self.reply.send(outcome);
    }
}

/// The sending side of the writers, cloned into every store handle. SQLite
/// has one writer; PostgreSQL may have several, each on its own connection
/// committing its own batches, since the server takes concurrent writers
/// (and the store's rules hold across them as they do across hosts: row
/// locks, unique keys).
#[derive(Clone)]
pub(crate) struct WriterHandle {
    queues: Arc<[Sender<Box<dyn Job>>]>,
    next: Arc<AtomicUsize>,
}

/// Knobs of the writer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriterConfig {
    /// Most writes in one transaction; bounds the latency of a batch.
    pub max_batch: usize,
    /// Writes that may wait in the queue before callers block (backpressure).
    pub queue: usize,
}

impl WriterHandle {
    /// Queues `work` on the least busy writer; its result goes to `reply`
    /// after the commit.
    pub(crate) fn submit<T, F>(&self, work: F, reply: Reply<T>)
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit_to(self.least_busy(), None, work, reply);
    }

    /// Queues `work` on writer `index` (of [`WriterHandle::count`]): a
    /// key's writer, or each one in turn for a barrier. `lookahead` is the
    /// duplicate key `work` looks up first, if it says.
    pub(crate) fn submit_to<T, F>(
        &self,
        index: usize,
        lookahead: Option<DuplicateKey>,
        work: F,
        reply: Reply<T>,
    ) where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let job = Box::new(Typed {
            lookahead,
            work: Some(work),
            result: None,
            reply,
        });
        let sent = match self.queues.get(index) {
            Some(queue) => queue.send(job).map_err(|e| e.0),
            None => Err(job as Box<dyn Job>),
        };
        if let Err(job) = sent {
            // The writer is gone: answer at once rather than never.
            job.finish(Err("the store is closed"));
        }
    }

    /// How many writers there are.
    pub(crate) fn count(&self) -> usize {
        self.queues.len()
    }

    /// The writer for the next job: an idle one if there is one (its batch
    /// starts at once), else the one with the shortest queue; ties go
    /// round in turn so that the writers share the load.
    fn least_busy(&self) -> usize {
        let count = self.queues.len();
        if count <= 1 {
            return 0;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut best = start % count;
        for offset in 0..count {
            let index = (start + offset) % count;
            let waiting = self.queues[index].len();
            if waiting == 0 {
                return index;
            }
            if waiting < self.queues[best].len() {
                best = index;
            }
        }
        best
    }
}

/// The connection a writer commits on.
pub(crate) enum WriterConn {
    /// The only write connection of a SQLite database.
    Sqlite(Connection),
    /// A PostgreSQL connection, made again when lost.
    Postgres(Box<Reconnecting>),
}

/// Starts one writer thread on each connection (SQLite: exactly one). Each
/// runs until every handle is dropped, then drains what is queued to it,
/// commits it, and ends.
pub(crate) fn start(
    conns: Vec<WriterConn>,
    config: WriterConfig,
    health: &Arc<StoreHealth>,
) -> std::io::Result<(WriterHandle, Vec<JoinHandle<()>>)> {
    let per_writer = (config.queue / conns.len().max(1)).max(1);
    let mut queues = Vec::with_capacity(conns.len());
    let mut threads = Vec::with_capacity(conns.len());
    for (index, conn) in conns.into_iter().enumerate() {
        let (jobs, queue) = crossbeam_channel::bounded(per_writer);
        let health = Arc::clone(health);
        let name = if index == 0 {
            "mpos-store-writer".to_owned()
        } else {
            format!("mpos-store-writer-{index}")
        };
        threads.push(
            std::thread::Builder::new()
                .name(name)
                .spawn(move || run(conn, queue, config.max_batch.max(1), &health))?,
        );
        queues.push(jobs);
    }
    Ok((
        WriterHandle {
            queues: queues.into(),
            next: Arc::new(AtomicUsize::new(0)),
        },
        threads,
    ))
}

fn run(
    mut conn: WriterConn,
    queue: Receiver<Box<dyn Job>>,
    max_batch: usize,
    health: &StoreHealth,
) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(max_batch);
    // recv() returns queued jobs before reporting that all senders are gone,
    // so everything submitted before shutdown is written.
    while let Ok(first) = queue.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let commit = match &mut conn {
            WriterConn::Sqlite(conn) => commit_sqlite(conn, &mut batch),
            WriterConn::Postgres(pg) => commit_postgres(pg, &mut batch),
        };
        report(health, &batch, commit.as_ref().err());
        let commit = commit.map_err(|error| error.to_string());
        let commit = commit.as_ref().map(|_| ()).map_err(String::as_str);
        for job in batch.drain(..) {
            job.finish(commit);
        }
    }
}

/// Tells the store's health how a batch went: a failed commit fails every
/// write of it; otherwise the writes that failed by the store's fault are
/// counted, and a batch without any is a success.
fn report(health: &StoreHealth, batch: &[Box<dyn Job>], commit_failed: Option<&StoreError>) {
    if let Some(error) = commit_failed {
        let reason = error
            .failure()
            .or_else(|| batch.iter().find_map(|job| job.fault()).map(|(r, _)| r))
            .unwrap_or(FailureReason::Other);
        health.failed(reason, error, batch.len() as u64);
        return;
    }
    let mut faults = batch.iter().filter_map(|job| job.fault());
    match faults.next() {
        Some((reason, error)) => health.failed(reason, &error, 1 + faults.count() as u64),
        None => health.committed(),
    }
}

/// Applies every job in one SQLite transaction; `Err` is why the commit failed.
fn commit_sqlite(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        let applied = savepoint(conn, "SAVEPOINT job").and_then(|()| {
            match job.apply(&mut Tx::sqlite(conn)) {
                Ok(()) => savepoint(conn, "RELEASE job"),
                Err(()) => {
                    savepoint(conn, "ROLLBACK TO job").and_then(|()| savepoint(conn, "RELEASE job"))
                }
            }
        });
        if let Err(reason) = applied {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(reason.into());
        }
    }
    conn.execute_batch("COMMIT")
        .inspect_err(|_| {
            let _ = conn.execute_batch("ROLLBACK");
        })
        .map_err(StoreError::from)
}

/// Applies every job in one PostgreSQL batch ([`crate::deferred`]: the
/// transactions' rows inserted together, a savepoint only for a job that
/// writes anything else); `Err` is why the batch failed as a whole.
fn commit_postgres(
    writer: &mut Reconnecting,
    batch: &mut [Box<dyn Job>],
) -> Result<(), StoreError> {
    let pg = writer.connection()?;
    pg.begin_batch();
    let outcome = (|| {
        pg.look_ahead(batch.iter_mut().filter_map(|job| job.lookahead()).collect())?;
        for (index, job) in batch.iter_mut().enumerate() {
            pg.begin_job(index);
            let succeeded = job.apply(&mut Tx::postgres(pg)).is_ok();
            pg.end_job(succeeded)?;
        }
        pg.commit_batch()
    })();
    match outcome {
        Ok(rejected) => {
            for (index, error) in rejected {
                if let Some(job) = batch.get_mut(index) {
                    job.reject(error);
                }
            }
            Ok(())
        }
        Err(error) => {
            pg.end_batch();
            if !pg.is_closed() {
                // Whatever was open is void; a failed ROLLBACK means a lost
                // connection, which the next batch replaces.
                let _ = pg.client().batch_execute("ROLLBACK");
            }
            Err(error)
        }
    }
}

fn savepoint(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(|_| ())
}
