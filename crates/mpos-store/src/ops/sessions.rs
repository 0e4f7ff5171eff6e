//! Cabinet sessions: the cookie's token is kept only as its SHA-256, with
//! the session's CSRF token and its times. Ends on logout, on expiry (the
//! cabinet checks idle and absolute limits), and on a password change.

use crate::error::StoreError;
use crate::unit::{Db, Tx, sql};

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
    sql(tx).execute(
        "INSERT INTO cabinet_sessions (token_hash, merchant_id, csrf_token, created_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        &[&&token_hash[..], &merchant_id, &csrf_token, &now],
    )?;
    Ok(())
}

/// The session with this token hash.
pub fn find(db: &mut impl Db, token_hash: &[u8; 32]) -> Result<Option<SessionRow>, StoreError> {
    sql(db).query_opt(
        "SELECT merchant_id, csrf_token, created_at, last_seen_at
         FROM cabinet_sessions WHERE token_hash = ?1",
        &[&&token_hash[..]],
        |row| {
            Ok(SessionRow {
                merchant_id: row.get(0)?,
                csrf_token: row.get(1)?,
                created_at: row.get(2)?,
                last_seen_at: row.get(3)?,
            })
        },
    )
}

/// Records that the session was used now.
pub fn touch(tx: &mut Tx<'_>, token_hash: &[u8; 32], now: i64) -> Result<(), StoreError> {
    sql(tx).execute(
        "UPDATE cabinet_sessions SET last_seen_at = ?2 WHERE token_hash = ?1",
        &[&&token_hash[..], &now],
    )?;
    Ok(())
}

/// Ends one session.
pub fn delete(tx: &mut Tx<'_>, token_hash: &[u8; 32]) -> Result<(), StoreError> {
    sql(tx).execute(
        "DELETE FROM cabinet_sessions WHERE token_hash = ?1",
        &[&&token_hash[..]],
    )?;
    Ok(())
}

/// Ends every session of a merchant but `keep` (after a password change).
pub fn delete_for_merchant(
    tx: &mut Tx<'_>,
    merchant_id: &str,
    keep: Option<&[u8; 32]>,
) -> Result<usize, StoreError> {
    // Two texts rather than `?2 IS NULL OR ..`: a parameter only tested
    // for NULL has no type on PostgreSQL, and the two dialects share no
    // name of a blob type to CAST it to (SQLite's BLOB, PostgreSQL's BYTEA).
    let ended = match keep {
        Some(keep) => sql(tx).execute(
            "DELETE FROM cabinet_sessions WHERE merchant_id = ?1 AND token_hash <> ?2",
            &[&merchant_id, &&keep[..]],
        )?,
        None => sql(tx).execute(
            "DELETE FROM cabinet_sessions WHERE merchant_id = ?1",
            &[&merchant_id],
        )?,
    };
    // A count of rows this process could hold in memory fits a usize.
    Ok(usize::try_from(ended).unwrap_or(usize::MAX))
}
