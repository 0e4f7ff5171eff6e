//! The counters every device task adds to, the latency histogram they
//! share, and the summary printed at the end (text, or one JSON line whose
//! keys only ever grow).

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// "Not yet" for the moments kept as microseconds since the start.
const NEVER: u64 = u64::MAX;

/// Counters shared by the device tasks, the progress bar and the summary.
pub(super) struct Totals {
    started: Instant,
    /// Requests due before this are not in the latency histogram.
    measured_from: Instant,
    devices: u64,
    /// Payments sent.
    pub(super) sent: AtomicU64,
    /// Payments approved (00).
    pub(super) approved: AtomicU64,
    /// Payments lost or answered wrongly, and devices that never signed on.
    pub(super) errors: AtomicU64,
    /// Payments declined, by DE 39.
    declined: Mutex<BTreeMap<String, u64>>,
    /// Latencies of all answered payments, microseconds.
    latencies: Mutex<Histogram<u64>>,
    /// Sign-ons answered 00, by credential.
    pub(super) sign_ons_by_password: AtomicU64,
    pub(super) sign_ons_by_ticket: AtomicU64,
    /// Ticket sign-ons refused (the device then used its password).
    pub(super) tickets_refused: AtomicU64,
    /// Password sign-ons refused (the device then stopped), by DE 39.
    refused: Mutex<BTreeMap<String, u64>>,
    /// Connections lost by signed-on devices.
    pub(super) drops: AtomicU64,
    /// Devices signed on again after losing their connection.
    pub(super) reconnects: AtomicU64,
    /// Connection attempts that failed (host down, refused, timed out).
    pub(super) connect_failures: AtomicU64,
    /// Moves of a device to the next host (`--iso A,B`).
    pub(super) failovers: AtomicU64,
    /// Open-loop slots skipped while a device had no connection.
    pub(super) skipped: AtomicU64,
    /// Wrong-password sign-ons sent and answered (`--wrong-sign-ons`).
    pub(super) wrong_sent: AtomicU64,
    pub(super) wrong_answered: AtomicU64,
    /// TLS handshakes completed in full, resumed, and failed.
    pub(super) tls_full: AtomicU64,
    pub(super) tls_resumed: AtomicU64,
    pub(super) tls_failures: AtomicU64,
    /// Devices signed on at least once, and when the last of them did.
    first_sign_ons: AtomicU64,
    all_signed_on_us: AtomicU64,
    /// Devices that lost their connection and have not signed on again;
    /// the first reconnection after a loss and the last sign-on that left
    /// none waiting: the time a fleet took to come back.
    waiting: AtomicI64,
    first_reconnect_us: AtomicU64,
    all_resumed_us: AtomicU64,
}

impl Totals {
    /// Counters for `devices` devices, the clock starting now; latencies
    /// recorded after `warmup`.
    pub(super) fn new(devices: u32, histogram: Histogram<u64>, warmup: Duration) -> Self {
        let started = Instant::now();
        Totals {
            started,
            measured_from: started + warmup,
            devices: u64::from(devices),
            sent: AtomicU64::new(0),
            approved: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            declined: Mutex::new(BTreeMap::new()),
            latencies: Mutex::new(histogram),
            sign_ons_by_password: AtomicU64::new(0),
            sign_ons_by_ticket: AtomicU64::new(0),
            tickets_refused: AtomicU64::new(0),
            refused: Mutex::new(BTreeMap::new()),
            drops: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            failovers: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            wrong_sent: AtomicU64::new(0),
            wrong_answered: AtomicU64::new(0),
            tls_full: AtomicU64::new(0),
            tls_resumed: AtomicU64::new(0),
            tls_failures: AtomicU64::new(0),
            first_sign_ons: AtomicU64::new(0),
            all_signed_on_us: AtomicU64::new(NEVER),
            waiting: AtomicI64::new(0),
            first_reconnect_us: AtomicU64::new(NEVER),
            all_resumed_us: AtomicU64::new(NEVER),
        }
    }

