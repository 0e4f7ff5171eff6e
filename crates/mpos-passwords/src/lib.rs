//! The one pool of password checks of the whole process: device sign-ons
//! (app passwords) and the cabinet (logins, password changes, new app
//! passwords) all hash through one [`PasswordPool`], built once by the
//! application and handed to both. PBKDF2 at 600,000 iterations costs
//! ~0.1 s of CPU, so every hash runs on the blocking pool, never on the
//! async threads, and:
//!
//! - **on a bounded share of the CPUs**: at most [`PasswordPool::new`]'s
//!   `size` hashes compute at once (by default one less than the machine's
//!   cores, at least one), whoever asks, so a storm of sign-ons, a password
//!   guesser or a login sprayer queues behind that bound while 0200s keep a
//!   core (two pools, one per listener, would each take that share);
//! - **once per (hash, password) pair at a time** (single flight): a fleet
//!   signing on with one shared password, or one device retrying, waits for
//!   the check already running instead of starting its own (checks for
//!   unknown serials or e-mails are never shared, so they cost what a known
//!   one's wrong password costs);
//! - **remembered when it succeeds** (as an HMAC of the password under a
//!   key that lives only in this process), so signing on again costs
//!   nothing. The cache is keyed by the stored hash too: a new password (a
//!   new hash) is checked afresh.
//!
//! A crate of its own rather than a part of `mpos-domain`: the domain stays
//! free of threads and runtimes, and this pool needs tokio's semaphore and
//! blocking pool.

#![warn(missing_docs)]

use mpos_domain::password::{PasswordError, PasswordHash};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OnceCell, Semaphore};

/// A (stored hash, HMAC of the password) pair.
type Pair = (String, Vec<u8>);

/// The process's password checks and hashes: bounded, single-flight,
/// remembered. Share it as an `Arc`.
pub struct PasswordPool {
    key: hmac::Key,
    verified: Mutex<HashSet<Pair>>,
    /// Checks running or queued, by pair: later askers share the result.
    in_flight: Mutex<HashMap<Pair, Arc<OnceCell<bool>>>>,
    /// Permits to compute: the bound on CPUs spent hashing.
    pool: Arc<Semaphore>,
    /// PBKDF2 runs (checks and new hashes), for tests and metrics.
    computed: AtomicU64,
    /// Checks computing right now, and the most ever seen at once.
    running: Arc<AtomicUsize>,
    most_running: Arc<AtomicUsize>,
    /// A hash of no one's password, checked for unknown devices and
    /// e-mails so that they cost as much as a wrong password: the answer
    /// and its timing say nothing about which serials or e-mails exist.
    decoy: Arc<std::sync::OnceLock<Option<PasswordHash>>>,
}

/// Entries kept before the cache starts afresh.
const CAPACITY: usize = 100_000;

impl std::fmt::Debug for PasswordPool {
    /// The counters only: never the key or what is cached.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPool")
            .field("free", &self.pool.available_permits())
            .field("computed", &self.computed())
            .finish_non_exhaustive()
    }
}

impl Default for PasswordPool {
    /// A pool of one less than the machine's cores (at least one).
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        PasswordPool::new(cores.saturating_sub(1).max(1))
    }
}

impl PasswordPool {
    /// A pool computing at most `size` hashes at a time (at least one).
    pub fn new(size: usize) -> Self {
        let mut secret = [0u8; 32];
        // Without randomness the cache key is fixed; the cache stays correct.
        let _ = SystemRandom::new().fill(&mut secret);
        PasswordPool {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            verified: Mutex::new(HashSet::new()),
            in_flight: Mutex::new(HashMap::new()),
            pool: Arc::new(Semaphore::new(size.max(1))),
            computed: AtomicU64::new(0),
            running: Arc::new(AtomicUsize::new(0)),
            most_running: Arc::new(AtomicUsize::new(0)),
            decoy: Arc::new(std::sync::OnceLock::new()),
        }
    }

    /// Spends what checking a wrong password costs, for a device or an
    /// e-mail that does not exist; always false. Never shared: sharing it
    /// across unknown serials would make them answer faster than known ones.
    pub async fn verify_unknown(self: &Arc<Self>, password: String) -> bool {
        let decoy = Arc::clone(&self.decoy);
        self.compute(password, move |password| {
            decoy
                .get_or_init(|| PasswordHash::new("decoy: no one has this password").ok())
                .as_ref()
                .is_some_and(|hash| hash.verify(password))
        })
        .await;
        false
    }

    /// Whether `password` matches `stored_hash` (a malformed hash matches
    /// nothing).
    pub async fn verify(self: &Arc<Self>, stored_hash: String, password: String) -> bool {
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

    /// The stored form of a new password, hashed with a fresh salt on the
    /// bounded pool like any check.
    pub async fn hash(&self, password: String) -> Result<PasswordHash, PasswordError> {
        let hashed = Arc::new(std::sync::OnceLock::new());
        let slot = Arc::clone(&hashed);
        self.compute(password, move |password| {
            let result = PasswordHash::new(password);
            let ok = result.is_ok();
            let _ = slot.set(result);
            ok
        })
        .await;
        Arc::into_inner(hashed)
            .and_then(std::sync::OnceLock::into_inner)
            // The pool closed or the hashing thread died before it hashed.
            .unwrap_or(Err(PasswordError::Random))
    }

    /// PBKDF2 runs so far (checks computed and new hashes; not cache hits
    /// or shared results): what `/metrics` shows as
    /// `mpos_password_hashes_total`, and how tests prove an answer came
    /// without hashing.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// The most hashes ever computing at once.
    pub fn most_running(&self) -> usize {
        self.most_running.load(Ordering::SeqCst)
    }

    /// The pool's counters as Prometheus text.
    pub fn render_metrics(&self) -> String {
        format!(
            "# HELP mpos_password_hashes_total PBKDF2 runs of the shared password pool (sign-ons, cabinet logins, new passwords).\n\
             # TYPE mpos_password_hashes_total counter\n\
             mpos_password_hashes_total {}\n\
             # HELP mpos_password_hashes_running PBKDF2 runs computing now.\n\
             # TYPE mpos_password_hashes_running gauge\n\
             mpos_password_hashes_running {}\n",
            self.computed(),
            self.running.load(Ordering::SeqCst)
        )
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
        let cache = Arc::new(PasswordPool::new(2));
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
        let cache = Arc::new(PasswordPool::new(1));
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn new_hashes_are_made_on_the_pool_and_counted() {
        let pool = Arc::new(PasswordPool::new(1));
        let hash = pool.hash("new-pass-1".into()).await.expect("a hash");
        assert_eq!(pool.computed(), 1, "a new hash is one PBKDF2 run");
        assert!(
            pool.verify(hash.as_str().to_owned(), "new-pass-1".into())
                .await
        );
        assert_eq!(pool.computed(), 2);
        assert!(
            pool.render_metrics()
                .contains("mpos_password_hashes_total 2\n"),
            "{}",
            pool.render_metrics()
        );
    }
}
