//! Secrets the host keeps in its data folder, generated on first start and
//! never committed: today the key of the PAN hash (HMAC-SHA-256), which
//! matches refunds to their card without storing the card number.

use ring::rand::{SecureRandom, SystemRandom};
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// File name of the PAN hash key inside the data folder.
pub const PAN_HASH_KEY_FILE: &str = "pan-hash.key";

/// Length of generated keys, in bytes (256 bits).
const KEY_LEN: usize = 32;

/// Why a secret could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Reading, creating or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The secret's file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Group or others may read the file.
    #[error("{path} is readable by other users (mode {mode:o}): run `chmod 600 {path}`")]
    TooOpen {
        /// The secret's file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file does not hold a key of the expected form.
    #[error(
        "{path} does not hold a {KEY_LEN}-byte key in hex; restore it from backup (a new key would stop refunds matching earlier purchases)"
    )]
    Malformed {
        /// The secret's file.
        path: PathBuf,
    },
    /// The system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// `[store] pan_hash_key_file` names a file that does not exist.
    #[error(
        "the PAN hash key file {path} ([store] pan_hash_key_file) does not exist: copy it from \
         the host that first used the database (every host needs the same key), or leave the \
         setting empty for <data_dir>/pan-hash.key"
    )]
    MissingKeyFile {
        /// The configured file.
        path: PathBuf,
    },
}

/// The PAN hash key of `data_dir`, created (mode 0600) if it does not exist.
pub fn pan_hash_key(data_dir: &Path) -> Result<[u8; KEY_LEN], SecretError> {
    load_or_create(&data_dir.join(PAN_HASH_KEY_FILE))
}

/// The PAN hash key in `path`, a file `[store] pan_hash_key_file` names:
/// never created (another host made it; a new key here would only be
/// refused by the database), and private to its owner like the default.
pub fn configured_pan_hash_key(path: &Path) -> Result<[u8; KEY_LEN], SecretError> {
    if !path.exists() {
        return Err(SecretError::MissingKeyFile {
            path: path.to_owned(),
        });
    }
    load_or_create(path)
}

fn load_or_create(path: &Path) -> Result<[u8; KEY_LEN], SecretError> {
    let io = |source| SecretError::Io {
        path: path.to_owned(),
        source,
    };
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut file) => {
            let mut key = [0u8; KEY_LEN];
            SystemRandom::new()
                .fill(&mut key)
                .map_err(|_| SecretError::Random)?;
            let mut text = hex(&key);
            text.push('\n');
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(io)?;
            Ok(key)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let mode = fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(SecretError::TooOpen {
                    path: path.to_owned(),
                    mode,
                });
            }
            let text = fs::read_to_string(path).map_err(io)?;
            parse_key(text.trim()).ok_or_else(|| SecretError::Malformed {
                path: path.to_owned(),
            })
        }
        Err(e) => Err(io(e)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_key(text: &str) -> Option<[u8; KEY_LEN]> {
    let mut key = [0u8; KEY_LEN];
    if text.len() != KEY_LEN * 2 {
        return None;
    }
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_once_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = pan_hash_key(dir.path()).unwrap();
        let path = dir.path().join(PAN_HASH_KEY_FILE);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(pan_hash_key(dir.path()).unwrap(), first);
        assert_ne!(first, [0u8; KEY_LEN]);
    }

    #[test]
    fn an_open_or_damaged_key_file_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        pan_hash_key(dir.path()).unwrap();
        let path = dir.path().join(PAN_HASH_KEY_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = pan_hash_key(dir.path()).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            pan_hash_key(dir.path()),
            Err(SecretError::Malformed { .. })
        ));
    }
}
