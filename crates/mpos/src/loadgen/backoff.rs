//! Reconnection backoff, as the Android app does it: the first retry soon,
//! then doubling up to a cap, each wait jittered so that a fleet dropped at
//! the same instant (a host restart) does not come back in lockstep.

use std::time::Duration;
use tokio::time::Instant;

/// The first wait after a failure.
const FIRST: Duration = Duration::from_millis(50);
/// The longest wait: short, so a restarted host sees its fleet within about
/// this long of listening again.
const CAP: Duration = Duration::from_millis(500);

/// One device's backoff state.
pub(super) struct Backoff {
    next: Duration,
    jitter: Jitter,
}

impl Backoff {
    /// A fresh backoff; `seed` makes each device's jitter its own.
    pub(super) fn new(seed: u64) -> Self {
        Backoff {
            next: FIRST,
            jitter: Jitter(seed | 1),
        }
    }

    /// Back to the first wait, after a success.
    pub(super) fn reset(&mut self) {
        self.next = FIRST;
    }

    /// The next wait: between half and all of the current step, which then doubles.
    pub(super) fn next_wait(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(CAP);
        let half = step / 2;
        half + half.mul_f64(self.jitter.unit())
    }

    /// Sleeps the next wait, but not past `deadline`; false when the deadline came first.
    pub(super) async fn wait(&mut self, deadline: Instant) -> bool {
        let until = (Instant::now() + self.next_wait()).min(deadline);
        tokio::time::sleep_until(until).await;
        Instant::now() < deadline
    }
}

/// A xorshift generator: jitter needs spread, not secrecy.
struct Jitter(u64);

impl Jitter {
    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap_within_their_jitter() {
        let mut backoff = Backoff::new(42);
        let mut step = FIRST;
        for _ in 0..10 {
            let wait = backoff.next_wait();
            assert!(wait >= step / 2 && wait <= step, "{wait:?} within {step:?}");
            step = (step * 2).min(CAP);
        }
        backoff.reset();
        assert!(backoff.next_wait() <= FIRST);
    }

    #[test]
    fn two_devices_do_not_wait_in_lockstep() {
        let (mut a, mut b) = (Backoff::new(1), Backoff::new(2));
        let differ = (0..5).filter(|_| a.next_wait() != b.next_wait()).count();
        assert!(differ > 0);
    }
}
