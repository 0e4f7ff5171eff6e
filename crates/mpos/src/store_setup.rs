//! Opening the store a configuration names: the data folder is created on
//! first use (private to its owner) together with the host's secrets, and
//! the store's options come from `[store]`.

use crate::config::{Config, SynchronousSetting};
use crate::data_dir;
use crate::secrets::{self, SecretError};
use mpos_domain::card::PanKey;
use mpos_store::ops::{self, identity::KeyBinding};
use mpos_store::{Location, Store, StoreError, StoreOptions, Synchronous};
use std::io::Write as _;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data folder could not be created.
    #[error("cannot create the data folder {path}: {source}")]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The data folder's permissions could not be read or tightened.
    #[error("cannot make the data folder {path} private to its owner: {source}")]
    Private {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database refused, or could not be reached.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `[store] url` is not usable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The PAN hash key could not be read or created.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The database was first used with another PAN hash key.
    #[error(
        "the database was first used with another PAN hash key (fingerprint {known}…) than \
         {file} (fingerprint {ours}…): refunds would not find their purchases. Use the key \
         file of the host that first used the database ([store] pan_hash_key_file)"
    )]
    OtherPanKey {
        /// The key file this host read.
        file: String,
        /// The start of the database's fingerprint.
        known: String,
        /// The start of this host's.
        ours: String,
    },
}

/// The store options `config` asks for.
pub fn options(config: &Config) -> StoreOptions {
    StoreOptions {
        synchronous: match config.store.synchronous {
            SynchronousSetting::Full => Synchronous::Full,
            SynchronousSetting::Normal => Synchronous::Normal,
        },
        readers: config.store.readers,
        writers: config.store.writers,
        // Room for every request the host may have in flight, so that
        // submitting a write never blocks an async worker thread.
        queue: StoreOptions::default().queue.max(
            config
                .host
                .max_connections
                .saturating_mul(config.host.max_in_flight)
                + 1024,
        ),
        ..StoreOptions::default()
    }
}

/// Opens (creating if needed) the database in the configured data folder,
/// with the PAN hash key beside it: the key and the database are born
/// together and must be backed up together. Everything in the folder is made
/// its owner's only (a folder an older version made readable by others is
/// tightened, with a warning), and the database is created 0600.
pub fn open(config: &Config) -> Result<(Store, PanKey), OpenError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&config.data_dir)
        .map_err(|source| OpenError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
    let private = |source| OpenError::Private {
        path: config.data_dir.clone(),
        source,
    };
    let key_file = config.data_dir.join(secrets::PAN_HASH_KEY_FILE);
    let tightened = data_dir::tighten(&config.data_dir, &key_file).map_err(private)?;
    if !tightened.is_empty() {
        let names: Vec<String> = tightened.iter().map(|p| p.display().to_string()).collect();
        // A plain line: `mpos admin` installs no log subscriber.
        let _ = writeln!(
            std::io::stderr(),
            "warning: others could read {} in the data folder; made private to its owner: {}",
            if names.len() == 1 {
                "one entry"
            } else {
                "entries"
            },
            names.join(", ")
        );
    }
    let (key, key_path) = match config.configured_pan_hash_key_file() {
        Some(path) => (secrets::configured_pan_hash_key(&path)?, path),
        None => (secrets::pan_hash_key(&config.data_dir)?, key_file),
    };
    let key = PanKey::new(&key);
    let location = config.store_location()?;
    if let Location::Sqlite(path) = &location {
        data_dir::create_private_file(path).map_err(private)?;
    }
    let store = Store::open_at(&location, &options(config))?;
    let fingerprint = key.fingerprint();
    let ours = fingerprint.clone();
    match store.write_blocking(move |tx| ops::identity::bind_pan_key(tx, &ours))? {
        KeyBinding::Bound | KeyBinding::Same => Ok((store, key)),
        KeyBinding::Other(known) => Err(OpenError::OtherPanKey {
            file: key_path.display().to_string(),
            known: known.chars().take(12).collect(),
            ours: fingerprint.chars().take(12).collect(),
        }),
    }
}
