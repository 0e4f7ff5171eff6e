//! Virtual terminals: the bank IDs (DE 41) of a merchant's payment types.

use crate::error::StoreError;
use crate::unit::{Db, Tx, sql};

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
    let limit = terminal
        .limit_minor
        .map(i64::try_from)
        .transpose()
        .map_err(|_| StoreError::TooLarge {
            what: format!("limit of terminal {}", terminal.id),
            value: terminal.limit_minor.unwrap_or_default(),
        })?;
    let added = sql(tx).execute(
        "INSERT INTO virtual_terminals
             (id, merchant_id, name, kind, installment_months, currency, limit_minor, active, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
        &[
            &terminal.id,
            &terminal.merchant_id,
            &terminal.name,
            &terminal.kind,
            &terminal.installment_months.map(i64::from),
            &i64::from(terminal.currency),
            &limit,
            &i64::from(terminal.active),
            &super::now_millis(),
        ],
    )?;
    Ok(added == 1)
}

/// Terminals of one merchant, or all, by ID.
pub fn list(db: &mut impl Db, merchant_id: Option<&str>) -> Result<Vec<TerminalRow>, StoreError> {
    sql(db).query(
        "SELECT id, merchant_id, name, kind, installment_months, currency, limit_minor, active = 1
         FROM virtual_terminals WHERE CAST(?1 AS TEXT) IS NULL OR merchant_id = ?1 ORDER BY id",
        &[&merchant_id],
        |row| {
            let id: String = row.get(0)?;
            let installment_months = row
                .get::<Option<i64>>(4)?
                .map(|months| narrow(months, "installment term", &id))
                .transpose()?;
            let currency = narrow(row.get(5)?, "currency", &id)?;
            Ok(TerminalRow {
                merchant_id: row.get(1)?,
                name: row.get(2)?,
                kind: row.get(3)?,
                installment_months,
                currency,
                limit_minor: row
                    .get::<Option<i64>>(6)?
                    .and_then(|v| u64::try_from(v).ok()),
                active: row.get(7)?,
                id,
            })
        },
    )
}

/// A stored integer as the narrower type the row keeps it in; a value out
/// of its range (written by hand, not by [`insert`]) is an error naming it
/// rather than a silently different terminal.
fn narrow<T: TryFrom<i64>>(value: i64, what: &str, terminal: &str) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| {
        StoreError::Missing(format!(
            "a valid {what} of terminal {terminal} (found {value})"
        ))
    })
}
