//! TLS for the device link (host-interface.md section 8), the cabinet
//! (deployment.md section 3) and the load generator, on rustls with the
//! `ring` provider: TLS 1.2 and 1.3 only, no OpenSSL.
//!
//! - [`files`]: PEM certificate chains, keys and CA bundles, read with
//!   errors that name the file, so `mpos serve` can stop with one line.
//! - [`server`]: the server configuration, optionally requiring client
//!   certificates from a CA, and [`server::ReloadableServerTls`], which
//!   reads the files again on SIGHUP and keeps the old ones when the new
//!   ones are bad.
//! - [`client`]: the load generator's (and tests') client configuration,
//!   with a session cache of its own per device so a reconnect storm resumes
//!   instead of paying full handshakes.
//! - [`tickets`]: session ticket keys that roll daily and outlive a
//!   restart, so the reconnect storm after one resumes sessions.
//! - [`peer`]: the subject common name of a verified client certificate
//!   (a reader's serial).
//! - [`accept`]: one server handshake, bounded in time and counted.
//! - [`metrics`]: handshakes by kind and version, failures by reason.

pub mod accept;
pub mod client;
pub mod files;
pub mod metrics;
pub mod peer;
pub mod server;
pub mod tickets;

pub use accept::{Accepted, TlsListener, accept};
pub use client::{ClientIdentity, ClientTls};
pub use files::{FileRole, TlsFileError};
pub use metrics::{HandshakeFailure, TlsMetrics};
pub use rustls::HandshakeKind;
pub use rustls::pki_types::ServerName;
pub use server::{ReloadableServerTls, ServerTlsFiles};
pub use tickets::{TicketKeyError, TicketKeys};
pub use tokio_rustls::{TlsAcceptor, TlsConnector};

use std::sync::Arc;

/// The protocol versions every configuration here allows: TLS 1.3 and 1.2;
/// never 1.1, 1.0 or SSL (rustls implements none of them).
pub static PROTOCOL_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The crypto provider: `ring`, already the project's crypto library.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

#[cfg(test)]
mod tests;
