//! The accept loop: the connection slots (`slots.rs`) cap the connections
//! served at once (more wait in the listen backlog) and those not signed on
//! (past their quarter, a new connection is closed at once), each
//! connection gets its task, accept errors back off instead of spinning,
//! and shutdown stops accepting and waits for every connection to answer
//! what it has in flight.

use crate::connection;
use crate::shutdown::Shutdown;
use crate::slots::{SignOnClock, Slots};
use crate::state::HostState;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

/// Why the host stopped other than by shutdown.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The listener's address could not be read.
    #[error("the ISO 8583 listener failed: {0}")]
    Listener(std::io::Error),
}

/// Serves ISO 8583 connections from `listener` until `shutdown` starts,
/// then waits for the open connections to finish their in-flight answers.
pub async fn serve(
    listener: TcpListener,
    state: Arc<HostState>,
    mut shutdown: Shutdown,
) -> Result<(), HostError> {
    let address = listener.local_addr().map_err(HostError::Listener)?;
    tracing::info!(%address, "ISO 8583 host listening");
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
        connections.spawn(async move {
            state.metrics.connection_opened();
            connection::run(Arc::clone(&state), socket, peer, sign_on, shutdown).await;
            state.metrics.connection_closed();
            drop(permit);
        });
    }
    connections.close();
    connections.wait().await;
    tracing::info!("ISO 8583 host stopped; every connection answered what it had in flight");
    Ok(())
}
