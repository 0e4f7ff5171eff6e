//! Merchants: the companies that own devices and log in to the cabinet.

use crate::error::StoreError;
use crate::sql::Row;
use crate::unit::{Db, Tx, sql};

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
    let added = sql(tx).execute(
        "INSERT INTO merchants (id, name, email, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
        &[
            &merchant.id,
            &merchant.name,
            &merchant.email,
            &merchant.password_hash,
            &super::now_millis(),
        ],
    )?;
    Ok(added == 1)
}

/// Whether a merchant with this ID exists.
pub fn exists(db: &mut impl Db, id: &str) -> Result<bool, StoreError> {
    sql(db).exists("SELECT 1 FROM merchants WHERE id = ?1", &[&id])
}

/// The merchant with this ID.
pub fn by_id(db: &mut impl Db, id: &str) -> Result<Option<MerchantRow>, StoreError> {
    sql(db).query_opt(
        "SELECT id, name, email, password_hash FROM merchants WHERE id = ?1",
        &[&id],
        row_to_merchant,
    )
}

/// The merchant whose login is this e-mail (case-insensitive: the column's
/// collation is, on both backends).
pub fn by_email(db: &mut impl Db, email: &str) -> Result<Option<MerchantRow>, StoreError> {
    sql(db).query_opt(
        "SELECT id, name, email, password_hash FROM merchants WHERE email = ?1",
        &[&email],
        row_to_merchant,
    )
}

/// Replaces the cabinet password hash; `Ok(false)` if there is no such merchant.
pub fn set_password_hash(tx: &mut Tx<'_>, id: &str, hash: &str) -> Result<bool, StoreError> {
    Ok(sql(tx).execute(
        "UPDATE merchants SET password_hash = ?2 WHERE id = ?1",
        &[&id, &hash],
    )? == 1)
}

/// Every merchant, by ID.
pub fn list(db: &mut impl Db) -> Result<Vec<MerchantRow>, StoreError> {
    sql(db).query(
        "SELECT id, name, email, password_hash FROM merchants ORDER BY id",
        &[],
        row_to_merchant,
    )
}

/// Whether the database holds no merchant at all (a fresh install).
pub fn none_yet(db: &mut impl Db) -> Result<bool, StoreError> {
    Ok(!sql(db).exists("SELECT 1 FROM merchants LIMIT 1", &[])?)
}

fn row_to_merchant(row: &Row<'_>) -> Result<MerchantRow, StoreError> {
    Ok(MerchantRow {
        id: row.get(0)?,
        name: row.get(1)?,
        email: row.get(2)?,
        password_hash: row.get(3)?,
    })
}
