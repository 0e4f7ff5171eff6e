//! 0800: sign-on (binds the connection to a device and hands it a new
//! sign-on ticket), sign-off (ends the binding, voids the ticket), echo.

use crate::peer::Certified;
use crate::request::{self, Credential, NetworkRequest};
use crate::response;
use crate::state::HostState;
use bytes::Bytes;
use mpos_domain::ids::{DeviceSerial, MerchantId};
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::{Session, SignOnDecision, decide_sign_on, locked_until};
use mpos_domain::ticket::{Ticket, TicketHash};
use mpos_iso8583::Message;
use mpos_store::ledger::device_view;
use mpos_store::ops::{devices, sign_on_failures, tickets};
use mpos_store::{StoreError, Tx};
use std::sync::Arc;

/// Answers an 0800, updating the connection's session.
pub(super) async fn handle(
    state: &Arc<HostState>,
    session: &mut Option<Session>,
    certified: &Certified,
    message: &Message<'_>,
) -> (Bytes, ResponseCode) {
    let (code, ticket) = match request::network(message) {
        Err(code) => {
            // A sign-on refused at step 1 is a failed sign-on too.
            if message.str(70) == Some(SIGN_ON) {
                end_binding(session);
            }
            (code, None)
        }
        Ok(NetworkRequest::Echo) => (ResponseCode::Approved, None),
        Ok(NetworkRequest::SignOff) => (sign_off(state, session).await, None),
        // Mutual TLS: the certificate names the only reader that may sign
        // on here; another serial is 63 before any password is hashed, and
        // is no password guess, so it does not count toward the lockout.
        Ok(NetworkRequest::SignOn { serial, .. }) if !certified.allows(&serial) => {
            tracing::info!(
                device = %serial,
                certificate = ?certified,
                "sign-on refused: DE 62 is not the serial in the client certificate"
            );
            end_binding(session);
            (ResponseCode::SecurityViolation, None)
        }
        Ok(NetworkRequest::SignOn {
            serial,
            credential,
            merchant_id,
        }) => match sign_on(state, &serial, credential, merchant_id.as_ref()).await {
            Ok((new_session, ticket)) => {
                tracing::info!(device = %new_session.device, "signed on");
                *session = Some(new_session);
                (ResponseCode::Approved, Some(ticket))
            }
            Err(code) => {
                tracing::info!(device = %serial, code = %code, "sign-on refused");
                end_binding(session);
                (code, None)
            }
        },
    };
    let answer = response::echo_with_ticket(&state.layout, message, code, ticket.as_ref());
    (answer, code)
}

/// DE 70 of a sign-on.
const SIGN_ON: &str = "001";

/// A failed sign-on ends the binding the connection had (spec section 4):
/// whoever failed to sign on does not keep the device an earlier sign-on
/// bound. The device's ticket stays valid: only a sign-off voids it.
fn end_binding(session: &mut Option<Session>) {
    if let Some(ended) = session.take() {
        tracing::info!(device = %ended.device, "a failed sign-on ended the connection's binding");
    }
}

