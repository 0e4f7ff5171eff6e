//! The typed configuration: `config/mpos.toml` (compiled in) overlaid by an
//! optional file, `MPOS_*` environment variables and command-line flags.
//! Refused with a message naming the key and where its value came from.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use mpos_cabinet::mail::{MailSettings, MailTransport, Secret, SmtpSettings, TlsMode};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

mod upstream;
pub use upstream::{IssuerMode, IssuerSection, UpstreamSection};

/// The default configuration, documented inline.
pub const DEFAULT_CONFIG: &str = include_str!("../../../config/mpos.toml");

/// Top-level keys; `MPOS_*` variables that name none of them (like
/// `MPOS_PYTHON` for the tests) are not configuration and are ignored.
const SECTIONS: &[&str] = &[
    "data_dir",
    "store",
    "business_day",
    "host",
    "http",
    "metrics",
    "cabinet",
    "mail",
    "issuer",
    "upstream",
];

/// Everything `mpos` can be configured with.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Folder of the database, the PAN hash key and the mail outbox.
    pub data_dir: PathBuf,
    /// The SQLite store.
    pub store: StoreConfig,
    /// The business day's time zone and cutoff.
    pub business_day: BusinessDayConfig,
    /// The ISO 8583 host.
    pub host: HostSection,
    /// The cabinet's HTTP listener (and `/healthz`).
    pub http: HttpSection,
    /// The metrics' own HTTP listener.
    pub metrics: MetricsSection,
    /// The merchant cabinet.
    pub cabinet: CabinetSection,
    /// The cabinet's e-mail (password recovery links).
    pub mail: MailSection,
    /// Who decides purchases: the simulator or the card processor.
    pub issuer: IssuerSection,
    /// The card processor, in upstream mode.
    pub upstream: UpstreamSection,
}

/// `[mail]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MailSection {
    /// Where e-mail goes.
    pub transport: MailTransportSetting,
    /// The sender: an address or `Name <address>`.
    pub from: String,
    /// The SMTP server, used with `transport = "smtp"`.
    pub smtp: SmtpSection,
}

/// `mail.transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportSetting {
    /// One `.eml` file per message in `<data_dir>/outbox`.
    Outbox,
    /// The server of `[mail.smtp]`.
    Smtp,
}

/// `[mail.smtp]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSection {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Login; empty for none.
    pub username: String,
    /// Password of the login: never printed, never serialised.
    #[serde(skip_serializing)]
    pub password: Secret,
    /// `none`, `starttls` or `tls`.
    pub tls: TlsMode,
}

/// `[cabinet]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CabinetSection {
    /// The address merchants use.
    pub public_url: String,
    /// Whether `public_url` was left at the shipped default: with HTTPS on,
    /// `mpos serve` then puts the listener's own https address in the
    /// e-mailed links instead of the default's `http://`.
    #[serde(skip)]
    pub public_url_is_default: bool,
    /// The app: a file path or an http(s) address.
    pub app_download: String,
}

/// `[host]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HostSection {
    /// Address of the ISO 8583 listener.
    pub listen: String,
    /// Wire layout: shipped name or file.
    pub layout: String,
    /// Connections served at once; a quarter of them may be connections
    /// not signed on.
    pub max_connections: usize,
    /// Requests in flight per connection.
    pub max_in_flight: usize,
    /// Idle timeout, seconds.
    pub idle_timeout_secs: u64,
    /// Seconds from the accept (or the loss of a binding) by which a
    /// connection must have signed on; echoes do not extend it.
    pub signon_timeout_secs: u64,
    /// Largest message, bytes.
    pub max_frame: usize,
    /// Hours a sign-on ticket stays valid after it is issued.
    pub ticket_ttl_hours: u64,
    /// The listener's TLS certificate chain (PEM); empty: plain TCP.
    pub tls_cert: String,
    /// The private key of `tls_cert` (PEM).
    pub tls_key: String,
    /// CA certificates (PEM) whose client certificates readers must show
    /// (mutual TLS; the certificate's CN is the reader's serial); empty:
    /// no client certificate asked for.
    pub client_ca: String,
    /// Allows a plain listener on an address other than loopback (behind a
    /// TLS-terminating proxy); without it `mpos serve` refuses to start one.
    pub allow_plaintext: bool,
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// Address of the HTTP listener.
    pub listen: String,
    /// HTTP connections open at once; more wait in the listen backlog, so
    /// that HTTP clients cannot take the ISO 8583 host's open files.
    pub max_connections: usize,
    /// Seconds from a request's first byte (or a new connection) to the end
    /// of its headers: a client trickling them is cut off.
    pub header_timeout_secs: u64,
    /// Seconds a kept-alive connection may stay silent between requests.
    pub idle_timeout_secs: u64,
    /// The certificate chain (PEM) the listener serves HTTPS with; empty
    /// with `tls_key`: plain HTTP.
    pub tls_cert: PathBuf,
    /// The private key (PEM) of `tls_cert`.
    pub tls_key: PathBuf,
}

