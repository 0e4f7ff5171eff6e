//! Session tickets that survive a restart of the host, so that the
//! reconnect storm after one resumes sessions instead of paying a full
//! handshake per reader; with keys that roll daily and are erased after
//! two days, as rustls asks of any ticket producer (a key that lived for
//! ever would let whoever stole it later open every ticket ever sent).
//!
//! The keys live in one file in the data folder (mode 0600): one random
//! 256-bit key per UTC day, today's and yesterday's kept, older ones
//! dropped from the file when it is rewritten. A ticket is encrypted with
//! ChaCha20-Poly1305 under a key derived (HKDF-SHA-256) from its day's key
//! and the listener's *context* (a hash of its client CA), so that tickets
//! issued before the client CA changed are refused after a rotation.

use ring::aead::{self, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};
use rustls::server::ProducesTickets;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds in a UTC day: the keys' period.
const DAY: u64 = 86_400;
/// Bytes before the ciphertext: the key's day, then the nonce.
const HEADER: usize = 4 + aead::NONCE_LEN;

/// Why the ticket keys could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum TicketKeyError {
    /// Reading or writing the file failed.
    #[error("session ticket keys {path}: {source}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Group or others may read the file.
    #[error("session ticket keys {path} are readable by other users: run `chmod 600 {path}`", path = path.display())]
    TooOpen {
        /// The file.
        path: PathBuf,
    },
    /// The system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// One day's key.
#[derive(Clone, Copy)]
struct DayKey {
    day: u32,
    key: [u8; 32],
}

/// The rolling keys and the file that keeps them.
pub struct TicketKeys {
    path: PathBuf,
    /// Newest first; at most today's and yesterday's.
    keys: Mutex<Vec<DayKey>>,
    random: SystemRandom,
}

impl std::fmt::Debug for TicketKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketKeys")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn today() -> u32 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    u32::try_from(seconds / DAY).unwrap_or(u32::MAX)
}

impl TicketKeys {
    /// Reads the keys from `path` (created, mode 0600, when missing),
    /// dropping those older than yesterday and adding today's.
    pub fn open(path: &Path) -> Result<Arc<TicketKeys>, TicketKeyError> {
        let io = |source| TicketKeyError::Io {
            path: path.to_owned(),
            source,
        };
        let mut keys = Vec::new();
        match std::fs::metadata(path) {
            Ok(metadata) => {
                if metadata.permissions().mode() & 0o077 != 0 {
                    return Err(TicketKeyError::TooOpen {
                        path: path.to_owned(),
                    });
                }
                // Lines that do not parse are dropped: the worst a damaged
                // file costs is full handshakes, never a refused start.
                let text = std::fs::read_to_string(path).map_err(io)?;
                keys = text.lines().filter_map(parse_line).collect();
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io(error)),
        }
        let keys = TicketKeys {
            path: path.to_owned(),
            keys: Mutex::new(keys),
            random: SystemRandom::new(),
        };
        keys.roll(today())?;
        Ok(Arc::new(keys))
    }

    /// Makes sure `day` has a key, keeping only it and the day before;
    /// rewrites the file when anything changed.
    fn roll(&self, day: u32) -> Result<(), TicketKeyError> {
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = keys.len();
        keys.retain(|k| k.day == day || k.day.checked_add(1) == Some(day));
        let has_today = keys.iter().any(|k| k.day == day);
        if has_today && keys.len() == before {
            return Ok(());
        }
        if !has_today {
            let mut key = [0u8; 32];
            self.random
                .fill(&mut key)
                .map_err(|_| TicketKeyError::Random)?;
            keys.push(DayKey { day, key });
        }
        keys.sort_by_key(|k| std::cmp::Reverse(k.day));
        self.save(&keys)
    }

    /// Writes the keys to a temporary file (0600), syncs it and renames it
    /// over the old one, so a crash never leaves half a file.
    fn save(&self, keys: &[DayKey]) -> Result<(), TicketKeyError> {
        let io = |source| TicketKeyError::Io {
            path: self.path.clone(),
            source,
        };
        let text: String = keys
            .iter()
            .map(|k| format!("{} {}\n", k.day, hex(&k.key)))
            .collect();
        let temporary = self.path.with_extension("key.tmp");
        let _ = std::fs::remove_file(&temporary);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(io)?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        std::fs::rename(&temporary, &self.path).map_err(io)
    }

    /// The key of `day`, if kept.
    fn key(&self, day: u32) -> Option<[u8; 32]> {
        let keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        keys.iter().find(|k| k.day == day).map(|k| k.key)
    }

    /// A ticket producer for a listener whose client CA hashes to `context`.
    pub fn ticketer(self: &Arc<Self>, context: [u8; 32]) -> Arc<dyn ProducesTickets> {
        Arc::new(RollingTicketer {
            keys: Arc::clone(self),
            context,
        })
    }
}

