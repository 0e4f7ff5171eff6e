//! The server side: a rustls configuration from a certificate chain, its
//! key and, for mutual TLS, the CA whose client certificates are accepted;
//! and a holder that reads the files again on demand (SIGHUP) without
//! touching connections already open.

use crate::files::{self, FileRole, Problem, TlsFileError};
use crate::tickets::TicketKeys;
use arc_swap::ArcSwap;
use rustls::server::{ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::{InconsistentKeys, ServerConfig};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// TLS 1.2 sessions remembered by ID for clients without ticket support
/// (TLS 1.3 and ticket-capable 1.2 clients resume by stateless tickets,
/// which cost the server no memory): a reconnect storm of this many
/// readers resumes instead of paying full handshakes.
const SESSION_IDS_REMEMBERED: usize = 16_384;

/// The files a TLS listener is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// The certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// For mutual TLS: the CA certificates whose client certificates are
    /// accepted (PEM). Without it, no client certificate is asked for.
    pub client_ca: Option<PathBuf>,
}

/// Builds a server configuration: TLS 1.3 and 1.2 only, the files' chain
/// and key (which must match), client certificates required from
/// `client_ca` when set, stateless session tickets (under `tickets`' keys,
/// which outlive the process, or under keys of this configuration's own),
/// and `alpn` offered (empty: none).
pub fn server_config(
    files: &ServerTlsFiles,
    alpn: &[&[u8]],
    tickets: Option<&Arc<TicketKeys>>,
) -> Result<Arc<ServerConfig>, TlsFileError> {
    let chain = files::certificates(&files.cert, FileRole::Certificate)?;
    let key = files::private_key(&files.key)?;
    let provider = crate::provider();
    let refused = |role, path: &PathBuf, error: rustls::Error| {
        TlsFileError::new(role, path, Problem::Refused(error.to_string()))
    };
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(crate::PROTOCOL_VERSIONS)
        .map_err(|error| refused(FileRole::Certificate, &files.cert, error))?;
    let builder =
        match &files.client_ca {
            Some(ca) => {
                let roots = files::root_store(ca, FileRole::ClientCa)?;
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|error| {
                    TlsFileError::new(FileRole::ClientCa, ca, Problem::Refused(error.to_string()))
                })?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|error| match error {
            rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch) => TlsFileError::new(
                FileRole::PrivateKey,
                &files.key,
                Problem::KeyMismatch(files.cert.display().to_string()),
            ),
            other => refused(FileRole::PrivateKey, &files.key, other),
        })?;
    // Tickets are bound to the client CA: after a rotation to another CA,
    // a session from before it cannot be resumed past the new one.
    config.ticketer = match tickets {
        Some(keys) => keys.ticketer(client_ca_context(files)),
        None => rustls::crypto::ring::Ticketer::new()
            .map_err(|error| refused(FileRole::Certificate, &files.cert, error))?,
    };
    config.session_storage = ServerSessionMemoryCache::new(SESSION_IDS_REMEMBERED);
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    Ok(Arc::new(config))
}

/// What session tickets are bound to: the client CA file's contents (or
/// its absence).
fn client_ca_context(files: &ServerTlsFiles) -> [u8; 32] {
    let contents = files
        .client_ca
        .as_ref()
        .and_then(|ca| std::fs::read(ca).ok())
        .unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, &contents);
    let mut context = [0u8; 32];
    context.copy_from_slice(digest.as_ref());
    context
}

/// A listener's TLS configuration, read again from the same files on
/// [`reload`](Self::reload): new handshakes use whatever was last loaded
/// well; connections already open keep the configuration they started
/// with; files that fail to load leave the current configuration in force.
pub struct ReloadableServerTls {
    files: ServerTlsFiles,
    alpn: Vec<Vec<u8>>,
    tickets: Option<Arc<TicketKeys>>,
    current: ArcSwap<ServerConfig>,
}

impl std::fmt::Debug for ReloadableServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadableServerTls")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl ReloadableServerTls {
    /// Loads the files once; an error names the file at fault. Session
    /// tickets are under keys of the process's own (a restart voids them).
    pub fn load(files: ServerTlsFiles, alpn: &[&[u8]]) -> Result<Self, TlsFileError> {
        Self::load_with_tickets(files, alpn, None)
    }

    /// [`load`](Self::load), with session tickets under `tickets`' keys,
    /// which a restart keeps.
    pub fn load_with_tickets(
        files: ServerTlsFiles,
        alpn: &[&[u8]],
        tickets: Option<Arc<TicketKeys>>,
    ) -> Result<Self, TlsFileError> {
        let config = server_config(&files, alpn, tickets.as_ref())?;
        Ok(ReloadableServerTls {
            files,
            alpn: alpn.iter().map(|protocol| protocol.to_vec()).collect(),
            tickets,
            current: ArcSwap::new(config),
        })
    }

    /// Reads the files again; on success new handshakes use them, on error
    /// nothing changes and the error says which file is at fault.
    pub fn reload(&self) -> Result<(), TlsFileError> {
        let alpn: Vec<&[u8]> = self.alpn.iter().map(Vec::as_slice).collect();
        let config = server_config(&self.files, &alpn, self.tickets.as_ref())?;
        self.current.store(config);
        Ok(())
    }

    /// An acceptor with the configuration in force now.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.current.load_full())
    }

    /// Whether client certificates are required (mutual TLS).
    pub fn requires_client_certificates(&self) -> bool {
        self.files.client_ca.is_some()
    }

    /// The files, as configured.
    pub fn files(&self) -> &ServerTlsFiles {
        &self.files
    }
}