impl HttpSection {
    /// The files to serve HTTPS with, or `None` for plain HTTP (both keys
    /// empty; [`Config::load`] refuses one without the other).
    pub fn tls_files(&self) -> Option<mpos_tls::ServerTlsFiles> {
        (!self.tls_cert.as_os_str().is_empty()).then(|| mpos_tls::ServerTlsFiles {
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
            client_ca: None,
        })
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSection {
    /// Address of the `/metrics` listener, never the cabinet's (its counts
    /// are not for the internet); empty: no metrics served.
    pub listen: String,
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Where the store is: empty for SQLite in the data folder, or a
    /// `postgres://` URL (deployment.md, section 1).
    pub url: StoreUrl,
    /// Commit durability (SQLite).
    pub synchronous: SynchronousSetting,
    /// Read-only connections.
    pub readers: usize,
    /// PostgreSQL only: write connections, each committing its own batches.
    pub writers: usize,
    /// The PAN hash key's file; empty: `<data_dir>/pan-hash.key`, created
    /// on first use. The same key on every host of one database.
    pub pan_hash_key_file: String,
}

/// `store.url` as given. It may hold the database's password, so its
/// `Debug` shows only the scheme.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct StoreUrl(pub String);

impl std::fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.split_once("://") {
            Some((scheme, _)) => write!(f, "\"{scheme}://…\""),
            None if self.0.is_empty() => f.write_str("\"\""),
            None => f.write_str("\"…\""),
        }
    }
}

/// `store.synchronous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SynchronousSetting {
    /// fsync every commit.
    Full,
    /// fsync at checkpoints.
    Normal,
}

/// `[business_day]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessDayConfig {
    /// IANA time zone name.
    pub time_zone: String,
    /// Local cutoff, `HH:MM`.
    pub cutoff: String,
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--config FILE` names no file.
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    /// A value is of the wrong type or a key is unknown; figment names the
    /// key and its source (file, environment variable).
    #[error("configuration: {0}")]
    Invalid(Box<figment::Error>),
    /// A value has the right type but breaks a rule.
    #[error("configuration: {key}: {problem}")]
    Value {
        /// The key, dotted.
        key: &'static str,
        /// What is wrong and what is expected.
        problem: String,
    },
}

/// Values given on the command line, which win over everything else.
#[derive(Debug, Default, Serialize)]
pub struct FlagOverrides {
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--iso-listen` and the like, as a partial `[host]` table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<HostFlags>,
    /// `--http-listen`, as a partial `[http]` table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpFlags>,
    /// `--metrics-listen`, as a partial `[metrics]` table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsFlags>,
}

/// Flags that override `[host]` keys.
#[derive(Debug, Default, Serialize)]
pub struct HostFlags {
    /// `--iso-listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
}

/// Flags that override `[http]` keys.
#[derive(Debug, Default, Serialize)]
pub struct HttpFlags {
    /// `--http-listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
}

/// Flags that override `[metrics]` keys.
#[derive(Debug, Default, Serialize)]
pub struct MetricsFlags {
    /// `--metrics-listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
}

/// The folder of the shipped `config/mpos.toml` where this binary was built:
/// relative paths of the compiled-in defaults are read from there, as they
/// would be from the file itself.
const SHIPPED_CONFIG_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config");

/// The name figment gives the compiled-in defaults (`Toml::string`).
const SHIPPED_SOURCE_NAME: &str = "TOML source string";

