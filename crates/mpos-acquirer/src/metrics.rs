//! Counters and latency histograms per request MTI and response code,
//! rendered as Prometheus text for `/metrics`. Plain atomics: recording is
//! a couple of relaxed increments on the hot path.

use mpos_domain::mti::Mti;
use mpos_domain::response::ResponseCode;
use mpos_passwords::PasswordPool;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Histogram bucket bounds, seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// The spec's codes, and a last slot for the card processor's codes the
/// spec does not list (upstream mode), labelled `other`.
const CODES: usize = 17;

/// The slot of `code`.
fn code_slot(code: ResponseCode) -> usize {
    ResponseCode::all()
        .position(|x| x == code)
        .unwrap_or(CODES - 1)
        .min(CODES - 1)
}

/// The label of slot `slot`.
fn code_label(slot: usize) -> &'static str {
    ResponseCode::all()
        .nth(slot)
        .filter(|_| slot < CODES - 1)
        .map_or("other", ResponseCode::as_str)
}

/// The host's counters.
pub struct Metrics {
    /// [mti][code]
    responses: [[AtomicU64; CODES]; Mti::ALL.len()],
    /// [mti][bucket], cumulative at render time.
    latency: [[AtomicU64; BUCKETS.len() + 1]; Mti::ALL.len()],
    latency_sum_micros: [AtomicU64; Mti::ALL.len()],
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    closed_bad_frame: AtomicU64,
    closed_bad_mti: AtomicU64,
    closed_idle: AtomicU64,
    /// The shared password pool, whose counters are rendered too.
    passwords: Option<Arc<PasswordPool>>,
    closed_sign_on_deadline: AtomicU64,
    closed_unsigned_limit: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            responses: Default::default(),
            latency: Default::default(),
            latency_sum_micros: Default::default(),
            connections_open: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            closed_bad_frame: AtomicU64::new(0),
            closed_bad_mti: AtomicU64::new(0),
            closed_idle: AtomicU64::new(0),
            passwords: None,
            closed_sign_on_deadline: AtomicU64::new(0),
            closed_unsigned_limit: AtomicU64::new(0),
        }
    }
}

/// Why a connection was closed by the host.
#[derive(Debug, Clone, Copy)]
pub enum CloseReason {
    /// A length header of 0 or over the maximum.
    BadFrame,
    /// An unreadable or unsupported MTI.
    BadMti,
    /// Silent past the idle timeout.
    Idle,
    /// Not signed on by the sign-on deadline.
    SignOnDeadline,
    /// Not signed on while the connections not signed on filled their
    /// quarter of `max_connections`.
    UnsignedLimit,
}

impl Metrics {
    /// Counters that also render the password pool's (one `/metrics` for
    /// the host and the hashing it shares with the cabinet).
    pub fn with_passwords(passwords: Arc<PasswordPool>) -> Self {
        Metrics {
            passwords: Some(passwords),
            ..Metrics::default()
        }
    }

