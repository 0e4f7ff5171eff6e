//! The reconnect backoff of the link: 0.1 s after the first failure,
//! doubling after each round of the address list that found no processor,
//! at most `reconnect_max`, back to the start once a connection signs on.
//! A processor that restarts is reached again within a tenth of a second;
//! one that stays away is tried at most every `reconnect_max`, so a dead
//! processor does not cost a connection attempt per millisecond.

use std::time::Duration;

/// The first wait after a failed round.
pub const INITIAL: Duration = Duration::from_millis(100);

/// A doubling wait between rounds of connection attempts.
#[derive(Debug, Clone)]
pub struct Backoff {
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// A backoff that starts at [`INITIAL`] and never waits longer than
    /// `max` (nor less than [`INITIAL`], whatever `max` says).
    pub fn new(max: Duration) -> Self {
        Backoff {
            max: max.max(INITIAL),
            next: INITIAL,
        }
    }

    /// How long to wait now; the wait after it is twice as long, up to the
    /// maximum.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    /// A connection signed on: the next failure waits [`INITIAL`] again.
    pub fn reset(&mut self) {
        self.next = INITIAL;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_a_tenth_of_a_second_up_to_the_maximum() {
        let mut backoff = Backoff::new(Duration::from_secs(30));
        let waits: Vec<u128> = (0..12).map(|_| backoff.next_wait().as_millis()).collect();
        assert_eq!(
            waits,
            [
                100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000
            ]
        );
    }

    #[test]
    fn reset_starts_again_at_a_tenth_of_a_second() {
        let mut backoff = Backoff::new(Duration::from_secs(30));
        for _ in 0..20 {
            backoff.next_wait();
        }
        backoff.reset();
        assert_eq!(backoff.next_wait(), Duration::from_millis(100));
        assert_eq!(backoff.next_wait(), Duration::from_millis(200));
    }

    #[test]
    fn a_maximum_below_the_start_is_the_start() {
        let mut backoff = Backoff::new(Duration::from_millis(10));
        assert_eq!(backoff.next_wait(), INITIAL);
        assert_eq!(backoff.next_wait(), INITIAL);
    }
}
