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
    /// A number cannot be stored as it is: past SQLite's signed 64-bit range.
    #[error("{what} {value} is too large to store")]
    TooLarge {
        /// What the number is (`amount`, `limit of terminal 10000001`).
        what: String,
        /// The number.
        value: u64,
    },
    /// A reset token would be born expired.
    #[error("a reset token must expire after it is made ({expires_at} <= {created_at})")]
    ExpiresBeforeCreated {
        /// When it is made, Unix milliseconds.
        created_at: i64,
        /// When it would expire, Unix milliseconds.
        expires_at: i64,
    },
    /// The merchant an operation names is not in the database.
    #[error("no merchant {0}")]
    NoMerchant(String),
    /// A row the operation relies on is not in the database (any more).
    #[error("{0} is not in the database")]
    Missing(String),
    /// The e-mail is another merchant's already (e-mails are unique).
    #[error("the e-mail {0} already belongs to another merchant")]
    EmailTaken(String),
    /// One of the store's threads could not be started.
    #[error("cannot start the {thread} thread: {source}")]
    Thread {
        /// Which thread (`writer`, `directory poller`).
        thread: &'static str,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The blocking task that ran a store operation died (it panicked or
    /// was cancelled) before it answered.
    #[error("a store task died before it answered: {0}")]
    TaskDied(String),
    /// A write job gave up on purpose, for its caller's reason: its changes
    /// are rolled back, the batch's other jobs are not affected.
    #[error("{0}")]
    Aborted(String),
}

impl StoreError {
    /// Whether the store itself failed (disk full, I/O, a failed commit, the
    /// writer gone) rather than the request: such faults repeat for every
    /// request until they end, and the store's health reports and logs them
    /// once (`fault_log`), so callers log them at DEBUG, not once per request.
    pub fn is_store_fault(&self) -> bool {
        match self {
            StoreError::Sqlite(error) => crate::health::FailureReason::of(error).is_some(),
            StoreError::CommitFailed(_) | StoreError::Closed => true,
            _ => false,
        }
    }

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
