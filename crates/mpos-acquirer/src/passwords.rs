//! App password checks for sign-on. PBKDF2 at 600,000 iterations costs
//! ~0.1 s of CPU, so it runs on the blocking pool, never on the async
//! threads; and a successful check is remembered (as an HMAC of the password
//! under a key that lives only in this process), so a device signing on
//! again costs nothing. The cache is keyed by the stored hash too: a new
//! password (a new hash) is checked afresh.

use mpos_domain::password::PasswordHash;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Remembered (stored hash, HMAC of password) pairs that verified.
pub(crate) struct PasswordCache {
    key: hmac::Key,
    verified: Mutex<HashSet<(String, Vec<u8>)>>,
    /// A hash of no one's password, checked for unknown devices so that
    /// they cost as much as a wrong password: the answer (63) and its
    /// timing say nothing about which serials exist.
    decoy: Arc<std::sync::OnceLock<Option<PasswordHash>>>,
}

/// Entries kept before the cache starts afresh.
const CAPACITY: usize = 100_000;

impl Default for PasswordCache {
    fn default() -> Self {
        let mut secret = [0u8; 32];
        // Without randomness the cache key is fixed; the cache stays correct.
        let _ = SystemRandom::new().fill(&mut secret);
        PasswordCache {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            verified: Mutex::new(HashSet::new()),
            decoy: Arc::new(std::sync::OnceLock::new()),
        }
    }
}

impl PasswordCache {
    /// Spends what checking a password costs, for a device that does not
    /// exist; always false.
    pub(crate) async fn verify_unknown(self: &Arc<Self>, password: String) -> bool {
        let decoy = Arc::clone(&self.decoy);
        let _ = tokio::task::spawn_blocking(move || {
            decoy
                .get_or_init(|| PasswordHash::new("decoy: no device has this password").ok())
                .as_ref()
                .is_some_and(|hash| hash.verify(&password))
        })
        .await;
        false
    }

    /// Whether `password` matches `stored_hash`.
    pub(crate) async fn verify(self: &Arc<Self>, stored_hash: String, password: String) -> bool {
        let tag = hmac::sign(&self.key, password.as_bytes()).as_ref().to_vec();
        let entry = (stored_hash, tag);
        if self.verified.lock().is_ok_and(|v| v.contains(&entry)) {
            return true;
        }
        let stored = entry.0.clone();
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::parse(&stored).is_ok_and(|hash| hash.verify(&password))
        })
        .await
        .unwrap_or(false);
        if ok {
            if let Ok(mut verified) = self.verified.lock() {
                if verified.len() >= CAPACITY {
                    verified.clear();
                }
                verified.insert(entry);
            }
        }
        ok
    }
}
