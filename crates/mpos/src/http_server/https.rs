//! HTTPS on an HTTP listener (deployment.md section 3): the handshake each
//! connection's own task runs before HTTP (so a slow or silent client
//! never stalls the accept loop), and `Strict-Transport-Security` on every
//! answer, which tells browsers to use nothing but https for the site.

use axum::Router;
use axum::http::HeaderValue;
use axum::http::header::STRICT_TRANSPORT_SECURITY;
use axum::response::Response;

/// The protocol offered by ALPN: the listener speaks HTTP/1.1 only.
pub const ALPN: &[&[u8]] = &[b"http/1.1"];

/// A year, as browsers and the HSTS preload list expect: only ever sent
/// over HTTPS (over plain HTTP browsers ignore it, and behind a proxy that
/// also serves http it would be a lie).
const HSTS: &str = "max-age=31536000";

/// What makes a listener serve HTTPS only: its certificate (read again on
/// SIGHUP) and its handshake counters; the handshake bounded and counted.
pub type Https = mpos_tls::TlsListener;

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
