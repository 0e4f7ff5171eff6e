//! The store's error type: what failed, with enough context to act on.
//! Callers never see a backend's own error type: a statement's failure is a
//! [`DatabaseError`], which says what went wrong and whether it is the
//! store's fault or the request's.

use std::fmt;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or configured.
    #[error("cannot open the database {target}: {source}")]
    Open {
        /// The database file, or the PostgreSQL URL without its password.
        target: String,
        /// The backend's reason.
        source: DatabaseError,
    },
    /// The PostgreSQL server could not be reached, or refused the connection.
    #[error("cannot connect to the database {target}: {source}")]
    Unreachable {
        /// The URL without its password.
        target: String,
        /// The driver's reason.
        source: DatabaseError,
    },
    /// The connection to PostgreSQL was lost and is not back yet.
    #[error("the connection to the database {target} is lost; reconnecting")]
    Disconnected {
        /// The URL without its password.
        target: String,
    },
    /// `[store] url` is not a PostgreSQL URL the store can use.
    #[error("the store URL is not usable: {reason}")]
    BadUrl {
        /// What is wrong with it (never the URL itself: it may hold a password).
        reason: String,
    },
    /// A schema migration failed; the database stays at the previous version.
    #[error("database migration {version} failed: {source}")]
    Migration {
        /// The migration's number.
        version: u32,
        /// The backend's reason.
        source: DatabaseError,
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
    Database(#[from] DatabaseError),
    /// The batch this write was part of failed to commit: nothing of it was written.
    #[error("the commit failed, nothing was written: {0}")]
    CommitFailed(String),
    /// The writer has stopped (the store is shutting down).
    #[error("the store is closed")]
    Closed,
    /// A number cannot be stored as it is: past the signed 64-bit range.
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
        self.failure().is_some() || matches!(self, StoreError::CommitFailed(_) | StoreError::Closed)
    }

    /// Why the store failed, when this error is the store's fault, as the
    /// health counts it.
    pub fn failure(&self) -> Option<crate::health::FailureReason> {
        match self {
            StoreError::Database(error) => error.failure(),
            StoreError::Unreachable { .. } | StoreError::Disconnected { .. } => {
                Some(crate::health::FailureReason::Unreachable)
            }
            _ => None,
        }
    }

    /// Whether the error is a uniqueness conflict (a race lost to another
    /// writer of the same key), which callers may answer as a duplicate.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(error) if error.is_unique_violation())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Database(error.into())
    }
}

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> Self {
        StoreError::Database(error.into())
    }
}

/// A backend's error, opaque to callers: it prints the backend's reason and
/// answers the questions the host asks of it.
pub struct DatabaseError(Backend);

enum Backend {
    Sqlite(rusqlite::Error),
    Postgres(postgres::Error),
}

impl DatabaseError {
    /// Why the store (not the request) failed, if that is what this says.
    pub fn failure(&self) -> Option<crate::health::FailureReason> {
        match &self.0 {
            Backend::Sqlite(error) => crate::health::FailureReason::of_sqlite(error),
            Backend::Postgres(error) => crate::health::FailureReason::of_postgres(error),
        }
    }

    /// Whether a uniqueness constraint refused the statement.
    pub fn is_unique_violation(&self) -> bool {
        match &self.0 {
            Backend::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            Backend::Sqlite(_) => false,
            Backend::Postgres(error) => {
                error.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION)
            }
        }
    }
}

impl From<rusqlite::Error> for DatabaseError {
    fn from(error: rusqlite::Error) -> Self {
        DatabaseError(Backend::Sqlite(error))
    }
}

impl From<postgres::Error> for DatabaseError {
    fn from(error: postgres::Error) -> Self {
        DatabaseError(Backend::Postgres(error))
    }
}

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Backend::Sqlite(error) => error.fmt(f),
            // The driver's Display of a server error is only its severity
            // and message; the detail and hint help an operator more.
            Backend::Postgres(error) => match error.as_db_error() {
                Some(db) => {
                    write!(f, "{}", db.message())?;
                    if let Some(detail) = db.detail() {
                        write!(f, " ({detail})")?;
                    }
                    Ok(())
                }
                None => match std::error::Error::source(error) {
                    Some(source) => write!(f, "{error}: {source}"),
                    None => error.fmt(f),
                },
            },
        }
    }
}

impl fmt::Debug for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Backend::Sqlite(error) => error.fmt(f),
            Backend::Postgres(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for DatabaseError {}
