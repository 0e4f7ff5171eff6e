//! The one place that turns a configuration into the parts every command
//! works with: the store (data folder created on first use), the
//! business-day clock, the wire layout, the PAN hash key and the one pool of
//! password checks that the host and the cabinet share. `mpos serve`,
//! `mpos admin`, the benches and the tests all build through [`App::build`],
//! so none of them loads a part its own way.

use crate::config::Config;
use crate::error::CliError;
use crate::store_setup;
use mpos_acquirer::{HostConfig, HostState};
use mpos_cabinet::mail::Mailer;
use mpos_cabinet::{AppDownload, CabinetConfig};
use mpos_domain::business_day::BusinessDayClock;
use mpos_domain::card::PanKey;
use mpos_domain::rules::Issuer;
use mpos_iso8583::Layout;
use mpos_passwords::PasswordPool;
use mpos_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// A configuration's store, clock, layout and key, ready to serve or
/// administer.
pub struct App {
    /// What it was built from.
    pub config: Config,
    /// The open store of the configured data folder.
    pub store: Store,
    /// `[business_day]`: which business day an instant belongs to, and in
    /// which zone times are shown.
    pub clock: BusinessDayClock,
    /// `[host] layout`: the wire layout of the host.
    pub layout: Arc<Layout>,
    /// The data folder's PAN hash key (created with the database).
    pub pan_key: PanKey,
    /// The process's one pool of password checks (PBKDF2): device sign-ons
    /// and the cabinet share it, so that together they take at most cores
    /// − 1 and payments keep a core.
    pub passwords: Arc<PasswordPool>,
}

impl App {
    /// Opens the store of `config` with its key (creating the data folder
    /// and both on first use) and loads the clock and the layout.
    pub fn build(config: Config) -> Result<App, CliError> {
        let (store, pan_key) = store_setup::open(&config)?;
        let clock =
            BusinessDayClock::new(&config.business_day.time_zone, &config.business_day.cutoff)
                .map_err(CliError::Clock)?;
        let layout = Layout::load(&config.host.layout).map_err(|source| CliError::Layout {
            layout: config.host.layout.clone(),
            source,
        })?;
        Ok(App {
            config,
            store,
            clock,
            layout: Arc::new(layout),
            pan_key,
            passwords: Arc::new(PasswordPool::default()),
        })
    }

    /// The host's limits from `[host]`.
    pub fn host_config(&self) -> HostConfig {
        let host = &self.config.host;
        HostConfig {
            max_connections: host.max_connections,
            max_in_flight: host.max_in_flight,
            idle_timeout: Duration::from_secs(host.idle_timeout_secs),
            signon_timeout: Duration::from_secs(host.signon_timeout_secs),
            max_frame: host.max_frame,
            ticket_ttl: Duration::from_secs(host.ticket_ttl_hours.saturating_mul(3600)),
        }
    }

    /// The acquirer host's shared state over this store, deciding purchases
    /// with `issuer`.
    pub fn host_state(&self, issuer: Arc<dyn Issuer + Send + Sync>) -> HostState {
        HostState::new(
            self.store.clone(),
            Layout::clone(&self.layout),
            self.pan_key.clone(),
            self.clock.clone(),
            issuer,
            self.host_config(),
            Arc::clone(&self.passwords),
        )
    }

    /// The cabinet's settings from `[cabinet]`, sending mail with `mail`;
    /// `https` when `[http]` has a certificate (`mpos serve` also puts the
    /// listener's https address in `public_url` when it is left at its
    /// default).
    pub fn cabinet_config(&self, mail: Mailer) -> CabinetConfig {
        let download = &self.config.cabinet.app_download;
        let app_download = if download.starts_with("http://") || download.starts_with("https://") {
            AppDownload::Url(download.clone())
        } else {
            AppDownload::File(download.into())
        };
        CabinetConfig {
            public_url: self.config.cabinet.public_url.clone(),
            https: self.config.http.tls_files().is_some(),
            app_download,
            business_day: self.clock.clone(),
            mail,
            passwords: Arc::clone(&self.passwords),
        }
    }
}
