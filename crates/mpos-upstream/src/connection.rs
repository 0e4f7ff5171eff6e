//! The link's one connection: a supervisor that connects to the first
//! address that accepts (in list order), signs on, and after a loss waits
//! out the backoff and tries the list again; and, per connection, a writer
//! task fed by a channel (requests are never serialised behind each other's
//! answers) and a reader loop that routes answers to their waiters,
//! answers the processor's own 0800s and sends an echo after silence.

use crate::backoff::Backoff;
use crate::link::{LinkError, Shared, Up};
use crate::message::{self, NETWORK, Outgoing, Reply};
use crate::pending::LinkStan;
use bytes::{Bytes, BytesMut};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use mpos_iso8583::{FrameCodec, FrameError};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_util::codec::Framed;

/// Requests queued for the writer; past this, senders wait (backpressure).
const OUTBOX: usize = 4096;

/// Frames written before a flush, at most: many small requests share a
/// write system call under load, and none waits long for its flush.
const BATCH: usize = 64;

/// Keeps one connection to the processor for as long as the link lives.
pub(crate) async fn supervise(shared: Arc<Shared>) {
    let mut backoff = Backoff::new(shared.config.reconnect_max);
    loop {
        for address in &shared.config.hosts {
            let signed_on = match connect(&shared, address).await {
                Ok(stream) => match &shared.config.tls {
                    None => run(&shared, stream, address).await,
                    Some(tls) => match handshake(&shared, tls, stream).await {
                        Ok(stream) => run(&shared, stream, address).await,
                        Err(error) => {
                            shared.faults.failed(&format_args!("{address}: {error}"));
                            false
                        }
                    },
                },
                Err(error) => {
                    shared.faults.failed(&format_args!("{address}: {error}"));
                    false
                }
            };
            if signed_on {
                // It was up, then lost: back to the first address, soon.
                backoff.reset();
                break;
            }
        }
        tokio::time::sleep(backoff.next_wait()).await;
    }
}

/// Why an address could not be used.
#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error("connecting failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("no connection within the timeout")]
    Timeout,
    #[error("TLS handshake failed: {0}")]
    Handshake(std::io::Error),
    #[error("no TLS handshake within the timeout")]
    HandshakeTimeout,
}

