//! A migrated, empty database for the operations' unit tests, on the
//! backend the suite runs on: SQLite in memory by default, or, with
//! `MPOS_TEST_PG` naming a cluster (`mpos_testkit::backend`), a fresh
//! schema of its own there. So one unit test checks an operation's SQL on
//! both backends, as the whole-store tests do through the test kit.

use crate::pg::{PgConn, PostgresUrl};
use crate::sql::{Handle, Param, Statements};
use crate::unit::Tx;
use rusqlite::Connection;

/// One test's database. Its statements run outside any transaction (each
/// commits on its own), as the operations' unit tests need.
pub(crate) struct TestDb {
    backend: Backend,
    /// On PostgreSQL, where the schema is, for more connections to it.
    url: Option<PostgresUrl>,
    /// The PostgreSQL schema is named after this folder's path: kept for
    /// the test's life, so no other test gets the same name meanwhile.
    _dir: tempfile::TempDir,
}

enum Backend {
    Sqlite(Connection),
    Postgres(Box<PgConn>),
}

impl TestDb {
    /// A fresh database on the suite's backend, migrated to the current
    /// schema; panics, saying why, if it cannot be had.
    pub(crate) fn open() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = mpos_testkit::backend::store_url(dir.path())
            .map(|url| PostgresUrl::parse(&url).expect("the test kit's URL parses"));
        let backend = match &url {
            None => {
                let mut conn = Connection::open_in_memory().expect("an in-memory SQLite");
                crate::migrations::migrate(&mut conn).expect("SQLite migrates");
                Backend::Sqlite(conn)
            }
            Some(url) => {
                let mut conn = PgConn::connect(url).expect("the test cluster answers");
                crate::migrations::migrate_postgres(&mut conn).expect("PostgreSQL migrates");
                Backend::Postgres(Box::new(conn))
            }
        };
        TestDb {
            backend,
            url,
            _dir: dir,
        }
    }

    /// A write job's handle on it, as the operations take.
    pub(crate) fn tx(&mut self) -> Tx<'_> {
        match &mut self.backend {
            Backend::Sqlite(conn) => Tx::sqlite(conn),
            Backend::Postgres(conn) => Tx::postgres(conn),
        }
    }

    /// The statements runner, for a test's own SQL (one text for both
    /// backends, as the operations write theirs).
    pub(crate) fn sql(&mut self) -> Statements<'_> {
        match &mut self.backend {
            Backend::Sqlite(conn) => Statements(Handle::Sqlite(conn)),
            Backend::Postgres(conn) => Statements(Handle::Postgres(conn)),
        }
    }

    /// Runs a test's own statement; panics if it fails.
    pub(crate) fn execute(&mut self, sql: &str, params: &[&dyn Param]) {
        self.sql()
            .execute(sql, params)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// On PostgreSQL, another connection to the same schema (another
    /// host, for a race); `None` on SQLite's in-memory database.
    pub(crate) fn another_connection(&self) -> Option<PgConn> {
        self.url
            .as_ref()
            .map(|url| PgConn::connect(url).expect("the test cluster answers"))
    }
}
