//! What the connection does with a frame: peek the MTI, decode the frame
//! once, answer an 0800 here (it may change the session), and queue a
//! 0200 or 0400 that passed step 1 to the store's writer, where
//! [`crate::record`] decides and stores it; its answer is ready when the
//! write's commit is acknowledged.

mod network;

use crate::metrics::CloseReason;
use crate::peer::Certified;
use crate::record::{self, Recorded};
use crate::request;
use crate::response;
use crate::state::HostState;
use bytes::Bytes;
use mpos_domain::ids::Stan;
use mpos_domain::mti::Mti;
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::{FinancialRequest, RequestHeader, ReversalRequest, Session};
use mpos_store::ops::transactions::DuplicateKey;
use mpos_store::{StoreError, Tx};
use mpos_upstream::Outgoing;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

/// An answer ready to send, with what the metrics and the log need.
pub(crate) struct Answer {
    /// The encoded response (no length header).
    pub bytes: Bytes,
    /// The request's MTI.
    pub mti: Mti,
    /// DE 39 sent.
    pub code: ResponseCode,
    /// The request's DE 11, when it had a readable one and the DEBUG log
    /// that prints it is on (no allocation otherwise).
    pub stan: Option<Stan>,
    /// When the request arrived.
    pub received: Instant,
}

/// An answer that is ready later (after the store's commit).
pub(crate) type PendingAnswer = Pin<Box<dyn Future<Output = Answer> + Send>>;

/// What the connection does with a frame.
pub(crate) enum Dispatch {
    /// Send this answer when its turn comes.
    Answer(PendingAnswer),
    /// The stream cannot be trusted: close the connection.
    Close(CloseReason),
}

fn ready(answer: Answer) -> Dispatch {
    Dispatch::Answer(Box::pin(std::future::ready(answer)))
}

/// Handles one frame. 0800 is answered here (it may change the session);
/// 0200 and 0400 are queued to the store's writer and answered when their
/// commit is acknowledged.
pub(crate) async fn dispatch(
    state: &Arc<HostState>,
    session: &mut Option<Session>,
    certified: &Certified,
    frame: Bytes,
) -> Dispatch {
    let received = Instant::now();
    let peeked = state.layout.peek_mti(&frame).ok();
    let Some((wire_mti, mti)) = peeked.and_then(|m| Some((m, Mti::from_digits(&m.digits())?)))
    else {
        tracing::warn!(mti = ?peeked, "unreadable or unsupported MTI: closing the connection");
        return Dispatch::Close(CloseReason::BadMti);
    };
    let message = match state.layout.decode(&frame) {
        Ok(message) => message,
        Err(error) => {
            let stan = state.layout.salvage_field(&frame, 11);
            tracing::info!(%mti, %error, "format error");
            return ready(Answer {
                bytes: response::format_error(&state.layout, wire_mti, stan),
                mti,
                code: ResponseCode::FormatError,
                stan: stan
                    .filter(|_| logging_stans())
                    .and_then(|s| Stan::new(std::str::from_utf8(s).ok()?).ok()),
                received,
            });
        }
    };
    let stan = || {
        message
            .str(11)
            .filter(|_| logging_stans())
            .and_then(|s| Stan::new(s).ok())
    };
    // Step 1: a typed request, or 30/12 with nothing stored.
    let typed = match mti {
        Mti::Network => {
            let (bytes, code) = network::handle(state, session, certified, &message).await;
            return ready(Answer {
                bytes,
                mti,
                code,
                stan: stan(),
                received,
            });
        }
        Mti::Financial => request::financial(&message, &state.pan_key).map(Typed::Financial),
        Mti::Reversal => request::reversal(&message, &state.pan_key).map(Typed::Reversal),
    };
    match typed {
        Ok(typed) => {
            // Upstream mode: the card fields the processor needs, taken
            // from the frame for the forward, in memory only.
            let card = match (&typed, &state.upstream) {
                (Typed::Financial(_), Some(_)) => {
                    Some(crate::upstream::forward::card_fields(&message))
                }
                _ => None,
            };
            recorded(state, session.as_ref(), typed, received, card)
        }
        Err(code) => ready(Answer {
            bytes: response::echo(&state.layout, &message, code),
            mti,
            code,
            stan: stan(),
            received,
        }),
    }
}

/// A 0200 or 0400 that passed step 1, on its way to the writer.
enum Typed {
    Financial(FinancialRequest),
    Reversal(ReversalRequest),
}

impl Typed {
    fn mti(&self) -> Mti {
        match self {
            Typed::Financial(_) => Mti::Financial,
            Typed::Reversal(_) => Mti::Reversal,
        }
    }

    fn header(&self) -> &RequestHeader {
        match self {
            Typed::Financial(request) => &request.header,
            Typed::Reversal(request) => &request.header,
        }
    }

    fn record(&self, tx: &mut Tx<'_>, ctx: &record::Context<'_>) -> Result<Recorded, StoreError> {
        match self {
            Typed::Financial(request) => record::financial(tx, ctx, request),
            Typed::Reversal(request) => record::reversal(tx, ctx, request),
        }
    }
}