    /// Counts a completed TLS handshake by its kind.
    pub(super) fn tls_handshake(&self, kind: Option<mpos_tls::HandshakeKind>) {
        let counter = if kind == Some(mpos_tls::HandshakeKind::Resumed) {
            &self.tls_resumed
        } else {
            &self.tls_full
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_micros()).unwrap_or(NEVER - 1)
    }

    /// One answered payment: its latency from when it was due (unless it
    /// was due during the warm-up).
    pub(super) fn latency(&self, due: Instant) {
        if due < self.measured_from {
            return;
        }
        let micros = u64::try_from(due.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        if let Ok(mut histogram) = self.latencies.lock() {
            histogram.saturating_record(micros);
        }
    }

    /// One payment declined with `code`.
    pub(super) fn declined(&self, code: &str) {
        bump(&self.declined, code);
    }

    /// One password sign-on refused with `code`.
    pub(super) fn refused(&self, code: &str) {
        bump(&self.refused, code);
    }

    /// A device signed on for the first time.
    pub(super) fn first_sign_on(&self) {
        if self.first_sign_ons.fetch_add(1, Ordering::Relaxed) + 1 == self.devices {
            self.all_signed_on_us
                .store(self.now_us(), Ordering::Relaxed);
        }
    }

    /// A signed-on device lost its connection.
    pub(super) fn dropped(&self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
        self.waiting.fetch_add(1, Ordering::Relaxed);
    }

    /// A device that lost its connection has a new one.
    pub(super) fn reconnected(&self) {
        self.first_reconnect_us
            .fetch_min(self.now_us(), Ordering::Relaxed);
    }

    /// A device that lost its connection signed on again.
    pub(super) fn resumed(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
        if self.waiting.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.all_resumed_us.store(self.now_us(), Ordering::Relaxed);
        }
    }

    /// The progress bar's line.
    pub(super) fn status(&self) -> String {
        let elapsed = self.started.elapsed();
        let approved = self.approved.load(Ordering::Relaxed);
        let reconnects = self.reconnects.load(Ordering::Relaxed);
        format!(
            "sent {}, approved {} ({:.0}/s), errors {}{}",
            self.sent.load(Ordering::Relaxed),
            approved,
            approved as f64 / elapsed.as_secs_f64().max(0.001),
            self.errors.load(Ordering::Relaxed),
            if reconnects > 0 {
                format!(", reconnects {reconnects}")
            } else {
                String::new()
            }
        )
    }

