//! The acquirer host in process: its state over a store, for benches and
//! tests that call `mpos_acquirer::process` without a socket.

use mpos_acquirer::{HostConfig, HostState};
use mpos_domain::business_day::BusinessDayClock;
use mpos_domain::card::PanKey;
use mpos_domain::rules::SimulatorIssuer;
use mpos_iso8583::Layout;
use mpos_store::Store;
use std::sync::Arc;

/// The host's state over `store` as `mpos serve` sets it up: the ASCII host
/// layout, the Minsk business day, the simulated issuer, the default
/// limits, and a fixed PAN hash key. The one place the kit builds it.
pub fn state(store: Store) -> Arc<HostState> {
    Arc::new(HostState::new(
        store,
        Layout::shipped("generic-1987-ascii").expect("the shipped host layout"),
        PanKey::new(b"test key"),
        BusinessDayClock::minsk().expect("the Minsk clock"),
        Arc::new(SimulatorIssuer),
        HostConfig::default(),
    ))
}
