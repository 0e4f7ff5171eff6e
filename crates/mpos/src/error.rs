//! The command line's one error type: every command fails with a
//! [`CliError`], which [`crate::main`] prints as one line on stderr (exit
//! code 1). Each variant says what failed and, where it can, what to do.

use crate::config::ConfigError;
use crate::fixtures::FixtureError;
use crate::iso::IsoError;
use crate::loadgen::LoadgenError;
use crate::secrets::SecretError;
use crate::seed::SeedError;
use crate::store_setup::OpenError;
use mpos_cabinet::mail::MailError;
use mpos_domain::business_day::BusinessDayError;
use mpos_domain::password::PasswordError;
use mpos_iso8583::LayoutError;
use mpos_store::StoreError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A store operation failed.
    #[error("{}", store_message(.0))]
    Store(#[from] StoreError),
    /// The PAN hash key could not be read.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// `[business_day]` names no clock (checked with the configuration, so
    /// only a configuration built by hand gets here).
    #[error("configuration: business_day: {0}")]
    Clock(BusinessDayError),
    /// The TLS session ticket keys could not be read or created.
    #[error(transparent)]
    TicketKeys(#[from] mpos_tls::TicketKeyError),
    /// `[host] layout` could not be loaded.
    #[error("host layout {layout}: {source}")]
    Layout {
        /// The layout's name or file.
        layout: String,
        /// The loader's reason.
        source: LayoutError,
    },
    /// A fixture could not be loaded.
    #[error(transparent)]
    Fixture(#[from] FixtureError),
    /// Hashing a password failed.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The mailer could not be set up (outbox folder, sender, TLS).
    #[error(transparent)]
    Mail(#[from] MailError),
    /// An argument breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// The thing to change does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Seeding a history stopped.
    #[error(transparent)]
    Seed(#[from] SeedError),
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
    /// The async runtime could not start, or a server task failed.
    #[error("{0}")]
    Runtime(String),
    /// `mpos loadgen` failed.
    #[error(transparent)]
    Loadgen(#[from] LoadgenError),
    /// `mpos iso` failed.
    #[error(transparent)]
    Iso(#[from] IsoError),
    /// A listener's TLS file cannot be used: the section and the file.
    #[error("[{section}] {source}")]
    Tls {
        /// The configuration section of the listener (`host`, `http`).
        section: &'static str,
        /// Which file, and what is wrong with it.
        source: mpos_tls::TlsFileError,
    },
    /// `mpos admin tls demo-certs` failed.
    #[error(transparent)]
    DemoCerts(#[from] crate::demo_certs::DemoCertsError),
}

/// A store error as an operator reads it: with the command that helps
/// where there is one.
fn store_message(error: &StoreError) -> String {
    match error {
        StoreError::NoMerchant(id) => format!("no merchant {id} (see `mpos admin merchant list`)"),
        other => other.to_string(),
    }
}
