//! Cabinet sessions: the cookie's token is kept only as its SHA-256, with
//! the session's CSRF token and its times. Ends on logout, on expiry (the
//! cabinet checks idle and absolute limits), and on a password change.

use crate::error::StoreError;
use crate::unit::{Db, Tx};
use rusqlite::{OptionalExtension, params};

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Whose session.
    pub merchant_id: String,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    /// When it began, Unix milliseconds.
    pub created_at: i64,
    /// When it was last used, Unix milliseconds.
    pub last_seen_at: i64,
}

/// Stores a new session under the hash of its token.
pub fn create(
    tx: &mut Tx<'_>,
    token_hash: &[u8; 32],
    merchant_id: &str,
    csrf_token: &str,
    now: i64,
) -> Result<(), StoreError> {
    let conn = crate::unit::conn(tx);
    conn.prepare_cached(
        "INSERT INTO cabinet_sessions (token_hash, merchant_id, csrf_token, created_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![&token_hash[..], merchant_id, csrf_token, now])?;
    Ok(())
}

/// The session with this token hash.
pub fn find(db: &mut impl Db, token_hash: &[u8; 32]) -> Result<Option<SessionRow>, StoreError> {
    let conn = crate::unit::conn(db);
    Ok(conn
        .prepare_cached(
            "SELECT merchant_id, csrf_token, created_at, last_seen_at FROM cabinet_sessions WHERE token_hash = ?1",
        )?
        .query_row([&token_hash[..]], |row| {
            Ok(SessionRow {
                merchant_id: row.get(0)?,
                csrf_token: row.get(1)?,
                created_at: row.get(2)?,
                last_seen_at: row.get(3)?,
            })
        })
        .optional()?)
}

/// Records that the session was used now.
pub fn touch(tx: &mut Tx<'_>, token_hash: &[u8; 32], now: i64) -> Result<(), StoreError> {
    let conn = crate::unit::conn(tx);
    conn.prepare_cached("UPDATE cabinet_sessions SET last_seen_at = ?2 WHERE token_hash = ?1")?
        .execute(params![&token_hash[..], now])?;
    Ok(())
}

/// Ends one session.
pub fn delete(tx: &mut Tx<'_>, token_hash: &[u8; 32]) -> Result<(), StoreError> {
    let conn = crate::unit::conn(tx);
    conn.prepare_cached("DELETE FROM cabinet_sessions WHERE token_hash = ?1")?
        .execute([&token_hash[..]])?;
    Ok(())
}

/// Ends every session of a merchant but `keep` (after a password change).
pub fn delete_for_merchant(
    tx: &mut Tx<'_>,
    merchant_id: &str,
    keep: Option<&[u8; 32]>,
) -> Result<usize, StoreError> {
    let conn = crate::unit::conn(tx);
    Ok(conn
        .prepare_cached("DELETE FROM cabinet_sessions WHERE merchant_id = ?1 AND (?2 IS NULL OR token_hash <> ?2)")?
        .execute(params![merchant_id, keep.map(|k| &k[..])])?)
}
