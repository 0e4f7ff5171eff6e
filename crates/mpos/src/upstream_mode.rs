//! `mpos serve` in upstream mode: the link to the card processor started
//! from `[upstream]`, the advice task, and the recovery of what a previous
//! run left waiting on the processor, before devices are accepted.

use crate::app::App;
use crate::config::{Config, IssuerMode};
use crate::error::CliError;
use mpos_acquirer::{HostState, Shutdown, Upstream};
use mpos_domain::rules::{SimulatorIssuer, UpstreamIssuer};
use mpos_iso8583::Layout;
use mpos_upstream::{Link, LinkConfig};
use std::sync::Arc;
use std::time::Duration;

/// Turns what a previous run left pending into 91s with a reversal advice
/// each, and says so when there were any (cheap: only pending rows are in
/// their index). In either mode: a row must not stay pending because the
/// host was restarted in simulator mode. There the advices cannot be sent,
/// so it also warns while any wait, until a start in upstream mode delivers
/// them. While other hosts serve from the same database, rows younger than
/// the link's timeout and its grace are left to their host, which may be
/// waiting for them (`mpos_acquirer::upstream::recover`).
pub(crate) fn recover(app: &App) -> Result<(), CliError> {
    let recovered = mpos_acquirer::upstream::recover(&app.store, app.config.upstream.timeout())?;
    if recovered > 0 {
        tracing::warn!(
            recovered,
            "transactions left waiting on the card processor by the last run are now 91s, \
             each with a reversal advice queued"
        );
    }
    if app.config.issuer.mode != IssuerMode::Upstream {
        let waiting = app
            .store
            .read(|r| mpos_store::ops::upstream::queue_len(r))?;
        if waiting > 0 {
            tracing::warn!(
                waiting,
                "reversal advices wait for the card processor, and the simulator mode \
                 cannot send them: start in upstream mode ([issuer] mode = \"upstream\") \
                 to deliver them"
            );
        }
    }
    Ok(())
}

/// The host's state for the configured mode; in upstream mode the link is
/// started (it connects in the background) and the advice task spawned.
/// Must run inside the runtime.
pub(crate) fn host_state(
    app: &App,
    shutdown: &Shutdown,
) -> Result<(Arc<HostState>, Option<Arc<Upstream>>), CliError> {
    if app.config.issuer.mode != IssuerMode::Upstream {
        return Ok((Arc::new(app.host_state(Arc::new(SimulatorIssuer))), None));
    }
    let section = &app.config.upstream;
    let layout = Layout::load(&section.layout).map_err(|source| CliError::Layout {
        layout: section.layout.clone(),
        source,
    })?;
    let tls = section.link_tls()?;
    let link = Link::start(LinkConfig {
        hosts: section.hosts.clone(),
        acquirer_id: section.acquirer_id.clone(),
        timeout: section.timeout(),
        echo_interval: Duration::from_secs(section.echo_interval_secs),
        reconnect_max: Duration::from_secs(section.reconnect_max_secs),
        layout,
        max_frame: app.config.host.max_frame,
        tls,
    });
    let upstream = Arc::new(Upstream::new(
        link,
        section.acquirer_id.clone(),
        Duration::from_secs(section.saf_retry_secs),
    ));
    tokio::spawn(mpos_acquirer::upstream::advices::run(
        app.store.clone(),
        Arc::clone(&upstream),
        shutdown.clone(),
    ));
    tokio::spawn(mpos_acquirer::upstream::advices::sweep(
        app.store.clone(),
        Arc::clone(&upstream),
        shutdown.clone(),
    ));
    let state = app
        .host_state(Arc::new(UpstreamIssuer))
        .with_upstream(Arc::clone(&upstream));
    Ok((Arc::new(state), Some(upstream)))
}

/// The banner's line about who decides purchases.
pub(crate) fn banner_line(config: &Config) -> String {
    match config.issuer.mode {
        IssuerMode::Simulator => {
            "Issuer         the built-in simulator (amounts ending in 51 -> 51, 05 -> 05)".into()
        }
        IssuerMode::Upstream => format!(
            "Issuer         the card processor at {}{} (acquirer {}; timeout {} ms)",
            config.upstream.hosts.join(", then "),
            if config.upstream.tls {
                format!(", TLS as {}", config.upstream.server_name)
            } else {
                String::new()
            },
            config.upstream.acquirer_id,
            config.upstream.timeout_ms
        ),
    }
}
