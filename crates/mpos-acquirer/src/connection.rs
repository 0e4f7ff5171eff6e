//! One task per connection, over TCP or TLS alike: frames in, answers out in the order the
//! requests arrived. Up to `max_in_flight` requests are being processed at
//! once (their store writes overlap in group commits); reading pauses while
//! that many wait, which is the connection's backpressure.
//!
//! A connection not signed on is closed at its sign-on deadline, whatever
//! it sends meanwhile (`slots.rs`), and no connection waits longer than its
//! deadline (or, signed on, the idle timeout) for a peer that does not read
//! its answers: either would otherwise keep its slot forever.

use crate::handle::{self, Dispatch, PendingAnswer};
use crate::metrics::CloseReason;
use crate::peer::Certified;
use crate::shutdown::Shutdown;
use crate::slots::{SignOnClock, later};
use crate::state::HostState;
use bytes::Bytes;
use futures_util::stream::FuturesOrdered;
use futures_util::{SinkExt, StreamExt};
use mpos_domain::rules::Session;
use mpos_iso8583::{FrameCodec, FrameError};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, sleep_until, timeout_at};
use tokio_util::codec::Framed;

/// Serves one connection until the peer leaves, the stream turns
/// untrustworthy, it idles out, misses its sign-on deadline, or the host
/// shuts down; what is in flight is answered before it ends (but at the
/// sign-on deadline, which closes it at once).
pub(crate) async fn run<S>(
    state: Arc<HostState>,
    socket: S,
    peer: SocketAddr,
    certified: Certified,
    mut sign_on: SignOnClock,
    mut shutdown: Shutdown,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut framed = Framed::new(socket, FrameCodec::new(state.config.max_frame));
    let mut pending: FuturesOrdered<PendingAnswer> = FuturesOrdered::new();
    // The connection-bound sign-on.
    let mut session: Option<Session> = None;
    let max_in_flight = state.config.max_in_flight.max(1);
    let idle = state.config.idle_timeout;
    let mut reading = true;
    // Writing an answer waits for a peer that reads it at most this long.
    let write_limit = |sign_on: &SignOnClock| sign_on.deadline().unwrap_or_else(|| later(idle));
    loop {
        if !reading && pending.is_empty() {
            break;
        }
        let deadline = sign_on.deadline();
        tokio::select! {
            // The deadline first: a peer that keeps sending (echoes) must
            // not outrun it. Then answers: they free room for more requests.
            biased;
            () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                // Per connection at DEBUG: a flood would otherwise flood the log too
                // (the metrics count them).
                tracing::debug!(%peer, "not signed on by the sign-on deadline: closing the connection");
                state.metrics.closed_by_host(CloseReason::SignOnDeadline);
                return;
            }
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
                let limit = write_limit(&sign_on);
                if !matches!(timeout_at(limit, framed.feed(answer.bytes)).await, Ok(Ok(()))) {
                    tracing::debug!(%peer, "answer not taken: closing the connection");
                    break;
                }
                if pending.is_empty()
                    && !matches!(timeout_at(limit, SinkExt::<Bytes>::flush(&mut framed)).await, Ok(Ok(())))
                {
                    tracing::debug!(%peer, "answer not taken: closing the connection");
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
                    Ok(Some(Ok(frame))) => {
                        let was_signed_on = session.is_some();
                        match handle::dispatch(&state, &mut session, &certified, frame.freeze()).await {
                            Dispatch::Answer(answer) => pending.push_back(answer),
                            Dispatch::Close(reason) => {
                                state.metrics.closed_by_host(reason);
                                reading = false;
                            }
                        }
                        if !sign_on.follow(was_signed_on, session.is_some()) {
                            // Lost its binding with no unsigned slot free:
                            // answer what it sent, then close.
                            reading = false;
                        }
                    }
                }
            }
        }
    }
    let _ = timeout_at(write_limit(&sign_on), SinkExt::<Bytes>::flush(&mut framed)).await;
}
