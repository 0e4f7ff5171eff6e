//! Failed password sign-ons per DE 62 value, for the lockout rule of the
//! host interface (section 4): what `mpos_domain::rules::locked_until`
//! needs, the latest failure and how many fell in the window before it.

use crate::error::StoreError;
use crate::unit::{Db, Tx};
use mpos_domain::rules::LOCKOUT_MS;
use rusqlite::params;

/// Records a failed password sign-on of `serial` at `at`, and forgets its
/// failures too old to count any more.
pub fn record(tx: &mut Tx<'_>, serial: &str, at: i64) -> Result<(), StoreError> {
    let conn = crate::unit::conn(tx);
    conn.prepare_cached("INSERT INTO sign_on_failures (serial, at) VALUES (?1, ?2)")?
        .execute(params![serial, at])?;
    conn.prepare_cached("DELETE FROM sign_on_failures WHERE serial = ?1 AND at < ?2")?
        .execute(params![serial, at.saturating_sub(2 * LOCKOUT_MS)])?;
    Ok(())
}

/// The latest failure of `serial` and how many failures (it included) fell
/// in the lockout window before it.
pub fn latest(db: &mut impl Db, serial: &str) -> Result<(u32, Option<i64>), StoreError> {
    let conn = crate::unit::conn(db);
    Ok(conn
        .prepare_cached(
            "SELECT count(*), max(f.at) FROM sign_on_failures f,
                 (SELECT max(at) AS last FROM sign_on_failures WHERE serial = ?1) l
             WHERE f.serial = ?1 AND f.at >= l.last - ?2",
        )?
        .query_row(params![serial, LOCKOUT_MS], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?)
}

/// Forgets the failures of `serial`: a successful sign-on, or a new app
/// password (which lifts a lockout).
pub fn forget(tx: &mut Tx<'_>, serial: &str) -> Result<(), StoreError> {
    let conn = crate::unit::conn(tx);
    conn.prepare_cached("DELETE FROM sign_on_failures WHERE serial = ?1")?
        .execute([serial])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn the_window_ends_at_the_latest_failure_and_forgetting_clears_it() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        assert_eq!(
            latest(&mut Tx::sqlite(&conn), "MPOS-0001").unwrap(),
            (0, None)
        );
        let minute = 60_000;
        for at in [0, 20, 21, 22, 23, 24] {
            record(&mut Tx::sqlite(&conn), "MPOS-0001", at * minute).unwrap();
        }
        record(&mut Tx::sqlite(&conn), "OTHER", 24 * minute).unwrap();
        assert_eq!(
            latest(&mut Tx::sqlite(&conn), "MPOS-0001").unwrap(),
            (5, Some(24 * minute)),
            "the failure at minute 0 is out of the window"
        );
        forget(&mut Tx::sqlite(&conn), "MPOS-0001").unwrap();
        assert_eq!(
            latest(&mut Tx::sqlite(&conn), "MPOS-0001").unwrap(),
            (0, None)
        );
        assert_eq!(
            latest(&mut Tx::sqlite(&conn), "OTHER").unwrap(),
            (1, Some(24 * minute))
        );
    }
}
