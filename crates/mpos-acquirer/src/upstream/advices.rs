//! Store and forward of reversal advices (upstream-interface.md, section
//! 3): the queue's head is sent as a 0420, then, while no 0430 comes within
//! the link's timeout, repeated as a 0421 every `saf_retry_secs`, forever;
//! only its 0430 (any DE 39) lets the next one go. The queue is the store's,
//! so it survives restarts; a try is counted before it is sent, so after a
//! crash the next one is a repeat (0421).

use super::Upstream;
use crate::shutdown::Shutdown;
use mpos_store::Store;
use mpos_store::ops::upstream::{self as ops, Advice};
use mpos_upstream::Outgoing;
use mpos_upstream::message::{ADVICE, ADVICE_REPEAT};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long to wait for the link or the store before looking again.
const RETRY_SOON: Duration = Duration::from_millis(200);

/// How often an empty queue is looked at without being woken (another
/// process sharing the store may have queued one).
const IDLE_POLL: Duration = Duration::from_secs(1);

/// DE 90 of an advice: original MTI 0200, the original's link STAN and DE
/// 7, DE 32 right-justified in 11 digits with zeros, 11 zeros (42 digits).
pub fn original_data(link_stan: &str, link_time: &str, acquirer_id: &str) -> String {
    format!(
        "0200{link_stan:0>6}{link_time:0>10}{acquirer_id:0>11}{}",
        "0".repeat(11)
    )
}

/// The advice message (DE 7 and 11 come from the link).
fn message(advice: &Advice, acquirer_id: &str) -> Outgoing {
    let mut outgoing = Outgoing::new(if advice.tries == 0 {
        ADVICE
    } else {
        ADVICE_REPEAT
    });
    outgoing
        .set(3, advice.processing_code.clone())
        .set(4, format!("{:012}", advice.amount_minor))
        .set(32, acquirer_id)
        .set(37, advice.rrn.clone())
        .set(39, advice.reason.clone())
        .set(41, advice.vt_id.clone())
        .set(42, advice.merchant_id.clone())
        .set(49, format!("{:03}", advice.currency))
        .set(
            90,
            original_data(&advice.link_stan, &advice.link_time, acquirer_id),
        );
    outgoing
}

/// Sends the queue's advices until shutdown. Each step is one commit: the
/// advice just acknowledged leaves the queue and the next is claimed (its
/// try counted) together, so a busy queue costs one commit per advice.
pub async fn run(store: Store, upstream: Arc<Upstream>, mut shutdown: Shutdown) {
    let mut acknowledged: Option<i64> = None;
    // Another host running the queue leaves our head to us this long after
    // our try: our repeat comes by then.
    let lease = upstream.link.timeout() + upstream.saf_retry;
    let lease_millis = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    loop {
        if shutdown.is_started() && acknowledged.is_none() {
            return;
        }
        // Link down: nothing is claimed, so nothing counted as a try.
        let reservation = if shutdown.is_started() {
            None
        } else {
            upstream.link.reserve().ok()
        };
        if reservation.is_none() && acknowledged.is_none() {
            pause(&mut shutdown, RETRY_SOON).await;
            continue;
        }
        let (ack, claim) = (acknowledged.take(), reservation.is_some());
        let (instance, lease_millis) = (store.instance().to_owned(), lease_millis);
        let step = store
            .write(move |tx| {
                let claimant = claim.then_some(ops::Claimant {
                    instance: &instance,
                    lease_millis,
                });
                ops::step_queue(tx, ack, claimant, mpos_store::ops::now_millis())
            })
            .await;
        let (head, len) = match step {
            Ok(step) => step,
            Err(error) => {
                tracing::warn!(%error, "the advice queue could not be updated");
                acknowledged = ack;
                pause(&mut shutdown, RETRY_SOON).await;
                continue;
            }
        };
        if ack.is_some() {
            upstream
                .advices_acknowledged
                .fetch_add(1, Ordering::Relaxed);
        }
        upstream.queue_len.store(len, Ordering::Relaxed);
        let (Some(advice), Some(reservation)) = (head, reservation) else {
            if claim {
                // Empty: wait to be woken, or poll (another process sharing
                // the store may queue one).
                tokio::select! {
                    () = shutdown.started() => {}
                    () = upstream.advice_queued.notified() => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                }
            }
            continue;
        };
        upstream.advices_sent.fetch_add(1, Ordering::Relaxed);
        let reply = upstream
            .link
            .send(reservation, &message(&advice, &upstream.acquirer_id))
            .await;
        match reply {
            Ok(reply) if reply.mti().as_str() == "0430" => {
                tracing::debug!(
                    transaction = advice.transaction_id,
                    reason = %advice.reason,
                    "reversal advice acknowledged"
                );
                acknowledged = Some(advice.id);
                continue;
            }
            Ok(other) => tracing::warn!(
                transaction = advice.transaction_id,
                mti = %other.mti(),
                "reversal advice answered without a 0430: repeating it"
            ),
            Err(error) => tracing::warn!(
                transaction = advice.transaction_id,
                %error,
                "reversal advice not acknowledged: repeating it as a 0421"
            ),
        }
        pause(&mut shutdown, upstream.saf_retry).await;
    }
}

/// How often the host looks for pending rows nobody will settle.
const SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// How long past the link's timeout a row may stay pending before it is
/// given up: its forwarder has long had the processor's answer or its
/// timeout, so only a failed commit leaves it pending this long.
pub(crate) const SWEEP_GRACE: Duration = Duration::from_secs(30);

/// Gives up, as 91s with a reversal advice (68) each, the rows still
/// pending long past the link's timeout: those whose outcome could not be
/// committed (a store fault). Without this they would wait for the next
/// start, and an approval the processor gave would stand unreversed while
/// the device was told 96.
pub async fn sweep(store: Store, upstream: Arc<Upstream>, mut shutdown: Shutdown) {
    let age = super::give_up_after(upstream.link.timeout());
    let age_millis = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
    loop {
        pause(&mut shutdown, SWEEP_INTERVAL).await;
        if shutdown.is_started() {
            return;
        }
        let swept = store
            .write(move |tx| {
                let now = mpos_store::ops::now_millis();
                ops::recover_pending_received_before(tx, now, now.saturating_sub(age_millis))
            })
            .await;
        match swept {
            Ok(0) => {}
            Ok(given_up) => {
                tracing::warn!(
                    given_up,
                    "pending requests whose outcome could not be stored: now 91s, each with a reversal advice"
                );
                upstream.advice_queued.notify_one();
            }
            // The store's own fault log says so; try again next time.
            Err(error) => tracing::debug!(%error, "the pending rows could not be swept"),
        }
    }
}

async fn pause(shutdown: &mut Shutdown, wait: Duration) {
    tokio::select! {
        () = shutdown.started() => {}
        () = tokio::time::sleep(wait) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn de90_is_42_digits_in_the_spec_order() {
        let data = original_data("000042", "1201190507", "12345");
        assert_eq!(data.len(), 42);
        assert_eq!(
            data,
            format!(
                "0200{}{}{}{}",
                "000042",
                "1201190507",
                "00000012345",
                "0".repeat(11)
            )
        );
    }
}
