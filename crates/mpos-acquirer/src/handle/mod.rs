//! One module per request MTI, and the dispatch between them.

mod financial;
mod network;
mod reversal;

use crate::metrics::CloseReason;
use crate::response;
use crate::state::HostState;
use bytes::Bytes;
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::Session;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

/// An answer ready to send, with what the metrics need.
pub(crate) struct Answer {
    /// The encoded response (no length header).
    pub bytes: Bytes,
    /// The request's MTI.
    pub mti: &'static str,
    /// DE 39 sent.
    pub code: ResponseCode,
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

/// The answer to a request refused at step 1 (30 or 12): nothing is stored.
fn rejected(
    state: &HostState,
    message: &mpos_iso8583::Message<'_>,
    code: ResponseCode,
    mti: &'static str,
    received: Instant,
) -> Dispatch {
    ready(Answer {
        bytes: response::answer(&state.layout, message, code, None),
        mti,
        code,
        received,
    })
}

/// Handles one frame. 0800 is answered here (it may change the session);
/// 0200 and 0400 are queued to the store's writer and answered when their
/// commit is acknowledged.
pub(crate) async fn dispatch(
    state: &Arc<HostState>,
    session: &mut Option<Session>,
    frame: Bytes,
) -> Dispatch {
    let received = Instant::now();
    let mti = match state
        .layout
        .peek_mti(&frame)
        .map(|m| m.as_str().to_owned())
        .as_deref()
    {
        Ok("0200") => "0200",
        Ok("0400") => "0400",
        Ok("0800") => "0800",
        other => {
            tracing::warn!(mti = ?other.ok(), "unreadable or unsupported MTI: closing the connection");
            return Dispatch::Close(CloseReason::BadMti);
        }
    };
    let message = match state.layout.decode(&frame) {
        Ok(message) => message,
        Err(error) => {
            let stan = state.layout.salvage_field(&frame, 11);
            tracing::info!(mti, %error, "format error");
            let mti_value = match state.layout.peek_mti(&frame) {
                Ok(m) => m,
                Err(_) => return Dispatch::Close(CloseReason::BadMti),
            };
            return ready(Answer {
                bytes: response::format_error(&state.layout, mti_value, stan),
                mti,
                code: ResponseCode::FormatError,
                received,
            });
        }
    };
    match mti {
        "0800" => {
            let (bytes, code) = network::handle(state, session, &message).await;
            ready(Answer {
                bytes,
                mti,
                code,
                received,
            })
        }
        "0200" => financial::handle(state, session.as_ref(), &message, frame.clone(), received),
        _ => reversal::handle(state, session.as_ref(), &message, frame.clone(), received),
    }
}

/// Milliseconds since the Unix epoch, for `received_at`.
fn now_millis() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The answer stored for a retransmitted request, to send again as it was.
fn replay(
    state: &HostState,
    conn: &mpos_store::rusqlite::Connection,
    device: &str,
    mti: &str,
    stan: &str,
    transmission_time: &str,
) -> Result<(Bytes, ResponseCode), mpos_store::StoreError> {
    let prior =
        mpos_store::ops::transactions::find_by_key(conn, device, mti, stan, transmission_time)?
            .ok_or_else(|| {
                mpos_store::StoreError::Invalid("the replayed answer vanished".into())
            })?;
    let code = stored_code(state, &prior.response);
    Ok((Bytes::from(prior.response), code))
}

/// The answer to a request whose decision and write were queued: it is
/// sent when the write's commit is acknowledged, or 96 if storing failed.
fn when_stored(
    state: &Arc<HostState>,
    ack: mpos_store::WriteAck<(Bytes, ResponseCode)>,
    frame: Bytes,
    mti: &'static str,
    received: Instant,
) -> Dispatch {
    let state = Arc::clone(state);
    Dispatch::Answer(Box::pin(async move {
        match ack.await {
            Ok((bytes, code)) => Answer {
                bytes,
                mti,
                code,
                received,
            },
            Err(error) => {
                tracing::error!(%error, mti, "not stored: answering 96");
                malfunction(&state, &frame, mti, received)
            }
        }
    }))
}

/// The DE 39 of a stored answer (replays), or 96 if it cannot be read.
fn stored_code(state: &HostState, bytes: &[u8]) -> ResponseCode {
    state
        .layout
        .decode(bytes)
        .ok()
        .and_then(|m| m.str(39).and_then(ResponseCode::parse))
        .unwrap_or(ResponseCode::SystemMalfunction)
}

/// A random authorization code: 6 of `0-9A-Z`.
fn auth_code() -> String {
    use ring::rand::{SecureRandom, SystemRandom};
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut bytes = [0u8; 6];
    // Without randomness the code is still well-formed, just predictable.
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % 36]))
        .collect()
}

/// The answer when storing failed: 96, nothing approved.
fn malfunction(state: &HostState, frame: &[u8], mti: &'static str, received: Instant) -> Answer {
    let bytes = match state.layout.decode(frame) {
        Ok(message) => response::answer(
            &state.layout,
            &message,
            ResponseCode::SystemMalfunction,
            None,
        ),
        Err(_) => Bytes::new(),
    };
    Answer {
        bytes,
        mti,
        code: ResponseCode::SystemMalfunction,
        received,
    }
}

/// What every stored row of a 0200 or 0400 holds, taken from its message.
struct RowContext<'m> {
    message: &'m mpos_iso8583::Message<'m>,
    device: &'m str,
    merchant_id: String,
    business_day: String,
    received_at: i64,
}

impl RowContext<'_> {
    /// The row for this message with `code` and `response`; card facts,
    /// links and the RRN are filled in by the caller.
    fn row(
        &self,
        kind: mpos_store::ops::transactions::Kind,
        amount_minor: u64,
        currency: u16,
        code: ResponseCode,
        fingerprint: [u8; 32],
        response: &[u8],
    ) -> mpos_store::ops::transactions::NewTransaction {
        let text = |n| self.message.str(n).map(str::to_owned);
        mpos_store::ops::transactions::NewTransaction {
            mti: self.message.mti().as_str().to_owned(),
            kind,
            device_serial: self.device.to_owned(),
            merchant_id: self.merchant_id.clone(),
            vt_id: text(41).unwrap_or_default(),
            stan: text(11).unwrap_or_default(),
            transmission_time: text(7).unwrap_or_default(),
            local_time: text(12),
            local_date: text(13),
            pos_entry_mode: text(22),
            processing_code: text(3).unwrap_or_default(),
            amount_minor,
            currency,
            masked_pan: None,
            pan_hash: None,
            rrn: None,
            auth_code: None,
            response_code: code.as_str().to_owned(),
            business_day: self.business_day.clone(),
            received_at: self.received_at,
            original_id: None,
            original_rrn: None,
            original_data: None,
            fingerprint,
            response: response.to_vec(),
        }
    }
}

/// The merchant of the session's device, as the snapshot knows it.
fn device_merchant(snapshot: &mpos_store::Snapshot, session: Option<&Session>) -> String {
    session
        .and_then(|s| snapshot.devices.get(s.device.as_str()))
        .map(|d| d.merchant_id.clone())
        .unwrap_or_default()
}
