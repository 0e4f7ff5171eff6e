//! `mpos serve`: the host, the cabinet's HTTP listener and the metrics'
//! listener over one store, on an embedded default that a newcomer can use
//! at once: demo data in an empty database, the addresses and credentials
//! printed, Ctrl-C to stop cleanly.

use crate::app::App;
use crate::cli::ServeArgs;
use crate::config::{Config, FlagOverrides, HostFlags, HttpFlags, MetricsFlags};
use crate::error::CliError;
use crate::fixtures;
use crate::health::{self, Health};
use crate::http_server::https;
use crate::http_server::{self, HttpLimits};
use crate::tls_listeners::{self, TlsListener};
use axum::Router;
use axum::routing::get;
use mpos_acquirer::{Metrics, Shutdown};
use mpos_cabinet::mail::Mailer;
use mpos_store::Store;
use mpos_store::ops::audit::Actor;
use mpos_store::ops::merchants;
use mpos_tls::{ReloadableServerTls, TicketKeys};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};

/// Connections the metrics' listener serves at once: a scraper or two.
const METRICS_MAX_CONNECTIONS: usize = 64;

/// The fewest HTTP connections served when the open-file limit is short:
/// the cabinet stays usable, the host keeps the rest.
const MIN_HTTP_CONNECTIONS: usize = 32;

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
            metrics: args.metrics_listen.clone().map(|listen| MetricsFlags {
                listen: Some(listen),
            }),
        },
    )?;
    config.check_app_download()?;
    // Before the data folder or anything else is touched: a TLS file that
    // cannot be used stops the start with one line naming it.
    let iso_tls_files = config.host_tls_files();
    if let Some(files) = &iso_tls_files {
        iso_tls(files, None)?;
    }
    let https = https_of(&config)?;
    // Whatever mpos, SQLite or the mailer creates from here on is its
    // owner's only (deployment.md, section 4).
    crate::data_dir::private_umask();
    let app = App::build(config)?;
    let iso_tls = match iso_tls_files {
        Some(files) => {
            let keys = TicketKeys::open(&app.config.data_dir.join(TICKET_KEYS_FILE))?;
            Some(iso_tls(&files, Some(keys))?)
        }
        None => None,
    };
    let http_connections = open_files_for(&app.config);
    load_fixtures_if_empty(&app.store, args.fixtures.as_deref())?;
    let mailer = Mailer::new(app.config.mail_settings())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(&app, mailer, http_connections, iso_tls, https))?;
    // Everything answered; make sure every queued write is on disk.
    drop(runtime);
    app.store.flush_blocking()?;
    crate::output::write_stdout("mpos stopped.\n");
    Ok(())
}

/// Raises the open-file limit for the host's, HTTP's and the metrics'
/// connections and the rest; the HTTP connections to serve at once. When the
/// system allows less, it says so, and HTTP gets only what the host's
/// connections leave (at least [`MIN_HTTP_CONNECTIONS`]): the budgets stay
/// separate, so HTTP clients never take the host's files.
fn open_files_for(config: &Config) -> usize {
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let host = count(config.host.max_connections);
    let metrics = if config.metrics.listen.is_empty() {
        0
    } else {
        count(METRICS_MAX_CONNECTIONS)
    };
    let http = config.http.max_connections;
    let connections = host.saturating_add(count(http)).saturating_add(metrics);
    match crate::limits::raise_open_files(connections) {
        Ok(limit) => {
            tracing::debug!(limit, "open-file limit");
            http
        }
        Err(error) => {
            tracing::warn!("{error}, or lower [host] max_connections or [http] max_connections");
            let left = match error {
                crate::limits::OpenFilesError::Short { limit, wanted, .. } => {
                    // What HTTP may take without eating into the host's.
                    count(http).saturating_sub(wanted.saturating_sub(limit))
                }
                crate::limits::OpenFilesError::Unknown(_) => count(http),
            };
            let served = usize::try_from(left)
                .unwrap_or(http)
                .clamp(MIN_HTTP_CONNECTIONS.min(http), http);
            if served < http {
                tracing::warn!(
                    "serving at most {served} HTTP connections at once instead of {http}, \
                     to keep the ISO 8583 host's open files"
                );
            }
            served
        }
    }
}

/// HTTPS for the cabinet's listener from `[http] tls_cert` and `tls_key`,
/// or `None` for plain HTTP: read at start, so that a file that cannot be
/// used stops `mpos serve` with one line naming it.
fn https_of(config: &Config) -> Result<Option<mpos_tls::TlsListener>, CliError> {
    let Some(files) = config.http.tls_files() else {
        return Ok(None);
    };
    let tls = ReloadableServerTls::load(files, https::ALPN).map_err(|source| CliError::Tls {
        section: "http",
        source,
    })?;
    Ok(Some(mpos_tls::TlsListener::new(Arc::new(tls))))
}

/// The session ticket keys' file in the data folder: they roll daily and
/// outlive a restart, so the fleet's reconnect storm after one resumes its
/// TLS sessions instead of paying a full handshake per reader.
const TICKET_KEYS_FILE: &str = "tls-tickets.key";

