//! Whether the store can commit, as the writer last saw it, for readiness
//! (`/readyz`) and metrics. The writer reports the outcome of every batch:
//! a failed commit, or a write that failed for a reason that is the store's
//! and not the request's (disk full, I/O error, read-only or corrupt file),
//! marks it failing until a batch commits again. Each failure is counted
//! by reason.

use crate::fault_log::FaultLog;
use rusqlite::ErrorCode;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why the store could not commit, as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureReason {
    /// SQLITE_FULL: the disk, or the database's page limit.
    DiskFull,
    /// SQLITE_IOERR and kin: the disk failed a read or a write.
    Io,
    /// The database is read-only (a PostgreSQL standby too), locked past
    /// the timeout, or corrupt.
    Unwritable,
    /// The PostgreSQL server cannot be reached, or closed the connection.
    Unreachable,
    /// Anything else that stopped a whole commit.
    Other,
}

impl FailureReason {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            FailureReason::DiskFull => "disk_full",
            FailureReason::Io => "io",
            FailureReason::Unwritable => "unwritable",
            FailureReason::Unreachable => "unreachable",
            FailureReason::Other => "other",
        }
    }

    /// The reason behind a SQLite error, when it is the store's fault
    /// rather than the request's (a constraint, a missing row).
    pub(crate) fn of_sqlite(error: &rusqlite::Error) -> Option<FailureReason> {
        match error.sqlite_error_code()? {
            ErrorCode::DiskFull => Some(FailureReason::DiskFull),
            ErrorCode::SystemIoFailure | ErrorCode::CannotOpen => Some(FailureReason::Io),
            ErrorCode::ReadOnly
            | ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::DatabaseCorrupt
            | ErrorCode::NotADatabase => Some(FailureReason::Unwritable),
            _ => None,
        }
    }

    /// The reason behind a PostgreSQL error, when it is the store's fault:
    /// the connection (closed, refused, timed out), the server (shutting
    /// down, out of disk or memory, a read-only standby, too many
    /// connections); not a constraint or a lost race.
    pub(crate) fn of_postgres(error: &postgres::Error) -> Option<FailureReason> {
        use postgres::error::SqlState;
        let Some(code) = error.code() else {
            // No server code: either the connection failed (closed, I/O,
            // timed out, TLS) or a value did not convert (a bug, which
            // fails its request alone).
            let io = std::error::Error::source(error)
                .is_some_and(|source| source.downcast_ref::<std::io::Error>().is_some());
            return (error.is_closed() || io).then_some(FailureReason::Unreachable);
        };
        let class = &code.code()[..2];
        if *code == SqlState::DISK_FULL {
            Some(FailureReason::DiskFull)
        } else if *code == SqlState::READ_ONLY_SQL_TRANSACTION {
            Some(FailureReason::Unwritable)
        } else if class == "08" || class == "57" || class == "53" {
            // Connection exception, operator intervention (shutdown,
            // cancelled), insufficient resources.
            Some(FailureReason::Unreachable)
        } else if class == "58" || class == "XX" {
            Some(FailureReason::Io)
        } else {
            None
        }
    }
}

/// The writer's view of the store's health.
pub struct StoreHealth {
    state: Mutex<State>,
    log: FaultLog,
}

#[derive(Default)]
struct State {
    last_commit: Option<Instant>,
    last_failure: Option<Instant>,
    failing: Option<String>,
    failures: BTreeMap<FailureReason, u64>,
}

/// The store's health at one moment.
#[derive(Debug, Clone, Default)]
pub struct HealthSnapshot {
    /// How long ago a batch last committed (`None`: never, in this process).
    pub since_commit: Option<Duration>,
    /// How long ago a write last failed by the store's fault.
    pub since_failure: Option<Duration>,
    /// Why the store is failing now (`None`: it is not).
    pub failing: Option<String>,
    /// Failures so far, by reason.
    pub failures: Vec<(FailureReason, u64)>,
}

impl Default for StoreHealth {
    fn default() -> Self {
        StoreHealth {
            state: Mutex::new(State::default()),
            log: FaultLog::new("store commits"),
        }
    }
}

impl StoreHealth {
    /// A batch committed.
    pub(crate) fn committed(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.last_commit = Some(Instant::now());
            state.failing = None;
        }
        self.log.succeeded();
    }

    /// A commit, or `count` writes of a batch, failed for `reason`.
    pub(crate) fn failed(&self, reason: FailureReason, error: &dyn std::fmt::Display, count: u64) {
        if let Ok(mut state) = self.state.lock() {
            *state.failures.entry(reason).or_default() += count;
            state.last_failure = Some(Instant::now());
            state.failing = Some(format!("{}: {error}", reason.label()));
        }
        for _ in 0..count {
            self.log.failed(error);
        }
    }

    /// The health now.
    pub fn snapshot(&self) -> HealthSnapshot {
        self.state
            .lock()
            .map(|state| HealthSnapshot {
                since_commit: state.last_commit.map(|at| at.elapsed()),
                since_failure: state.last_failure.map(|at| at.elapsed()),
                failing: state.failing.clone(),
                failures: state.failures.iter().map(|(r, n)| (*r, *n)).collect(),
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_until_a_batch_commits_again_with_failures_counted_by_reason() {
        let health = StoreHealth::default();
        assert!(health.snapshot().failing.is_none());
        health.failed(FailureReason::DiskFull, &"database or disk is full", 3);
        let snapshot = health.snapshot();
        assert_eq!(
            snapshot.failing.as_deref(),
            Some("disk_full: database or disk is full")
        );
        assert_eq!(snapshot.failures, vec![(FailureReason::DiskFull, 3)]);
        health.committed();
        let snapshot = health.snapshot();
        assert!(snapshot.failing.is_none());
        assert!(snapshot.since_commit.is_some());
        assert_eq!(
            snapshot.failures,
            vec![(FailureReason::DiskFull, 3)],
            "counts stay"
        );
    }

    #[test]
    fn only_the_stores_own_faults_count() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        assert_eq!(
            FailureReason::of_sqlite(&full),
            Some(FailureReason::DiskFull)
        );
        let constraint = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            None,
        );
        assert_eq!(FailureReason::of_sqlite(&constraint), None);
        assert_eq!(
            FailureReason::of_sqlite(&rusqlite::Error::QueryReturnedNoRows),
            None
        );
    }
}
