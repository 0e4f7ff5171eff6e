//! `mpos serve`: the host and the HTTP listener over one store, on an
//! embedded default that a newcomer can use at once: demo data in an empty
//! database, the addresses and credentials printed, Ctrl-C to stop cleanly.

use crate::app::App;
use crate::cli::ServeArgs;
use crate::config::{Config, FlagOverrides, HostFlags, HttpFlags};
use crate::error::CliError;
use crate::fixtures;
use axum::Router;
use axum::routing::get;
use mpos_acquirer::{Metrics, Shutdown};
use mpos_cabinet::mail::Mailer;
use mpos_domain::rules::SimulatorIssuer;
use mpos_store::Store;
use mpos_store::ops::audit::Actor;
use mpos_store::ops::merchants;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpSocket};

/// Runs `mpos serve` until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> Result<(), CliError> {
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
    let app = App::build(config)?;
    match crate::limits::raise_open_files(
        u64::try_from(app.config.host.max_connections).unwrap_or(u64::MAX),
    ) {
        Ok(limit) => tracing::debug!(limit, "open-file limit"),
        Err(error) => tracing::warn!("{error}, or lower [host] max_connections"),
    }
    load_fixtures_if_empty(&app.store, args.fixtures.as_deref())?;
    let mailer = Mailer::new(app.config.mail_settings())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(&app, mailer))?;
    // Everything answered; make sure every queued write is on disk.
    drop(runtime);
    app.store.flush_blocking()?;
    crate::output::write_stdout("mpos stopped.\n");
    Ok(())
}

/// An empty database gets `fixtures` (the built-in demo data by default),
/// so the first start needs nothing else; a database with merchants is
/// left as it is.
fn load_fixtures_if_empty(store: &Store, fixtures: Option<&Path>) -> Result<(), CliError> {
    if !store.read(merchants::none_yet)? {
        if let Some(path) = fixtures {
            crate::output::write_stdout(&format!(
                "The database is not empty, so {} was not loaded; add it with `mpos admin load {}`.\n",
                path.display(),
                path.display()
            ));
        }
        return Ok(());
    }
    let report = match fixtures {
        Some(path) => fixtures::load(store, path, Actor::System)?,
        None => fixtures::load_text(
            store,
            fixtures::DEMO,
            Path::new("fixtures/demo.toml (built in)"),
            Actor::System,
        )?,
    };
    crate::output::write_stdout(&format!(
        "Empty database: loaded {}: {report}\n",
        fixtures.unwrap_or(Path::new("the demo data")).display()
    ));
    Ok(())
}

/// Binds both listeners, prints how to use them, and serves until a signal:
/// then no new connections, and what is in flight is answered.
async fn serve(app: &App, mailer: Mailer) -> Result<(), CliError> {
    let config = &app.config;
    // A fleet reconnects all at once after a restart: with the usual backlog
    // of 1,024 the kernel drops the rest of the SYNs and those readers wait
    // out the 1 s and 3 s of SYN retransmission.
    let fleet_backlog = u32::try_from(config.host.max_connections).unwrap_or(u32::MAX);
    let iso = bind(
        &config.host.listen,
        "ISO 8583 host",
        "--iso-listen",
        fleet_backlog,
    )
    .await?;
    let http = bind(&config.http.listen, "HTTP", "--http-listen", 1024).await?;
    let address = |listener: &TcpListener| {
        listener
            .local_addr()
            .map_err(|e| CliError::Runtime(e.to_string()))
    };
    print_banner(config, address(&iso)?, address(&http)?, &mailer);

    let (shutdown, start_shutdown) = Shutdown::new();
    let start_shutdown = Arc::new(start_shutdown);
    let signals = Arc::clone(&start_shutdown);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: no new connections, answering what is in flight");
        signals();
    });
    let state = Arc::new(app.host_state(Arc::new(SimulatorIssuer)));
    let cabinet = mpos_cabinet::Cabinet::new(app.store.clone(), app.cabinet_config(mailer));
    let router = http_router(Arc::clone(&state.metrics)).merge(mpos_cabinet::router(cabinet));
    let mut http_shutdown = shutdown.clone();
    let http_task = tokio::spawn(async move {
        // The peer's address reaches the cabinet's login throttle.
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(http, service)
            .with_graceful_shutdown(async move { http_shutdown.started().await })
            .await
    });
    let host = mpos_acquirer::serve(iso, state, shutdown).await;
    start_shutdown();
    let http_result = http_task.await;
    host.map_err(|e| CliError::Runtime(e.to_string()))?;
    match http_result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(CliError::Runtime(format!("the HTTP listener failed: {e}"))),
        Err(e) => Err(CliError::Runtime(format!(
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

/// Binds a listener whose accept queue holds `backlog` connections (the
/// kernel caps it at `net.core.somaxconn`).
async fn bind(
    address: &str,
    what: &'static str,
    flag: &'static str,
    backlog: u32,
) -> Result<TcpListener, CliError> {
    let listen = async {
        let resolved = tokio::net::lookup_host(address)
            .await?
            .next()
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to listen on")
            })?;
        let socket = if resolved.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // As TcpListener::bind does: a restart may listen again at once,
        // beside the old connections still in TIME_WAIT.
        socket.set_reuseaddr(true)?;
        socket.bind(resolved)?;
        socket.listen(backlog)
    };
    listen.await.map_err(|source| CliError::Bind {
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

/// Logs go to stderr; `RUST_LOG` (e.g. `info`, `mpos_acquirer=debug`) sets
/// the level. Colours only on a terminal: a log file or a pipe (systemd,
/// `2> mpos.log`) gets plain text, without escape codes.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
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
