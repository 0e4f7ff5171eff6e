//! Card readers: their state, app password and last sign-on. Changes to
//! state and password bump `directory_version` (by trigger), so the host's
//! directory sees them within a second, and are audited in the same write,
//! whoever makes them (the cabinet, `mpos admin`).

use crate::error::StoreError;
use crate::ops::audit::{self, Actor};
use crate::unit::{Db, Tx, sql};

/// A device as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    /// Serial number (DE 62).
    pub serial: String,
    /// Owning merchant.
    pub merchant_id: String,
    /// Whether the device is blocked.
    pub blocked: bool,
    /// PBKDF2 hash of the app password.
    pub app_password_hash: String,
    /// Bumped by every app password change; sign-ons made under an older
    /// version are revoked.
    pub credentials_version: i64,
    /// Last successful sign-on, Unix milliseconds.
    pub last_sign_on_at: Option<i64>,
}

/// Adds a device; `Ok(false)` if the serial exists already (left as it is).
pub fn insert(
    tx: &mut Tx<'_>,
    serial: &str,
    merchant_id: &str,
    blocked: bool,
    app_password_hash: &str,
) -> Result<bool, StoreError> {
    let added = sql(tx).execute(
        "INSERT INTO devices (serial, merchant_id, state, app_password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (serial) DO NOTHING",
        &[
            &serial,
            &merchant_id,
            &state_text(blocked),
            &app_password_hash,
            &super::now_millis(),
        ],
    )?;
    Ok(added == 1)
}

/// Whether a device with this serial exists.
pub fn exists(db: &mut impl Db, serial: &str) -> Result<bool, StoreError> {
    sql(db).exists("SELECT 1 FROM devices WHERE serial = ?1", &[&serial])
}

/// Blocks or unblocks, as `actor` asks, and audits a change (not a no-op)
/// in the same write; `Ok(None)` if no such device (of this merchant, when
/// `merchant_id` is given), else whether the state changed.
pub fn set_blocked(
    tx: &mut Tx<'_>,
    serial: &str,
    merchant_id: Option<&str>,
    blocked: bool,
    actor: &Actor,
) -> Result<Option<bool>, StoreError> {
    let Some(owner) = owner(tx, serial, merchant_id)? else {
        return Ok(None);
    };
    let changed = sql(tx).execute(
        "UPDATE devices SET state = ?2 WHERE serial = ?1 AND state <> ?2",
        &[&serial, &state_text(blocked)],
    )? == 1;
    if changed {
        let action = if blocked {
            "device.blocked"
        } else {
            "device.unblocked"
        };
        audit::record(tx, actor, Some(&owner), action, Some(serial), None)?;
    }
    Ok(Some(changed))
}

/// Sets a new app password hash, as `actor` asks, revokes existing
/// sign-ons (by bumping the credentials version), voids the device's
/// sign-on ticket, lifts its password lockout and audits it in the same
/// write; `Ok(false)` if no such
/// device (of this merchant).
pub fn set_app_password(
    tx: &mut Tx<'_>,
    serial: &str,
    merchant_id: Option<&str>,
    app_password_hash: &str,
    actor: &Actor,
) -> Result<bool, StoreError> {
    let Some(owner) = owner(tx, serial, merchant_id)? else {
        return Ok(false);
    };
    sql(tx).execute(
        "UPDATE devices SET app_password_hash = ?2, credentials_version = credentials_version + 1
         WHERE serial = ?1",
        &[&serial, &app_password_hash],
    )?;
    crate::ops::tickets::void(tx, serial)?;
    crate::ops::sign_on_failures::forget(tx, serial)?;
    audit::record(
        tx,
        actor,
        Some(&owner),
        "device.app_password_changed",
        Some(serial),
        None,
    )?;
    Ok(true)
}

/// Records a successful sign-on (does not touch the directory).
pub fn record_sign_on(tx: &mut Tx<'_>, serial: &str, at: i64) -> Result<(), StoreError> {
    sql(tx).execute(
        "UPDATE devices SET last_sign_on_at = ?2 WHERE serial = ?1",
        &[&serial, &at],
    )?;
    Ok(())
}

/// Devices of one merchant, or all, by serial.
pub fn list(db: &mut impl Db, merchant_id: Option<&str>) -> Result<Vec<DeviceRow>, StoreError> {
    sql(db).query(
        "SELECT serial, merchant_id, state, app_password_hash, credentials_version, last_sign_on_at
         FROM devices WHERE CAST(?1 AS TEXT) IS NULL OR merchant_id = ?1 ORDER BY serial",
        &[&merchant_id],
        |row| {
            Ok(DeviceRow {
                serial: row.get(0)?,
                merchant_id: row.get(1)?,
                blocked: row.get::<String>(2)? == "blocked",
                app_password_hash: row.get(3)?,
                credentials_version: row.get(4)?,
                last_sign_on_at: row.get(5)?,
            })
        },
    )
}

/// Whether the device exists and, if a merchant is given, belongs to it.
/// The merchant of the device, if it exists (and is `merchant_id`'s, when
/// given).
fn owner(
    db: &mut impl Db,
    serial: &str,
    merchant_id: Option<&str>,
) -> Result<Option<String>, StoreError> {
    sql(db).query_opt(
        "SELECT merchant_id FROM devices
         WHERE serial = ?1 AND (CAST(?2 AS TEXT) IS NULL OR merchant_id = ?2)",
        &[&serial, &merchant_id],
        |row| row.get(0),
    )
}

fn state_text(blocked: bool) -> &'static str {
    if blocked { "blocked" } else { "active" }
}
