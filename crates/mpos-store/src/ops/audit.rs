//! The audit log: who changed what and when (device blocked, passwords
//! changed, provisioning). Written in the same transaction as the change.

use crate::error::StoreError;
use crate::unit::{Db, Tx, sql};

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A bank operator through `mpos admin`.
    Operator,
    /// A merchant through the cabinet.
    Merchant(String),
    /// The system itself (fixture loading).
    System,
}

impl Actor {
    fn as_text(&self) -> String {
        match self {
            Actor::Operator => "operator".to_owned(),
            Actor::Merchant(id) => format!("merchant:{id}"),
            Actor::System => "system".to_owned(),
        }
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When, Unix milliseconds.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// Whose data changed.
    pub merchant_id: Option<String>,
    /// What happened, e.g. `device.blocked`.
    pub action: String,
    /// What it happened to, e.g. a device serial.
    pub subject: Option<String>,
    /// Extra detail; never a password or card data.
    pub detail: Option<String>,
}

/// Appends an entry.
pub fn record(
    tx: &mut Tx<'_>,
    actor: &Actor,
    merchant_id: Option<&str>,
    action: &str,
    subject: Option<&str>,
    detail: Option<&str>,
) -> Result<(), StoreError> {
    sql(tx).execute(
        "INSERT INTO audit_log (at, actor, merchant_id, action, subject, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            &super::now_millis(),
            &actor.as_text(),
            &merchant_id,
            &action,
            &subject,
            &detail,
        ],
    )?;
    Ok(())
}

/// How many `action` entries about `merchant_id` were written at or after
/// `since` (Unix milliseconds): what rate limits count.
pub fn count_since(
    db: &mut impl Db,
    merchant_id: &str,
    action: &str,
    since: i64,
) -> Result<u64, StoreError> {
    let count: i64 = sql(db).query_one(
        "SELECT count(*) FROM audit_log WHERE merchant_id = ?1 AND at >= ?2 AND action = ?3",
        &[&merchant_id, &since, &action],
        |row| row.get(0),
    )?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// The newest entries about one merchant (or all, with `None`), newest first.
pub fn recent(
    db: &mut impl Db,
    merchant_id: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditEntry>, StoreError> {
    sql(db).query(
        "SELECT at, actor, merchant_id, action, subject, detail FROM audit_log
         WHERE CAST(?1 AS TEXT) IS NULL OR merchant_id = ?1 ORDER BY id DESC LIMIT ?2",
        &[&merchant_id, &i64::from(limit)],
        |row| {
            Ok(AuditEntry {
                at: row.get(0)?,
                actor: row.get(1)?,
                merchant_id: row.get(2)?,
                action: row.get(3)?,
                subject: row.get(4)?,
                detail: row.get(5)?,
            })
        },
    )
}