/// The ISO 8583 listener's TLS from `files` (`[host] tls_cert`, `tls_key`,
/// `client_ca`), session tickets under `tickets`' keys when given; an
/// error names the file.
fn iso_tls(
    files: &mpos_tls::ServerTlsFiles,
    tickets: Option<Arc<TicketKeys>>,
) -> Result<mpos_tls::TlsListener, CliError> {
    ReloadableServerTls::load_with_tickets(files.clone(), &[], tickets)
        .map(|config| mpos_tls::TlsListener::new(Arc::new(config)))
        .map_err(|source| CliError::Tls {
            section: "host",
            source,
        })
}

/// The address e-mailed links start with when `[cabinet] public_url` is
/// left at its default and the cabinet serves HTTPS: the default's
/// `http://127.0.0.1:8080` would send a merchant's reset token in clear to
/// a port that speaks only TLS. The listener's own address is the best
/// guess; on any other than loopback merchants use a name only the
/// operator knows, so it warns.
fn https_public_url(http: std::net::SocketAddr) -> String {
    let ip = http.ip();
    let url = if ip.is_unspecified() {
        format!("https://localhost:{}", http.port())
    } else {
        format!("https://{http}")
    };
    if !ip.is_loopback() {
        tracing::warn!(
            "[cabinet] public_url is not set: e-mailed links point at {url}; \
             set it to the https address merchants use"
        );
    }
    url
}

/// An empty database gets `fixtures` (the built-in demo data by default),
/// so the first start needs nothing else; a database with merchants is
/// left as it is.
fn load_fixtures_if_empty(store: &Store, fixtures: Option<&Path>) -> Result<(), CliError> {
    if !store.read(|r| merchants::none_yet(r))? {
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

/// Binds the three listeners (the metrics' unless turned off), prints how
/// to use them, and serves until a signal: then no new connections, and
/// what is in flight is answered.
async fn serve(
    app: &App,
    mailer: Mailer,
    http_connections: usize,
    iso_tls: Option<mpos_tls::TlsListener>,
    https: Option<mpos_tls::TlsListener>,
) -> Result<(), CliError> {
    let config = &app.config;
    // Every listener serving TLS: SIGHUP reloads them, /metrics counts
    // them. A TLS listener is one entry here.
    let mut tls_listeners = Vec::new();
    if let Some(tls) = &iso_tls {
        tls_listeners.push(TlsListener {
            name: "iso",
            tls: tls.clone(),
        });
    }
    if let Some(tls) = &https {
        tls_listeners.push(TlsListener {
            name: "http",
            tls: tls.clone(),
        });
    }
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
    let metrics = if config.metrics.listen.is_empty() {
        None
    } else {
        Some(bind(&config.metrics.listen, "metrics", "--metrics-listen", 128).await?)
    };
    let address = |listener: &TcpListener| {
        listener
            .local_addr()
            .map_err(|e| CliError::Runtime(e.to_string()))
    };
    let metrics_address = metrics.as_ref().map(address).transpose()?;
    let http_address = address(&http)?;
    print_banner(
        config,
        iso_tls.as_ref(),
        address(&iso)?,
        http_address,
        https.is_some(),
        metrics_address,
        &mailer,
    );

    let (shutdown, start_shutdown) = Shutdown::new();
    let start_shutdown = Arc::new(start_shutdown);
    let signals = Arc::clone(&start_shutdown);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: no new connections, answering what is in flight");
        signals();
    });
    survive_file_size_limits();
    tls_listeners::reload_on_sighup(tls_listeners.clone());
    // Before any device is accepted: nothing a previous run left waiting
    // on the processor stays so (upstream-interface.md, section 3).
    crate::upstream_mode::recover(app)?;
    let (state, upstream) = crate::upstream_mode::host_state(app, &shutdown)?;
    let mut cabinet_config = app.cabinet_config(mailer);
    if https.is_some() && config.cabinet.public_url_is_default {
        cabinet_config.public_url = https_public_url(http_address);
    }
    let cabinet = mpos_cabinet::Cabinet::new(app.store.clone(), cabinet_config);
    let limits = HttpLimits {
        max_connections: http_connections,
        header_timeout: Duration::from_secs(config.http.header_timeout_secs),
        idle_timeout: Duration::from_secs(config.http.idle_timeout_secs),
    };
    let health = Health {
        store: app.store.clone(),
        shutdown: shutdown.clone(),
        upstream: upstream.clone(),
    };
    // The HTTP listeners stop after the ISO host has answered what it had
    // in flight, so that meanwhile /readyz tells a load balancer why (503).
    let (http_shutdown, stop_http) = Shutdown::new();
    let cabinet_router = health::router(health.clone()).merge(mpos_cabinet::router(cabinet));
    let mut listeners = tokio::task::JoinSet::new();
    listeners.spawn(http_server::serve(
        http,
        cabinet_router,
        limits,
        https,
        http_shutdown.clone(),
        "HTTP",
    ));
    if let Some(metrics) = metrics {
        let metrics_limits = HttpLimits {
            max_connections: METRICS_MAX_CONNECTIONS,
            ..limits
        };
        listeners.spawn(http_server::serve(
            metrics,
            metrics_router(
                Arc::clone(&state.metrics),
                health,
                tls_listeners,
                upstream.clone(),
            ),
            metrics_limits,
            // Plain: the metrics' listener is for loopback or a management
            // network.
            None,
            http_shutdown,
            "metrics",
        ));
    }
    let host = mpos_acquirer::serve(iso, state, iso_tls, shutdown).await;
    if let Some(upstream) = &upstream {
        upstream.link.stop();
    }
    start_shutdown();
    stop_http();
    let mut failed = None;
    while let Some(ended) = listeners.join_next().await {
        if let Err(e) = ended {
            failed = Some(CliError::Runtime(format!(
                "an HTTP listener's task failed: {e}"
            )));
        }
    }
    host.map_err(|e| CliError::Runtime(e.to_string()))?;
    failed.map_or(Ok(()), Err)
}

