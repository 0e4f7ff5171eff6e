//! The store's error type: what failed, with enough context to act on.

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or configured.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// A schema migration failed; the database stays at the previous version.
    #[error("database migration {version} failed: {source}")]
    Migration {
        /// The migration's number.
        version: u32,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The database was written by a newer build.
    #[error(
        "the database has schema version {found}, newer than this build's {supported}: upgrade mpos"
    )]
    SchemaTooNew {
        /// Version in the file.
        found: u32,
        /// Version this build knows.
        supported: u32,
    },
    /// A statement failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The batch this write was part of failed to commit: nothing of it was written.
    #[error("the commit failed, nothing was written: {0}")]
    CommitFailed(String),
    /// The writer has stopped (the store is shutting down).
    #[error("the store is closed")]
    Closed,
    /// A value to store breaks a rule of the store.
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    /// Whether the error is a uniqueness conflict (a race lost to another
    /// writer of the same key), which callers may answer as a duplicate.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    }
}
