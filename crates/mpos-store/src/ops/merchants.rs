//! Merchants: the companies that own devices and log in to the cabinet.

use crate::error::StoreError;
use crate::unit::{Db, Tx};
use rusqlite::{OptionalExtension, params};

/// A merchant as stored (the password only as its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantRow {
    /// Merchant ID (DE 42).
    pub id: String,
    /// Company name shown in the cabinet.
    pub name: String,
    /// Cabinet login e-mail.
    pub email: String,
    /// PBKDF2 hash of the cabinet password.
    pub password_hash: String,
}

/// Adds a merchant; `Ok(false)` if one with this ID already exists (left as
/// it is), an error if the e-mail belongs to another merchant.
pub fn insert(tx: &mut Tx<'_>, merchant: &MerchantRow) -> Result<bool, StoreError> {
    let conn = crate::unit::conn(tx);
    let added = conn
        .prepare_cached(
            "INSERT INTO merchants (id, name, email, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            merchant.id,
            merchant.name,
            merchant.email,
            merchant.password_hash,
            super::now_millis()
        ])?;
    Ok(added == 1)
}

/// Whether a merchant with this ID exists.
pub fn exists(db: &mut impl Db, id: &str) -> Result<bool, StoreError> {
    let conn = crate::unit::conn(db);
    Ok(conn
        .prepare_cached("SELECT 1 FROM merchants WHERE id = ?1")?
        .exists([id])?)
}

/// The merchant with this ID.
pub fn by_id(db: &mut impl Db, id: &str) -> Result<Option<MerchantRow>, StoreError> {
    let conn = crate::unit::conn(db);
    Ok(conn
        .prepare_cached("SELECT id, name, email, password_hash FROM merchants WHERE id = ?1")?
        .query_row([id], row_to_merchant)
        .optional()?)
}

/// The merchant whose login is this e-mail (case-insensitive).
pub fn by_email(db: &mut impl Db, email: &str) -> Result<Option<MerchantRow>, StoreError> {
    let conn = crate::unit::conn(db);
    Ok(conn
        .prepare_cached("SELECT id, name, email, password_hash FROM merchants WHERE email = ?1")?
        .query_row([email], row_to_merchant)
        .optional()?)
}

/// Replaces the cabinet password hash; `Ok(false)` if there is no such merchant.
pub fn set_password_hash(tx: &mut Tx<'_>, id: &str, hash: &str) -> Result<bool, StoreError> {
    let conn = crate::unit::conn(tx);
    Ok(conn
        .prepare_cached("UPDATE merchants SET password_hash = ?2 WHERE id = ?1")?
        .execute(params![id, hash])?
        == 1)
}

/// Every merchant, by ID.
pub fn list(db: &mut impl Db) -> Result<Vec<MerchantRow>, StoreError> {
    let conn = crate::unit::conn(db);
    let mut statement =
        conn.prepare_cached("SELECT id, name, email, password_hash FROM merchants ORDER BY id")?;
    let rows = statement.query_map([], row_to_merchant)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether the database holds no merchant at all (a fresh install).
pub fn none_yet(db: &mut impl Db) -> Result<bool, StoreError> {
    let conn = crate::unit::conn(db);
    Ok(!conn
        .prepare_cached("SELECT 1 FROM merchants LIMIT 1")?
        .exists([])?)
}

fn row_to_merchant(row: &rusqlite::Row<'_>) -> rusqlite::Result<MerchantRow> {
    Ok(MerchantRow {
        id: row.get(0)?,
        name: row.get(1)?,
        email: row.get(2)?,
        password_hash: row.get(3)?,
    })
}
