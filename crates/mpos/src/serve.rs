//! `mpos serve`: the host and the HTTP listener over one store, on an
//! embedded default that a newcomer can use at once: demo data in an empty
//! database, the addresses and credentials printed, Ctrl-C to stop cleanly.

use crate::cli::ServeArgs;
use crate::config::{Config, ConfigError, FlagOverrides, HostFlags, HttpFlags};
use crate::fixtures::{self, FixtureError};
use crate::secrets::{self, SecretError};
use crate::store_setup::{self, OpenError};
use axum::Router;
use axum::routing::get;
use mpos_acquirer::{HostConfig, HostState, Metrics, Shutdown};
use mpos_cabinet::mail::{MailError, Mailer};
use mpos_domain::business_day::BusinessDayClock;
use mpos_domain::card::PanKey;
use mpos_domain::rules::SimulatorIssuer;
use mpos_iso8583::{Layout, LayoutError};
use mpos_store::StoreError;
use mpos_store::ops::audit::Actor;
use mpos_store::ops::merchants;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Why `mpos serve` could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The PAN hash key could not be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The wire layout could not be loaded.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// The fixtures could not be loaded.
    #[error(transparent)]
    Fixture(#[from] FixtureError),
    /// The mailer could not be set up (outbox folder, sender, TLS).
    #[error(transparent)]
    Mail(#[from] MailError),
    /// A listener could not be opened.
    #[error(
        "cannot listen on {address} ({what}): {source}; is another mpos running? choose another address with {flag}"
    )]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address.
        address: String,
        /// The flag that changes it.
        flag: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The runtime or a listener failed while serving.
    #[error("{0}")]
    Runtime(String),
}

/// Runs `mpos serve` until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> Result<(), ServeError> {
    init_logging();
    let config = Config::load(
        args.config.as_deref(),
        &FlagOverrides {
            data_dir: args.data_dir.clone(),
            host: args.iso_listen.clone().map(|listen| HostFlags {
                listen: Some(listen),
            }),
            http: args.http_listen.clone().map(|listen| HttpFlags {
                listen: Some(listen),
            }),
        },
    )?;
    let store = store_setup::open(&config)?;
    if store.read(merchants::none_yet)? {
        let report = match &args.fixtures {
            Some(path) => fixtures::load(&store, path, Actor::System)?,
            None => fixtures::load_text(
                &store,
                fixtures::DEMO,
                Path::new("fixtures/demo.toml (built in)"),
                Actor::System,
            )?,
        };
        crate::output::write_stdout(&format!(
            "Empty database: loaded {}: {report}\n",
            args.fixtures
                .as_deref()
                .unwrap_or(Path::new("the demo data"))
                .display()
        ));
    } else if let Some(path) = &args.fixtures {
        crate::output::write_stdout(&format!(
            "The database is not empty, so {} was not loaded; add it with `mpos admin load {}`.\n",
            path.display(),
            path.display()
        ));
    }
    let mailer = Mailer::new(config.mail_settings())?;
    let layout = Layout::load(&config.host.layout)?;
    let key = PanKey::new(&secrets::pan_hash_key(&config.data_dir)?);
    let clock = BusinessDayClock::new(&config.business_day.time_zone, &config.business_day.cutoff)
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    let host_config = HostConfig {
        max_connections: config.host.max_connections,
        max_in_flight: config.host.max_in_flight,
        idle_timeout: Duration::from_secs(config.host.idle_timeout_secs),
        max_frame: config.host.max_frame,
    };
    let state = Arc::new(HostState::new(
        store.clone(),
        layout,
        key,
        clock,
        Arc::new(SimulatorIssuer),
        host_config,
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(&config, state, mailer))?;
    // Everything answered; make sure every queued write is on disk.
    drop(runtime);
    store.flush_blocking()?;
    crate::output::write_stdout("mpos stopped.\n");
    Ok(())
}

async fn serve(config: &Config, state: Arc<HostState>, mailer: Mailer) -> Result<(), ServeError> {
    let iso = bind(&config.host.listen, "ISO 8583 host", "--iso-listen").await?;
    let http = bind(&config.http.listen, "HTTP", "--http-listen").await?;
    let iso_address = iso
        .local_addr()
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    let http_address = http
        .local_addr()
        .map_err(|e| ServeError::Runtime(e.to_string()))?;
    print_banner(config, iso_address, http_address, &mailer);

    let (shutdown, start_shutdown) = Shutdown::new();
    let start_shutdown = Arc::new(start_shutdown);
    let signals = Arc::clone(&start_shutdown);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: no new connections, answering what is in flight");
        signals();
    });
    let mut http_shutdown = shutdown.clone();
    let app_download = &config.cabinet.app_download;
    let cabinet = mpos_cabinet::Cabinet::new(
        state.store.clone(),
        mpos_cabinet::CabinetConfig {
            public_url: config.cabinet.public_url.clone(),
            business_day: state.clock.clone(),
            mail: mailer,
            app_download: if app_download.starts_with("http://")
                || app_download.starts_with("https://")
            {
                mpos_cabinet::AppDownload::Url(app_download.clone())
            } else {
                mpos_cabinet::AppDownload::File(app_download.into())
            },
        },
    );
    let router = http_router(Arc::clone(&state.metrics)).merge(mpos_cabinet::router(cabinet));
    let http_task = tokio::spawn(async move {
        axum::serve(http, router)
            .with_graceful_shutdown(async move { http_shutdown.started().await })
            .await
    });
    let host = mpos_acquirer::serve(iso, state, shutdown).await;
    start_shutdown();
    let http_result = http_task.await;
    host.map_err(|e| ServeError::Runtime(e.to_string()))?;
    match http_result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ServeError::Runtime(format!(
            "the HTTP listener failed: {e}"
        ))),
        Err(e) => Err(ServeError::Runtime(format!(
            "the HTTP listener task failed: {e}"
        ))),
    }
}

/// `/metrics` (Prometheus text) and `/healthz`.
fn http_router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = Arc::clone(&metrics);
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        metrics.render(),
                    )
                }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
}

async fn bind(
    address: &str,
    what: &'static str,
    flag: &'static str,
) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind {
            what,
            address: address.to_owned(),
            flag,
            source,
        })
}

fn print_banner(
    config: &Config,
    iso: std::net::SocketAddr,
    http: std::net::SocketAddr,
    mailer: &Mailer,
) {
    let text = format!(
        "mpos is running.
  ISO 8583 host  {iso}
  HTTP           http://{http}  (the cabinet; /metrics, /healthz)
  Data folder    {data}
  Mail           {mail}
With the demo data, an app signs on with device MPOS-0001 and app password app-pass-1,
and pays on merchant MTB000000000001, virtual terminal 10000001 (BYN).
Log in to the cabinet at http://{http}/login as demo@merchant.test / demo-password-1
(or second@merchant.test / second-password-2).
Press Ctrl-C to stop.
",
        data = config.data_dir.display(),
        mail = mailer.describe(),
    );
    crate::output::write_stdout(&text);
}

/// Logs go to stderr; `RUST_LOG` (e.g. `info`, `mpos_acquirer=debug`) sets the level.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
