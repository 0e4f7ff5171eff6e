//! `--wrong-sign-ons N`: a password guesser beside the devices. N sign-ons
//! a second in all, over a few connections, each for a made-up serial with
//! a made-up password — never the same pair twice, so the host can neither
//! share one check between them nor lock one serial out for good. It
//! measures what such abuse costs the payments running beside it.

use super::Settings;
use super::backoff::Backoff;
use super::device::Connection;
use super::totals::Totals;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

/// Connections the guesser spreads its sign-ons over.
pub(super) const CONNECTIONS: u32 = 16;
/// Sign-ons one guessing connection leaves unanswered before it waits.
const IN_FLIGHT: u64 = 64;

/// Runs guessing connection `index` of [`CONNECTIONS`] at its share of
/// `rate` sign-ons a second until the deadline.
pub(super) async fn run(index: u32, rate: u32, settings: Arc<Settings>, totals: Arc<Totals>) {
    let deadline = settings.deadline;
    let interval = Duration::from_secs_f64(f64::from(CONNECTIONS) / f64::from(rate.max(1)));
    let mut backoff = Backoff::new(u64::from(index) + 7);
    let mut guess = u64::from(index) << 40 | u64::from(std::process::id());
    let mut next_due = Instant::now() + interval.mul_f64(f64::from(index) / f64::from(CONNECTIONS));
    while Instant::now() < deadline {
        let tls = settings.tls.as_ref().map(|tls| tls.anonymous());
        let host = settings.hosts.first_for(index);
        let Some(connection) = Connection::open(&settings, host, tls, &totals, deadline).await
        else {
            if backoff.wait(deadline).await {
                continue;
            }
            break;
        };
        backoff.reset();
        let (mut reader, mut writer) = connection.into_parts();
        let mut unanswered: u64 = 0;
        loop {
            // A guesser that fell behind does not burst to catch up.
            if let Some(late) = Instant::now().checked_sub(interval) {
                next_due = next_due.max(late);
            }
            tokio::select! {
                frame = reader.next() => {
                    if !matches!(frame, Some(Ok(_))) {
                        break;
                    }
                    unanswered = unanswered.saturating_sub(1);
                    totals.wrong_answered.fetch_add(1, Ordering::Relaxed);
                }
                () = tokio::time::sleep_until(next_due), if unanswered < IN_FLIGHT => {
                    if next_due >= deadline {
                        return;
                    }
                    next_due += interval;
                    guess = guess.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    let serial = format!("GUESS-{:08X}", guess >> 32);
                    let password = format!("guess-{guess:016x}");
                    let message = super::requests::encode(
                        &settings.layout,
                        settings.mtis.network,
                        &[(7, "1201000000"), (11, "000001"), (48, &password), (62, &serial), (70, "001")],
                    );
                    if writer.send(message).await.is_err() {
                        break;
                    }
                    unanswered += 1;
                    totals.wrong_sent.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if !backoff.wait(deadline).await {
            break;
        }
    }
}
