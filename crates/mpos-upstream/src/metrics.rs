//! The link's counters, rendered as Prometheus text beside the host's:
//! state and address, requests in flight, the processor's latency, timeouts.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Latency bucket bounds, seconds: a processor answers in milliseconds to
/// seconds, and the timeout is 15 s by default.
const BUCKETS: [f64; 14] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0,
];

/// Counters of the link, all relaxed atomics.
#[derive(Default)]
pub struct LinkMetrics {
    latency: [AtomicU64; BUCKETS.len() + 1],
    latency_sum_micros: AtomicU64,
    answered: AtomicU64,
    timeouts: AtomicU64,
    lost: AtomicU64,
    refused_down: AtomicU64,
    unmatched: AtomicU64,
    connects: AtomicU64,
    sign_on_failures: AtomicU64,
}

/// What the link is doing now, for `/metrics` and the banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    /// Connected and signed on.
    pub up: bool,
    /// The processor's address while up.
    pub address: Option<String>,
    /// Requests reserved or sent and not settled.
    pub in_flight: usize,
}

impl LinkMetrics {
    /// An answer came `elapsed` after its request was sent.
    pub(crate) fn answered(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.answered.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn timed_out(&self) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn lost(&self, n: usize) {
        self.lost.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn refused_down(&self) {
        self.refused_down.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn unmatched(&self) {
        self.unmatched.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connected(&self) {
        self.connects.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn sign_on_failed(&self) {
        self.sign_on_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests that got no answer within the timeout.
    pub fn timeouts(&self) -> u64 {
        self.timeouts.load(Ordering::Relaxed)
    }

    /// Appends the link's metrics to `out` in Prometheus text form.
    pub fn render(&self, state: &LinkState, out: &mut String) {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP mpos_upstream_up Whether the link to the card processor is connected and signed on.\n# TYPE mpos_upstream_up gauge"
        );
        let address = state.address.as_deref().unwrap_or("");
        let _ = writeln!(
            out,
            "mpos_upstream_up{{address=\"{}\"}} {}",
            address.replace(['\\', '"', '\n'], "_"),
            u8::from(state.up)
        );
        let _ = writeln!(
            out,
            "# HELP mpos_upstream_in_flight Requests sent to the processor and not yet settled.\n# TYPE mpos_upstream_in_flight gauge\nmpos_upstream_in_flight {}",
            state.in_flight
        );
        for (name, help, value) in [
            (
                "mpos_upstream_timeouts_total",
                "Requests the processor did not answer within timeout_ms.",
                load(&self.timeouts),
            ),
            (
                "mpos_upstream_lost_total",
                "Requests whose connection was lost before the answer.",
                load(&self.lost),
            ),
            (
                "mpos_upstream_refused_down_total",
                "Requests not sent because the link was down.",
                load(&self.refused_down),
            ),
            (
                "mpos_upstream_unmatched_total",
                "Answers that matched no request (logged and dropped).",
                load(&self.unmatched),
            ),
            (
                "mpos_upstream_connects_total",
                "Connections opened to the processor.",
                load(&self.connects),
            ),
            (
                "mpos_upstream_sign_on_failures_total",
                "Sign-ons not answered 00 in time.",
                load(&self.sign_on_failures),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP mpos_upstream_latency_seconds Time from a request sent to its answer.\n# TYPE mpos_upstream_latency_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += load(&self.latency[i]);
            let _ = writeln!(
                out,
                "mpos_upstream_latency_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += load(&self.latency[BUCKETS.len()]);
        let _ = writeln!(
            out,
            "mpos_upstream_latency_seconds_bucket{{le=\"+Inf\"}} {cumulative}\nmpos_upstream_latency_seconds_sum {}\nmpos_upstream_latency_seconds_count {}",
            load(&self.latency_sum_micros) as f64 / 1e6,
            load(&self.answered)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_state_counters_and_a_cumulative_histogram() {
        let metrics = LinkMetrics::default();
        metrics.answered(Duration::from_millis(3));
        metrics.answered(Duration::from_millis(60));
        metrics.timed_out();
        let mut out = String::new();
        metrics.render(
            &LinkState {
                up: true,
                address: Some("127.0.0.1:7000".into()),
                in_flight: 2,
            },
            &mut out,
        );
        assert!(
            out.contains("mpos_upstream_up{address=\"127.0.0.1:7000\"} 1"),
            "{out}"
        );
        assert!(out.contains("mpos_upstream_in_flight 2"));
        assert!(out.contains("mpos_upstream_timeouts_total 1"));
        assert!(out.contains("mpos_upstream_latency_seconds_bucket{le=\"0.005\"} 1"));
        assert!(out.contains("mpos_upstream_latency_seconds_bucket{le=\"0.1\"} 2"));
        assert!(out.contains("mpos_upstream_latency_seconds_count 2"));
    }
}
