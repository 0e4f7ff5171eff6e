//! Connection slots (host interface, section 1). Every connection takes one
//! of `max_connections` slots (more wait in the listen backlog); one that
//! has not signed on also takes one of the unsigned slots, a quarter of
//! them, which it gives back when it signs on. Past that quarter a new
//! connection is closed at once, so connections that never sign on cannot
//! take the slots of signed-on devices, however many they are.
//!
//! Those refusals are logged at most once a second, each line saying how
//! many were closed since the one before: a flood must not flood the log.

use crate::metrics::{CloseReason, Metrics};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The least time between two log lines about refused connections.
const LOG_INTERVAL: Duration = Duration::from_secs(1);

/// The host's connection slots and the log of the connections refused one.
pub(crate) struct Slots {
    /// One per connection served.
    all: Arc<Semaphore>,
    /// One per connection not signed on.
    unsigned: Arc<Semaphore>,
    /// How many unsigned slots there are, for the log.
    unsigned_limit: usize,
    refusals: Mutex<RefusalLog>,
    metrics: Arc<Metrics>,
}

/// The slot a connection holds while it has not signed on; dropping it
/// gives the slot back.
pub(crate) struct UnsignedSlot {
    _permit: OwnedSemaphorePermit,
}

impl Slots {
    /// Slots for `max_connections` connections, a quarter of them (at least
    /// one) for connections not signed on.
    pub(crate) fn new(max_connections: usize, metrics: Arc<Metrics>) -> Arc<Slots> {
        let all = max_connections.max(1);
        let unsigned_limit = (all / 4).max(1);
        Arc::new(Slots {
            all: Arc::new(Semaphore::new(all)),
            unsigned: Arc::new(Semaphore::new(unsigned_limit)),
            unsigned_limit,
            refusals: Mutex::new(RefusalLog::default()),
            metrics,
        })
    }

    /// Waits for a free connection slot; `None` once the slots are closed.
    pub(crate) async fn connection(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.all).acquire_owned().await.ok()
    }

    /// An unsigned slot, if one is free. Without one the connection must be
    /// closed: call [`Slots::refused`].
    pub(crate) fn unsigned(&self) -> Option<UnsignedSlot> {
        Arc::clone(&self.unsigned)
            .try_acquire_owned()
            .ok()
            .map(|permit| UnsignedSlot { _permit: permit })
    }

    /// Counts a connection closed for want of an unsigned slot, and logs
    /// the count at most once a second (a line later if one was just
    /// written).
    pub(crate) fn refused(self: &Arc<Self>) {
        self.metrics.closed_by_host(CloseReason::UnsignedLimit);
        let next = self.log().note(Instant::now());
        match next {
            Next::Log(closed) => self.write_line(closed),
            Next::FlushAt(at) => {
                let slots = Arc::clone(self);
                tokio::spawn(async move {
                    tokio::time::sleep_until(at.into()).await;
                    let closed = slots.log().flush(Instant::now());
                    if let Some(closed) = closed {
                        slots.write_line(closed);
                    }
                });
            }
            Next::Nothing => {}
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, RefusalLog> {
        // The log holds counts only: a panic elsewhere leaves them usable.
        self.refusals.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_line(&self, closed: u64) {
        tracing::warn!(
            closed,
            limit = self.unsigned_limit,
            "closed new connections at once: the connections not signed on \
             hold their quarter of [host] max_connections"
        );
    }
}

/// A connection's standing with sign-on: while it has not signed on it
/// holds an unsigned slot and has a deadline, which echoes do not extend.
///
/// The deadline runs from the accept. A connection that loses its binding
/// (a failed sign-on, a sign-off) is a connection not signed on again: it
/// takes an unsigned slot again, or is closed when none is free, and gets
/// a fresh deadline counted from that moment, so that an app whose
/// password was just changed can still sign on with the new one on the
/// same connection.
pub(crate) struct SignOnClock {
    slots: Arc<Slots>,
    unsigned: Option<UnsignedSlot>,
    deadline: Option<tokio::time::Instant>,
    timeout: Duration,
}

impl SignOnClock {
    /// The clock of a connection just accepted, holding `unsigned`.
    pub(crate) fn start(slots: Arc<Slots>, unsigned: UnsignedSlot, timeout: Duration) -> Self {
        SignOnClock {
            slots,
            unsigned: Some(unsigned),
            deadline: Some(later(timeout)),
            timeout,
        }
    }

    /// When the connection is closed unless it signs on first; `None`
    /// while it is signed on.
    pub(crate) fn deadline(&self) -> Option<tokio::time::Instant> {
        self.deadline
    }

    /// Follows a message that may have changed the sign-on: signing on
    /// gives the unsigned slot back and ends the deadline, losing the
    /// binding takes a slot again and starts a new one. `false` when the
    /// connection lost its binding and no unsigned slot is free: close it.
    pub(crate) fn follow(&mut self, was_signed_on: bool, is_signed_on: bool) -> bool {
        match (was_signed_on, is_signed_on) {
            (false, true) => {
                self.unsigned = None;
                self.deadline = None;
                true
            }
            (true, false) => match self.slots.unsigned() {
                Some(slot) => {
                    self.unsigned = Some(slot);
                    self.deadline = Some(later(self.timeout));
                    true
                }
                None => {
                    self.slots.refused();
                    false
                }
            },
            _ => true,
        }
    }
}

/// `timeout` from now (a century for a timeout past what the clock holds).
pub(crate) fn later(timeout: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(timeout)
        .unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400))
}

