//! Typed reads and writes of the store's tables, the only way the host, the
//! cabinet and the CLI reach them. A write takes the job's [`crate::Tx`], so
//! that several compose into one atomic write inside [`crate::Store::write`]
//! (a device block and its audit entry commit together); a read takes any
//! [`crate::Db`]: a [`crate::Reader`], or the `Tx` of a job whose lookup and
//! write must be one step. Inside, each gets its backend's connection back
//! and runs its SQL.
//! Values arrive already checked by the domain layer; the schema's
//! constraints are the last line of defence.

pub mod audit;
pub mod devices;
pub mod history;
pub mod hosts;
pub mod identity;
pub mod login_attempts;
pub mod merchants;
pub mod reset_tokens;
pub mod sessions;
pub mod sign_on_failures;
pub mod terminals;
pub mod tickets;
pub mod transactions;
pub mod upstream;

/// Milliseconds since the Unix epoch, UTC: how the store keeps instants.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
