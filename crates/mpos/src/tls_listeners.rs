//! `mpos serve`'s TLS listeners in one list: what SIGHUP reads again and
//! what `/metrics` counts under `listener="..."`. A listener that serves
//! TLS is one entry here; nothing else needs to know about it.

use mpos_tls::TlsMetrics;

/// One listener serving TLS.
#[derive(Clone)]
pub struct TlsListener {
    /// Its `listener` label in `/metrics` and its name in the log (`iso`,
    /// `http`).
    pub name: &'static str,
    /// Its configuration (read again on SIGHUP, each reload counted) and
    /// handshake counters.
    pub tls: mpos_tls::TlsListener,
}

/// Reads every listener's files again: new handshakes use the new ones,
/// open connections keep theirs; a listener whose new files are bad keeps
/// its old ones and says why at ERROR.
pub fn reload_all(listeners: &[TlsListener]) {
    if listeners.is_empty() {
        tracing::info!("SIGHUP: no TLS listener to reload");
    }
    for listener in listeners {
        match listener.tls.reload() {
            Ok(()) => tracing::info!(
                listener = listener.name,
                "TLS certificate reloaded: new connections use it, open ones keep theirs"
            ),
            Err(error) => tracing::error!(
                listener = listener.name,
                "TLS certificate not reloaded, the one in force stays: {error}"
            ),
        }
    }
}

/// Reloads `listeners` on every SIGHUP, for as long as the runtime runs.
/// Installed even without TLS listeners: SIGHUP's default action would
/// end the process, and an operator's habitual `kill -HUP` must not stop
/// a payment host.
pub fn reload_on_sighup(listeners: Vec<TlsListener>) {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(mut hangups) => {
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    reload_all(&listeners);
                }
            });
        }
        Err(error) => {
            tracing::warn!(%error, "cannot handle SIGHUP; TLS certificates are read only at start")
        }
    }
}

/// Appends every listener's TLS counters to a `/metrics` text (nothing
/// without TLS listeners).
pub fn render_metrics(out: &mut String, listeners: &[TlsListener]) {
    let labelled: Vec<(&str, &TlsMetrics)> = listeners
        .iter()
        .map(|listener| (listener.name, listener.tls.metrics.as_ref()))
        .collect();
    TlsMetrics::render_all(out, &labelled);
}