/// A file-size limit (`ulimit -f`, RLIMIT_FSIZE) makes the kernel send
/// SIGXFSZ on a write past it, and its default action kills the process: a
/// host that approved payments would vanish mid-commit. With the signal
/// handled, the write fails (EFBIG) and the store treats it as a full disk:
/// 96 for writes, /readyz 503, until the limit is raised — no restart.
fn survive_file_size_limits() {
    use tokio::signal::unix::{SignalKind, signal};
    let xfsz = SignalKind::from_raw(rustix::process::Signal::XFSZ.as_raw());
    match signal(xfsz) {
        Ok(mut signals) => {
            tokio::spawn(async move { while signals.recv().await.is_some() {} });
        }
        Err(error) => {
            tracing::warn!(%error, "cannot handle SIGXFSZ; a file-size limit would stop the process")
        }
    }
}

/// The metrics' listener: `/metrics` (Prometheus text: the host's counters,
/// the readiness metrics, every TLS listener's handshakes and, in upstream
/// mode, the processor link's), `/healthz` and `/readyz`.
fn metrics_router(
    metrics: Arc<Metrics>,
    health: Health,
    tls: Vec<TlsListener>,
    upstream: Option<Arc<mpos_acquirer::Upstream>>,
) -> Router {
    let tls = Arc::new(tls);
    health::router(health.clone()).route(
        "/metrics",
        get(move || {
            let metrics = Arc::clone(&metrics);
            let health = health.clone();
            let tls = Arc::clone(&tls);
            let upstream = upstream.clone();
            async move {
                let mut text = metrics.render();
                text.push_str(&health.render_metrics());
                tls_listeners::render_metrics(&mut text, &tls);
                if let Some(upstream) = upstream {
                    upstream.render_metrics(&mut text);
                }
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    text,
                )
            }
        }),
    )
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
    iso_tls: Option<&mpos_tls::TlsListener>,
    iso: std::net::SocketAddr,
    http: std::net::SocketAddr,
    https: bool,
    metrics: Option<std::net::SocketAddr>,
    mailer: &Mailer,
) {
    let scheme = if https { "https" } else { "http" };
    let metrics = match metrics {
        Some(address) => format!("http://{address}/metrics  (and /healthz, /readyz)"),
        None => "off  ([metrics] listen is empty)".to_owned(),
    };
    let transport = match iso_tls {
        None => "plain TCP".to_owned(),
        Some(tls) => {
            let files = tls.config.files();
            match &files.client_ca {
                Some(ca) => format!(
                    "TLS ({}), client certificates from {}",
                    files.cert.display(),
                    ca.display()
                ),
                None => format!("TLS ({})", files.cert.display()),
            }
        }
    };
    let text = format!(
        "mpos is running.
  ISO 8583 host  {iso}  ({transport})
  HTTP           {scheme}://{http}  (the cabinet; /healthz, /readyz)
  Metrics        {metrics}
  {issuer}
  Store          {store}
  Data folder    {data}
  Mail           {mail}
With the demo data, an app signs on with device MPOS-0001 and app password app-pass-1,
and pays on merchant MTB000000000001, virtual terminal 10000001 (BYN).
Log in to the cabinet at {scheme}://{http}/login as demo@merchant.test / demo-password-1
(or second@merchant.test / second-password-2).
Press Ctrl-C to stop.
",
        data = config.data_dir.display(),
        store = config.store_location().map_or_else(
            |_| "?".to_owned(),
            |location| match location {
                mpos_store::Location::Sqlite(path) => format!("SQLite {}", path.display()),
                // Without the password: the URL's Display leaves it out.
                mpos_store::Location::Postgres(url) => format!("PostgreSQL {url}"),
            }
        ),
        mail = mailer.describe(),
        issuer = crate::upstream_mode::banner_line(config),
    );
    crate::output::write_stdout(&text);
}

/// Logs go to stderr; `RUST_LOG` (e.g. `info`, `mpos_acquirer=debug`) sets
/// the level. Colours only on a terminal: a log file or a pipe (systemd,
/// `2> mpos.log`) gets plain text, without escape codes.
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

pub(crate) async fn wait_for_signal() {
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
