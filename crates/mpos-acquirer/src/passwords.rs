//! App password checks for sign-on. PBKDF2 at 600,000 iterations costs
//! ~0.1 s of CPU, so it runs on the blocking pool, never on the async
//! threads, and:
//!
//! - **on a bounded share of the CPUs**: at most [`PasswordCache::pool`]
//!   checks compute at once (one less than the machine's cores, at least
//!   one), so a storm of sign-ons or a password guesser queues behind that
//!   bound while 0200s keep a core;
//! - **once per (hash, password) pair at a time** (single flight): a fleet
//!   signing on with one shared password, or one device retrying, waits for
//!   the check already running instead of starting its own (checks for
//!   unknown serials are never shared, so they cost what a known device's
//!   wrong password costs);
//! - **remembered when it succeeds** (as an HMAC of the password under a
//!   key that lives only in this process), so a device signing on again
//!   costs nothing. The cache is keyed by the stored hash too: a new
//!   password (a new hash) is checked afresh.

use mpos_domain::password::PasswordHash;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OnceCell, Semaphore};

/// A (stored hash, HMAC of the password) pair.
type Pair = (String, Vec<u8>);

/// The host's password checks: bounded, single-flight, remembered.
pub(crate) struct PasswordCache {
    key: hmac::Key,
    verified: Mutex<HashSet<Pair>>,
    /// Checks running or queued, by pair: later askers share the result.
    in_flight: Mutex<HashMap<Pair, Arc<OnceCell<bool>>>>,
    /// Permits to compute: the bound on CPUs spent hashing.
    pool: Arc<Semaphore>,
    /// Checks computed (PBKDF2 run), for tests and metrics.
    computed: AtomicU64,
    /// Checks computing right now, and the most ever seen at once.
    running: Arc<AtomicUsize>,
    most_running: Arc<AtomicUsize>,
    /// A hash of no one's password, checked for unknown devices so that
    /// they cost as much as a wrong password: the answer (63) and its
    /// timing say nothing about which serials exist.
    decoy: Arc<std::sync::OnceLock<Option<PasswordHash>>>,
}

/// Entries kept before the cache starts afresh.
const CAPACITY: usize = 100_000;

impl Default for PasswordCache {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        PasswordCache::with_pool(cores.saturating_sub(1).max(1))
    }
}