/// Signs a device on by its app password or its ticket: the session and
/// the device's new ticket, stored before the answer leaves; or the code
/// that refuses it (63, 58, or 96 when the store fails).
async fn sign_on(
    state: &Arc<HostState>,
    serial: &DeviceSerial,
    credential: Credential,
    merchant_id: Option<&MerchantId>,
) -> Result<(Session, Ticket), ResponseCode> {
    let ticket = Ticket::generate().map_err(|error| {
        tracing::error!(%error, "sign-on: answering 96");
        ResponseCode::SystemMalfunction
    })?;
    let issue = Issue::new(state, ticket.hash());
    let directory = state.store.directory();
    let decision = match credential {
        Credential::Password(password) => {
            // A serial locked out by wrong passwords is answered 75 before
            // any password is hashed.
            let locked = {
                let serial = serial.to_string();
                state
                    .store
                    .write(move |tx| sign_on_failures::latest(tx, &serial))
                    .await
                    .map_err(|error| store_failed(&error))?
            };
            if locked_until(locked.0, locked.1, issue.now).is_some() {
                return Err(ResponseCode::PasswordLocked);
            }
            // The slow password check runs next, off the async threads; an
            // unknown device costs the same, so timing does not reveal it.
            let stored = directory
                .device(serial.as_str())
                .map(|d| d.app_password_hash);
            let matches = match stored {
                Some(hash) => state.passwords.verify(hash, password).await,
                None => state.passwords.verify_unknown(password).await,
            };
            let device = device_view(&directory.snapshot(), serial);
            match decide_sign_on(serial, merchant_id, device.as_ref(), |_| matches) {
                SignOnDecision::SignedOn(session) => {
                    let job = issue.clone();
                    let device = session.device.to_string();
                    state
                        .store
                        .write(move |tx| {
                            sign_on_failures::forget(tx, &device)?;
                            job.store(tx, &device)
                        })
                        .await
                        .map_err(|error| store_failed(&error))?;
                    SignOnDecision::SignedOn(session)
                }
                // Every 63 to a password counts toward the lockout, whether
                // or not the serial exists; it is stored before the answer.
                SignOnDecision::Refused(ResponseCode::SecurityViolation) => {
                    let (serial, at) = (serial.to_string(), issue.now);
                    state
                        .store
                        .write(move |tx| sign_on_failures::record(tx, &serial, at))
                        .await
                        .map_err(|error| store_failed(&error))?;
                    SignOnDecision::Refused(ResponseCode::SecurityViolation)
                }
                refused => refused,
            }
        }
        // A ticket costs no password hashing: it is checked, the sign-on
        // decided and the new ticket stored in one job of the writer, so
        // two connections racing with the same ticket cannot both rotate it.
        Credential::Ticket(presented) => {
            let (serial, merchant_id) = (serial.clone(), merchant_id.cloned());
            let snapshot = directory.snapshot();
            state
                .store
                .write(move |tx| {
                    let valid = match &presented {
                        Some(ticket) => {
                            tickets::is_valid(tx, serial.as_str(), &ticket.hash(), issue.now)?
                        }
                        None => false,
                    };
                    let device = device_view(&snapshot, &serial);
                    let decision =
                        decide_sign_on(&serial, merchant_id.as_ref(), device.as_ref(), |_| valid);
                    if let SignOnDecision::SignedOn(session) = &decision {
                        issue.store(tx, session.device.as_str())?;
                    }
                    Ok(decision)
                })
                .await
                .map_err(|error| store_failed(&error))?
        }
    };
    match decision {
        SignOnDecision::SignedOn(session) => Ok((session, ticket)),
        SignOnDecision::Refused(code) => Err(code),
    }
}

/// A new ticket to store for a device that signed on, valid for the
/// configured time from now.
#[derive(Clone)]
struct Issue {
    hash: TicketHash,
    now: i64,
    expires_at: i64,
}

impl Issue {
    fn new(state: &HostState, hash: TicketHash) -> Issue {
        let now = super::now_millis();
        let ttl = i64::try_from(state.config.ticket_ttl.as_millis()).unwrap_or(i64::MAX);
        Issue {
            hash,
            now,
            expires_at: now.saturating_add(ttl),
        }
    }

    /// Makes it the device's only ticket and records the sign-on's time.
    fn store(&self, tx: &mut Tx<'_>, device: &str) -> Result<(), StoreError> {
        tickets::issue(tx, device, &self.hash, self.now, self.expires_at)?;
        devices::record_sign_on(tx, device, self.now)
    }
}

/// Ends the connection's binding and voids the device's ticket (stored
/// before the answer leaves): 00, or 96 when the store fails.
async fn sign_off(state: &Arc<HostState>, session: &mut Option<Session>) -> ResponseCode {
    let Some(ended) = session.take() else {
        return ResponseCode::Approved;
    };
    let device = ended.device.to_string();
    match state
        .store
        .write(move |tx| tickets::void(tx, &device))
        .await
    {
        Ok(()) => ResponseCode::Approved,
        Err(error) => store_failed(&error),
    }
}

/// 96 for a store that failed during a sign-on or sign-off.
fn store_failed(error: &StoreError) -> ResponseCode {
    super::not_stored(error, "sign-on or sign-off")
}