impl Config {
    /// Loads the configuration: defaults, then `file`, then `MPOS_*`
    /// environment variables, then `flags`.
    pub fn load(file: Option<&Path>, flags: &FlagOverrides) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_CONFIG));
        if let Some(file) = file {
            // Toml::file would quietly skip a missing file.
            if !file.is_file() {
                return Err(ConfigError::Missing(file.to_owned()));
            }
            figment = figment.merge(Toml::file(file));
        }
        let figment = figment
            .merge(
                Env::prefixed("MPOS_")
                    .split("__")
                    .lowercase(true)
                    .filter(|key| {
                        let top = key.as_str().split('.').next().unwrap_or_default();
                        SECTIONS
                            .iter()
                            .any(|section| section.eq_ignore_ascii_case(top))
                    }),
            )
            .merge(Serialized::defaults(flags));
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
        config.check()?;
        config.cabinet.app_download = resolve_app_download(&figment, &config.cabinet.app_download);
        for (key, value) in [
            (
                "store.pan_hash_key_file",
                &mut config.store.pan_hash_key_file,
            ),
            ("host.tls_cert", &mut config.host.tls_cert),
            ("host.tls_key", &mut config.host.tls_key),
            ("host.client_ca", &mut config.host.client_ca),
        ] {
            *value = resolve_file(&figment, key, value);
        }
        for (key, value) in [
            ("http.tls_cert", &mut config.http.tls_cert),
            ("http.tls_key", &mut config.http.tls_key),
        ] {
            *value = PathBuf::from(resolve_file(&figment, key, &value.to_string_lossy()));
        }
        config.cabinet.public_url_is_default = figment
            .find_metadata("cabinet.public_url")
            .is_some_and(|metadata| metadata.name == SHIPPED_SOURCE_NAME);
        Ok(config)
    }

    /// Rules beyond types.
    fn check(&self) -> Result<(), ConfigError> {
        self.store_location()?;
        if self.store.writers == 0 || self.store.writers > 64 {
            return Err(ConfigError::Value {
                key: "store.writers",
                problem: format!("{} must be from 1 to 64", self.store.writers),
            });
        }
        if self.store.readers == 0 || self.store.readers > 64 {
            return Err(ConfigError::Value {
                key: "store.readers",
                problem: format!("{} must be from 1 to 64", self.store.readers),
            });
        }
        mpos_domain::business_day::BusinessDayClock::new(
            &self.business_day.time_zone,
            &self.business_day.cutoff,
        )
        .map_err(|e| ConfigError::Value {
            key: "business_day",
            problem: e.to_string(),
        })?;
        let positive = [
            ("host.max_connections", self.host.max_connections),
            ("host.max_in_flight", self.host.max_in_flight),
            (
                "host.idle_timeout_secs",
                usize::try_from(self.host.idle_timeout_secs).unwrap_or(usize::MAX),
            ),
            (
                "host.ticket_ttl_hours",
                usize::try_from(self.host.ticket_ttl_hours).unwrap_or(usize::MAX),
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::Value {
                    key,
                    problem: "must be at least 1".into(),
                });
            }
        }
        if !(1..=86_400).contains(&self.host.signon_timeout_secs) {
            return Err(ConfigError::Value {
                key: "host.signon_timeout_secs",
                problem: format!(
                    "{} must be from 1 to 86400 seconds",
                    self.host.signon_timeout_secs
                ),
            });
        }
        let http_positive = [
            ("http.max_connections", self.http.max_connections),
            (
                "http.header_timeout_secs",
                usize::try_from(self.http.header_timeout_secs).unwrap_or(usize::MAX),
            ),
            (
                "http.idle_timeout_secs",
                usize::try_from(self.http.idle_timeout_secs).unwrap_or(usize::MAX),
            ),
        ];
        for (key, value) in http_positive {
            if value == 0 {
                return Err(ConfigError::Value {
                    key,
                    problem: "must be at least 1".into(),
                });
            }
        }
        let (cert, key) = (&self.http.tls_cert, &self.http.tls_key);
        if cert.as_os_str().is_empty() != key.as_os_str().is_empty() {
            let (key, other) = if cert.as_os_str().is_empty() {
                ("http.tls_cert", "http.tls_key")
            } else {
                ("http.tls_key", "http.tls_cert")
            };
            return Err(ConfigError::Value {
                key,
                problem: format!(
                    "is empty but {other} is set: give both (HTTPS) or neither (plain HTTP)"
                ),
            });
        }
        if !(64..=65535).contains(&self.host.max_frame) {
            return Err(ConfigError::Value {
                key: "host.max_frame",
                problem: format!("{} must be from 64 to 65535 bytes", self.host.max_frame),
            });
        }
        if !(self.cabinet.public_url.starts_with("http://")
            || self.cabinet.public_url.starts_with("https://"))
        {
            return Err(ConfigError::Value {
                key: "cabinet.public_url",
                problem: format!(
                    "{:?} must start with http:// or https://",
                    self.cabinet.public_url
                ),
            });
        }
        self.check_host_tls()?;
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::Value {
                key: "data_dir",
                problem: "must not be empty".into(),
            });
        }
        if self.issuer.mode == IssuerMode::Upstream {
            self.upstream.check()?;
        }
        self.check_mail()
    }

    /// `[host]`'s TLS rules (host-interface.md section 8): the certificate
    /// and its key together, a client CA only with them, and no plain
    /// listener off loopback unless asked for, because card data and app
    /// passwords would cross the network in clear.
    fn check_host_tls(&self) -> Result<(), ConfigError> {
        let host = &self.host;
        if host.tls_cert.is_empty() != host.tls_key.is_empty() {
            return Err(ConfigError::Value {
                key: if host.tls_cert.is_empty() {
                    "host.tls_cert"
                } else {
                    "host.tls_key"
                },
                problem:
                    "host.tls_cert (the certificate chain) and host.tls_key (its private key) \
                          are set together"
                        .into(),
            });
        }
        if !host.client_ca.is_empty() && host.tls_cert.is_empty() {
            return Err(ConfigError::Value {
                key: "host.client_ca",
                problem: "needs host.tls_cert and host.tls_key: mutual TLS is TLS first".into(),
            });
        }
        if host.tls_cert.is_empty() && !host.allow_plaintext && !is_loopback(&host.listen) {
            return Err(ConfigError::Value {
                key: "host.listen",
                problem: format!(
                    "{} is not a loopback address, and without host.tls_cert card data and app \
                     passwords would cross the network in clear. Set host.tls_cert and \
                     host.tls_key (`mpos admin tls demo-certs DIR` writes throwaway ones for \
                     trying), or host.allow_plaintext = true when a TLS-terminating proxy \
                     stands in front",
                    host.listen
                ),
            });
        }
        Ok(())
    }

    /// The ISO 8583 listener's TLS files, when it speaks TLS.
    pub fn host_tls_files(&self) -> Option<mpos_tls::ServerTlsFiles> {
        let host = &self.host;
        (!host.tls_cert.is_empty()).then(|| mpos_tls::ServerTlsFiles {
            cert: PathBuf::from(&host.tls_cert),
            key: PathBuf::from(&host.tls_key),
            client_ca: (!host.client_ca.is_empty()).then(|| PathBuf::from(&host.client_ca)),
        })
    }

    /// `[mail]`'s rules: the SMTP server is named when it is used, and a
    /// password crosses the network only under TLS.
    fn check_mail(&self) -> Result<(), ConfigError> {
        let mail = &self.mail;
        if mail.from.trim().is_empty() {
            return Err(ConfigError::Value {
                key: "mail.from",
                problem: "must be the sender's address".into(),
            });
        }
        if mail.transport != MailTransportSetting::Smtp {
            return Ok(());
        }
        let smtp = &mail.smtp;
        if smtp.host.trim().is_empty() {
            return Err(ConfigError::Value {
                key: "mail.smtp.host",
                problem: "must name the SMTP server when mail.transport = \"smtp\"".into(),
            });
        }
        if smtp.port == 0 {
            return Err(ConfigError::Value {
                key: "mail.smtp.port",
                problem: "must be from 1 to 65535".into(),
            });
        }
        if smtp.username.is_empty() && !smtp.password.is_empty() {
            return Err(ConfigError::Value {
                key: "mail.smtp.username",
                problem: "is empty but mail.smtp.password is set: give both or neither".into(),
            });
        }
        let loopback = smtp.host == "localhost"
            || smtp
                .host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if smtp.tls == TlsMode::None && !smtp.username.is_empty() && !loopback {
            return Err(ConfigError::Value {
                key: "mail.smtp.tls",
                problem: format!(
                    "\"none\" would send the password to {} in clear text; use \"starttls\" or \"tls\"",
                    smtp.host
                ),
            });
        }
        Ok(())
    }

    /// What the cabinet's mailer is built from: the outbox is
    /// `<data_dir>/outbox`.
    pub fn mail_settings(&self) -> MailSettings {
        let transport = match self.mail.transport {
            MailTransportSetting::Outbox => MailTransport::Outbox(self.data_dir.join("outbox")),
            MailTransportSetting::Smtp => MailTransport::Smtp(SmtpSettings {
                host: self.mail.smtp.host.clone(),
                port: self.mail.smtp.port,
                username: self.mail.smtp.username.clone(),
                password: self.mail.smtp.password.clone(),
                tls: self.mail.smtp.tls,
            }),
        };
        MailSettings {
            from: self.mail.from.clone(),
            transport,
        }
    }

    /// `[cabinet] app_download` as a file, if it is one (not an http(s)
    /// address).
    pub fn app_download_file(&self) -> Option<&Path> {
        let download = &self.cabinet.app_download;
        (!(download.starts_with("http://") || download.starts_with("https://")))
            .then(|| Path::new(download))
    }

    /// Refuses a `[cabinet] app_download` file that is not there, naming
    /// it: better than a 404 and a log line on the first download.
    pub fn check_app_download(&self) -> Result<(), ConfigError> {
        match self.app_download_file() {
            Some(file) if !file.is_file() => Err(ConfigError::Value {
                key: "cabinet.app_download",
                problem: format!(
                    "the file {} does not exist (a relative path is read from the folder of \
                     the configuration file that sets it); name the app's file or an https:// address",
                    file.display()
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The PAN hash key's file as `[store] pan_hash_key_file` names it, or
    /// `None` for the default `<data_dir>/pan-hash.key`.
    pub fn configured_pan_hash_key_file(&self) -> Option<PathBuf> {
        (!self.store.pan_hash_key_file.is_empty())
            .then(|| PathBuf::from(&self.store.pan_hash_key_file))
    }

    /// The database file inside the data folder (SQLite).
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("mpos.db")
    }

    /// Where the store is: `[store] url`, or the SQLite file in the data
    /// folder when it is empty.
    pub fn store_location(&self) -> Result<mpos_store::Location, ConfigError> {
        let url = self.store.url.0.trim();
        if url.is_empty() {
            return Ok(mpos_store::Location::Sqlite(self.database_path()));
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::Value {
                key: "store.url",
                problem: "must be empty (SQLite in the data folder) or a postgres:// URL \
                          (postgres://USER:PASSWORD@HOST:PORT/DATABASE)"
                    .into(),
            });
        }
        mpos_store::PostgresUrl::parse(url)
            .map(mpos_store::Location::Postgres)
            .map_err(|error| ConfigError::Value {
                key: "store.url",
                problem: error.to_string(),
            })
    }
}

/// Whether a listen address is on loopback only: an IP literal that is
/// loopback, or the name `localhost`. Any other name counts as reachable
/// from elsewhere, since it may resolve to anything.
fn is_loopback(listen: &str) -> bool {
    if let Ok(address) = listen.parse::<std::net::SocketAddr>() {
        return address.ip().is_loopback();
    }
    listen
        .rsplit_once(':')
        .is_some_and(|(host, _port)| host.eq_ignore_ascii_case("localhost"))
}

/// A relative `app_download` file read from the folder of the file that
/// set it: a `--config` file's folder, the shipped file's for the default,
/// the current folder for the environment and flags (made absolute, so the
/// log names the file actually read). Addresses are left as they are.
fn resolve_app_download(figment: &Figment, value: &str) -> String {
    if value.starts_with("http://") || value.starts_with("https://") {
        return value.to_owned();
    }
    resolve_file(figment, "cabinet.app_download", value)
}

/// A relative file name in a configuration file is relative to that file's
/// folder (the shipped file's: the source tree's `config/`); given in the
/// environment or on the command line, to the working directory. Empty
/// stays empty (not set).
fn resolve_file(figment: &Figment, key: &str, value: &str) -> String {
    let path = Path::new(value);
    if value.is_empty() || path.is_absolute() {
        return value.to_owned();
    }
    let metadata = figment.find_metadata(key);
    let base = match metadata.and_then(|m| m.source.as_ref()) {
        Some(figment::Source::File(file)) => file.parent().map(Path::to_path_buf),
        _ if metadata.is_some_and(|m| m.name == SHIPPED_SOURCE_NAME) => {
            Some(PathBuf::from(SHIPPED_CONFIG_DIR))
        }
        _ => std::env::current_dir().ok(),
    };
    match base {
        Some(base) => base.join(path).to_string_lossy().into_owned(),
        None => value.to_owned(),
    }
}

#[cfg(test)]
// figment::Jail closures must return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_come_from_the_shipped_file() {
        Jail::expect_with(|_| {
            let config =
                Config::load(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.data_dir, PathBuf::from("./data"));
            assert_eq!(config.store.synchronous, SynchronousSetting::Full);
            assert_eq!(config.business_day.time_zone, "Europe/Minsk");
            assert_eq!(config.host.max_connections, 10_000);
            assert_eq!(config.host.signon_timeout_secs, 30);
            assert_eq!(config.database_path(), PathBuf::from("./data/mpos.db"));
            Ok(())
        });
    }

    #[test]
    fn file_then_environment_then_flags_override() {
        Jail::expect_with(|jail| {
            jail.create_file("site.toml", "data_dir = \"/srv/a\"\n[store]\nreaders = 2\n")?;
            jail.set_env("MPOS_STORE__SYNCHRONOUS", "normal");
            jail.set_env("MPOS_DATA_DIR", "/srv/b");
            jail.set_env("MPOS_PYTHON", "/usr/bin/python3");
            let file = Config::load(Some(Path::new("site.toml")), &FlagOverrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(file.store.readers, 2);
            assert_eq!(file.store.synchronous, SynchronousSetting::Normal);
            assert_eq!(
                file.data_dir,
                PathBuf::from("/srv/b"),
                "environment beats the file"
            );
            let flags = FlagOverrides {
                data_dir: Some(PathBuf::from("/srv/c")),
                host: Some(HostFlags {
                    listen: Some("127.0.0.1:0".into()),
                }),
                ..FlagOverrides::default()
            };
            let flagged =
                Config::load(Some(Path::new("site.toml")), &flags).map_err(|e| e.to_string())?;
            assert_eq!(
                flagged.data_dir,
                PathBuf::from("/srv/c"),
                "flags beat everything"
            );
            Ok(())
        });
    }

    #[test]
    fn mail_goes_to_the_outbox_by_default_and_to_smtp_from_the_environment() {
        Jail::expect_with(|jail| {
            let config =
                Config::load(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            match config.mail_settings().transport {
                MailTransport::Outbox(path) => assert_eq!(path, PathBuf::from("./data/outbox")),
                other => panic!("{other:?}"),
            }
            jail.set_env("MPOS_MAIL__TRANSPORT", "smtp");
            jail.set_env("MPOS_MAIL__SMTP__HOST", "smtp.bank.test");
            jail.set_env("MPOS_MAIL__SMTP__PORT", "465");
            jail.set_env("MPOS_MAIL__SMTP__USERNAME", "mpos");
            jail.set_env("MPOS_MAIL__SMTP__PASSWORD", "s3cret-pass");
            jail.set_env("MPOS_MAIL__SMTP__TLS", "tls");
            let config =
                Config::load(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            let shown = format!("{config:?}");
            assert!(
                !shown.contains("s3cret"),
                "Debug hides the password: {shown}"
            );
            match config.mail_settings().transport {
                MailTransport::Smtp(smtp) => {
                    assert_eq!((smtp.host.as_str(), smtp.port), ("smtp.bank.test", 465));
                    assert_eq!(smtp.password.expose(), "s3cret-pass");
                    assert_eq!(smtp.tls, TlsMode::Tls);
                }
                other => panic!("{other:?}"),
            }
            // A password the environment reads as a number is refused, not
            // repeated, and the message says how to quote it.
            jail.set_env("MPOS_MAIL__SMTP__PASSWORD", "0071234");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.to_lowercase().contains("mail.smtp.password") && err.contains("quote"),
                "{err}"
            );
            assert!(!err.contains("71234"), "{err}");
            jail.set_env("MPOS_MAIL__SMTP__PASSWORD", "\"0071234\"");
            let config =
                Config::load(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            match config.mail_settings().transport {
                MailTransport::Smtp(smtp) => assert_eq!(smtp.password.expose(), "0071234"),
                other => panic!("{other:?}"),
            }
            Ok(())
        });
    }

    #[test]
    fn app_download_is_read_beside_the_file_that_sets_it() {
        Jail::expect_with(|jail| {
            let shipped =
                Config::load(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            let file = shipped.app_download_file().expect("a file by default");
            assert!(file.is_absolute() && file.is_file(), "{}", file.display());
            shipped.check_app_download().map_err(|e| e.to_string())?;

            jail.create_dir("site")?;
            jail.create_file("site/mpos.toml", "[cabinet]\napp_download = \"app.apk\"\n")?;
            let site = Config::load(Some(Path::new("site/mpos.toml")), &FlagOverrides::default())
                .map_err(|e| e.to_string())?;
            let file = site.app_download_file().expect("a file");
            assert!(
                file.is_absolute() && file.ends_with("site/app.apk"),
                "{}",
                file.display()
            );
            let err = site.check_app_download().unwrap_err().to_string();
            assert!(
                err.contains("cabinet.app_download") && err.contains("site/app.apk"),
                "{err}"
            );
            jail.create_file("site/app.apk", "apk")?;
            site.check_app_download().map_err(|e| e.to_string())?;

            jail.set_env("MPOS_CABINET__APP_DOWNLOAD", "https://bank.example/app.apk");
            let url = Config::load(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(url.cabinet.app_download, "https://bank.example/app.apk");
            assert!(url.app_download_file().is_none());
            Ok(())
        });
    }

    #[test]
    fn a_plain_listener_off_loopback_needs_allow_plaintext_and_tls_files_resolve() {
        assert!(is_loopback("127.0.0.1:8583") && is_loopback("[::1]:8583"));
        assert!(is_loopback("localhost:8583") && is_loopback("127.0.0.2:0"));
        assert!(!is_loopback("0.0.0.0:8583") && !is_loopback("10.1.2.3:8583"));
        assert!(!is_loopback("host.example:8583") && !is_loopback("[::]:8583"));
        Jail::expect_with(|jail| {
            let shipped =
                Config::load(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert!(shipped.host_tls_files().is_none() && !shipped.host.allow_plaintext);
            jail.set_env("MPOS_HOST__LISTEN", "0.0.0.0:8583");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("host.listen") && err.contains("allow_plaintext"),
                "{err}"
            );
            jail.set_env("MPOS_HOST__ALLOW_PLAINTEXT", "true");
            Config::load(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;

            jail.create_dir("site")?;
            jail.create_file(
                "site/mpos.toml",
                "[host]\ntls_cert = \"tls/host.pem\"\ntls_key = \"tls/host.key\"\n",
            )?;
            jail.set_env("MPOS_HOST__CLIENT_CA", "readers-ca.pem");
            let site = Config::load(Some(Path::new("site/mpos.toml")), &FlagOverrides::default())
                .map_err(|e| e.to_string())?;
            let files = site.host_tls_files().expect("TLS files");
            assert!(files.cert.is_absolute() && files.cert.ends_with("site/tls/host.pem"));
            assert!(files.key.ends_with("site/tls/host.key"));
            let ca = files.client_ca.expect("a client CA");
            assert!(ca.is_absolute() && !ca.starts_with(jail.directory().join("site")));

            jail.set_env("MPOS_HOST__TLS_CERT", "");
            let err = Config::load(Some(Path::new("site/mpos.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("host.tls_cert"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn http_limits_have_defaults_and_refuse_zero() {
        Jail::expect_with(|jail| {
            let config =
                Config::load(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.http.max_connections, 1024);
            assert_eq!(config.http.header_timeout_secs, 10);
            assert_eq!(config.http.idle_timeout_secs, 60);
            assert_eq!(config.metrics.listen, "127.0.0.1:9464");
            for key in [
                "MAX_CONNECTIONS",
                "HEADER_TIMEOUT_SECS",
                "IDLE_TIMEOUT_SECS",
            ] {
                jail.set_env(format!("MPOS_HTTP__{key}"), "0");
                let err = Config::load(None, &FlagOverrides::default())
                    .unwrap_err()
                    .to_string();
                assert!(
                    err.contains(&format!("http.{}", key.to_lowercase())),
                    "{err}"
                );
                jail.set_env(format!("MPOS_HTTP__{key}"), "5");
            }
            Ok(())
        });
    }

    #[test]
    fn https_files_come_in_pairs_from_the_file_or_the_environment() {
        Jail::expect_with(|jail| {
            let plain = Config::load(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(plain.http.tls_files(), None, "plain HTTP by default");
            assert!(plain.cabinet.public_url_is_default);

            jail.set_env("MPOS_HTTP__TLS_CERT", "/etc/mpos/cabinet.pem");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("http.tls_key: is empty but http.tls_cert is set"),
                "{err}"
            );
            jail.set_env("MPOS_HTTP__TLS_KEY", "/etc/mpos/cabinet.key");
            let https = Config::load(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(
                https.http.tls_files(),
                Some(mpos_tls::ServerTlsFiles {
                    cert: PathBuf::from("/etc/mpos/cabinet.pem"),
                    key: PathBuf::from("/etc/mpos/cabinet.key"),
                    client_ca: None,
                })
            );
            jail.set_env("MPOS_HTTP__TLS_CERT", "");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("http.tls_cert: is empty but http.tls_key is set"),
                "{err}"
            );
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.create_file(
                "site.toml",
                "[http]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n\
                 [cabinet]\npublic_url = \"https://mpos.bank.test\"\n",
            )?;
            let config = Config::load(Some(Path::new("site.toml")), &FlagOverrides::default())
                .map_err(|e| e.to_string())?;
            // Relative to the file that names it, as [host]'s and app_download.
            assert!(
                config.http.tls_cert.is_absolute() && config.http.tls_cert.ends_with("c.pem"),
                "{}",
                config.http.tls_cert.display()
            );
            assert!(!config.cabinet.public_url_is_default, "set by the file");
            Ok(())
        });
    }

    #[test]
    fn wrong_mail_settings_are_refused_with_the_key() {
        for (env, key) in [
            (vec![("MPOS_MAIL__TRANSPORT", "smtp")], "mail.smtp.host"),
            (vec![("MPOS_MAIL__TRANSPORT", "pigeon")], "mail.transport"),
            (vec![("MPOS_MAIL__SMTP__TLS", "ssl")], "mail.smtp.tls"),
            (vec![("MPOS_MAIL__SMTP__HOSTNAME", "x")], "hostname"),
            (
                vec![
                    ("MPOS_MAIL__TRANSPORT", "smtp"),
                    ("MPOS_MAIL__SMTP__HOST", "smtp.bank.test"),
                    ("MPOS_MAIL__SMTP__USERNAME", "mpos"),
                    ("MPOS_MAIL__SMTP__PASSWORD", "pw"),
                    ("MPOS_MAIL__SMTP__TLS", "none"),
                ],
                "mail.smtp.tls",
            ),
            (
                vec![
                    ("MPOS_MAIL__TRANSPORT", "smtp"),
                    ("MPOS_MAIL__SMTP__HOST", "smtp.bank.test"),
                    ("MPOS_MAIL__SMTP__PASSWORD", "pw"),
                ],
                "mail.smtp.username",
            ),
        ] {
            Jail::expect_with(|jail| {
                for (name, value) in &env {
                    jail.set_env(name, value);
                }
                let err = Config::load(None, &FlagOverrides::default())
                    .unwrap_err()
                    .to_string();
                assert!(err.to_lowercase().contains(key), "{env:?}: {err}");
                assert!(!err.contains("pw\""), "{err}");
                Ok(())
            });
        }
        Jail::expect_with(|jail| {
            jail.set_env("MPOS_MAIL__TRANSPORT", "smtp");
            jail.set_env("MPOS_MAIL__SMTP__HOST", "127.0.0.1");
            jail.set_env("MPOS_MAIL__SMTP__USERNAME", "mpos");
            jail.set_env("MPOS_MAIL__SMTP__PASSWORD", "pw");
            jail.set_env("MPOS_MAIL__SMTP__TLS", "none");
            Config::load(None, &FlagOverrides::default()).map_err(|e| e.to_string())?;
            Ok(())
        });
    }

    #[test]
    fn wrong_values_are_refused_with_the_key_and_its_source() {
        Jail::expect_with(|jail| {
            jail.set_env("MPOS_STORE__SYNCHRONOUS", "fast");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.to_lowercase().contains("store.synchronous"), "{err}");
            assert!(
                err.contains("MPOS_"),
                "names the environment as the source: {err}"
            );
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.create_file("typo.toml", "[store]\nreaderz = 3\n")?;
            let err = Config::load(Some(Path::new("typo.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("readerz"), "{err}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("MPOS_STORE__READERS", "0");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("store.readers"), "{err}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("MPOS_BUSINESS_DAY__CUTOFF", "25:00");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("business_day: cutoff \"25:00\" must be HH:MM"),
                "{err}"
            );
            jail.set_env("MPOS_BUSINESS_DAY__CUTOFF", "00:00");
            jail.set_env("MPOS_BUSINESS_DAY__TIME_ZONE", "Mars/Olympus");
            let err = Config::load(None, &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("Mars/Olympus"), "{err}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            for (value, refused) in [("0", true), ("86401", true), ("1", false), ("30", false)] {
                jail.set_env("MPOS_HOST__SIGNON_TIMEOUT_SECS", value);
                match Config::load(None, &FlagOverrides::default()) {
                    Err(err) if refused => assert!(
                        err.to_string().contains("host.signon_timeout_secs: ")
                            && err.to_string().contains("from 1 to 86400"),
                        "{err}"
                    ),
                    Ok(config) if !refused => {
                        assert_eq!(config.host.signon_timeout_secs.to_string(), value);
                    }
                    other => panic!("signon_timeout_secs = {value}: {other:?}"),
                }
            }
            Ok(())
        });
        Jail::expect_with(|_| {
            let err = Config::load(Some(Path::new("nope.toml")), &FlagOverrides::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("nope.toml does not exist"), "{err}");
            Ok(())
        });
    }
}
