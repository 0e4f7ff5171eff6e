//! HTTPS on an HTTP listener (deployment.md section 3): the handshake each
//! connection's own task runs before HTTP (so a slow or silent client
//! never stalls the accept loop), and `Strict-Transport-Security` on every
//! answer, which tells browsers to use nothing but https for the site.

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::STRICT_TRANSPORT_SECURITY;
use axum::response::Response;
use mpos_tls::{Accepted, HandshakeFailure, ReloadableServerTls, TlsMetrics};
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The protocol offered by ALPN: the listener speaks HTTP/1.1 only.
pub const ALPN: &[&[u8]] = &[b"http/1.1"];

/// A year, as browsers and the HSTS preload list expect: only ever sent
/// over HTTPS (over plain HTTP browsers ignore it, and behind a proxy that
/// also serves http it would be a lie).
const HSTS: &str = "max-age=31536000";

/// What makes a listener serve HTTPS only: its certificate (read again on
/// SIGHUP) and its handshake counters.
#[derive(Clone)]
pub struct Https {
    /// The certificate and key; new handshakes use what was last loaded.
    pub tls: Arc<ReloadableServerTls>,
    /// Handshakes and their failures, for `/metrics`.
    pub metrics: Arc<TlsMetrics>,
}

impl Https {
    /// Runs the server handshake on `stream`, bounded by `deadline` (the
    /// listener's header time from the accept) and counted.
    pub async fn handshake(
        &self,
        stream: TcpStream,
        deadline: Instant,
    ) -> Result<Accepted<TcpStream>, HandshakeFailure> {
        mpos_tls::accept(&self.tls.acceptor(), stream, deadline, &self.metrics).await
    }
}

/// `router` with `Strict-Transport-Security` on every answer.
pub fn with_hsts(router: Router) -> Router {
    router.layer(axum::middleware::map_response(
        |mut response: Response| async move {
            response
                .headers_mut()
                .insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
            response
        },
    ))
}
