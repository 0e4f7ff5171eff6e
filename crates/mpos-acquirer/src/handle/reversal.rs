//! 0400: reversal by DE 90, decided and stored in one job of the store's
//! writer.

use super::{Dispatch, RowContext, device_merchant, rejected, replay, when_stored};
use crate::request;
use crate::response;
use crate::state::HostState;
use bytes::Bytes;
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::{ReversalDecision, Session, decide_reversal};
use mpos_iso8583::Message;
use mpos_store::StoreError;
use mpos_store::ledger::SqlLedger;
use mpos_store::ops::transactions::{self, Kind};
use std::sync::Arc;
use std::time::Instant;

pub(super) fn handle(
    state: &Arc<HostState>,
    session: Option<&Session>,
    message: &Message<'_>,
    frame: Bytes,
    received: Instant,
) -> Dispatch {
    let request = match request::reversal(message, &state.pan_key) {
        Ok(request) => request,
        Err(code) => return rejected(state, message, code, "0400", received),
    };
    let job_state = Arc::clone(state);
    let session = session.cloned();
    let snapshot = state.store.directory().snapshot();
    let now = jiff::Timestamp::now();
    let business_day = state.clock.business_day(now).to_string();
    let job_frame = frame.clone();
    let ack = state.store.write(move |conn| {
        let st = &job_state;
        let message = st
            .layout
            .decode(&job_frame)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let ledger = SqlLedger::new(conn, Arc::clone(&snapshot));
        let decision = decide_reversal(&request, session.as_ref(), &ledger)?;
        let device = session
            .as_ref()
            .map(|s| s.device.to_string())
            .unwrap_or_default();
        let context = RowContext {
            message: &message,
            device: &device,
            merchant_id: device_merchant(&snapshot, session.as_ref()),
            business_day,
            received_at: now.as_millisecond(),
        };
        let record =
            |code, original_id: Option<i64>| -> Result<(Bytes, ResponseCode), StoreError> {
                let answer = response::answer(&st.layout, &message, code, None);
                let mut row = context.row(
                    Kind::Reversal,
                    request.amount.minor(),
                    request.currency.code(),
                    code,
                    request.fingerprint.0,
                    &answer,
                );
                row.original_id = original_id;
                row.original_data = message.str(90).map(str::to_owned);
                transactions::insert(conn, &row)?;
                Ok((answer, code))
            };
        match decision {
            ReversalDecision::Reverse { original_id } => {
                transactions::mark_reversed(conn, original_id)?;
                record(ResponseCode::Approved, Some(original_id))
            }
            ReversalDecision::RecordUnknown => record(ResponseCode::Approved, None),
            ReversalDecision::AlreadyReversed => {
                let code = ResponseCode::Approved;
                Ok((response::answer(&st.layout, &message, code, None), code))
            }
            ReversalDecision::Replay => replay(
                st,
                conn,
                &device,
                "0400",
                request.stan.as_str(),
                request.transmission_time.as_str(),
            ),
            ReversalDecision::Decline {
                code, store: false, ..
            } => Ok((response::answer(&st.layout, &message, code, None), code)),
            ReversalDecision::Decline {
                code, original_id, ..
            } => record(code, original_id),
        }
    });
    when_stored(state, ack, frame, "0400", received)
}