fn parse_line(line: &str) -> Option<DayKey> {
    let (day, key) = line.trim().split_once(' ')?;
    let day = day.parse().ok()?;
    if key.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(key.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(DayKey { day, key: bytes })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Encrypts and opens tickets under the day's key and the context.
struct RollingTicketer {
    keys: Arc<TicketKeys>,
    context: [u8; 32],
}

impl std::fmt::Debug for RollingTicketer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RollingTicketer").finish_non_exhaustive()
    }
}

impl RollingTicketer {
    fn aead_key(&self, day: u32) -> Option<LessSafeKey> {
        let day_key = self.keys.key(day)?;
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, &self.context);
        let info = [b"mpos session ticket".as_slice(), &day.to_be_bytes()];
        let prk = salt.extract(&day_key);
        let okm = prk.expand(&info, &CHACHA20_POLY1305).ok()?;
        Some(LessSafeKey::new(UnboundKey::from(okm)))
    }
}

impl ProducesTickets for RollingTicketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        // Issued today, opened until the end of tomorrow: at least a day.
        86_400
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let day = today();
        if let Err(error) = self.keys.roll(day) {
            // No ticket, a full handshake next time: never a failed one.
            tracing::warn!(%error, "cannot roll the session ticket keys");
        }
        let key = self.aead_key(day)?;
        let mut nonce = [0u8; aead::NONCE_LEN];
        self.keys.random.fill(&mut nonce).ok()?;
        let mut ticket = Vec::with_capacity(HEADER + plain.len() + aead::MAX_TAG_LEN);
        ticket.extend_from_slice(&day.to_be_bytes());
        ticket.extend_from_slice(&nonce);
        let mut sealed = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(day.to_be_bytes()),
            &mut sealed,
        )
        .ok()?;
        ticket.extend_from_slice(&sealed);
        Some(ticket)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let day = u32::from_be_bytes(cipher.get(..4)?.try_into().ok()?);
        let nonce: [u8; aead::NONCE_LEN] = cipher.get(4..HEADER)?.try_into().ok()?;
        let key = self.aead_key(day)?;
        let mut opened = cipher.get(HEADER..)?.to_vec();
        let plain = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(day.to_be_bytes()),
                &mut opened,
            )
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_opens_after_a_restart_and_not_under_another_context() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tls-tickets.key");
        let keys = TicketKeys::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let ticket = keys.ticketer([1; 32]).encrypt(b"session state").unwrap();
        assert!(!ticket.windows(7).any(|w| w == b"session"), "encrypted");
        // A restart reads the same keys.
        let again = TicketKeys::open(&path).unwrap();
        assert_eq!(
            again.ticketer([1; 32]).decrypt(&ticket).as_deref(),
            Some(b"session state".as_slice())
        );
        assert_eq!(
            again.ticketer([2; 32]).decrypt(&ticket),
            None,
            "another client CA"
        );
        let mut forged = ticket.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(again.ticketer([1; 32]).decrypt(&forged), None);
        for short in [&[][..], &ticket[..3], &ticket[..HEADER]] {
            assert_eq!(again.ticketer([1; 32]).decrypt(short), None);
        }
    }

    #[test]
    fn keys_older_than_yesterday_are_erased_and_their_tickets_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tls-tickets.key");
        let old = today() - 2;
        let line = format!(
            "{old} {}\n{} {}\n",
            "11".repeat(32),
            old + 1,
            "22".repeat(32)
        );
        std::fs::write(&path, line).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let keys = TicketKeys::open(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(&"11".repeat(32)),
            "the old key is erased: {text}"
        );
        assert!(
            text.contains(&"22".repeat(32)),
            "yesterday's is kept: {text}"
        );
        assert_eq!(text.lines().count(), 2);
        assert!(keys.key(old).is_none() && keys.key(old + 1).is_some());
    }

    proptest::proptest! {
        /// A ticket is attacker-controlled bytes: any of them is opened or
        /// refused, never a panic; a ticket sealed here always opens.
        #[test]
        fn any_bytes_are_refused_or_opened_never_a_panic(
            cipher in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
            plain in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let keys = TicketKeys::open(&dir.path().join("tls-tickets.key")).unwrap();
            let ticketer = keys.ticketer([7; 32]);
            let _ = ticketer.decrypt(&cipher);
            let sealed = ticketer.encrypt(&plain).unwrap();
            proptest::prop_assert_eq!(ticketer.decrypt(&sealed), Some(plain));
        }

        /// Whatever the key file holds, reading it never panics.
        #[test]
        fn any_key_file_line_is_read_or_dropped(line in "\\PC{0,100}") {
            let _ = parse_line(&line);
        }
    }

    #[test]
    fn a_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tls-tickets.key");
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            TicketKeys::open(&path),
            Err(TicketKeyError::TooOpen { .. })
        ));
    }
}
