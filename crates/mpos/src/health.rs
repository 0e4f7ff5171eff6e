//! `/healthz` and `/readyz`, on the cabinet's listener and on the metrics
//! listener (deployment.md, section 5). `/healthz` is liveness: the process
//! runs and its listener accepts. `/readyz` is readiness, what a load
//! balancer in front of several hosts polls (every second is cheap: a probe
//! write happens only when nothing was committed in the last 2 s): 200 only
//! when the store can commit and the host is not shutting down, otherwise
//! 503 with the reason in one line. In upstream mode, also 503 while the
//! link to the card processor is down.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use mpos_acquirer::{Shutdown, Upstream};
use mpos_store::Store;
use std::fmt::Write;
use std::sync::Arc;

/// What readiness looks at.
#[derive(Clone)]
pub struct Health {
    /// The store, asked whether it can commit.
    pub store: Store,
    /// The host's shutdown: not ready once it has begun.
    pub shutdown: Shutdown,
    /// Upstream mode: not ready while the link to the card processor is
    /// down (every purchase would be a 91).
    pub upstream: Option<Arc<Upstream>>,
}

/// `/healthz` and `/readyz`.
pub fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(health)
}

async fn readyz(State(health): State<Health>) -> (StatusCode, String) {
    match health.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")),
    }
}

impl Health {
    /// Ready, or why not in one line.
    pub async fn ready(&self) -> Result<(), String> {
        if self.shutdown.is_started() {
            return Err("shutting down".to_owned());
        }
        if !self.link_up() {
            return Err("the link to the card processor is down".to_owned());
        }
        self.store.ready().await
    }

    /// Whether the card processor can be asked: always in simulator mode.
    fn link_up(&self) -> bool {
        self.upstream.as_ref().is_none_or(|u| u.link.state().up)
    }

    /// The readiness metrics, in Prometheus text: store commit failures by
    /// reason, whether the store is failing now, whether the host is
    /// shutting down. (Without a probe write: scrapes must not write.)
    pub fn render_metrics(&self) -> String {
        let snapshot = self.store.health().snapshot();
        let mut out = String::with_capacity(512);
        out.push_str("# HELP mpos_store_commit_failures_total Writes the store failed by its own fault, by reason.\n");
        out.push_str("# TYPE mpos_store_commit_failures_total counter\n");
        for reason in ["disk_full", "io", "unwritable", "other"] {
            let count = snapshot
                .failures
                .iter()
                .find(|(r, _)| r.label() == reason)
                .map_or(0, |(_, n)| *n);
            let _ = writeln!(
                out,
                "mpos_store_commit_failures_total{{reason=\"{reason}\"}} {count}"
            );
        }
        let recent = snapshot
            .since_failure
            .is_some_and(|since| since < mpos_store::FRESH);
        let failing = snapshot.failing.is_some() && recent;
        out.push_str("# HELP mpos_ready 1 when the host can take payments (as /readyz, without its probe write).\n");
        out.push_str("# TYPE mpos_ready gauge\n");
        let ready = !failing && !self.shutdown.is_started() && self.link_up();
        let _ = writeln!(out, "mpos_ready {}", u8::from(ready));
        out
    }
}
