//! The link's handle: what the rest of the host holds. It reserves a link
//! STAN (refused at once while the link is down, so nothing is sent), then
//! sends a request and waits for its matched answer, a timeout or the loss
//! of the connection. Requests never wait for each other: each registers
//! its STAN, hands its bytes to the connection's writer task and waits on
//! its own channel, and the reader task routes each answer to its waiter.

use crate::backoff;
use crate::connection;
use crate::message::{Outgoing, Reply, transmission_time};
use crate::metrics::{LinkMetrics, LinkState};
use crate::pending::{LinkStan, Table};
use bytes::Bytes;
use mpos_iso8583::{EncodeError, Layout};
use mpos_store::fault_log::FaultLog;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How the link reaches the processor.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// The processor's addresses (`host:port`), tried in this order; the
    /// link keeps one connection, to the first that accepts and signs on.
    pub hosts: Vec<String>,
    /// DE 32 of every message: the bank's acquiring institution code.
    pub acquirer_id: String,
    /// How long an answer may take (sign-on, echo, request); also the
    /// connect timeout of each address.
    pub timeout: Duration,
    /// Silence after which the link sends an echo.
    pub echo_interval: Duration,
    /// The longest wait between rounds of connection attempts.
    pub reconnect_max: Duration,
    /// The wire layout (generic 1987 ASCII unless configured otherwise).
    pub layout: Layout,
    /// The largest message accepted from the processor.
    pub max_frame: usize,
    /// TLS to the processor, if configured.
    pub tls: Option<LinkTls>,
}

/// TLS on the link: the client configuration (trusted CAs, an optional
/// client certificate) and the name the processor's certificate must carry.
#[derive(Clone)]
pub struct LinkTls {
    /// Handshakes with the configuration of `[upstream] ca`, `cert`, `key`.
    pub connector: tokio_rustls::TlsConnector,
    /// `[upstream] server_name`, checked against the processor's certificate.
    pub server_name: rustls_pki_types::ServerName<'static>,
}

impl std::fmt::Debug for LinkTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// Why a request got no answer from the processor.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No connection, or it is not signed on: nothing was sent.
    #[error("the link to the processor is down")]
    Down,
    /// All 999,999 link STANs are outstanding: nothing was sent.
    #[error("every link STAN is outstanding")]
    Busy,
    /// The request breaks the layout: nothing was sent.
    #[error("the request to the processor could not be encoded: {0}")]
    Encode(#[from] EncodeError),
    /// Sent, and no matching answer within the timeout.
    #[error("the processor did not answer within {0:?}")]
    Timeout(Duration),
    /// Sent, and the connection was lost before the answer.
    #[error("the connection to the processor was lost before the answer")]
    Lost,
}

impl LinkError {
    /// Whether the processor may have received the request (and approved
    /// it): then it must be reversed.
    pub fn may_have_reached_processor(&self) -> bool {
        matches!(self, LinkError::Timeout(_) | LinkError::Lost)
    }
}

/// Where an answer goes: dropping the sender tells the waiter the
/// connection was lost.
pub(crate) type Waiter = oneshot::Sender<Reply>;

/// The signed-on connection: where requests are written.
pub(crate) struct Up {
    pub address: String,
    pub outbox: mpsc::Sender<Bytes>,
}

/// What the handle, the reservations and the connection task share.
pub(crate) struct Shared {
    pub config: LinkConfig,
    pub table: Mutex<Table<Waiter>>,
    pub up: Mutex<Option<Up>>,
    pub metrics: LinkMetrics,
    /// "The processor link": connection failures, and requests refused
    /// while it is down, logged at start, every 10 s and at the end.
    pub faults: FaultLog,
    /// "Processor answers": requests the processor left unanswered (timed
    /// out, lost with their connection), logged the same way.
    pub unanswered: FaultLog,
    /// "Answers matching no request" (late ones, after their timeout).
    pub unmatched: FaultLog,
}

impl Shared {
    pub fn table(&self) -> MutexGuard<'_, Table<Waiter>> {
        // A poisoned lock means a panic elsewhere while holding it; the
        // table itself is always consistent between statements.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn up(&self) -> MutexGuard<'_, Option<Up>> {
        self.up.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A STAN for a request written to `outbox`, whatever the link's state
    /// (the connection's own sign-on and echoes use it before "up").
    pub fn reserve_on(
        self: &Arc<Self>,
        outbox: mpsc::Sender<Bytes>,
    ) -> Result<Reservation, LinkError> {
        let stan = self.table().reserve().ok_or(LinkError::Busy)?;
        Ok(Reservation {
            shared: Arc::clone(self),
            stan,
            time: transmission_time(jiff::Timestamp::now()),
            outbox,
            armed: true,
        })
    }