    /// The summary: one JSON line, or a few lines for a person.
    pub(super) fn summary(&self, run: &RunInfo<'_>) -> String {
        let elapsed = self.started.elapsed();
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let (sent, approved, errors) = (get(&self.sent), get(&self.approved), get(&self.errors));
        let declined_by_code = self.declined.lock().map(|d| d.clone()).unwrap_or_default();
        let refused_by_code = self.refused.lock().map(|d| d.clone()).unwrap_or_default();
        let declined: u64 = declined_by_code.values().sum();
        let refused: u64 = refused_by_code.values().sum();
        let tps = approved as f64 / elapsed.as_secs_f64().max(0.001);
        let histogram = self.latencies.lock().map(|h| h.clone()).ok();
        let ms = |q: f64| {
            histogram
                .as_ref()
                .map_or(0.0, |h| h.value_at_quantile(q) as f64 / 1000.0)
        };
        let (by_password, by_ticket) = (
            get(&self.sign_ons_by_password),
            get(&self.sign_ons_by_ticket),
        );
        let (reconnects, drops) = (get(&self.reconnects), get(&self.drops));
        let all_signed_on_ms = self.moment_ms(&self.all_signed_on_us, None);
        let resumed_ms = (self.waiting.load(Ordering::Relaxed) == 0)
            .then(|| self.moment_ms(&self.all_resumed_us, Some(&self.first_reconnect_us)))
            .flatten();
        if run.json {
            // The keys of the first versions first, in their order; new ones after.
            let ms_or_null =
                |v: Option<f64>| v.map_or_else(|| "null".to_owned(), |v| format!("{v:.1}"));
            let fields = [
                ("sent", sent.to_string()),
                ("approved", approved.to_string()),
                ("declined", declined.to_string()),
                ("errors", errors.to_string()),
                ("tps", format!("{tps:.1}")),
                ("p50_ms", format!("{:.3}", ms(0.5))),
                ("p99_ms", format!("{:.3}", ms(0.99))),
                ("p999_ms", format!("{:.3}", ms(0.999))),
                ("sign_ons_by_password", by_password.to_string()),
                ("sign_ons_by_ticket", by_ticket.to_string()),
                ("tickets_refused", get(&self.tickets_refused).to_string()),
                ("sign_ons_refused", refused.to_string()),
                ("drops", drops.to_string()),
                ("reconnects", reconnects.to_string()),
                ("connect_failures", get(&self.connect_failures).to_string()),
                ("all_signed_on_ms", ms_or_null(all_signed_on_ms)),
                ("all_resumed_ms", ms_or_null(resumed_ms)),
                ("skipped", get(&self.skipped).to_string()),
                ("wrong_sign_ons_sent", get(&self.wrong_sent).to_string()),
                (
                    "wrong_sign_ons_answered",
                    get(&self.wrong_answered).to_string(),
                ),
                ("tls_full_handshakes", get(&self.tls_full).to_string()),
                ("tls_resumed_handshakes", get(&self.tls_resumed).to_string()),
                (
                    "tls_handshake_failures",
                    get(&self.tls_failures).to_string(),
                ),
                ("failovers", get(&self.failovers).to_string()),
            ];
            let body: Vec<String> = fields
                .iter()
                .map(|(key, value)| format!("\"{key}\":{value}"))
                .collect();
            return format!("{{{}}}\n", body.join(","));
        }
        let codes = |by_code: &BTreeMap<String, u64>| {
            if by_code.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = by_code.iter().map(|(c, n)| format!("{c}: {n}")).collect();
                format!("  ({})", list.join(", "))
            }
        };
        let mut text = format!(
            "mpos loadgen: {} devices, {}, {:.1} s against {}\n  sent       {sent}\n  approved   {approved}  ({tps:.1}/s)\n  declined   {declined}{}\n  errors     {errors}\n  latency    p50 {:.2} ms   p99 {:.2} ms   p99.9 {:.2} ms{}\n",
            self.devices,
            run.load,
            elapsed.as_secs_f64(),
            run.address,
            codes(&declined_by_code),
            ms(0.5),
            ms(0.99),
            ms(0.999),
            if run.open_loop {
                "  (from when each was due)"
            } else {
                ""
            },
        );
        text.push_str(&format!(
            "  sign-ons   {by_password} by password, {by_ticket} by ticket{}{}\n",
            all_signed_on_ms.map_or_else(String::new, |ms| format!(
                "; all {} devices in {ms:.0} ms",
                self.devices
            )),
            if refused > 0 {
                format!("; refused {refused}{}", codes(&refused_by_code))
            } else {
                String::new()
            },
        ));
        if drops > 0 || get(&self.connect_failures) > 0 {
            let failovers = get(&self.failovers);
            text.push_str(&format!(
                "  reconnects {reconnects} of {drops} lost connections{}; {} failed connection attempts{}\n",
                resumed_ms.map_or_else(String::new, |ms| format!(", all back in {ms:.0} ms")),
                get(&self.connect_failures),
                if failovers > 0 {
                    format!("; {failovers} moves to the next host")
                } else {
                    String::new()
                },
            ));
        }
        let skipped = get(&self.skipped);
        if skipped > 0 {
            text.push_str(&format!(
                "  skipped    {skipped} slots due while disconnected\n"
            ));
        }
        let (full, resumed, failed) = (
            get(&self.tls_full),
            get(&self.tls_resumed),
            get(&self.tls_failures),
        );
        if full + resumed + failed > 0 {
            let rate = |n: u64| n as f64 / elapsed.as_secs_f64().max(0.001);
            text.push_str(&format!(
                "  TLS        {full} full handshakes ({:.1}/s), {resumed} resumed ({:.1}/s), {failed} failed\n",
                rate(full),
                rate(resumed),
            ));
        }
        let wrong = get(&self.wrong_sent);
        if wrong > 0 {
            text.push_str(&format!(
                "  wrong sign-ons {wrong} sent, {} answered\n",
                get(&self.wrong_answered)
            ));
        }
        text
    }

    /// A moment in milliseconds, since the start or since `since`; `None` if it never came.
    fn moment_ms(&self, at: &AtomicU64, since: Option<&AtomicU64>) -> Option<f64> {
        let at = at.load(Ordering::Relaxed);
        let since = since.map_or(0, |s| s.load(Ordering::Relaxed));
        (at != NEVER && since != NEVER).then(|| at.saturating_sub(since) as f64 / 1000.0)
    }

    /// Seconds since the start.
    pub(super) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// What the summary says about the run besides the counters.
