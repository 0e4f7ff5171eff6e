//! Virtual terminals: the bank IDs (DE 41) of a merchant's payment types.

use crate::error::StoreError;
use crate::unit::{Db, Tx};
use rusqlite::params;

/// A virtual terminal as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalRow {
    /// Terminal ID (DE 41).
    pub id: String,
    /// Owning merchant.
    pub merchant_id: String,
    /// Name shown in the cabinet.
    pub name: String,
    /// `standard`, `installment` or `bonus`.
    pub kind: String,
    /// Term of an installment terminal, in months.
    pub installment_months: Option<u8>,
    /// ISO 4217 numeric currency.
    pub currency: u16,
    /// Per-transaction limit in minor units.
    pub limit_minor: Option<u64>,
    /// Whether it accepts transactions.
    pub active: bool,
}

/// Adds a terminal; `Ok(false)` if the ID exists already (left as it is).
pub fn insert(tx: &mut Tx<'_>, terminal: &TerminalRow) -> Result<bool, StoreError> {
    let conn = crate::unit::conn(tx);
    let limit = terminal
        .limit_minor
        .map(i64::try_from)
        .transpose()
        .map_err(|_| StoreError::TooLarge {
            what: format!("limit of terminal {}", terminal.id),
            value: terminal.limit_minor.unwrap_or_default(),
        })?;
    let added = conn
        .prepare_cached(
            "INSERT INTO virtual_terminals
                 (id, merchant_id, name, kind, installment_months, currency, limit_minor, active, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            terminal.id,
            terminal.merchant_id,
            terminal.name,
            terminal.kind,
            terminal.installment_months,
            terminal.currency,
            limit,
            terminal.active,
            super::now_millis()
        ])?;
    Ok(added == 1)
}

/// Terminals of one merchant, or all, by ID.
pub fn list(db: &mut impl Db, merchant_id: Option<&str>) -> Result<Vec<TerminalRow>, StoreError> {
    let conn = crate::unit::conn(db);
    let mut statement = conn.prepare_cached(
        "SELECT id, merchant_id, name, kind, installment_months, currency, limit_minor, active
         FROM virtual_terminals WHERE ?1 IS NULL OR merchant_id = ?1 ORDER BY id",
    )?;
    let rows = statement.query_map([merchant_id], |row| {
        Ok(TerminalRow {
            id: row.get(0)?,
            merchant_id: row.get(1)?,
            name: row.get(2)?,
            kind: row.get(3)?,
            installment_months: row.get(4)?,
            currency: row.get(5)?,
            limit_minor: row
                .get::<_, Option<i64>>(6)?
                .and_then(|v| u64::try_from(v).ok()),
            active: row.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
