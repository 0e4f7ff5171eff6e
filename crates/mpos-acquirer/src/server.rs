//! The accept loop: the connection slots (`slots.rs`) cap the connections
//! served at once (more wait in the listen backlog) and those not signed on
//! (past their quarter, a new connection is closed at once), each
//! connection gets its task, accept errors back off instead of spinning,
//! and shutdown stops accepting and waits for every connection to answer
//! what it has in flight.
//!
//! With TLS, the handshake runs in the connection's task (a slow client
//! never stalls the loop), within [`HANDSHAKE_LIMIT`] and the sign-on
//! deadline; a connection whose handshake fails is closed having read
//! nothing above TLS.

use crate::connection;
use crate::peer::Certified;
use crate::shutdown::Shutdown;
use crate::slots::{SignOnClock, Slots};
use crate::state::HostState;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

/// The longest a TLS handshake may take (a device on a poor mobile link
/// completes one in a few round trips; a client that stalls it is closed).
pub const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// Why the host stopped other than by shutdown.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The listener's address could not be read.
    #[error("the ISO 8583 listener failed: {0}")]
    Listener(std::io::Error),
}

/// Serves ISO 8583 connections from `listener` (over TLS when `tls` is
/// given) until `shutdown` starts, then waits for the open connections to
/// finish their in-flight answers.
pub async fn serve(
    listener: TcpListener,
    state: Arc<HostState>,
    tls: Option<mpos_tls::TlsListener>,
    mut shutdown: Shutdown,
) -> Result<(), HostError> {
    let address = listener.local_addr().map_err(HostError::Listener)?;
    let transport = match &tls {
        None => "plain TCP",
        Some(tls) if tls.config.requires_client_certificates() => {
            "TLS, client certificates required"
        }
        Some(_) => "TLS",
    };
    tracing::info!(%address, transport, "ISO 8583 host listening");
    let slots = Slots::new(state.config.max_connections, Arc::clone(&state.metrics));
    let connections = TaskTracker::new();
    let mut backoff = Duration::from_millis(10);
    loop {
        let permit = tokio::select! {
            permit = slots.connection() => match permit {
                Some(permit) => permit,
                None => break,
            },
            () = shutdown.started() => break,
        };
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!(%error, "accept failed; backing off");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
            () = shutdown.started() => break,
        };
        backoff = Duration::from_millis(10);
        // Past the quarter, closed at once: dropping the socket ends it
        // before it costs more than this accept.
        let Some(unsigned) = slots.unsigned() else {
            drop(socket);
            slots.refused();
            continue;
        };
        let sign_on = SignOnClock::start(Arc::clone(&slots), unsigned, state.config.signon_timeout);
        let state = Arc::clone(&state);
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            state.metrics.connection_opened();
            serve_connection(state.clone(), socket, peer, tls, sign_on, shutdown).await;
            state.metrics.connection_closed();
            drop(permit);
        });
    }
    connections.close();
    connections.wait().await;
    tracing::info!("ISO 8583 host stopped; every connection answered what it had in flight");
    Ok(())
}

/// One accepted connection: the TLS handshake first when the listener
/// speaks TLS, then the ISO 8583 conversation.
async fn serve_connection(
    state: Arc<HostState>,
    socket: TcpStream,
    peer: SocketAddr,
    tls: Option<mpos_tls::TlsListener>,
    sign_on: SignOnClock,
    shutdown: Shutdown,
) {
    // Answers are small and latency matters more than packet count.
    let _ = socket.set_nodelay(true);
    let Some(tls) = tls else {
        connection::run(state, socket, peer, Certified::Nothing, sign_on, shutdown).await;
        return;
    };
    let limit = Instant::now() + HANDSHAKE_LIMIT;
    let deadline = sign_on
        .deadline()
        .map_or(limit, |deadline| deadline.min(limit));
    match tls.accept(socket, deadline).await {
        Ok(accepted) => {
            let certified = if tls.config.requires_client_certificates() {
                Certified::Serial(accepted.client_name)
            } else {
                Certified::Nothing
            };
            // Counted as open under its TLS version while it lasts.
            let _open = accepted.open;
            connection::run(state, accepted.stream, peer, certified, sign_on, shutdown).await;
        }
        // Per connection at DEBUG (the metrics count them by reason): a
        // scanner would otherwise flood the log.
        Err(reason) => tracing::debug!(%peer, reason = reason.label(), "TLS handshake failed"),
    }
}