    /// Sends `message` under `reservation` and waits for its answer.
    pub async fn exchange(
        &self,
        mut reservation: Reservation,
        message: &Outgoing,
    ) -> Result<Reply, LinkError> {
        // From here this function settles the STAN, not the reservation's drop.
        reservation.armed = false;
        let stan = reservation.stan;
        let bytes = match message.encode(&self.config.layout, &stan.to_de11(), &reservation.time) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.table().release(stan);
                return Err(error.into());
            }
        };
        let (waiter, answer) = oneshot::channel();
        self.table()
            .sent(stan, message.rrn().map(ToOwned::to_owned), waiter);
        let started = Instant::now();
        let outbox = reservation.outbox.clone();
        let timeout = self.config.timeout;
        let outcome = tokio::time::timeout(timeout, async move {
            if outbox.send(bytes).await.is_err() {
                return Err(LinkError::Down);
            }
            answer.await.map_err(|_| LinkError::Lost)
        })
        .await;
        match outcome {
            Ok(Ok(reply)) => {
                self.metrics.answered(started.elapsed());
                self.unanswered.succeeded();
                Ok(reply)
            }
            Ok(Err(LinkError::Down)) => {
                // The connection ended between the reservation and now:
                // its writer is gone, the bytes were never written.
                self.table().release_sent_if(stan, |_| true);
                self.metrics.refused_down();
                Err(LinkError::Down)
            }
            Ok(Err(error)) => {
                self.unanswered.failed(&error);
                Err(error)
            }
            Err(_elapsed) => {
                // The answer channel was dropped with the future: a slot
                // whose waiter is closed is ours; a live one is another
                // request's that took the STAN after our answer raced in.
                self.table()
                    .release_sent_if(stan, oneshot::Sender::is_closed);
                self.metrics.timed_out();
                let error = LinkError::Timeout(timeout);
                self.unanswered.failed(&error);
                Err(error)
            }
        }
    }
}

/// A link STAN and DE 7 held for one request, before it is sent: the host
/// stores both with the pending transaction, so that a reversal advice can
/// name the request (DE 90) even after a crash. Dropped unsent, the STAN
/// is free again.
pub struct Reservation {
    shared: Arc<Shared>,
    stan: LinkStan,
    time: String,
    outbox: mpsc::Sender<Bytes>,
    armed: bool,
}

impl Reservation {
    /// The request's DE 11 on the link.
    pub fn stan(&self) -> LinkStan {
        self.stan
    }

    /// The request's DE 7 on the link (`MMDDhhmmss`, UTC).
    pub fn transmission_time(&self) -> &str {
        &self.time
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.armed {
            self.shared.table().release(self.stan);
        }
    }
}

impl std::fmt::Debug for Reservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reservation")
            .field("stan", &self.stan)
            .field("time", &self.time)
            .finish()
    }
}

/// The host's link to the card processor. Cheap to clone; the connection
/// task stops when the last clone is dropped or [`Link::stop`] is called.
#[derive(Clone)]
pub struct Link {
    shared: Arc<Shared>,
    task: Arc<Task>,
}

struct Task(Mutex<Option<JoinHandle<()>>>);

impl Task {
    fn stop(&self) {
        if let Some(task) = self.0.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Link {
    /// Starts the link: a task connects to the first address that accepts,
    /// signs on, and keeps the connection (echoes, reconnection with
    /// backoff and failover). Must be called inside a tokio runtime.
    pub fn start(config: LinkConfig) -> Link {
        let shared = Arc::new(Shared {
            config,
            table: Mutex::new(Table::default()),
            up: Mutex::new(None),
            metrics: LinkMetrics::default(),
            faults: FaultLog::new("the processor link"),
            unanswered: FaultLog::new("processor answers"),
            unmatched: FaultLog::new("answers matching a request"),
        });
        let task = tokio::spawn(connection::supervise(Arc::clone(&shared)));
        Link {
            shared,
            task: Arc::new(Task(Mutex::new(Some(task)))),
        }
    }

    /// A STAN and DE 7 for one request, or [`LinkError::Down`] at once when
    /// the link is not signed on (then nothing is sent: answer 91).
    pub fn reserve(&self) -> Result<Reservation, LinkError> {
        let outbox = self.shared.up().as_ref().map(|up| up.outbox.clone());
        match outbox {
            Some(outbox) => self.shared.reserve_on(outbox),
            None => {
                self.shared.metrics.refused_down();
                self.shared.faults.failed(&LinkError::Down);
                Err(LinkError::Down)
            }
        }
    }

    /// Sends `message` (DE 7 and 11 from `reservation`) and waits for the
    /// answer that echoes its DE 11 and DE 37, at most the timeout.
    pub async fn send(
        &self,
        reservation: Reservation,
        message: &Outgoing,
    ) -> Result<Reply, LinkError> {
        self.shared.exchange(reservation, message).await
    }

    /// Whether the link is up, where to, and what is in flight.
    pub fn state(&self) -> LinkState {
        let address = self.shared.up().as_ref().map(|up| up.address.clone());
        LinkState {
            up: address.is_some(),
            address,
            in_flight: self.shared.table().len(),
        }
    }

    /// The link's counters.
    pub fn metrics(&self) -> &LinkMetrics {
        &self.shared.metrics
    }

    /// Appends the link's metrics to `out` (Prometheus text).
    pub fn render_metrics(&self, out: &mut String) {
        self.shared.metrics.render(&self.state(), out);
    }

    /// The configured addresses, in the order they are tried.
    pub fn hosts(&self) -> &[String] {
        &self.shared.config.hosts
    }

    /// The answer timeout.
    pub fn timeout(&self) -> Duration {
        self.shared.config.timeout
    }

    /// Waits until the link is up, at most `limit`; whether it is.
    pub async fn wait_up(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.state().up {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the connection task (at shutdown): requests in flight get
    /// [`LinkError::Lost`] or their timeout.
    pub fn stop(&self) {
        self.task.stop();
        *self.shared.up() = None;
    }
}

/// The first wait after the link is lost, re-exported for the docs.
pub const FIRST_RECONNECT_WAIT: Duration = backoff::INITIAL;
