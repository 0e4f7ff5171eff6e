//! Login attempts by e-mail, for the lockout rule: five failures within
//! fifteen minutes refuse that e-mail's logins for fifteen minutes.

use crate::error::StoreError;
use rusqlite::{Connection, params};

/// Records an attempt.
pub fn record(conn: &Connection, email: &str, at: i64, succeeded: bool) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO login_attempts (email, at, succeeded) VALUES (?1, ?2, ?3)")?
        .execute(params![email, at, succeeded])?;
    Ok(())
}

/// Failed attempts for this e-mail (any case) since `since`, and the time
/// of the latest.
pub fn failures_since(
    conn: &Connection,
    email: &str,
    since: i64,
) -> Result<(u32, Option<i64>), StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*), max(at) FROM login_attempts WHERE email = ?1 AND at >= ?2 AND succeeded = 0")?
        .query_row(params![email, since], |row| Ok((row.get(0)?, row.get(1)?)))?)
}
