//! The read path: a small pool of connections for reads. On SQLite they are
//! read-only connections that, in WAL mode, see the last committed state
//! and never block the writer, nor it them. On PostgreSQL each read runs on
//! a pooled connection in autocommit (a snapshot per statement, or one per
//! [`crate::Reader::snapshot`]); a connection that was lost is made again
//! when next lent, so reads come back with the server.

use crate::error::StoreError;
use crate::pg::{PgConn, PostgresUrl, Reconnecting, Role};
use crate::unit::Reader;
use crossbeam_channel::{Receiver, Sender};
use rusqlite::Connection;

/// One connection of the read pool.
pub(crate) enum ReaderConn {
    /// A read-only SQLite connection.
    Sqlite(Connection),
    /// A PostgreSQL connection, made again when lost.
    Postgres(Box<Reconnecting>),
}

impl ReaderConn {
    /// A reader on a PostgreSQL connection made already.
    pub(crate) fn postgres(url: &PostgresUrl, conn: PgConn) -> Result<Self, StoreError> {
        Ok(ReaderConn::Postgres(Box::new(Reconnecting::new(
            url,
            conn,
            Role::Reader,
        )?)))
    }

    /// Runs `read` on this connection (reconnecting first if it was lost).
    pub(crate) fn with<T: Send>(
        &mut self,
        read: impl FnOnce(&mut Reader<'_>) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        match self {
            ReaderConn::Sqlite(conn) => read(&mut Reader::sqlite(conn)),
            ReaderConn::Postgres(pg) => {
                crate::pg::off_the_runtime(|| read(&mut Reader::postgres(pg.connection()?)))
            }
        }
    }
}

impl ReaderConn {
    /// Waits up to `timeout` for news that devices or terminals changed:
    /// on PostgreSQL a notification from any host's commit (so a block
    /// reaches this host at once, not at the next poll). `None` on SQLite,
    /// which has no such news: the caller waits its poll interval itself.
    pub(crate) fn wait_for_directory_change(&mut self, timeout: std::time::Duration) -> Option<()> {
        match self {
            ReaderConn::Sqlite(_) => None,
            ReaderConn::Postgres(pg) => {
                // A lost connection: pause, and let the next read reconnect.
                let waited = pg
                    .connection()
                    .and_then(|conn| Ok(conn.wait_for_directory_change(timeout)?));
                if waited.is_err() {
                    std::thread::sleep(timeout);
                }
                Some(())
            }
        }
    }
}

/// A fixed set of connections handed out one at a time.
pub(crate) struct Readers {
    put_back: Sender<ReaderConn>,
    idle: Receiver<ReaderConn>,
}

impl Readers {
    /// A pool of the given connections.
    pub(crate) fn new(connections: Vec<ReaderConn>) -> Self {
        let (put_back, idle) = crossbeam_channel::bounded(connections.len().max(1));
        for conn in connections {
            // The channel holds exactly this many, so this cannot block or fail.
            let _ = put_back.send(conn);
        }
        Readers { put_back, idle }
    }

    /// Runs `read` on an idle connection, waiting for one if all are busy.
    pub(crate) fn with<T: Send>(
        &self,
        read: impl FnOnce(&mut Reader<'_>) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        let conn = self.idle.recv().map_err(|_| StoreError::Closed)?;
        let mut lease = Lease {
            conn: Some(conn),
            put_back: &self.put_back,
        };
        match &mut lease.conn {
            Some(conn) => conn.with(read),
            None => Err(StoreError::Closed),
        }
    }
}

impl Drop for Readers {
    /// Closes the idle connections where closing may block: a PostgreSQL
    /// client says goodbye to the server through its own runtime, which
    /// must not start on an async worker (a store dropped in async code).
    fn drop(&mut self) {
        let idle = &self.idle;
        crate::pg::off_the_runtime(|| while idle.try_recv().is_ok() {});
    }
}

/// Returns the connection to the pool even if the reader panics.
struct Lease<'p> {
    conn: Option<ReaderConn>,
    put_back: &'p Sender<ReaderConn>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.put_back.send(conn);
        }
    }
}