/// The TLS handshake on a new connection, bounded by the timeout.
async fn handshake(
    shared: &Shared,
    tls: &crate::link::LinkTls,
    stream: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ConnectError> {
    tokio::time::timeout(
        shared.config.timeout,
        tls.connector.connect(tls.server_name.clone(), stream),
    )
    .await
    .map_err(|_| ConnectError::HandshakeTimeout)?
    .map_err(ConnectError::Handshake)
}

async fn connect(shared: &Shared, address: &str) -> Result<TcpStream, ConnectError> {
    let stream = tokio::time::timeout(shared.config.timeout, TcpStream::connect(address))
        .await
        .map_err(|_| ConnectError::Timeout)??;
    // Requests are small and latency matters more than packet count.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// What the connection's helper tasks report to its loop.
enum Event {
    SignedOn,
    SignOnRefused(String),
    EchoAnswered,
    EchoFailed(LinkError),
}

/// Serves one connection until it is lost or fails its sign-on or an echo;
/// whether it was signed on at some point.
async fn run<S>(shared: &Arc<Shared>, stream: S, address: &str) -> bool
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    shared.metrics.connected();
    tracing::info!(%address, "connected to the processor: signing on");
    let (sink, mut frames) = Framed::new(stream, FrameCodec::new(shared.config.max_frame)).split();
    let (outbox, queued) = mpsc::channel::<Bytes>(OUTBOX);
    let mut writer = tokio::spawn(write_loop(sink, queued));
    let (events_tx, mut events) = mpsc::channel::<Event>(4);
    spawn_sign_on(shared, &outbox, events_tx.clone());

    let mut signed_on = false;
    let mut echo_in_flight = false;
    let mut last_received = Instant::now();
    let echo_interval = shared.config.echo_interval;
    loop {
        tokio::select! {
            frame = frames.next() => match frame {
                Some(Ok(frame)) => {
                    last_received = Instant::now();
                    incoming(shared, &outbox, frame);
                }
                Some(Err(FrameError::Io(error))) => {
                    tracing::warn!(%address, %error, "connection to the processor lost");
                    break;
                }
                Some(Err(error)) => {
                    tracing::warn!(%address, %error, "bad frame from the processor: dropping the connection");
                    break;
                }
                None => {
                    tracing::warn!(%address, "the processor closed the connection");
                    break;
                }
            },
            Some(event) = events.recv() => match event {
                Event::SignedOn => {
                    signed_on = true;
                    *shared.up() = Some(Up { address: address.to_owned(), outbox: outbox.clone() });
                    shared.faults.succeeded();
                    tracing::info!(%address, "signed on to the processor: the link is up");
                }
                Event::SignOnRefused(why) => {
                    shared.metrics.sign_on_failed();
                    shared.faults.failed(&format_args!("{address}: sign-on {why}"));
                    break;
                }
                Event::EchoAnswered => echo_in_flight = false,
                Event::EchoFailed(error) => {
                    tracing::warn!(%address, %error, "echo not answered: dropping the connection");
                    break;
                }
            },
            () = sleep_until(last_received + echo_interval), if signed_on && !echo_in_flight => {
                echo_in_flight = true;
                spawn_echo(shared, &outbox, events_tx.clone());
            }
            result = &mut writer => {
                if let Ok(Err(error)) = result {
                    tracing::warn!(%address, %error, "writing to the processor failed");
                }
                break;
            }
        }
    }
    *shared.up() = None;
    writer.abort();
    // Whatever was sent on this connection will never be answered on it.
    let lost = shared.table().drain_sent();
    if !lost.is_empty() {
        shared.metrics.lost(lost.len());
    }
    drop(lost);
    if signed_on {
        shared
            .faults
            .failed(&format_args!("{address}: connection lost"));
    }
    signed_on
}

fn spawn_sign_on(shared: &Arc<Shared>, outbox: &mpsc::Sender<Bytes>, events: mpsc::Sender<Event>) {
    let shared = Arc::clone(shared);
    let outbox = outbox.clone();
    tokio::spawn(async move {
        let message = message::sign_on(&shared.config.acquirer_id);
        let event = match exchange(&shared, outbox, &message).await {
            Ok(reply) if reply.response_code() == Some("00") => Event::SignedOn,
            Ok(reply) => Event::SignOnRefused(format!(
                "answered {}",
                reply.response_code().unwrap_or("without DE 39")
            )),
            Err(error) => Event::SignOnRefused(error.to_string()),
        };
        let _ = events.send(event).await;
    });
}

fn spawn_echo(shared: &Arc<Shared>, outbox: &mpsc::Sender<Bytes>, events: mpsc::Sender<Event>) {
    let shared = Arc::clone(shared);
    let outbox = outbox.clone();
    tokio::spawn(async move {
        let event = match exchange(&shared, outbox, &message::echo()).await {
            Ok(_) => Event::EchoAnswered,
            Err(error) => Event::EchoFailed(error),
        };
        let _ = events.send(event).await;
    });
}

async fn exchange(
    shared: &Arc<Shared>,
    outbox: mpsc::Sender<Bytes>,
    message: &Outgoing,
) -> Result<Reply, LinkError> {
    let reservation = shared.reserve_on(outbox)?;
    shared.exchange(reservation, message).await
}

/// One frame from the processor: its own 0800 is answered, an answer goes
/// to the request it matches, anything else is logged and dropped.
fn incoming(shared: &Shared, outbox: &mpsc::Sender<Bytes>, frame: BytesMut) {
    let layout = &shared.config.layout;
    let message = match layout.decode(&frame) {
        Ok(message) => message,
        Err(error) => {
            tracing::warn!(%error, "unreadable message from the processor dropped");
            return;
        }
    };
    let mti = message.mti();
    if mti == NETWORK {
        match message::network_answer(layout, &message) {
            // A full outbox means the connection is stuck: the echo
            // timeout will drop it.
            Ok(answer) => {
                let _ = outbox.try_send(answer);
            }
            Err(error) => tracing::warn!(%error, "the processor's 0800 could not be answered"),
        }
        return;
    }
    if !message::is_answer(mti) {
        tracing::warn!(%mti, "unexpected request from the processor dropped");
        return;
    }
    let stan = message.text(11);
    let rrn = message.text(37);
    let matched = stan
        .as_deref()
        .and_then(LinkStan::parse)
        .ok_or(crate::pending::Unmatched::NoSuchStan)
        .and_then(|stan| shared.table().take(stan, rrn.as_deref()));
    match matched {
        Ok(waiter) => {
            // The waiter may have timed out just now: then nobody listens.
            let _ = waiter.send(Reply::of(&message));
            shared.unmatched.succeeded();
        }
        Err(why) => {
            shared.metrics.unmatched();
            // Late answers come in runs when the processor is slow: one
            // line when they start, every 10 s and at the end, not one each.
            tracing::debug!(%mti, stan = ?stan, rrn = ?rrn, ?why, "answer from the processor matches no request: dropped");
            shared.unmatched.failed(&format_args!(
                "{mti} with DE 11 {} matches no request ({why:?}): dropped",
                stan.as_deref().unwrap_or("-")
            ));
        }
    }
}

/// Writes queued frames, flushing after each batch.
async fn write_loop<S>(
    mut sink: SplitSink<Framed<S, FrameCodec>, Bytes>,
    mut queued: mpsc::Receiver<Bytes>,
) -> Result<(), FrameError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(first) = queued.recv().await {
        sink.feed(first).await?;
        for _ in 1..BATCH {
            match queued.try_recv() {
                Ok(more) => sink.feed(more).await?,
                Err(_) => break,
            }
        }
        sink.flush().await?;
    }
    Ok(())
}
