//! TLS counters for `/metrics`: handshakes by protocol version and kind
//! (full or resumed), connections open by version, and failed handshakes
//! by reason, so an operator sees a client fleet stuck on an old version, a
//! CA mismatch, or a port scanner, without reading logs.

use rustls::HandshakeKind;
use rustls::ProtocolVersion;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a handshake did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// The bytes were not TLS (plain ISO 8583 on the TLS port, a scanner).
    NotTls,
    /// Nothing in common: an old protocol version (TLS 1.1 and below) or
    /// no shared cipher suite.
    Incompatible,
    /// Mutual TLS, and the client sent no certificate.
    NoClientCertificate,
    /// A client certificate that is not trusted (another CA, expired...).
    BadClientCertificate,
    /// The client refused the handshake with an alert (it does not trust
    /// the server's certificate, usually).
    ClientAlert,
    /// The handshake did not complete in time.
    Timeout,
    /// The client closed or reset the connection mid-handshake.
    Closed,
    /// Anything else.
    Other,
}

impl HandshakeFailure {
    /// Every reason, in the order `/metrics` lists them.
    pub const ALL: [HandshakeFailure; 8] = [
        HandshakeFailure::NotTls,
        HandshakeFailure::Incompatible,
        HandshakeFailure::NoClientCertificate,
        HandshakeFailure::BadClientCertificate,
        HandshakeFailure::ClientAlert,
        HandshakeFailure::Timeout,
        HandshakeFailure::Closed,
        HandshakeFailure::Other,
    ];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            HandshakeFailure::NotTls => "not_tls",
            HandshakeFailure::Incompatible => "incompatible",
            HandshakeFailure::NoClientCertificate => "no_client_certificate",
            HandshakeFailure::BadClientCertificate => "bad_client_certificate",
            HandshakeFailure::ClientAlert => "client_alert",
            HandshakeFailure::Timeout => "timeout",
            HandshakeFailure::Closed => "closed",
            HandshakeFailure::Other => "other",
        }
    }

    /// Classifies the error a tokio-rustls handshake ended with.
    pub fn of(error: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        if let Some(tls) = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return match tls {
                rustls::Error::InvalidMessage(_)
                | rustls::Error::InappropriateMessage { .. }
                | rustls::Error::InappropriateHandshakeMessage { .. } => HandshakeFailure::NotTls,
                rustls::Error::PeerIncompatible(_) => HandshakeFailure::Incompatible,
                rustls::Error::NoCertificatesPresented => HandshakeFailure::NoClientCertificate,
                rustls::Error::InvalidCertificate(_) => HandshakeFailure::BadClientCertificate,
                rustls::Error::AlertReceived(_) => HandshakeFailure::ClientAlert,
                _ => HandshakeFailure::Other,
            };
        }
        match error.kind() {
            ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe => HandshakeFailure::Closed,
            ErrorKind::TimedOut => HandshakeFailure::Timeout,
            _ => HandshakeFailure::Other,
        }
    }
}

/// A protocol version as `/metrics` names it.
fn version_index(version: Option<ProtocolVersion>) -> usize {
    usize::from(version == Some(ProtocolVersion::TLSv1_3))
}

const VERSIONS: [&str; 2] = ["TLSv1.2", "TLSv1.3"];

/// One listener's TLS counters (plain atomics).
#[derive(Default)]
pub struct TlsMetrics {
    /// [version][resumed]
    handshakes: [[AtomicU64; 2]; 2],
    /// [version]
    open: [AtomicU64; 2],
    failures: [AtomicU64; HandshakeFailure::ALL.len()],
    /// [loaded, refused]
    reloads: [AtomicU64; 2],
}

/// Counts a connection open by version until dropped.
pub struct OpenConnection {
    metrics: Arc<TlsMetrics>,
    version: usize,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.metrics.open[self.version].fetch_sub(1, Ordering::Relaxed);
    }
}

impl TlsMetrics {
    /// Counts a completed handshake; the connection counts as open under
    /// its version until the returned guard is dropped.
    pub fn established(
        self: &Arc<Self>,
        version: Option<ProtocolVersion>,
        kind: Option<HandshakeKind>,
    ) -> OpenConnection {
        let version = version_index(version);
        let resumed = usize::from(kind == Some(HandshakeKind::Resumed));
        self.handshakes[version][resumed].fetch_add(1, Ordering::Relaxed);
        self.open[version].fetch_add(1, Ordering::Relaxed);
        OpenConnection {
            metrics: Arc::clone(self),
            version,
        }
    }