/// Queues `typed` to the store's writer, where it is decided and stored in
/// one job; the answer is ready when the job's commit is acknowledged, or
/// is 96 (nothing approved) if storing failed.
fn recorded(
    state: &Arc<HostState>,
    session: Option<&Session>,
    typed: Typed,
    received: Instant,
    card: Option<Outgoing>,
) -> Dispatch {
    // Shared by the job and the answer: a failed commit is answered from
    // the same typed request, without decoding the frame again.
    let typed = Arc::new(typed);
    let job = Arc::clone(&typed);
    let job_state = Arc::clone(state);
    let session = session.cloned();
    let directory = state.store.directory().snapshot();
    let now = jiff::Timestamp::now();
    let (today, business_day) = (state.clock.local_date(now), state.clock.business_day(now));
    // A device's payments go to one writer: in order, and never contending
    // with another writer of this host for the device's daily totals. The
    // rules look up the request's duplicate key first: named here, the
    // writer looks up its whole batch's keys at once.
    let duplicate = session.as_ref().map(|s| DuplicateKey {
        device_serial: s.device.as_str().to_owned(),
        mti: typed.mti(),
        stan: typed.header().stan.as_str().to_owned(),
        transmission_time: typed.header().transmission_time.as_str().to_owned(),
    });
    let work = move |tx: &mut mpos_store::Tx<'_>| {
        let ctx = record::Context {
            layout: &job_state.layout,
            pan_key: &job_state.pan_key,
            issuer: job_state.issuer.as_ref(),
            link: job_state.upstream.as_ref().map(|u| &u.link),
            directory: &directory,
            session: session.as_ref(),
            received_at: now,
            business_day,
            today,
        };
        job.record(tx, &ctx)
    };
    let ack = match duplicate {
        Some(duplicate) => state.store.write_expecting(duplicate, work),
        None => state.store.write(work),
    };
    let state = Arc::clone(state);
    // Upstream mode: the rest runs as a task of its own, from now on, so
    // that a request stored as pending is forwarded and settled even if the
    // device's connection goes away meanwhile (dropping its answer future).
    let waiting = if state.upstream.is_some() {
        let (task_state, task_typed) = (Arc::clone(&state), Arc::clone(&typed));
        Waiting::Task(tokio::spawn(async move {
            let (mti, header) = (task_typed.mti(), task_typed.header());
            match ack.await {
                Ok(recorded) => upstream_answer(&task_state, &task_typed, recorded, card).await,
                Err(error) => not_stored_answer(&task_state, mti, header, &error),
            }
        }))
    } else {
        Waiting::Commit(ack)
    };
    Dispatch::Answer(Box::pin(async move {
        let (mti, header) = (typed.mti(), typed.header());
        let (bytes, code) = match waiting {
            Waiting::Task(task) => task.await.unwrap_or_else(|error| {
                tracing::error!(%error, "the upstream task of a request failed");
                let code = ResponseCode::SystemMalfunction;
                (
                    response::answer(&state.layout, mti, header, code, None),
                    code,
                )
            }),
            Waiting::Commit(ack) => match ack.await {
                Ok(recorded) => (recorded.answer, recorded.code),
                Err(error) => not_stored_answer(&state, mti, header, &error),
            },
        };
        Answer {
            bytes,
            mti,
            code,
            stan: logging_stans().then(|| header.stan.clone()),
            received,
        }
    }))
}

/// What a recorded request's answer waits for.
enum Waiting {
    /// The commit of its job (the simulator's mode).
    Commit(mpos_store::WriteAck<Recorded>),
    /// The task that also forwards and settles it (upstream mode).
    Task(tokio::task::JoinHandle<(Bytes, ResponseCode)>),
}

/// 96 for a request whose write failed, answered from its typed request.
fn not_stored_answer(
    state: &HostState,
    mti: Mti,
    header: &RequestHeader,
    error: &StoreError,
) -> (Bytes, ResponseCode) {
    let code = not_stored(error, mti.as_str());
    (
        response::answer(&state.layout, mti, header, code, None),
        code,
    )
}

/// The answer to a recorded request: as recorded, or in upstream mode once
/// the processor's outcome (its own, or the original's for a
/// retransmission of a request still pending) is committed.
async fn upstream_answer(
    state: &Arc<HostState>,
    typed: &Typed,
    recorded: Recorded,
    card: Option<Outgoing>,
) -> (Bytes, ResponseCode) {
    let Some(upstream) = state.upstream.as_ref() else {
        return (recorded.answer, recorded.code);
    };
    if let Some(id) = recorded.pending_of {
        return upstream
            .settled(&state.store, id, (recorded.answer, recorded.code))
            .await;
    }
    match (recorded.forward, typed, card) {
        (Some(forward), Typed::Financial(request), Some(card)) => {
            crate::upstream::forward::complete(state, upstream, request, forward, card).await
        }
        _ => (recorded.answer, recorded.code),
    }
}

/// Whether the DEBUG line that names each answer's STAN is on: only then
/// does an answer carry a copy of it.
fn logging_stans() -> bool {
    // The line is the connection's: ask with its target, so that
    // RUST_LOG=mpos_acquirer::connection=debug alone still shows STANs.
    tracing::enabled!(target: "mpos_acquirer::connection", tracing::Level::DEBUG)
}

/// Milliseconds since the Unix epoch, for bookkeeping timestamps.
fn now_millis() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// 96 for a request whose write failed. A fault of the store itself (disk
/// full…) is logged by the store once per episode (`fault_log`), so here only
/// at DEBUG; anything else is a bug and logged every time.
pub(super) fn not_stored(error: &mpos_store::StoreError, what: &str) -> ResponseCode {
    if error.is_store_fault() {
        tracing::debug!(%error, what, "not stored: answering 96");
    } else {
        tracing::error!(%error, what, "not stored: answering 96");
    }
    ResponseCode::SystemMalfunction
}
