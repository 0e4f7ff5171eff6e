//! The one test kit of the workspace: what the tests and benches of every
//! crate share, written once instead of copied into each of them.
//!
//! - [`backend`]: SQLite by default, or PostgreSQL for every store and
//!   server when `MPOS_TEST_PG` names a cluster;
//! - [`messages`]: the standard test messages (sign-on, purchase, refund,
//!   reversal) as owned field sets a test changes a field or two of;
//! - [`app`]: the application (store, clock, layout, key) built as
//!   `mpos serve` builds it, over a data folder of the test's own;
//! - [`provision`]: a fresh store with merchants, devices and terminals;
//! - [`sql`]: a test's own SQL on a store (counts, rows by RRN, faults), on
//!   either backend;
//! - [`host`]: the acquirer host's state over a store, in process;
//! - [`cabinet`]: the cabinet's router called as a browser would, the login
//!   steps, CSRF tokens and the mail outbox;
//! - [`legacy_css`]: the cabinet's stylesheet as the oldest browser the
//!   user manual names keeps it, for the browser test's second look;
//! - [`server`]: the real `mpos` binary on free loopback ports, with an ISO
//!   8583 client ([`iso`]) and a plain HTTP/1.1 client ([`http`]);
//! - [`flood`]: idle connections held open against a listener;
//! - [`tls`]: demo certificates, a TLS host, and Python's `ssl` as client;
//! - [`postgres`]: throwaway PostgreSQL clusters on loopback;
//! - [`https`]: the demo certificates, `mpos serve` over HTTPS and an
//!   HTTPS client that is not ours (Python's `ssl`);
//! - [`processor`]: a pyiso8583 card processor for the upstream mode.
//!
//! Dev-only (`publish = false`): it is a dev-dependency of the crates whose
//! tests use it, never a dependency of production code. Test helpers
//! panic on failure with a message saying what was expected, like the
//! assertions around them.

#![warn(missing_docs)]

pub mod app;
pub mod backend;
pub mod cabinet;
pub mod flood;
pub mod host;
pub mod http;
pub mod https;
pub mod iso;
pub mod legacy_css;
pub mod messages;
pub mod postgres;
pub mod processor;
pub mod provision;
pub mod server;
pub mod sql;
pub mod tls;

use std::path::{Path, PathBuf};

/// The workspace's root folder (where `fixtures/`, `config/` and `.venv`
/// live), whichever crate's test asks.
pub fn workspace_root() -> PathBuf {
    // This crate sits at crates/mpos-testkit.
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    root.canonicalize().unwrap_or_else(|_| root.to_owned())
}

/// A file of the workspace's `fixtures/` folder, e.g. `demo.toml`.
pub fn fixture(name: &str) -> PathBuf {
    workspace_root().join("fixtures").join(name)
}
