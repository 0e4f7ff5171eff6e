//! The pure rules of the mPOS host: no I/O, no async, so the network and web
//! layers stay thin and every rule is testable in isolation.

pub mod password;
