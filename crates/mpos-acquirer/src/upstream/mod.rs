//! The upstream mode (`shared/spec/upstream-interface.md`): what the host
//! adds around the link of `mpos-upstream`. A 0200 the rules forward is
//! stored as pending by [`crate::record`] (its link STAN reserved in the
//! same job), then [`forward`] sends it, settles the row with the
//! processor's answer (or 91 and a reversal advice) and answers the device
//! only after that commit; [`advices`] sends the queued reversal advices,
//! one at a time, until each is acknowledged; [`recover`] turns what a
//! crash left pending into 91s with an advice each, before devices are
//! accepted.

pub mod advices;
pub(crate) mod forward;
mod names;

use bytes::Bytes;
use mpos_domain::response::ResponseCode;
use mpos_store::ops::upstream as ops;
use mpos_store::{Store, StoreError};
use mpos_upstream::Link;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// The answer a pending request finally got, for its retransmissions.
pub(crate) type Settled = (Bytes, ResponseCode);

/// The host's side of the upstream mode, shared by every connection.
pub struct Upstream {
    /// The link to the card processor.
    pub link: Link,
    /// DE 32: the bank's acquiring institution code.
    pub acquirer_id: String,
    /// How long an unacknowledged advice waits before it is repeated.
    pub saf_retry: Duration,
    /// Retransmissions waiting for a pending request's answer, by row.
    waiters: Mutex<HashMap<i64, watch::Sender<Option<Settled>>>>,
    /// Woken when an advice is queued, so it goes without waiting a poll.
    pub(crate) advice_queued: Notify,
    /// Advices waiting for a 0430, as the advice task last read it.
    queue_len: AtomicU64,
    advices_sent: AtomicU64,
    advices_acknowledged: AtomicU64,
}

impl Upstream {
    /// The upstream side over a started `link`.
    pub fn new(link: Link, acquirer_id: String, saf_retry: Duration) -> Upstream {
        Upstream {
            link,
            acquirer_id,
            saf_retry,
            waiters: Mutex::new(HashMap::new()),
            advice_queued: Notify::new(),
            queue_len: AtomicU64::new(0),
            advices_sent: AtomicU64::new(0),
            advices_acknowledged: AtomicU64::new(0),
        }
    }

    fn waiters(&self) -> MutexGuard<'_, HashMap<i64, watch::Sender<Option<Settled>>>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Row `id` is settled: its retransmissions waiting get `settled`.
    pub(crate) fn publish(&self, id: i64, settled: Settled) {
        if let Some(sender) = self.waiters().remove(&id) {
            sender.send_replace(Some(settled));
        }
    }

    /// The answer of row `id`, which was pending when a retransmission of
    /// it was recorded: published by its forwarder, or read from the store
    /// if it was settled before this waiter subscribed. Bounded: past the
    /// link's timeout and a margin, `fallback` (the stored 91).
    pub(crate) async fn settled(&self, store: &Store, id: i64, fallback: Settled) -> Settled {
        let mut receiver = self
            .waiters()
            .entry(id)
            .or_insert_with(|| watch::channel(None).0)
            .subscribe();
        let deadline = tokio::time::Instant::now() + self.link.timeout() + Duration::from_secs(5);
        loop {
            if let Some(settled) = receiver.borrow().clone() {
                return settled;
            }
            let reader = store.clone();
            let stored = tokio::task::spawn_blocking(move || reader.read(|c| ops::outcome(c, id)))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten();
            if let Some(ops::Outcome::Settled {
                response_code,
                response,
            }) = stored
            {
                // Published before this waiter subscribed: drop the entry
                // it made, nobody will fill it.
                self.waiters().remove(&id);
                let code = ResponseCode::parse(&response_code).unwrap_or(ResponseCode::Unlisted);
                return (Bytes::from(response), code);
            }
            if tokio::time::Instant::now() >= deadline {
                return fallback;
            }
            let _ = tokio::time::timeout(Duration::from_millis(250), receiver.changed()).await;
        }
    }

    /// Appends the link's and the advice queue's metrics (Prometheus text).
    pub fn render_metrics(&self, out: &mut String) {
        self.link.render_metrics(out);
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP mpos_upstream_advice_queue Reversal advices waiting for the processor's 0430.\n# TYPE mpos_upstream_advice_queue gauge\nmpos_upstream_advice_queue {}",
            load(&self.queue_len)
        );
        let _ = writeln!(
            out,
            "# HELP mpos_upstream_advices_sent_total Reversal advices sent (0420 and 0421).\n# TYPE mpos_upstream_advices_sent_total counter\nmpos_upstream_advices_sent_total {}",
            load(&self.advices_sent)
        );
        let _ = writeln!(
            out,
            "# HELP mpos_upstream_advices_acknowledged_total Reversal advices the processor acknowledged.\n# TYPE mpos_upstream_advices_acknowledged_total counter\nmpos_upstream_advices_acknowledged_total {}",
            load(&self.advices_acknowledged)
        );
    }
}

/// At start, before devices are accepted: every transaction a previous run
/// left waiting on the processor becomes a 91, with a reversal advice
/// (reason 68) queued for it. How many there were.
///
/// While other hosts serve from the same database
/// ([`Store::other_hosts_serving`]), only those received more than
/// [`give_up_after`]`(link_timeout)` ago: a younger one may be a live
/// host's, still waiting on the processor, and giving it up would turn
/// that host's answer into a 91 and a needless reversal. If its host is in
/// fact dead, the sweep of any host in upstream mode gives it up once it is
/// that old ([`advices::sweep`]). Alone (SQLite, or the only host left),
/// every pending row was a previous run's: all are given up at once.
pub fn recover(store: &Store, link_timeout: Duration) -> Result<usize, StoreError> {
    let others = store.other_hosts_serving()?;
    let age = i64::try_from(give_up_after(link_timeout).as_millis()).unwrap_or(i64::MAX);
    store.write_blocking(move |tx| {
        let now = mpos_store::ops::now_millis();
        if others {
            ops::recover_pending_received_before(tx, now, now.saturating_sub(age))
        } else {
            ops::recover_pending(tx, now)
        }
    })
}

/// How long after its receipt a pending row may be given up as a 91 while
/// other hosts may be waiting on the processor: the link's timeout and a
/// grace, after which its forwarder has long had the processor's answer or
/// its timeout, so only a failed commit (or a dead host) leaves it pending.
pub fn give_up_after(link_timeout: Duration) -> Duration {
    link_timeout + advices::SWEEP_GRACE
}
