//! 0800: sign-on (binds the connection to a device), sign-off, echo.

use crate::request::{self, NetworkRequest};
use crate::response;
use crate::state::HostState;
use bytes::Bytes;
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::{Session, SignOnDecision, decide_sign_on};
use mpos_iso8583::Message;
use mpos_store::ledger::device_view;
use mpos_store::ops::devices;
use std::sync::Arc;

/// Answers an 0800, updating the connection's session.
pub(super) async fn handle(
    state: &Arc<HostState>,
    session: &mut Option<Session>,
    message: &Message<'_>,
) -> (Bytes, ResponseCode) {
    let code = match request::network(message) {
        Err(code) => code,
        Ok(NetworkRequest::Echo) => ResponseCode::Approved,
        Ok(NetworkRequest::SignOff) => {
            *session = None;
            ResponseCode::Approved
        }
        Ok(NetworkRequest::SignOn {
            serial,
            password,
            merchant_id,
        }) => {
            // The slow password check runs first, off the async threads; an
            // unknown device costs the same, so timing does not reveal it.
            let stored = state
                .store
                .directory()
                .device(serial.as_str())
                .map(|d| d.app_password_hash);
            let matches = match stored {
                Some(hash) => state.passwords.verify(hash, password).await,
                None => state.passwords.verify_unknown(password).await,
            };
            let device = device_view(&state.store.directory().snapshot(), &serial);
            match decide_sign_on(&serial, merchant_id.as_ref(), device.as_ref(), |_| matches) {
                SignOnDecision::SignedOn(new_session) => {
                    let serial = new_session.device.to_string();
                    let at = super::now_millis();
                    // Bookkeeping only: the answer does not wait for it.
                    drop(
                        state
                            .store
                            .write(move |conn| devices::record_sign_on(conn, &serial, at)),
                    );
                    tracing::info!(device = %new_session.device, "signed on");
                    *session = Some(new_session);
                    ResponseCode::Approved
                }
                SignOnDecision::Refused(code) => {
                    tracing::info!(device = %serial, code = %code, "sign-on refused");
                    code
                }
            }
        }
    };
    (response::echo(&state.layout, message, code), code)
}
