//! Login attempts by e-mail, for the lockout rule: five failures within
//! fifteen minutes refuse that e-mail's logins for fifteen minutes.

use crate::error::StoreError;
use crate::unit::{Db, Tx, sql};

/// Records an attempt.
pub fn record(tx: &mut Tx<'_>, email: &str, at: i64, succeeded: bool) -> Result<(), StoreError> {
    sql(tx).execute(
        "INSERT INTO login_attempts (email, at, succeeded) VALUES (?1, ?2, ?3)",
        &[&email, &at, &i64::from(succeeded)],
    )?;
    Ok(())
}

/// Failed attempts for this e-mail (any case) since `since`, and the time
/// of the latest.
pub fn failures_since(
    db: &mut impl Db,
    email: &str,
    since: i64,
) -> Result<(u32, Option<i64>), StoreError> {
    let (count, last) = sql(db).query_one(
        "SELECT count(*), max(at) FROM login_attempts
         WHERE email = ?1 AND at >= ?2 AND succeeded = 0",
        &[&email, &since],
        |row| Ok((row.get::<i64>(0)?, row.get::<Option<i64>>(1)?)),
    )?;
    // Past u32::MAX failures an e-mail is as locked out as at u32::MAX.
    Ok((u32::try_from(count).unwrap_or(u32::MAX), last))
}

/// Forgets the failed attempts of this e-mail (any case), lifting its lock:
/// after a password reset through the e-mailed link, whose holder has
/// shown they own the mailbox.
pub fn forget_failures(tx: &mut Tx<'_>, email: &str) -> Result<usize, StoreError> {
    let forgotten = sql(tx).execute(
        "DELETE FROM login_attempts WHERE email = ?1 AND succeeded = 0",
        &[&email],
    )?;
    // A count of rows this process could hold in memory fits a usize.
    Ok(usize::try_from(forgotten).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn forgetting_failures_lifts_the_count_of_that_e_mail_only() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        for email in ["a@merchant.test", "A@Merchant.test", "b@merchant.test"] {
            record(&mut Tx::sqlite(&conn), email, 10, false).unwrap();
        }
        record(&mut Tx::sqlite(&conn), "a@merchant.test", 11, true).unwrap();
        assert_eq!(
            failures_since(&mut Tx::sqlite(&conn), "a@merchant.test", 0).unwrap(),
            (2, Some(10))
        );
        assert_eq!(
            forget_failures(&mut Tx::sqlite(&conn), "a@MERCHANT.test").unwrap(),
            2
        );
        assert_eq!(
            failures_since(&mut Tx::sqlite(&conn), "a@merchant.test", 0).unwrap(),
            (0, None)
        );
        assert_eq!(
            failures_since(&mut Tx::sqlite(&conn), "b@merchant.test", 0)
                .unwrap()
                .0,
            1
        );
    }
}
