//! The handles a unit of work runs on, whatever the backend behind them:
//! [`Tx`], a write job's part of the writer's batch transaction, and
//! [`Reader`], a read-only connection lent by the pool. The host, the
//! cabinet and the CLI pass them to [`crate::ops`] and the domain's
//! `Ledger` ([`crate::ledger::SqlLedger`]) and never name a backend type.
//!
//! Each handle holds a private enum with one variant per backend (SQLite,
//! PostgreSQL); operations reach it through [`crate::sql::Statements`],
//! which runs one SQL text on either. They are taken `&mut`: a PostgreSQL
//! client runs a statement through `&mut self`, and a unit of work is one
//! caller's at a time anyway.

use crate::error::StoreError;
use crate::pg::PgConn;
use crate::sql::{Handle, Statements};
use rusqlite::Connection;

/// The backend a handle runs on; one variant per backend.
enum Backend<'a> {
    /// A SQLite connection: the writer's inside its batch transaction, or a
    /// read-only one of the pool.
    Sqlite(&'a Connection),
    /// A PostgreSQL connection: a writer's inside its batch transaction, or
    /// one of the readers' pool.
    Postgres(&'a mut PgConn),
}

impl Backend<'_> {
    fn statements(&mut self) -> Statements<'_> {
        match self {
            Backend::Sqlite(conn) => Statements(Handle::Sqlite(conn)),
            Backend::Postgres(pg) => Statements(Handle::Postgres(pg)),
        }
    }
}

/// A write job's unit of work: everything it does through this handle
/// commits with the job's batch, or not at all (the job runs inside its own
/// savepoint of the batch's transaction). Given to the closures of
/// [`crate::Store::write`]; the write operations of [`crate::ops`] take it.
pub struct Tx<'a> {
    backend: Backend<'a>,
}

/// A read-only unit of work on the last committed state. Given to the
/// closures of [`crate::Store::read`]; the read operations of [`crate::ops`]
/// take it (or a [`Tx`]: see [`Db`]).
pub struct Reader<'a> {
    backend: Backend<'a>,
}

impl<'a> Tx<'a> {
    /// A write job's handle over the writer's SQLite connection, inside the
    /// batch's transaction.
    pub(crate) fn sqlite(conn: &'a Connection) -> Self {
        Tx {
            backend: Backend::Sqlite(conn),
        }
    }

    /// A write job's handle over a PostgreSQL writer connection, inside the
    /// batch's transaction.
    pub(crate) fn postgres(pg: &'a mut PgConn) -> Self {
        Tx {
            backend: Backend::Postgres(pg),
        }
    }
}

impl<'a> Reader<'a> {
    /// A reader over one of the pool's read-only SQLite connections.
    pub(crate) fn sqlite(conn: &'a Connection) -> Self {
        Reader {
            backend: Backend::Sqlite(conn),
        }
    }

    /// A reader over one of the pool's PostgreSQL connections.
    pub(crate) fn postgres(pg: &'a mut PgConn) -> Self {
        Reader {
            backend: Backend::Postgres(pg),
        }
    }

    /// Runs `read` in one read transaction, so that everything it reads
    /// comes from one committed state (a page's totals and its rows agree
    /// even while the hosts commit meanwhile).
    pub fn snapshot<T>(
        &mut self,
        read: impl FnOnce(&mut Reader<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &mut self.backend {
            Backend::Sqlite(conn) => {
                // Dropped at the end: a rollback, which is all a read needs.
                let snapshot = conn.unchecked_transaction()?;
                read(&mut Reader::sqlite(&snapshot))
            }
            Backend::Postgres(pg) => {
                pg.client()
                    .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
                let result = read(&mut Reader::postgres(pg));
                // A failed read left the transaction aborted: roll it back.
                let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
                let ended = pg.client().batch_execute(end);
                let value = result?;
                ended?;
                Ok(value)
            }
        }
    }
}

/// What the store's read operations run on: a [`Reader`], or a write job's
/// [`Tx`] when a lookup and the write it leads to must be one atomic step.
/// Only the store's handles can implement it: [`Opened`] cannot be built
/// outside the store.
pub trait Db {
    /// The backend under the handle, opaque outside the store.
    #[doc(hidden)]
    fn open(&mut self) -> Opened<'_>;
}

/// A handle's backend as an operation sees it; opaque outside the store.
pub struct Opened<'h> {
    statements: Statements<'h>,
}

impl Db for Tx<'_> {
    fn open(&mut self) -> Opened<'_> {
        Opened {
            statements: self.backend.statements(),
        }
    }
}

impl Db for Reader<'_> {
    fn open(&mut self) -> Opened<'_> {
        Opened {
            statements: self.backend.statements(),
        }
    }
}

/// The statements runner under `db`: how an operation reaches its backend.
pub(crate) fn sql<D: Db + ?Sized>(db: &mut D) -> Statements<'_> {
    db.open().statements
}

/// SQL for tests only, behind the `testing` feature: the escape hatch for
/// tests that check rows or provoke faults no typed operation covers. It
/// names the backend on purpose; the host, the cabinet and the CLI never
/// enable it.
#[cfg(feature = "testing")]
pub mod testing {
    pub use crate::sql::{Column, Dialect, Param, Row, Statements};
    pub use rusqlite;

    use super::{Backend, Reader, Tx};
    use rusqlite::Connection;

    fn sqlite<'c>(backend: &'c Backend<'_>) -> &'c Connection {
        match backend {
            Backend::Sqlite(conn) => conn,
            Backend::Postgres(_) => panic!("this test's SQL is SQLite's: run it on SQLite"),
        }
    }

    impl Tx<'_> {
        /// The SQLite connection under a write job, for a test's own SQL
        /// that only SQLite understands. Panics on PostgreSQL.
        pub fn sqlite_for_tests(&self) -> &Connection {
            sqlite(&self.backend)
        }

        /// A test's own SQL on either backend (the dialect both share).
        pub fn sql_for_tests(&mut self) -> Statements<'_> {
            self.backend.statements()
        }
    }

    impl Reader<'_> {
        /// The SQLite connection under a reader, for a test's own SQL that
        /// only SQLite understands. Panics on PostgreSQL.
        pub fn sqlite_for_tests(&self) -> &Connection {
            sqlite(&self.backend)
        }

        /// A test's own SQL on either backend (the dialect both share).
        pub fn sql_for_tests(&mut self) -> Statements<'_> {
            self.backend.statements()
        }
    }
}
