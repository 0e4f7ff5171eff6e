//! The HTTP listeners (the cabinet's and the metrics'): an axum router served
//! over hyper's HTTP/1.1 with the limits `axum::serve` does not have, so that
//! no number of HTTP clients can take what the ISO 8583 host needs:
//!
//! - at most `max_connections` connections at once: a slot is taken before
//!   `accept`, so the rest wait in the listen backlog and cost no file;
//! - a request's headers must arrive within `header_timeout` of its first
//!   byte (and a new connection's first request within `header_timeout`);
//! - a kept-alive connection with no bytes either way for `idle_timeout` is
//!   closed (see [`watchdog`] for why hyper's own header timer is not used);
//! - graceful shutdown: no new connections, idle ones closed, requests in
//!   flight answered;
//! - HTTPS when configured ([`https`]): the handshake runs in the
//!   connection's own task within the header time, never in the accept
//!   loop, and every answer carries `Strict-Transport-Security`.
//!
//! Every request carries `axum::extract::ConnectInfo<SocketAddr>` (the
//! peer), as `Router::into_make_service_with_connect_info` would add it.

pub mod https;
mod watchdog;

use axum::Router;
use axum::extract::ConnectInfo;
use https::Https;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mpos_acquirer::Shutdown;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt as _;
use watchdog::{Activity, Watched};

/// The limits of one HTTP listener.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Time from a request's first byte (or a new connection) to the end of
    /// its headers.
    pub header_timeout: Duration,
    /// Time a kept-alive connection may stay silent between requests.
    pub idle_timeout: Duration,
}

/// How long the accept loop waits after a failed `accept` (out of files, for
/// one): the error repeats at once otherwise, and the loop would spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` within `limits` until `shutdown` starts,
/// then stops accepting and returns once every connection has ended: over
/// HTTPS only when `https` is given, plain HTTP otherwise. `what` names the
/// listener in the log.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    https: Option<Https>,
    mut shutdown: Shutdown,
    what: &'static str,
) {
    let router = match https {
        Some(_) => https::with_hsts(router),
        None => router,
    };
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    let mut last_accept_warning: Option<tokio::time::Instant> = None;
    loop {
        // The slot first: past the limit, clients wait in the backlog
        // instead of holding a file each.
        let slot = tokio::select! {
            () = shutdown.started() => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_closed) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = shutdown.started() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // At most one warning a second: a flood must not become
                    // a flood of log lines.
                    let now = tokio::time::Instant::now();
                    if last_accept_warning
                        .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
                    {
                        tracing::warn!("{what}: cannot accept a connection: {error}");
                        last_accept_warning = Some(now);
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        connections.spawn(connection(
            stream,
            peer,
            router.clone(),
            limits,
            https.clone(),
            shutdown.clone(),
            slot,
        ));
        // Reap the finished ones so the set stays as small as the open ones.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Serves one connection (after its TLS handshake when `https` is given)
/// until the client closes it, the watchdog finds it too slow or idle, or
/// shutdown lets it finish; `_slot` is given back when it ends.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: HttpLimits,
    https: Option<Https>,
    mut shutdown: Shutdown,
    _slot: OwnedSemaphorePermit,
) {
    // Born at the accept: the handshake and the first request's headers
    // share the header time, as a plain connection's first request has it.
    let activity = Arc::new(Activity::new());
    let Some(https) = https else {
        return serve_http(stream, peer, router, limits, activity, shutdown).await;
    };
    let deadline = tokio::time::Instant::now() + limits.header_timeout;
    let accepted = tokio::select! {
        accepted = https.accept(stream, deadline) => accepted,
        // Not yet a client of ours: nothing in flight to finish.
        () = shutdown.started() => return,
    };
    match accepted {
        Ok(accepted) => {
            // Counted as an open TLS connection until it ends.
            let _open = accepted.open;
            serve_http(accepted.stream, peer, router, limits, activity, shutdown).await;
        }
        Err(reason) => {
            tracing::debug!(%peer, reason = reason.label(), "TLS handshake failed");
        }
    }
}

/// Serves HTTP/1.1 on `stream` (plain, or decrypted TLS) under the
/// watchdog of `activity`.
async fn serve_http<S>(
    stream: S,
    peer: SocketAddr,
    router: Router,
    limits: HttpLimits,
    activity: Arc<Activity>,
    mut shutdown: Shutdown,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(Watched::new(stream, Arc::clone(&activity)));
    let requests = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let handling = requests.request_started();
        let router = router.clone();
        async move {
            let answer = router.oneshot(request).await;
            drop(handling);
            answer
        }
    });
    let mut http1 = hyper::server::conn::http1::Builder::new();
    // hyper's header timer restarts the moment an answer is written, so it
    // would also close kept-alive connections after `header_timeout`: the
    // watchdog keeps both limits instead.
    http1.header_read_timeout(None);
    let served = http1.serve_connection(io, service);
    tokio::pin!(served);
    let mut draining = false;
    loop {
        tokio::select! {
            result = served.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, "HTTP connection ended: {error}");
                }
                return;
            }
            () = watchdog::expired(&activity, limits) => {
                // Dropping the connection closes the socket.
                tracing::debug!(%peer, "HTTP connection closed: headers too slow or idle too long");
                return;
            }
            () = shutdown.started(), if !draining => {
                served.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The router gets the peer's address as `into_make_service_with_connect_info`
    /// would give it: the cabinet limits logins per client address by it.
    #[tokio::test]
    async fn handlers_get_the_peers_address() {
        let router = Router::new().route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (shutdown, stop) = Shutdown::new();
        let limits = HttpLimits {
            max_connections: 4,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        };
        let server = tokio::spawn(serve(listener, router, limits, None, shutdown, "test"));
        let mut client = TcpStream::connect(address).await.unwrap();
        let me = client.local_addr().unwrap();
        client
            .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(&me.to_string()), "{answer}");
        stop();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("shutdown ends the listener")
            .unwrap();
    }
}
