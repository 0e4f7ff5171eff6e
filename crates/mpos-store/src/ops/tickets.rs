//! Sign-on tickets: at most one per device, kept as its SHA-256 with its
//! expiry. Issuing replaces the device's row (the previous ticket is void);
//! signing off and a new app password delete it.

use crate::error::StoreError;
use crate::unit::{Db, Tx, sql};
use mpos_domain::ticket::TicketHash;

/// Makes `ticket` the device's only ticket, valid until `expires_at`.
pub fn issue(
    tx: &mut Tx<'_>,
    serial: &str,
    ticket: &TicketHash,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sql(tx).execute(
        "INSERT INTO sign_on_tickets (device_serial, ticket_hash, issued_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (device_serial) DO UPDATE SET
             ticket_hash = excluded.ticket_hash,
             issued_at = excluded.issued_at,
             expires_at = excluded.expires_at",
        &[&serial, &&ticket.0[..], &now, &expires_at],
    )?;
    Ok(())
}

/// Whether `ticket` is the device's ticket and unexpired at `now`.
pub fn is_valid(
    db: &mut impl Db,
    serial: &str,
    ticket: &TicketHash,
    now: i64,
) -> Result<bool, StoreError> {
    sql(db).exists(
        "SELECT 1 FROM sign_on_tickets
         WHERE device_serial = ?1 AND ticket_hash = ?2 AND expires_at > ?3",
        &[&serial, &&ticket.0[..], &now],
    )
}

/// Voids the device's ticket, if it has one.
pub fn void(tx: &mut Tx<'_>, serial: &str) -> Result<(), StoreError> {
    sql(tx).execute(
        "DELETE FROM sign_on_tickets WHERE device_serial = ?1",
        &[&serial],
    )?;
    Ok(())
}
