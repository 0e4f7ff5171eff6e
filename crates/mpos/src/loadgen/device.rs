//! One simulated Android app: connect, sign on (by the ticket of its last
//! 0810 when it has one, else by password), send payments until the
//! deadline, and — when the connection drops — reconnect with backoff and
//! resume by ticket, as the app does after a host restart or failover.

use super::Settings;
use super::backoff::Backoff;
use super::pacing::Pacing;
use super::requests::{Credential, Requests, Sent};
use super::totals::Totals;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use mpos_iso8583::FrameCodec;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::codec::{FramedRead, FramedWrite};

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long past the deadline a device waits for the answers still due
/// before it counts them as lost: a host that stops answering must not keep
/// the run from ending.
const ANSWER_GRACE: Duration = Duration::from_secs(5);

/// The reading half of a connection, plain or TLS.
type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
/// The writing half of a connection, plain or TLS.
type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// A connection to the host, its halves apart so that a device can read
/// answers while it waits for its next request to fall due.
pub(super) struct Connection {
    reader: FramedRead<ReadHalf, FrameCodec>,
    writer: FramedWrite<WriteHalf, FrameCodec>,
}

impl Connection {
    /// Connects to host `host` (its index in `--iso`), completing the TLS
    /// handshake with `tls` when given, giving up at `deadline` or after
    /// [`CONNECT_TIMEOUT`]. TLS handshakes are counted in `totals`.
    pub(super) async fn open(
        settings: &Settings,
        host: usize,
        tls: Option<&mpos_tls::TlsConnector>,
        totals: &Totals,
        deadline: Instant,
    ) -> Option<Self> {
        let until = deadline.min(Instant::now() + CONNECT_TIMEOUT);
        let address = settings.hosts.address(host);
        let socket = tokio::time::timeout_at(until, TcpStream::connect(address))
            .await
            .ok()?
            .ok()?;
        let _ = socket.set_nodelay(true);
        let server_name = settings
            .tls
            .as_ref()
            .and_then(|run_tls| run_tls.server_name(host));
        let (read, write): (ReadHalf, WriteHalf) = match (tls, server_name) {
            (Some(connector), Some(server_name)) => {
                let handshake = connector.connect(server_name.clone(), socket);
                let Ok(Ok(stream)) = tokio::time::timeout_at(until, handshake).await else {
                    // One cut short by the end of the run is no failure.
                    if Instant::now() < deadline {
                        totals.tls_failures.fetch_add(1, Ordering::Relaxed);
                    }
                    return None;
                };
                totals.tls_handshake(stream.get_ref().1.handshake_kind());
                let (read, write) = tokio::io::split(stream);
                (Box::new(read), Box::new(write))
            }
            _ => {
                let (read, write) = socket.into_split();
                (Box::new(read), Box::new(write))
            }
        };
        Some(Connection {
            reader: FramedRead::with_capacity(read, FrameCodec::default(), 512),
            writer: FramedWrite::new(write, FrameCodec::default()),
        })
    }

    /// The reading and writing halves.
    pub(super) fn into_parts(
        self,
    ) -> (
        FramedRead<ReadHalf, FrameCodec>,
        FramedWrite<WriteHalf, FrameCodec>,
    ) {
        (self.reader, self.writer)
    }

    /// Sends one message and reads one answer, giving up at `deadline`.
    pub(super) async fn exchange(&mut self, message: Bytes, deadline: Instant) -> Option<Bytes> {
        tokio::time::timeout_at(deadline, async {
            self.writer.send(message).await.ok()?;
            self.reader.next().await?.ok().map(|frame| frame.freeze())
        })
        .await
        .ok()
        .flatten()
    }
}

/// Device `index` measuring TLS handshakes (`--handshakes`) until the
/// deadline: connect, handshake, one echo (which also takes in the
/// session tickets a TLS 1.3 host sends after the handshake, so the next
/// connection can resume), disconnect; again.
pub(super) async fn handshakes(index: u32, settings: Arc<Settings>, totals: Arc<Totals>) {
    let tls = settings.tls.as_ref().and_then(|tls| tls.device(index));
    let deadline = settings.deadline;
    let mut requests = Requests::new(&settings.serials.nth(index));
    let mut backoff = Backoff::new(u64::from(index));
    let host = settings.hosts.first_for(index);
    while Instant::now() < deadline {
        let answered = match Connection::open(&settings, host, tls, &totals, deadline).await {
            Some(mut connection) => {
                let echo = requests.echo(&settings);
                connection.exchange(echo, deadline).await.is_some()
            }
            None => false,
        };
        if answered {
            backoff.reset();
        } else if Instant::now() < deadline {
            totals.connect_failures.fetch_add(1, Ordering::Relaxed);
            if !backoff.wait(deadline).await {
                break;
            }
        }
    }
}

