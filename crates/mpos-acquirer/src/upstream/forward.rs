//! Forwarding a pending 0200 and settling it: the request to the processor
//! with exactly the fields the spec lists, its answer relayed (DE 39 as it
//! came, DE 38 on an approval, the host's own DE 37), or 91 with a
//! reversal advice when it may have reached the processor unanswered, or
//! 91 alone when it was never sent. The outcome is committed before the
//! device's answer is released; retransmissions waiting get the same one.

use super::{Upstream, names};
use crate::record::Forward;
use crate::response;
use crate::state::HostState;
use bytes::Bytes;
use mpos_domain::mti::Mti;
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::{FinancialRequest, RequestHeader};
use mpos_iso8583::Message;
use mpos_store::ops::upstream as ops;
use mpos_upstream::Outgoing;
use mpos_upstream::message::FINANCIAL;

/// The fields of a device's 0200 that only the processor needs and the
/// host never stores: DE 2 or 35 as the device sent them, 14, 52 and 55.
/// Taken from the decoded frame before it is dropped; wiped with the
/// [`Outgoing`] once it is sent.
pub(crate) fn card_fields(message: &Message<'_>) -> Outgoing {
    let mut outgoing = Outgoing::new(FINANCIAL);
    for number in [2, 14, 35, 52, 55] {
        if let Some(text) = message.text(number) {
            outgoing.set(number, text.into_owned());
        }
    }
    outgoing
}

/// Completes `card` (the device's card fields) into the 0200 the spec
/// lists: DE 3, 4, 12 and 13 (the host's local time), 22, 32, 37, 41, 42,
/// 43, 49, and 63 for a refund; the link adds DE 7 and 11.
fn request(
    state: &HostState,
    upstream: &Upstream,
    request: &FinancialRequest,
    forward: &Forward,
    mut card: Outgoing,
) -> Outgoing {
    let header = &request.header;
    let local = state.clock.zone().to_datetime(jiff::Timestamp::now());
    card.set(3, header.received.processing_code.clone())
        .set(4, header.amount.to_de4())
        .set(12, local.strftime("%H%M%S").to_string())
        .set(13, local.strftime("%m%d").to_string());
    if let Some(entry_mode) = &header.received.pos_entry_mode {
        card.set(22, entry_mode.clone());
    }
    card.set(32, upstream.acquirer_id.clone())
        .set(37, forward.rrn.clone())
        .set(41, header.terminal_id.as_str())
        .set(42, header.merchant_id.as_str())
        .set(43, names::de43(&forward.merchant_name))
        .set(49, header.currency.to_de49());
    if let Some(original) = &request.original_rrn {
        card.set(63, original.as_str());
    }
    card
}

/// How settling a pending row went.
enum Settle {
    /// Settled with the processor's outcome.
    Settled,
    /// It was no longer pending: given up as a 91 and reversed meanwhile;
    /// what is stored for it.
    GivenUp(Option<ops::Outcome>),
}

/// What the processor's answer (or its absence) decides.
struct Outcome {
    code: String,
    auth: Option<String>,
    /// Queue a reversal advice (68): it may have been approved unseen.
    reverse: bool,
}

/// Sends the pending request, settles its row, and gives the device's
/// answer, released only after the outcome's commit.
pub(crate) async fn complete(
    state: &HostState,
    upstream: &Upstream,
    typed: &FinancialRequest,
    forward: Forward,
    card: Outgoing,
) -> (Bytes, ResponseCode) {
    let header = &typed.header;
    let message = request(state, upstream, typed, &forward, card);
    let Forward {
        id,
        rrn,
        reservation,
        ..
    } = forward;
    let result = upstream.link.send(reservation, &message).await;
    // The card data goes no further.
    drop(message);
    let outcome = match result {
        Ok(reply) => match reply.response_code() {
            Some(code) if code.len() == 2 => Outcome {
                code: code.to_owned(),
                auth: reply
                    .auth_code()
                    .filter(|_| code == ResponseCode::Approved.as_str())
                    .map(ToOwned::to_owned),
                reverse: false,
            },
            // An answer that does not say what was decided: undo whatever it was.
            _ => {
                tracing::warn!(
                    id,
                    "the processor answered without a DE 39: 91 and a reversal"
                );
                unavailable(true)
            }
        },
        Err(error) => {
            // Counted and logged by the link's fault logs, not per request.
            tracing::debug!(id, %error, "no answer from the processor: 91");
            unavailable(error.may_have_reached_processor())
        }
    };
    let answer = response::relayed(
        &state.layout,
        header,
        &outcome.code,
        &rrn,
        outcome.auth.as_deref(),
    );
    let (outcome, answer) = match answer {
        Some(answer) => (outcome, answer),
        None => {
            tracing::warn!(
                id,
                "the processor's answer does not fit the device's layout: 91 and a reversal"
            );
            let answer = unavailable_answer(state, header);
            (unavailable(true), answer)
        }
    };
    let code = ResponseCode::parse(&outcome.code).unwrap_or(ResponseCode::Unlisted);
    let stored = answer.clone();
    let reverse = outcome.reverse;
    let settled = state
        .store
        .write(move |tx| {
            if !ops::settle(tx, id, &outcome.code, outcome.auth.as_deref(), &stored)? {
                // Given up as a 91 (and reversed) while this answer was on
                // its way: the device gets the 91 that was stored.
                return Ok(Settle::GivenUp(ops::outcome(tx, id)?));
            }
            if outcome.reverse {
                ops::queue_advice(tx, id, ops::Reason::Timeout, mpos_store::ops::now_millis())?;
            }
            Ok(Settle::Settled)
        })
        .await;
    let settled = match settled {
        Ok(Settle::Settled) => {
            if reverse {
                upstream.advice_queued.notify_one();
            }
            (answer, code)
        }
        Ok(Settle::GivenUp(stored)) => {
            tracing::warn!(
                id,
                "the processor's outcome came after the request was given up as 91 and \
                 reversed: answering the 91"
            );
            match stored {
                Some(ops::Outcome::Settled { response, .. }) => {
                    (Bytes::from(response), ResponseCode::IssuerUnavailable)
                }
                _ => (
                    unavailable_answer(state, header),
                    ResponseCode::IssuerUnavailable,
                ),
            }
        }
        // The row stays pending: the advice task gives it up as a 91 and
        // reverses it once it is long past the link's timeout (or the next
        // start does).
        Err(error) => {
            let code = crate::handle::not_stored(&error, "the processor's outcome");
            (
                response::answer(&state.layout, Mti::Financial, header, code, None),
                code,
            )
        }
    };
    upstream.publish(id, settled.clone());
    settled
}

fn unavailable(reverse: bool) -> Outcome {
    Outcome {
        code: ResponseCode::IssuerUnavailable.as_str().to_owned(),
        auth: None,
        reverse,
    }
}

fn unavailable_answer(state: &HostState, header: &RequestHeader) -> Bytes {
    response::answer(
        &state.layout,
        Mti::Financial,
        header,
        ResponseCode::IssuerUnavailable,
        None,
    )
}
