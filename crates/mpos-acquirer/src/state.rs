//! What every connection shares: the store, the layout, the keys, the
//! clock, the issuer, the limits and the metrics.

use crate::metrics::Metrics;
use crate::upstream::Upstream;
use mpos_domain::business_day::BusinessDayClock;
use mpos_domain::card::PanKey;
use mpos_domain::rules::Issuer;
use mpos_iso8583::Layout;
use mpos_passwords::PasswordPool;
use mpos_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// The host's limits, from the configuration.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Connections served at once; more wait in the listen backlog. A
    /// quarter of them (at least one) may be connections not signed on.
    pub max_connections: usize,
    /// Requests of one connection being processed at once (pipelining).
    pub max_in_flight: usize,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
    /// A connection not signed on this long after it was accepted (or
    /// after it lost its binding) is closed, whatever it sent meanwhile.
    pub signon_timeout: Duration,
    /// The largest message accepted.
    pub max_frame: usize,
    /// How long a sign-on ticket stays valid after it is issued.
    pub ticket_ttl: Duration,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            max_connections: 10_000,
            max_in_flight: 32,
            idle_timeout: Duration::from_secs(300),
            signon_timeout: Duration::from_secs(30),
            max_frame: mpos_iso8583::DEFAULT_MAX_FRAME,
            ticket_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// Shared state of the host.
pub struct HostState {
    /// Durable storage and the directory.
    pub store: Store,
    /// The wire layout (the spec's: generic-1987-ascii).
    pub layout: Layout,
    /// Key of PAN hashes and request fingerprints.
    pub pan_key: Arc<PanKey>,
    /// Business day of each transaction.
    pub clock: BusinessDayClock,
    /// Step 9.
    pub issuer: Arc<dyn Issuer + Send + Sync>,
    /// Limits.
    pub config: HostConfig,
    /// Counters and latencies.
    pub metrics: Arc<Metrics>,
    /// The process's one pool of password checks, shared with the cabinet.
    pub(crate) passwords: Arc<PasswordPool>,
    /// Upstream mode: the link to the card processor and what goes with it
    /// (`None`: the built-in simulator decides).
    pub upstream: Option<Arc<Upstream>>,
}

impl HostState {
    /// The state of a host over `store`, checking app passwords on
    /// `passwords` (the process's one pool, which the cabinet shares; its
    /// counters are part of [`Metrics::render`]).
    pub fn new(
        store: Store,
        layout: Layout,
        pan_key: PanKey,
        clock: BusinessDayClock,
        issuer: Arc<dyn Issuer + Send + Sync>,
        config: HostConfig,
        passwords: Arc<PasswordPool>,
    ) -> Self {
        HostState {
            store,
            layout,
            pan_key: Arc::new(pan_key),
            clock,
            issuer,
            config,
            metrics: Arc::new(Metrics::with_passwords(Arc::clone(&passwords))),
            passwords,
            upstream: None,
        }
    }

    /// The same host in upstream mode: purchases and refunds that pass
    /// steps 1 to 8 go to the card processor over `upstream`'s link (the
    /// issuer should be [`mpos_domain::rules::UpstreamIssuer`]).
    pub fn with_upstream(mut self, upstream: Arc<Upstream>) -> Self {
        self.upstream = Some(upstream);
        self
    }
}