/// What a sign-on came to.
enum SignOn {
    /// Signed on (the new ticket kept).
    Done,
    /// The password was refused: an app would ask its user, so the device stops.
    Refused,
    /// The connection failed before an answer.
    Lost,
}

/// How a session on one connection ended.
enum Ended {
    /// The run is over and every answer is in.
    Deadline,
    /// The connection dropped.
    Dropped,
}

/// One device's state across its connections.
struct Device {
    serial: String,
    ticket: Option<String>,
    requests: Requests,
    pacing: Pacing,
    settings: Arc<Settings>,
    totals: Arc<Totals>,
}

/// Runs device `index` until the deadline, across as many connections as it takes.
pub(super) async fn run(index: u32, settings: Arc<Settings>, totals: Arc<Totals>) {
    let serial = settings.serials.nth(index);
    let seed = u64::from(super::requests::serial_hash(&serial)) ^ u64::from(index) << 32;
    let mut device = Device {
        requests: Requests::new(&serial),
        pacing: Pacing::new(settings.rate, index, settings.devices, settings.started),
        serial,
        ticket: None,
        settings,
        totals,
    };
    let deadline = device.settings.deadline;
    let mut backoff = Backoff::new(seed);
    let (mut ever_signed_on, mut away) = (false, false);
    let settings = Arc::clone(&device.settings);
    let tls = settings.tls.as_ref().and_then(|tls| tls.device(index));
    let mut host = settings.hosts.first_for(index);
    while Instant::now() < deadline {
        let Some(mut connection) =
            Connection::open(&settings, host, tls, &device.totals, deadline).await
        else {
            device
                .totals
                .connect_failures
                .fetch_add(1, Ordering::Relaxed);
            fail_over(&settings, &mut host, &device.totals);
            if backoff.wait(deadline).await {
                continue;
            }
            break;
        };
        if away {
            device.totals.reconnected();
        }
        match device.sign_on(&mut connection, deadline).await {
            SignOn::Done => backoff.reset(),
            SignOn::Refused => break,
            SignOn::Lost => {
                fail_over(&settings, &mut host, &device.totals);
                if backoff.wait(deadline).await {
                    continue;
                }
                break;
            }
        }
        if !ever_signed_on {
            ever_signed_on = true;
            device.totals.first_sign_on();
        }
        if std::mem::take(&mut away) {
            device.totals.resumed();
        }
        match device.session(connection).await {
            Ended::Deadline => break,
            Ended::Dropped => {
                away = true;
                device.totals.dropped();
                fail_over(&settings, &mut host, &device.totals);
                if !backoff.wait(deadline).await {
                    break;
                }
            }
        }
    }
    if !ever_signed_on {
        // As before reconnection existed: a device that never got to pay is an error.
        device.totals.errors.fetch_add(1, Ordering::Relaxed);
    }
}

/// A host failed the device (no connection, or it dropped): the next
/// attempt goes to the next host, when there is another.
fn fail_over(settings: &Settings, host: &mut usize, totals: &Totals) {
    if let Some(next) = settings.hosts.next(*host) {
        *host = next;
        totals.failovers.fetch_add(1, Ordering::Relaxed);
    }
}