    /// Counts one answer and its latency.
    pub fn record(&self, mti: Mti, code: ResponseCode, elapsed: Duration) {
        let m = mti.index();
        self.responses[m][code_slot(code)].fetch_add(1, Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        self.latency[m][bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros[m].fetch_add(micros, Ordering::Relaxed);
    }

    /// A connection opened.
    pub fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        self.connections_total.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection ended.
    pub fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// The host closed a connection for `reason`.
    pub fn closed_by_host(&self, reason: CloseReason) {
        match reason {
            CloseReason::BadFrame => &self.closed_bad_frame,
            CloseReason::BadMti => &self.closed_bad_mti,
            CloseReason::Idle => &self.closed_idle,
            CloseReason::SignOnDeadline => &self.closed_sign_on_deadline,
            CloseReason::UnsignedLimit => &self.closed_unsigned_limit,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// Answers counted so far for `mti` with `code`.
    pub fn responses(&self, mti: Mti, code: ResponseCode) -> u64 {
        self.responses[mti.index()][code_slot(code)].load(Ordering::Relaxed)
    }

    /// Everything as Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str(
            "# HELP mpos_host_responses_total Answers sent, by request MTI and response code.\n",
        );
        out.push_str("# TYPE mpos_host_responses_total counter\n");
        for (m, mti) in Mti::ALL.iter().enumerate() {
            for c in 0..CODES {
                let code = code_label(c);
                let n = load(&self.responses[m][c]);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "mpos_host_responses_total{{mti=\"{mti}\",code=\"{code}\"}} {n}"
                    );
                }
            }
        }
        out.push_str("# HELP mpos_host_latency_seconds Time from a request's arrival to its answer being queued.\n");
        out.push_str("# TYPE mpos_host_latency_seconds histogram\n");
        for (m, mti) in Mti::ALL.iter().enumerate() {
            let mut cumulative = 0;
            for (b, bound) in BUCKETS.iter().enumerate() {
                cumulative += load(&self.latency[m][b]);
                let _ = writeln!(
                    out,
                    "mpos_host_latency_seconds_bucket{{mti=\"{mti}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += load(&self.latency[m][BUCKETS.len()]);
            let _ = writeln!(
                out,
                "mpos_host_latency_seconds_bucket{{mti=\"{mti}\",le=\"+Inf\"}} {cumulative}"
            );
            let sum = load(&self.latency_sum_micros[m]) as f64 / 1e6;
            let _ = writeln!(out, "mpos_host_latency_seconds_sum{{mti=\"{mti}\"}} {sum}");
            let _ = writeln!(
                out,
                "mpos_host_latency_seconds_count{{mti=\"{mti}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP mpos_host_connections Connections open now.\n# TYPE mpos_host_connections gauge\nmpos_host_connections {}",
            load(&self.connections_open)
        );
        let _ = writeln!(
            out,
            "# HELP mpos_host_connections_total Connections accepted.\n# TYPE mpos_host_connections_total counter\nmpos_host_connections_total {}",
            load(&self.connections_total)
        );
        out.push_str("# HELP mpos_host_closed_total Connections the host closed, by reason.\n# TYPE mpos_host_closed_total counter\n");
        for (reason, n) in [
            ("bad_frame", &self.closed_bad_frame),
            ("bad_mti", &self.closed_bad_mti),
            ("idle", &self.closed_idle),
            ("sign_on_deadline", &self.closed_sign_on_deadline),
            ("unsigned_limit", &self.closed_unsigned_limit),
        ] {
            let _ = writeln!(
                out,
                "mpos_host_closed_total{{reason=\"{reason}\"}} {}",
                load(n)
            );
        }
        if let Some(passwords) = &self.passwords {
            out.push_str(&passwords.render_metrics());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_counted_and_rendered() {
        let m = Metrics::default();
        m.record(
            Mti::Financial,
            ResponseCode::Approved,
            Duration::from_micros(700),
        );
        m.record(
            Mti::Financial,
            ResponseCode::Approved,
            Duration::from_millis(30),
        );
        m.record(
            Mti::Network,
            ResponseCode::SecurityViolation,
            Duration::from_micros(10),
        );
        assert_eq!(m.responses(Mti::Financial, ResponseCode::Approved), 2);
        let text = m.render();
        assert!(
            text.contains("mpos_host_responses_total{mti=\"0200\",code=\"00\"} 2"),
            "{text}"
        );
        assert!(text.contains("mpos_host_responses_total{mti=\"0800\",code=\"63\"} 1"));
        assert!(text.contains("mpos_host_latency_seconds_bucket{mti=\"0200\",le=\"0.001\"} 1"));
        assert!(text.contains("mpos_host_latency_seconds_bucket{mti=\"0200\",le=\"+Inf\"} 2"));
        assert!(text.contains("mpos_host_latency_seconds_count{mti=\"0200\"} 2"));
    }

    #[test]
    fn issuer_unavailable_and_the_processors_unlisted_codes_have_their_own_labels() {
        let m = Metrics::default();
        let quick = Duration::from_micros(10);
        m.record(Mti::Financial, ResponseCode::IssuerUnavailable, quick);
        m.record(Mti::Financial, ResponseCode::Unlisted, quick);
        m.record(Mti::Financial, ResponseCode::SystemMalfunction, quick);
        let text = m.render();
        for code in ["91", "other", "96"] {
            assert!(
                text.contains(&format!(
                    "mpos_host_responses_total{{mti=\"0200\",code=\"{code}\"}} 1"
                )),
                "{code}: {text}"
            );
        }
    }
}
