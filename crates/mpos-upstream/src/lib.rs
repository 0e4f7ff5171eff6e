//! The host's link to the card processor (`shared/spec/upstream-interface.md`
//! section 1) and a processor simulator that speaks it.
//!
//! ```text
//! link.rs        Link: reserve a STAN (91 at once while down), send, await the matched answer
//! connection.rs  one connection (TCP, or TLS on rustls): failover in list order, sign-on, echo,
//!                writer + reader tasks
//! pending.rs     the outstanding link STANs and the matching of answers by DE 11 + DE 37
//! backoff.rs     0.1 s doubling up to reconnect_max
//! message.rs     Outgoing (card data wiped on drop), Reply, the 0800s and the 0810 answer
//! metrics.rs     state, in flight, latency histogram, timeouts: Prometheus text
//! sim.rs         `mpos issuer-sim`: a processor with the simulator's rules
//! ```
//!
//! The rest of the host only asks "decide this": it reserves a STAN and DE
//! 7, records them with the pending transaction, and sends. What a request
//! carries and what to do with the answer (durability, reversal advices)
//! is the host's business, not the link's.

#![warn(missing_docs)]

mod backoff;
mod connection;
mod link;
pub mod message;
mod metrics;
pub mod pending;
pub mod sim;

pub use backoff::Backoff;
pub use link::{FIRST_RECONNECT_WAIT, Link, LinkConfig, LinkError, LinkTls, Reservation};
pub use message::{Outgoing, Reply};
pub use metrics::{LinkMetrics, LinkState};
pub use pending::LinkStan;
