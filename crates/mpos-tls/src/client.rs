//! The client side, for the load generator and tests: trust a CA file,
//! optionally present a client certificate, and keep a session cache of
//! each connection owner's own, so that every reader of a fleet resumes its
//! own session after a drop (a cache shared by thousands of readers keeps
//! only a few tickets per server and most would pay full handshakes).

use crate::files::{self, FileRole, Problem, TlsFileError};
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, InconsistentKeys, RootCertStore};
use std::path::Path;
use std::sync::Arc;

/// Sessions one client configuration remembers: a reader talks to one
/// host, and each TLS 1.3 ticket is used once.
const SESSIONS_REMEMBERED: usize = 8;

/// The CAs a client trusts, read once and shared by every configuration
/// made from them.
#[derive(Clone)]
pub struct ClientTls {
    ca: std::path::PathBuf,
    roots: Arc<RootCertStore>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

/// A client certificate and its key, read once.
pub struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    key_path: std::path::PathBuf,
    cert_path: std::path::PathBuf,
}

impl ClientIdentity {
    /// Reads a certificate chain and its key.
    pub fn load(cert: &Path, key: &Path) -> Result<Self, TlsFileError> {
        Ok(ClientIdentity {
            chain: files::certificates(cert, FileRole::Certificate)?,
            key: files::private_key(key)?,
            key_path: key.to_owned(),
            cert_path: cert.to_owned(),
        })
    }
}

impl ClientTls {
    /// Trusts the CA certificates in `ca` (PEM).
    pub fn trusting(ca: &Path) -> Result<Self, TlsFileError> {
        Ok(ClientTls {
            ca: ca.to_owned(),
            roots: Arc::new(files::root_store(ca, FileRole::TrustedCa)?),
            provider: crate::provider(),
        })
    }

    /// A configuration with a session cache of its own (none when
    /// `resume` is false: every handshake is a full one), presenting
    /// `identity` when given.
    pub fn config(
        &self,
        identity: Option<&ClientIdentity>,
        resume: bool,
    ) -> Result<Arc<ClientConfig>, TlsFileError> {
        let builder = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(crate::PROTOCOL_VERSIONS)
            .map_err(|error| {
                TlsFileError::new(
                    FileRole::TrustedCa,
                    &self.ca,
                    Problem::Refused(error.to_string()),
                )
            })?
            .with_root_certificates(Arc::clone(&self.roots));
        let mut config = match identity {
            None => builder.with_no_client_auth(),
            Some(identity) => builder
                .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
                .map_err(|error| {
                    let problem = match error {
                        rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch) => {
                            Problem::KeyMismatch(identity.cert_path.display().to_string())
                        }
                        other => Problem::Refused(other.to_string()),
                    };
                    TlsFileError::new(FileRole::PrivateKey, &identity.key_path, problem)
                })?,
        };
        config.resumption = if resume {
            Resumption::store(Arc::new(ClientSessionMemoryCache::new(SESSIONS_REMEMBERED)))
        } else {
            Resumption::disabled()
        };
        Ok(Arc::new(config))
    }
}
