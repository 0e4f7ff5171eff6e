//! Logging a fault that repeats, without flooding the log. A full disk
//! fails every request: one ERROR line per request (760,077 lines in 20 s,
//! measured) fills the log's disk too and buries the one line that matters.
//! A [`FaultLog`] logs a fault once when it starts, then at most once every
//! [`REPEAT`] with how many requests it affected meanwhile, and once when it
//! ends. One per kind of fault (the store's commits, the processor link,
//! mail), shared by every task that meets it. It lives in the store crate
//! because every component that meets per-request faults depends on it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The longest a continuing fault goes without a line.
pub const REPEAT: Duration = Duration::from_secs(10);

/// A fault no request has met for this long is over, even where no success
/// is ever reported (a page that failed): the next failure starts a new one.
pub const QUIET: Duration = Duration::from_secs(60);

/// One kind of fault, and whether it is going on.
pub struct FaultLog {
    /// What fails, for the log line ("store commits", "mail").
    what: &'static str,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// When the fault started; `None` while all is well.
    since: Option<Instant>,
    /// When the last line about it was written.
    last_line: Option<Instant>,
    /// When a request last met it.
    last_failure: Option<Instant>,
    /// Requests affected since the last line, and since the start.
    since_line: u64,
    total: u64,
}

/// What a [`FaultLog`] decided to write, for its caller's tests and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// The fault started: logged.
    Started,
    /// The fault goes on: logged with the requests affected since the last line.
    Continues {
        /// Requests affected since the last line.
        affected: u64,
    },
    /// The fault ended: logged with the requests it affected in all.
    Ended {
        /// Requests affected from start to end.
        affected: u64,
    },
    /// Nothing written (a repeat within [`REPEAT`], or a success while all is well).
    Quiet,
}

impl FaultLog {
    /// A fault log for `what` fails ("store commits").
    pub const fn new(what: &'static str) -> Self {
        FaultLog {
            what,
            state: Mutex::new(State {
                since: None,
                last_line: None,
                last_failure: None,
                since_line: 0,
                total: 0,
            }),
        }
    }

    /// One request met the fault; logs it if it starts now or the last line is old.
    pub fn failed(&self, error: &dyn std::fmt::Display) -> Line {
        self.failed_at(Instant::now(), error)
    }

    /// The operation succeeded; logs the end of a fault that was going on.
    pub fn succeeded(&self) -> Line {
        self.succeeded_at(Instant::now())
    }

    fn failed_at(&self, now: Instant, error: &dyn std::fmt::Display) -> Line {
        let Ok(mut state) = self.state.lock() else {
            return Line::Quiet;
        };
        if state
            .last_failure
            .is_some_and(|last| now.duration_since(last) >= QUIET)
        {
            tracing::warn!(
                affected = state.total,
                "{} failed no request for {} s: over",
                self.what,
                QUIET.as_secs()
            );
            *state = State::default();
        }
        state.last_failure = Some(now);
        state.since_line += 1;
        state.total += 1;
        match (state.since, state.last_line) {
            (None, _) => {
                state.since = Some(now);
                state.last_line = Some(now);
                state.since_line = 0;
                tracing::error!(%error, "{} failing; further failures are counted, not logged one by one", self.what);
                Line::Started
            }
            (Some(_), Some(last)) if now.duration_since(last) < REPEAT => Line::Quiet,
            (Some(since), _) => {
                let affected = std::mem::take(&mut state.since_line);
                state.last_line = Some(now);
                tracing::error!(
                    %error,
                    affected,
                    failing_for_secs = now.duration_since(since).as_secs(),
                    "{} still failing", self.what
                );
                Line::Continues { affected }
            }
        }
    }

    fn succeeded_at(&self, now: Instant) -> Line {
        let Ok(mut state) = self.state.lock() else {
            return Line::Quiet;
        };
        let Some(since) = state.since else {
            return Line::Quiet;
        };
        let affected = state.total;
        *state = State::default();
        tracing::warn!(
            affected,
            failed_for_secs = now.duration_since(since).as_secs(),
            "{} work again",
            self.what
        );
        Line::Ended { affected }
    }

    /// Whether the fault is going on.
    pub fn failing(&self) -> bool {
        self.state
            .lock()
            .map(|s| s.since.is_some())
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeating_fault_is_logged_when_it_starts_every_ten_seconds_and_when_it_ends() {
        let log = FaultLog::new("store commits");
        let start = Instant::now();
        let error = "database or disk is full";
        assert_eq!(log.succeeded_at(start), Line::Quiet);
        assert_eq!(log.failed_at(start, &error), Line::Started);
        assert!(log.failing());
        for n in 1..1_000 {
            let at = start + Duration::from_millis(n * 9);
            assert_eq!(log.failed_at(at, &error), Line::Quiet, "request {n}");
        }
        let later = start + REPEAT + Duration::from_millis(1);
        assert_eq!(
            log.failed_at(later, &error),
            Line::Continues { affected: 1_000 }
        );
        assert_eq!(log.failed_at(later, &error), Line::Quiet);
        assert_eq!(log.succeeded_at(later), Line::Ended { affected: 1_002 });
        assert!(!log.failing());
        assert_eq!(log.failed_at(later, &error), Line::Started, "a new fault");
    }

    #[test]
    fn a_fault_no_request_meets_for_a_minute_is_over_without_a_success() {
        let log = FaultLog::new("cabinet pages reading the store");
        let start = Instant::now();
        assert_eq!(log.failed_at(start, &"gone"), Line::Started);
        assert_eq!(log.failed_at(start + QUIET, &"gone"), Line::Started);
    }
}
