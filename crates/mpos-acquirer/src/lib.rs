//! The acquirer host of the mPOS service: ISO 8583 over TCP, exactly as
//! `shared/spec/host-interface.md` says.
//!
//! ```text
//! server.rs      accept loop, connection limit, shutdown
//! slots.rs       connection slots: a quarter for those not signed on, their deadline
//! connection.rs  one task per connection (TCP or TLS): frames in, answers out in arrival order
//! peer.rs        what mutual TLS proved: the reader's serial from its certificate
//! request.rs     step 1: a decoded message into a typed request (30, 12)
//! handle/        frame → decoded once → 0800 answered here, 0200/0400 queued to the writer
//! record.rs      decide and store a typed 0200/0400 in one writer job (also seed-history's)
//! response.rs    the answer: echoes, RRN, authorization code, DE 39
//! metrics.rs     counters and latency histograms as Prometheus text
//! upstream/      upstream mode: forward and settle, reversal advices, recovery at start
//! ```
//!
//! An approval is written only after the store acknowledged its commit:
//! 0200 and 0400 are decided *inside* the store's writer (the rules read the
//! state and the insert follows in the same transaction), and the
//! connection sends the answer when the write's acknowledgement resolves.

#![warn(missing_docs)]

mod connection;
mod handle;
mod metrics;
mod peer;
pub mod record;
pub mod request;
pub mod response;
mod server;
mod shutdown;
mod slots;
mod state;
pub mod upstream;

use bytes::Bytes;
use mpos_domain::rules::Session;
use std::sync::Arc;

pub use metrics::Metrics;
pub use peer::Certified;
pub use server::{HostError, serve};
pub use shutdown::Shutdown;
pub use state::{HostConfig, HostState};
pub use upstream::Upstream;

/// One request through the whole in-process path — decode, step 1, the
/// rules, the durable write, the encoded answer — without a socket, exactly
/// as a connection runs it; for benchmarks and tests. `session` is the
/// connection's sign-on, which an 0800 may change. `None` means the
/// connection would be closed (an unreadable or unsupported MTI).
pub async fn process(
    state: &Arc<HostState>,
    session: &mut Option<Session>,
    frame: Bytes,
) -> Option<Bytes> {
    match handle::dispatch(state, session, &Certified::Nothing, frame).await {
        handle::Dispatch::Answer(answer) => Some(answer.await.bytes),
        handle::Dispatch::Close(_) => None,
    }
}
