//! 0200: purchase and refund, decided and stored in one job of the store's
//! writer; the answer leaves only after that job's commit.

use super::{Dispatch, RowContext, auth_code, device_merchant, rejected, replay, when_stored};
use crate::request;
use crate::response;
use crate::state::HostState;
use bytes::Bytes;
use mpos_domain::ids::TransactionKind;
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::{FinancialDecision, Session, decide_financial};
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
    let request = match request::financial(message, &state.pan_key) {
        Ok(request) => request,
        Err(code) => return rejected(state, message, code, "0200", received),
    };
    let job_state = Arc::clone(state);
    let session = session.cloned();
    let snapshot = state.store.directory().snapshot();
    let now = jiff::Timestamp::now();
    let today = state.clock.local_date(now);
    let business_day = state.clock.business_day(now).to_string();
    let job_frame = frame.clone();
    let ack = state.store.write(move |conn| {
        let st = &job_state;
        let message = st
            .layout
            .decode(&job_frame)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let ledger = SqlLedger::new(conn, Arc::clone(&snapshot));
        let decision = decide_financial(
            &request,
            session.as_ref(),
            &ledger,
            st.issuer.as_ref(),
            &st.pan_key,
            today,
        )?;
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
        let kind = match request.kind {
            TransactionKind::Purchase => Kind::Purchase,
            TransactionKind::Refund => Kind::Refund,
        };
        let row = |code, response: &[u8]| {
            let mut row = context.row(
                kind,
                request.amount.minor(),
                request.currency.code(),
                code,
                request.fingerprint.0,
                response,
            );
            row.original_rrn = request.original_rrn.as_ref().map(ToString::to_string);
            row
        };
        match decision {
            FinancialDecision::Replay => replay(
                st,
                conn,
                &device,
                "0200",
                request.stan.as_str(),
                request.transmission_time.as_str(),
            ),
            FinancialDecision::Decline {
                code, store: false, ..
            } => Ok((response::answer(&st.layout, &message, code, None), code)),
            FinancialDecision::Decline {
                code,
                original_id,
                card,
                ..
            } => {
                let answer = response::answer(&st.layout, &message, code, None);
                let mut stored = row(code, &answer);
                stored.original_id = original_id;
                stored.masked_pan = card.as_ref().map(|c| c.masked.to_string());
                stored.pan_hash = card.as_ref().map(|c| c.hash.0);
                transactions::insert(conn, &stored)?;
                Ok((answer, code))
            }
            FinancialDecision::Approve { original_id, card } => {
                let code = ResponseCode::Approved;
                let mut stored = row(code, &[]);
                stored.original_id = original_id;
                stored.masked_pan = Some(card.masked.to_string());
                stored.pan_hash = Some(card.hash.0);
                let id = transactions::insert(conn, &stored)?;
                // The row id is unique on the host, so is the RRN made of it.
                let (rrn, auth) = (format!("{id:012}"), auth_code());
                let answer = response::answer(&st.layout, &message, code, Some((&rrn, &auth)));
                transactions::set_approval(conn, id, &rrn, &auth, &answer)?;
                Ok((answer, code))
            }
        }
    });
    when_stored(state, ack, frame, "0200", received)
}
