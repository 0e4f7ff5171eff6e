//! The handles a unit of work runs on, whatever the backend behind them:
//! [`Tx`], a write job's part of the writer's batch transaction, and
//! [`Reader`], a read-only connection lent by the pool. The host, the
//! cabinet and the CLI pass them to [`crate::ops`] and the domain's
//! `Ledger` ([`crate::ledger::SqlLedger`]) and never name a backend type.
//!
//! Today SQLite is the only backend; each handle holds a private enum so
//! that another backend is one more variant, not a new API. They are taken
//! `&mut`: a PostgreSQL client runs a statement through `&mut self`, and a
//! unit of work is one caller's at a time anyway.

use crate::error::StoreError;
use rusqlite::Connection;

/// The backend a handle runs on; one variant per backend.
enum Backend<'a> {
    /// A SQLite connection: the writer's inside its batch transaction, or a
    /// read-only one of the pool.
    Sqlite(&'a Connection),
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
}

impl<'a> Reader<'a> {
    /// A reader over one of the pool's read-only SQLite connections.
    pub(crate) fn sqlite(conn: &'a Connection) -> Self {
        Reader {
            backend: Backend::Sqlite(conn),
        }
    }

    /// Runs `read` in one read transaction, so that everything it reads
    /// comes from one committed state (a page's totals and its rows agree
    /// even while the host commits meanwhile).
    pub fn snapshot<T>(
        &mut self,
        read: impl FnOnce(&mut Reader<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                // Dropped at the end: a rollback, which is all a read needs.
                let snapshot = conn.unchecked_transaction()?;
                read(&mut Reader::sqlite(&snapshot))
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
    conn: &'h Connection,
}

impl<'h> Opened<'h> {
    /// The SQLite connection, for the operation's statements.
    pub(crate) fn conn(self) -> &'h Connection {
        self.conn
    }
}

impl Db for Tx<'_> {
    fn open(&mut self) -> Opened<'_> {
        match &self.backend {
            Backend::Sqlite(conn) => Opened { conn },
        }
    }
}

impl Db for Reader<'_> {
    fn open(&mut self) -> Opened<'_> {
        match &self.backend {
            Backend::Sqlite(conn) => Opened { conn },
        }
    }
}

/// The SQLite connection under `db`: how an operation gets its backend back.
pub(crate) fn conn<D: Db + ?Sized>(db: &mut D) -> &Connection {
    db.open().conn()
}

/// SQL for tests only, behind the `testing` feature: the escape hatch for
/// tests that check rows or provoke faults no typed operation covers. It
/// names the backend on purpose; the host, the cabinet and the CLI never
/// enable it.
#[cfg(feature = "testing")]
pub mod testing {
    pub use rusqlite;

    use super::{Backend, Reader, Tx};
    use rusqlite::Connection;

    impl Tx<'_> {
        /// The SQLite connection under a write job, for a test's own SQL.
        pub fn sqlite_for_tests(&self) -> &Connection {
            match &self.backend {
                Backend::Sqlite(conn) => conn,
            }
        }
    }

    impl Reader<'_> {
        /// The SQLite connection under a reader, for a test's own SQL.
        pub fn sqlite_for_tests(&self) -> &Connection {
            match &self.backend {
                Backend::Sqlite(conn) => conn,
            }
        }
    }
}
