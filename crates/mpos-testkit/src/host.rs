//! The acquirer host in process: its state over an application's store,
//! for benches and tests that call `mpos_acquirer::process` without a
//! socket.

use mpos_acquirer::HostState;
use mpos_cli::app::App;
use mpos_domain::rules::SimulatorIssuer;
use std::sync::Arc;

/// The host's state as `mpos serve` sets it up over `app`: the configured
/// layout, business day, limits and PAN hash key, and the simulated issuer.
pub fn state(app: &App) -> Arc<HostState> {
    Arc::new(app.host_state(Arc::new(SimulatorIssuer)))
}