pub(super) struct RunInfo<'a> {
    /// One JSON line instead of text.
    pub(super) json: bool,
    /// "pipeline 4" or "open loop at 5000/s".
    pub(super) load: String,
    /// Whether latencies count from the due time.
    pub(super) open_loop: bool,
    /// The host's address.
    pub(super) address: &'a str,
}

fn bump(map: &Mutex<BTreeMap<String, u64>>, code: &str) {
    if let Ok(mut map) = map.lock() {
        *map.entry(code.to_owned()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(devices: u32) -> Totals {
        Totals::new(
            devices,
            Histogram::new_with_bounds(1, 60_000_000, 3).unwrap(),
            Duration::ZERO,
        )
    }

    #[test]
    fn the_json_summary_keeps_the_old_keys_and_adds_the_new() {
        let totals = totals(2);
        totals.approved.fetch_add(5, Ordering::Relaxed);
        let info = RunInfo {
            json: true,
            load: "pipeline 4".into(),
            open_loop: false,
            address: "127.0.0.1:1",
        };
        let line = totals.summary(&info);
        assert!(
            line.starts_with("{\"sent\":0,\"approved\":5,"),
            "old keys first: {line}"
        );
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        for key in [
            "sent",
            "approved",
            "declined",
            "errors",
            "tps",
            "p50_ms",
            "p99_ms",
            "p999_ms",
            "sign_ons_by_password",
            "sign_ons_by_ticket",
            "reconnects",
            "all_signed_on_ms",
            "all_resumed_ms",
        ] {
            assert!(json.get(key).is_some(), "{key} in {json}");
        }
        assert_eq!(json["approved"], 5);
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(!keys.is_empty());
        assert!(
            json["all_signed_on_ms"].is_null(),
            "not every device signed on"
        );
    }

    #[test]
    fn latencies_due_in_the_warm_up_are_left_out() {
        let totals = Totals::new(
            1,
            Histogram::new_with_bounds(1, 60_000_000, 3).unwrap(),
            Duration::from_secs(60),
        );
        totals.latency(Instant::now());
        let recorded = totals.latencies.lock().unwrap().len();
        assert_eq!(recorded, 0);
        totals.latency(Instant::now() + Duration::from_secs(61));
        assert_eq!(totals.latencies.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_fleet_is_back_when_every_dropped_device_signed_on_again() {
        let totals = totals(2);
        totals.first_sign_on();
        assert_eq!(totals.all_signed_on_us.load(Ordering::Relaxed), NEVER);
        totals.first_sign_on();
        assert_ne!(totals.all_signed_on_us.load(Ordering::Relaxed), NEVER);
        totals.dropped();
        totals.dropped();
        totals.reconnected();
        totals.resumed();
        assert_eq!(
            totals.all_resumed_us.load(Ordering::Relaxed),
            NEVER,
            "one still away"
        );
        totals.reconnected();
        totals.resumed();
        assert_ne!(totals.all_resumed_us.load(Ordering::Relaxed), NEVER);
        assert_eq!(totals.reconnects.load(Ordering::Relaxed), 2);
        assert!(
            totals
                .moment_ms(&totals.all_resumed_us, Some(&totals.first_reconnect_us))
                .is_some()
        );
    }
}