    /// Counts a failed handshake.
    pub fn failed(&self, reason: HandshakeFailure) {
        let index = HandshakeFailure::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(HandshakeFailure::ALL.len() - 1);
        self.failures[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a reload of the listener's files (SIGHUP): loaded, or
    /// refused (the old files stay in force).
    pub fn reloaded(&self, loaded: bool) {
        self.reloads[usize::from(!loaded)].fetch_add(1, Ordering::Relaxed);
    }

    /// Completed handshakes: (full, resumed), all versions.
    pub fn handshakes(&self) -> (u64, u64) {
        let count = |resumed: usize| {
            self.handshakes
                .iter()
                .map(|by_kind| by_kind[resumed].load(Ordering::Relaxed))
                .sum()
        };
        (count(0), count(1))
    }

    /// Failed handshakes for `reason`.
    pub fn failures(&self, reason: HandshakeFailure) -> u64 {
        HandshakeFailure::ALL
            .iter()
            .position(|r| *r == reason)
            .map_or(0, |index| self.failures[index].load(Ordering::Relaxed))
    }

    /// Renders the counters of every TLS listener, labelled `listener`, in
    /// Prometheus text (each metric's HELP and TYPE once).
    pub fn render_all(out: &mut String, listeners: &[(&str, &TlsMetrics)]) {
        if listeners.is_empty() {
            return;
        }
        out.push_str("# HELP mpos_tls_handshakes_total TLS handshakes completed, by listener, protocol version and kind.\n");
        out.push_str("# TYPE mpos_tls_handshakes_total counter\n");
        for (listener, metrics) in listeners {
            for (v, version) in VERSIONS.iter().enumerate() {
                for (r, kind) in ["full", "resumed"].iter().enumerate() {
                    let count = metrics.handshakes[v][r].load(Ordering::Relaxed);
                    let _ = writeln!(
                        out,
                        "mpos_tls_handshakes_total{{listener=\"{listener}\",version=\"{version}\",kind=\"{kind}\"}} {count}"
                    );
                }
            }
        }
        out.push_str(
            "# HELP mpos_tls_connections TLS connections open, by listener and protocol version.\n",
        );
        out.push_str("# TYPE mpos_tls_connections gauge\n");
        for (listener, metrics) in listeners {
            for (v, version) in VERSIONS.iter().enumerate() {
                let count = metrics.open[v].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "mpos_tls_connections{{listener=\"{listener}\",version=\"{version}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP mpos_tls_handshake_failures_total TLS handshakes that did not complete, by listener and reason.\n");
        out.push_str("# TYPE mpos_tls_handshake_failures_total counter\n");
        for (listener, metrics) in listeners {
            for (index, reason) in HandshakeFailure::ALL.iter().enumerate() {
                let count = metrics.failures[index].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "mpos_tls_handshake_failures_total{{listener=\"{listener}\",reason=\"{}\"}} {count}",
                    reason.label()
                );
            }
        }
        out.push_str("# HELP mpos_tls_reloads_total Reloads of the TLS files on SIGHUP, by listener and outcome (refused: the files loaded before stay in force).\n");
        out.push_str("# TYPE mpos_tls_reloads_total counter\n");
        for (listener, metrics) in listeners {
            for (index, outcome) in ["loaded", "refused"].iter().enumerate() {
                let count = metrics.reloads[index].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "mpos_tls_reloads_total{{listener=\"{listener}\",outcome=\"{outcome}\"}} {count}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_errors_are_classified_by_reason() {
        let wrap =
            |error: rustls::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, error);
        assert_eq!(
            HandshakeFailure::of(&wrap(rustls::Error::NoCertificatesPresented)),
            HandshakeFailure::NoClientCertificate
        );
        assert_eq!(
            HandshakeFailure::of(&wrap(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            ))),
            HandshakeFailure::NotTls
        );
        assert_eq!(
            HandshakeFailure::of(&std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
            HandshakeFailure::Closed
        );
    }

    #[test]
    fn open_connections_are_counted_until_dropped_and_rendered_once_per_metric() {
        let metrics = Arc::new(TlsMetrics::default());
        let open = metrics.established(Some(ProtocolVersion::TLSv1_3), Some(HandshakeKind::Full));
        metrics.failed(HandshakeFailure::NotTls);
        let mut text = String::new();
        TlsMetrics::render_all(
            &mut text,
            &[("iso", &metrics), ("http", &TlsMetrics::default())],
        );
        assert!(text.contains("mpos_tls_connections{listener=\"iso\",version=\"TLSv1.3\"} 1"));
        assert!(text.contains(
            "mpos_tls_handshakes_total{listener=\"iso\",version=\"TLSv1.3\",kind=\"full\"} 1"
        ));
        assert!(
            text.contains(
                "mpos_tls_handshake_failures_total{listener=\"iso\",reason=\"not_tls\"} 1"
            )
        );
        assert_eq!(text.matches("# TYPE mpos_tls_connections gauge").count(), 1);
        drop(open);
        let mut text = String::new();
        TlsMetrics::render_all(&mut text, &[("iso", &metrics)]);
        assert!(text.contains("mpos_tls_connections{listener=\"iso\",version=\"TLSv1.3\"} 0"));
        assert_eq!(metrics.handshakes(), (1, 0));
    }
}
