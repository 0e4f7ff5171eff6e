//! Failed password sign-ons per DE 62 value, for the lockout rule of the
//! host interface (section 4): what `mpos_domain::rules::locked_until`
//! needs, the latest failure and how many fell in the window before it.

use crate::error::StoreError;
use crate::unit::{Db, Tx, sql};
use mpos_domain::rules::LOCKOUT_MS;

/// Records a failed password sign-on of `serial` at `at`, and forgets its
/// failures too old to count any more.
pub fn record(tx: &mut Tx<'_>, serial: &str, at: i64) -> Result<(), StoreError> {
    let mut sql = sql(tx);
    sql.execute(
        "INSERT INTO sign_on_failures (serial, at) VALUES (?1, ?2)",
        &[&serial, &at],
    )?;
    sql.execute(
        "DELETE FROM sign_on_failures WHERE serial = ?1 AND at < ?2",
        &[&serial, &at.saturating_sub(2 * LOCKOUT_MS)],
    )?;
    Ok(())
}

/// The latest failure of `serial` and how many failures (it included) fell
/// in the lockout window before it.
pub fn latest(db: &mut impl Db, serial: &str) -> Result<(u32, Option<i64>), StoreError> {
    let (count, last) = sql(db).query_one(
        "SELECT count(*), max(f.at) FROM sign_on_failures f,
             (SELECT max(at) AS last FROM sign_on_failures WHERE serial = ?1) l
         WHERE f.serial = ?1 AND f.at >= l.last - ?2",
        &[&serial, &LOCKOUT_MS],
        |row| Ok((row.get::<i64>(0)?, row.get::<Option<i64>>(1)?)),
    )?;
    // Past u32::MAX failures a device is as locked out as at u32::MAX.
    Ok((u32::try_from(count).unwrap_or(u32::MAX), last))
}

/// Forgets the failures of `serial`: a successful sign-on, or a new app
/// password (which lifts a lockout).
pub fn forget(tx: &mut Tx<'_>, serial: &str) -> Result<(), StoreError> {
    sql(tx).execute("DELETE FROM sign_on_failures WHERE serial = ?1", &[&serial])?;
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