impl Device {
    /// Signs on by ticket if the device has one, falling back to the password.
    async fn sign_on(&mut self, connection: &mut Connection, deadline: Instant) -> SignOn {
        if let Some(ticket) = self.ticket.take() {
            let message =
                self.requests
                    .sign_on(&self.settings, &self.serial, Credential::Ticket(&ticket));
            let Some(answer) = connection.exchange(message, deadline).await else {
                // The ticket may still be good: keep it for the next try.
                self.ticket = Some(ticket);
                return SignOn::Lost;
            };
            if self.accept_sign_on(&answer).is_ok() {
                self.totals
                    .sign_ons_by_ticket
                    .fetch_add(1, Ordering::Relaxed);
                return SignOn::Done;
            }
            self.totals.tickets_refused.fetch_add(1, Ordering::Relaxed);
        }
        let message = self.requests.sign_on(
            &self.settings,
            &self.serial,
            Credential::Password(&self.settings.password),
        );
        let Some(answer) = connection.exchange(message, deadline).await else {
            return SignOn::Lost;
        };
        match self.accept_sign_on(&answer) {
            Ok(()) => {
                self.totals
                    .sign_ons_by_password
                    .fetch_add(1, Ordering::Relaxed);
                SignOn::Done
            }
            Err(code) => {
                self.totals.refused(&code);
                SignOn::Refused
            }
        }
    }

    /// Keeps the ticket of an 0810 answering 00; otherwise its DE 39.
    fn accept_sign_on(&mut self, answer: &[u8]) -> Result<(), String> {
        let message = self
            .settings
            .layout
            .decode(answer)
            .map_err(|_| "unreadable".to_owned())?;
        match message.str(39) {
            Some("00") => {
                self.ticket = message.str(61).map(str::to_owned);
                Ok(())
            }
            code => Err(code.unwrap_or("none").to_owned()),
        }
    }

    /// Sends payments on one signed-on connection until the deadline (then
    /// collects the answers still due) or until the connection drops (then
    /// what was in flight is lost and counted as errors).
    async fn session(&mut self, connection: Connection) -> Ended {
        let (mut reader, mut writer) = connection.into_parts();
        let skipped = self.pacing.skip_missed(Instant::now());
        self.totals.skipped.fetch_add(skipped, Ordering::Relaxed);
        let (deadline, pipeline) = (self.settings.deadline, self.settings.pipeline);
        let mut in_flight: VecDeque<(Instant, Sent)> = VecDeque::with_capacity(pipeline);
        let ended = loop {
            let can_send = in_flight.len() < pipeline;
            let next_due = self.pacing.next_due();
            if in_flight.is_empty() && next_due >= deadline {
                break Ended::Deadline;
            }
            tokio::select! {
                biased;
                frame = reader.next() => {
                    let Some(Ok(frame)) = frame else { break Ended::Dropped };
                    self.answer(&frame, in_flight.pop_front());
                }
                () = tokio::time::sleep_until(deadline + ANSWER_GRACE) => break Ended::Deadline,
                () = tokio::time::sleep_until(next_due), if can_send && next_due < deadline => {
                    // Fill the free slots whose time has come, then flush once.
                    let mut fed = false;
                    while in_flight.len() < pipeline && self.pacing.next_due() <= Instant::now() {
                        let Some(due) = self.pacing.take(deadline) else { break };
                        let (bytes, sent) = self.requests.next_payment(&self.settings);
                        if writer.feed(bytes).await.is_err() {
                            break;
                        }
                        fed = true;
                        self.totals.sent.fetch_add(1, Ordering::Relaxed);
                        in_flight.push_back((due, sent));
                    }
                    if fed && SinkExt::<Bytes>::flush(&mut writer).await.is_err() {
                        break Ended::Dropped;
                    }
                }
            }
        };
        // Whatever is still in flight never got an answer: the host went away.
        self.totals
            .errors
            .fetch_add(in_flight.len() as u64, Ordering::Relaxed);
        ended
    }

    /// Books one answer against the oldest request in flight.
    fn answer(&mut self, frame: &[u8], oldest: Option<(Instant, Sent)>) {
        let Some((due, sent)) = oldest else {
            // An answer to nothing: the host broke the protocol.
            self.totals.errors.fetch_add(1, Ordering::Relaxed);
            return;
        };
        self.totals.latency(due);
        let Ok(answer) = self.settings.layout.decode(frame) else {
            self.totals.errors.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if answer.str(11) != Some(sent.stan()) {
            // Answers must come in the order of the requests.
            self.totals.errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match answer.str(39) {
            Some("00") => {
                self.totals.approved.fetch_add(1, Ordering::Relaxed);
                if let Some(rrn) = answer.str(37) {
                    self.settings.log_approval(&self.serial, sent.stan(), rrn);
                    self.requests.approved(sent, rrn);
                }
            }
            Some(code) => self.totals.declined(code),
            None => {
                self.totals.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
