//! One task per connection: frames in, answers out in the order the
//! requests arrived. Up to `max_in_flight` requests are being processed at
//! once (their store writes overlap in group commits); reading pauses while
//! that many wait, which is the connection's backpressure.

use crate::handle::{self, Dispatch, PendingAnswer};
use crate::metrics::CloseReason;
use crate::shutdown::Shutdown;
use crate::state::HostState;
use bytes::Bytes;
use futures_util::stream::FuturesOrdered;
use futures_util::{SinkExt, StreamExt};
use mpos_domain::rules::Session;
use mpos_iso8583::{FrameCodec, FrameError};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// Serves one connection until the peer leaves, the stream turns
/// untrustworthy, it idles out, or the host shuts down; what is in flight
/// is answered before it ends.
pub(crate) async fn run(
    state: Arc<HostState>,
    socket: TcpStream,
    peer: SocketAddr,
    mut shutdown: Shutdown,
) {
    // Answers are small and latency matters more than packet count.
    let _ = socket.set_nodelay(true);
    let mut framed = Framed::new(socket, FrameCodec::new(state.config.max_frame));
    let mut pending: FuturesOrdered<PendingAnswer> = FuturesOrdered::new();
    // The connection-bound sign-on.
    let mut session: Option<Session> = None;
    let max_in_flight = state.config.max_in_flight.max(1);
    let idle = state.config.idle_timeout;
    let mut reading = true;
    loop {
        if !reading && pending.is_empty() {
            break;
        }
        tokio::select! {
            // Answer first: it frees room for more requests.
            biased;
            Some(answer) = pending.next(), if !pending.is_empty() => {
                state.metrics.record(answer.mti, answer.code, answer.received.elapsed());
                // Device, STAN, MTI and code: never card data.
                tracing::debug!(
                    %peer,
                    device = ?session.as_ref().map(|s| s.device.as_str()),
                    stan = ?answer.stan.as_ref().map(|s| s.as_str()),
                    mti = %answer.mti,
                    code = %answer.code,
                    "answered"
                );
                if framed.feed(answer.bytes).await.is_err() {
                    break;
                }
                if pending.is_empty() && SinkExt::<Bytes>::flush(&mut framed).await.is_err() {
                    break;
                }
            }
            () = shutdown.started(), if reading => reading = false,
            next = tokio::time::timeout(idle, framed.next()), if reading && pending.len() < max_in_flight => {
                match next {
                    Err(_elapsed) if pending.is_empty() => {
                        tracing::info!(%peer, "idle: closing the connection");
                        state.metrics.closed_by_host(CloseReason::Idle);
                        reading = false;
                    }
                    Err(_elapsed) => {}
                    Ok(None) => reading = false,
                    Ok(Some(Err(FrameError::Io(error)))) => {
                        tracing::debug!(%peer, %error, "connection lost");
                        reading = false;
                    }
                    Ok(Some(Err(error))) => {
                        tracing::warn!(%peer, %error, "bad length header: closing the connection");
                        state.metrics.closed_by_host(CloseReason::BadFrame);
                        reading = false;
                    }
                    Ok(Some(Ok(frame))) => match handle::dispatch(&state, &mut session, frame.freeze()).await {
                        Dispatch::Answer(answer) => pending.push_back(answer),
                        Dispatch::Close(reason) => {
                            state.metrics.closed_by_host(reason);
                            reading = false;
                        }
                    },
                }
            }
        }
    }
    let _ = SinkExt::<Bytes>::flush(&mut framed).await;
}
