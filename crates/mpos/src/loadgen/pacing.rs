//! When a device sends its next request. Closed loop (the default): as soon
//! as one of its pipeline slots frees. Open loop (`--rate N`): on a fixed
//! schedule of N requests a second over all devices, each device's slots
//! evenly staggered, and the latency of a request counted from when it was
//! *due*, not from when it could be sent — so a stalled host shows in the
//! percentiles instead of quietly slowing the client (coordinated omission,
//! the wrk2 way).

use std::time::Duration;
use tokio::time::Instant;

/// One device's schedule.
pub(super) enum Pacing {
    /// Send whenever a pipeline slot is free.
    Closed,
    /// Send at `next_due`, then every `interval`.
    Open {
        /// When the next request is due.
        next_due: Instant,
        /// The time between two of this device's requests.
        interval: Duration,
    },
}

impl Pacing {
    /// The schedule of device `index` of `devices` at `rate` requests a
    /// second in all (none: closed loop), starting at `start`.
    pub(super) fn new(rate: Option<u32>, index: u32, devices: u32, start: Instant) -> Self {
        match rate {
            None => Pacing::Closed,
            Some(rate) => {
                let rate = f64::from(rate.max(1));
                Pacing::Open {
                    next_due: start + Duration::from_secs_f64(f64::from(index) / rate),
                    interval: Duration::from_secs_f64(f64::from(devices.max(1)) / rate),
                }
            }
        }
    }

    /// Drops the slots that fell due while the device could not send (not
    /// yet signed on, or reconnecting), so that latencies measure the host
    /// while the device is connected; returns how many were dropped.
    pub(super) fn skip_missed(&mut self, now: Instant) -> u64 {
        match self {
            Pacing::Closed => 0,
            Pacing::Open { next_due, interval } => {
                if *next_due >= now {
                    return 0;
                }
                let behind = now.saturating_duration_since(*next_due);
                let missed = behind.as_nanos().div_ceil(interval.as_nanos().max(1));
                let missed = u32::try_from(missed).unwrap_or(u32::MAX);
                *next_due += *interval * missed;
                u64::from(missed)
            }
        }
    }

    /// Takes the next slot before `deadline`: its due time, and the slot
    /// after it becomes next; `None` when the schedule has no slot left before
    /// the deadline. In closed loop every slot is due now.
    pub(super) fn take(&mut self, deadline: Instant) -> Option<Instant> {
        match self {
            Pacing::Closed => {
                let now = Instant::now();
                (now < deadline).then_some(now)
            }
            Pacing::Open { next_due, interval } => {
                let due = *next_due;
                (due < deadline).then(|| {
                    *next_due += *interval;
                    due
                })
            }
        }
    }

    /// When the next slot is due (closed loop: now).
    pub(super) fn next_due(&self) -> Instant {
        match self {
            Pacing::Closed => Instant::now(),
            Pacing::Open { next_due, .. } => *next_due,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_share_the_rate_evenly_staggered() {
        let start = Instant::now();
        // 4 devices at 100/s: each every 40 ms, device k starting k × 10 ms in.
        let mut third = Pacing::new(Some(100), 2, 4, start);
        let deadline = start + Duration::from_secs(1);
        assert_eq!(
            third.take(deadline),
            Some(start + Duration::from_millis(20))
        );
        assert_eq!(
            third.take(deadline),
            Some(start + Duration::from_millis(60))
        );
        assert_eq!(third.next_due(), start + Duration::from_millis(100));
    }

    #[test]
    fn no_slot_at_or_after_the_deadline() {
        let start = Instant::now();
        let mut pacing = Pacing::new(Some(10), 0, 1, start);
        let deadline = start + Duration::from_millis(250);
        let slots = std::iter::from_fn(|| pacing.take(deadline)).count();
        assert_eq!(slots, 3, "0, 100 and 200 ms");
    }

    #[test]
    fn slots_missed_without_a_connection_are_skipped() {
        let start = Instant::now();
        let mut pacing = Pacing::new(Some(10), 0, 1, start);
        let skipped = pacing.skip_missed(start + Duration::from_millis(350));
        assert_eq!(skipped, 4, "0, 100, 200, 300 ms dropped");
        assert_eq!(pacing.next_due(), start + Duration::from_millis(400));
        assert_eq!(pacing.skip_missed(start + Duration::from_millis(400)), 0);
        assert_eq!(Pacing::Closed.skip_missed(start), 0);
    }
}
