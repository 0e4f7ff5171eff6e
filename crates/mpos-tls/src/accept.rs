//! One server handshake, bounded in time and counted: what both TLS
//! listeners (the device link and the cabinet) run on every connection
//! before anything else reads from it.

use crate::metrics::{HandshakeFailure, OpenConnection, TlsMetrics};
use crate::peer;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A connection whose handshake completed.
pub struct Accepted<S> {
    /// The decrypted stream.
    pub stream: TlsStream<S>,
    /// The subject common name of the client's verified certificate
    /// (mutual TLS), or `None`.
    pub client_name: Option<String>,
    /// Counts the connection as open under its protocol version until
    /// dropped: keep it as long as the connection.
    pub open: OpenConnection,
}

/// Runs the server handshake on `stream`, giving up at `deadline`; counts
/// the outcome in `metrics`.
pub async fn accept<S>(
    acceptor: &TlsAcceptor,
    stream: S,
    deadline: Instant,
    metrics: &Arc<TlsMetrics>,
) -> Result<Accepted<S>, HandshakeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let handshake = tokio::time::timeout_at(deadline, acceptor.accept(stream)).await;
    let stream = match handshake {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            let reason = HandshakeFailure::of(&error);
            metrics.failed(reason);
            return Err(reason);
        }
        Err(_elapsed) => {
            metrics.failed(HandshakeFailure::Timeout);
            return Err(HandshakeFailure::Timeout);
        }
    };
    let connection = stream.get_ref().1;
    let client_name = connection
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(peer::common_name);
    let open = metrics.established(connection.protocol_version(), connection.handshake_kind());
    Ok(Accepted {
        stream,
        client_name,
        open,
    })
}

/// A TLS listener's configuration (reloadable) and its counters, as the
/// accept loops hold them.
#[derive(Clone)]
pub struct TlsListener {
    /// The configuration new handshakes use.
    pub config: Arc<crate::ReloadableServerTls>,
    /// The listener's handshake counters.
    pub metrics: Arc<TlsMetrics>,
}

impl TlsListener {
    /// A listener with `config` and fresh counters.
    pub fn new(config: Arc<crate::ReloadableServerTls>) -> Self {
        TlsListener {
            config,
            metrics: Arc::new(TlsMetrics::default()),
        }
    }

    /// Reads the files again (SIGHUP), counting the outcome: on error the
    /// configuration in force stays, and the error names the file.
    pub fn reload(&self) -> Result<(), crate::TlsFileError> {
        let outcome = self.config.reload();
        self.metrics.reloaded(outcome.is_ok());
        outcome
    }

    /// Runs the server handshake on `stream` with the configuration in
    /// force now, giving up at `deadline`.
    pub async fn accept<S>(
        &self,
        stream: S,
        deadline: Instant,
    ) -> Result<Accepted<S>, HandshakeFailure>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        accept(&self.config.acceptor(), stream, deadline, &self.metrics).await
    }
}
