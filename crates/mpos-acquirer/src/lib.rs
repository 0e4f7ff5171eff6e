//! The acquirer host of the mPOS service: ISO 8583 over TCP, exactly as
//! `shared/spec/host-interface.md` says.
//!
//! ```text
//! server.rs      accept loop, connection limit, shutdown
//! connection.rs  one task per connection: frames in, answers out in arrival order
//! request.rs     step 1: a decoded message into a typed request (30, 12)
//! handle/        one module per MTI: 0800 in the connection, 0200/0400 in the store's writer
//! response.rs    the answer: echoes, RRN, authorization code, DE 39
//! passwords.rs   app password checks off the async threads, with a cache
//! metrics.rs     counters and latency histograms as Prometheus text
//! ```
//!
//! An approval is written only after the store acknowledged its commit:
//! 0200 and 0400 are decided *inside* the store's writer (the rules read the
//! state and the insert follows in the same transaction), and the
//! connection sends the answer when the write's acknowledgement resolves.

mod connection;
mod handle;
mod metrics;
mod passwords;
mod request;
mod response;
mod server;
mod shutdown;
mod state;

pub use metrics::Metrics;
pub use server::{HostError, serve};
pub use shutdown::Shutdown;
pub use state::{HostConfig, HostState};