/// What to do after counting a refusal.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Write a line with this count now.
    Log(u64),
    /// A line was written less than a second ago: write the count at this
    /// moment (nothing is scheduled yet).
    FlushAt(Instant),
    /// A later line is scheduled already and will include this one.
    Nothing,
}

/// Refusals counted since the last line, and when that line was written.
#[derive(Debug, Default)]
struct RefusalLog {
    since_last_line: u64,
    last_line: Option<Instant>,
    flush_scheduled: bool,
}

impl RefusalLog {
    /// Counts one refusal at `now`.
    fn note(&mut self, now: Instant) -> Next {
        self.since_last_line += 1;
        match self.last_line {
            Some(last) if now.duration_since(last) < LOG_INTERVAL => {
                if self.flush_scheduled {
                    Next::Nothing
                } else {
                    self.flush_scheduled = true;
                    Next::FlushAt(last + LOG_INTERVAL)
                }
            }
            _ => Next::Log(self.take(now)),
        }
    }

    /// The scheduled line's count, if anything is left to say.
    fn flush(&mut self, now: Instant) -> Option<u64> {
        self.flush_scheduled = false;
        (self.since_last_line > 0).then(|| self.take(now))
    }

    fn take(&mut self, now: Instant) -> u64 {
        self.last_line = Some(now);
        std::mem::take(&mut self.since_last_line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_logged_at_most_once_a_second_with_their_count() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut log = RefusalLog::default();
        assert_eq!(log.note(at(0)), Next::Log(1), "the first is said at once");
        assert_eq!(log.note(at(10)), Next::FlushAt(at(1000)));
        assert_eq!(log.note(at(20)), Next::Nothing);
        assert_eq!(log.note(at(999)), Next::Nothing);
        assert_eq!(log.flush(at(1000)), Some(3), "all three in one line");
        assert_eq!(log.note(at(1500)), Next::FlushAt(at(2000)));
        assert_eq!(log.flush(at(2000)), Some(1));
        assert_eq!(log.flush(at(3000)), None, "nothing new, no line");
        assert_eq!(log.note(at(3500)), Next::Log(1), "quiet for a second");
    }

    #[test]
    fn a_quarter_of_the_slots_are_for_connections_not_signed_on() {
        let slots = Slots::new(40, Arc::new(Metrics::default()));
        let held: Vec<UnsignedSlot> = (0..10).filter_map(|_| slots.unsigned()).collect();
        assert_eq!(held.len(), 10);
        assert!(slots.unsigned().is_none(), "the eleventh is refused");
        drop(held);
        assert!(slots.unsigned().is_some(), "given back when they sign on");
        let tiny = Slots::new(1, Arc::new(Metrics::default()));
        assert!(tiny.unsigned().is_some(), "at least one");
    }
}