impl PasswordCache {
    /// A cache whose checks compute at most `pool` at a time.
    pub(crate) fn with_pool(pool: usize) -> Self {
        let mut secret = [0u8; 32];
        // Without randomness the cache key is fixed; the cache stays correct.
        let _ = SystemRandom::new().fill(&mut secret);
        PasswordCache {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            verified: Mutex::new(HashSet::new()),
            in_flight: Mutex::new(HashMap::new()),
            pool: Arc::new(Semaphore::new(pool.max(1))),
            computed: AtomicU64::new(0),
            running: Arc::new(AtomicUsize::new(0)),
            most_running: Arc::new(AtomicUsize::new(0)),
            decoy: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// Spends what checking a wrong password costs, for a device that does
    /// not exist; always false. Never shared: sharing it across unknown
    /// serials would make them answer faster than known ones.
    pub(crate) async fn verify_unknown(self: &Arc<Self>, password: String) -> bool {
        let decoy = Arc::clone(&self.decoy);
        self.compute(password, move |password| {
            decoy
                .get_or_init(|| PasswordHash::new("decoy: no device has this password").ok())
                .as_ref()
                .is_some_and(|hash| hash.verify(password))
        })
        .await;
        false
    }

    /// Whether `password` matches `stored_hash`.
    pub(crate) async fn verify(self: &Arc<Self>, stored_hash: String, password: String) -> bool {
        let stored = stored_hash.clone();
        self.shared(stored_hash, password, move |password| {
            PasswordHash::parse(&stored).is_ok_and(|hash| hash.verify(password))
        })
        .await
    }

    /// The result of `check` for this pair: remembered, or shared with the
    /// check of the same pair already under way, or computed on the bounded
    /// pool.
    async fn shared(
        self: &Arc<Self>,
        stored_hash: String,
        password: String,
        check: impl FnOnce(&str) -> bool + Send + 'static,
    ) -> bool {
        let tag = hmac::sign(&self.key, password.as_bytes()).as_ref().to_vec();
        let pair = (stored_hash, tag);
        if self.verified.lock().is_ok_and(|v| v.contains(&pair)) {
            return true;
        }
        let cell = match self.in_flight.lock() {
            Ok(mut in_flight) => Arc::clone(in_flight.entry(pair.clone()).or_default()),
            // A poisoned map only loses the sharing, never the check.
            Err(_) => Arc::new(OnceCell::new()),
        };
        let ok = *cell.get_or_init(|| self.compute(password, check)).await;
        if let Ok(mut in_flight) = self.in_flight.lock() {
            if in_flight.get(&pair).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                in_flight.remove(&pair);
            }
        }
        if ok {
            if let Ok(mut verified) = self.verified.lock() {
                if verified.len() >= CAPACITY {
                    verified.clear();
                }
                verified.insert(pair);
            }
        }
        ok
    }

    /// Runs `check` on the blocking pool once a permit of the bounded pool
    /// is free; queued checks wait without spending CPU.
    async fn compute(
        &self,
        password: String,
        check: impl FnOnce(&str) -> bool + Send + 'static,
    ) -> bool {
        let Ok(permit) = Arc::clone(&self.pool).acquire_owned().await else {
            return false;
        };
        self.computed.fetch_add(1, Ordering::Relaxed);
        let (running, most) = (Arc::clone(&self.running), Arc::clone(&self.most_running));
        tokio::task::spawn_blocking(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            let ok = check(&password);
            running.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            ok
        })
        .await
        .unwrap_or(false)
    }

    /// Password checks computed so far (PBKDF2 runs, not cache hits or
    /// shared results).
    #[cfg(test)]
    fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// The most checks ever computing at once.
    #[cfg(test)]
    fn most_running(&self) -> usize {
        self.most_running.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_of(password: &str) -> String {
        PasswordHash::new(password)
            .expect("a hash")
            .as_str()
            .to_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_pair_is_computed_once_however_many_ask_at_once() {
        let cache = Arc::new(PasswordCache::with_pool(2));
        let hash = hash_of("load-pass-1");
        let askers: Vec<_> = (0..8)
            .map(|_| {
                let (cache, hash) = (Arc::clone(&cache), hash.clone());
                tokio::spawn(async move { cache.verify(hash, "load-pass-1".into()).await })
            })
            .collect();
        for asker in askers {
            assert!(asker.await.expect("the task"), "the right password");
        }
        assert_eq!(cache.computed(), 1, "one PBKDF2 for eight askers");
        assert!(cache.verify(hash.clone(), "load-pass-1".into()).await);
        assert_eq!(cache.computed(), 1, "then remembered");
        assert!(!cache.verify(hash, "wrong-pass-1".into()).await);
        assert_eq!(cache.computed(), 2, "a wrong password is computed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_compute_no_more_than_the_pool_at_once() {
        let cache = Arc::new(PasswordCache::with_pool(1));
        let hash = hash_of("app-pass-1");
        let guesses: Vec<_> = (0..3)
            .map(|n| {
                let (cache, hash) = (Arc::clone(&cache), hash.clone());
                tokio::spawn(async move { cache.verify(hash, format!("guess-{n}")).await })
            })
            .collect();
        let unknown = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.verify_unknown("guess".into()).await })
        };
        for guess in guesses {
            assert!(!guess.await.expect("the task"));
        }
        assert!(!unknown.await.expect("the task"));
        assert_eq!(cache.computed(), 4, "different pairs are each computed");
        assert_eq!(cache.most_running(), 1, "never more than the pool at once");
    }
}
