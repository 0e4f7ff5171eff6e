//! Password reset tokens: the cabinet e-mails a random token as a link and
//! keeps only its SHA-256 here, with its expiry. A token is usable once; a
//! newer token of the same merchant voids its older unused ones. Using one
//! ([`take`]) is a single `UPDATE … RETURNING`, so inside a writer job it is
//! one atomic step with the password change it allows: two requests racing
//! with the same link cannot both succeed.

use crate::error::StoreError;
use crate::sql::{Dialect, Statements};
use crate::unit::{Db, Tx, sql};

/// Stores a new token (its hash) for `merchant_id`, valid until
/// `expires_at` (Unix milliseconds, exclusive). The merchant's older unused
/// tokens are deleted, so only the newest link works, whichever host made
/// the others; tokens of anyone that expired by `now` are purged on the way.
pub fn create(
    tx: &mut Tx<'_>,
    token_hash: &[u8; 32],
    merchant_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    if expires_at <= now {
        return Err(StoreError::ExpiresBeforeCreated {
            created_at: now,
            expires_at,
        });
    }
    let mut sql = sql(tx);
    lock_merchant(&mut sql, merchant_id)?;
    sql.execute(
        "DELETE FROM password_reset_tokens
         WHERE (merchant_id = ?1 AND used_at IS NULL) OR expires_at <= ?2",
        &[&merchant_id, &now],
    )?;
    sql.execute(
        "INSERT INTO password_reset_tokens (token_hash, merchant_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        &[&&token_hash[..], &merchant_id, &now, &expires_at],
    )?;
    Ok(())
}

/// Makes the merchant's token changes take turns across hosts, on
/// PostgreSQL (SQLite has one writer: nothing to lock). Without it two
/// hosts creating a token for the same merchant at once would each delete
/// only what the other had not committed yet, and both links would work.
/// The lock lasts until the job's batch commits; the next host's DELETE,
/// a statement of its own under READ COMMITTED, then sees the token before
/// it. `NO KEY UPDATE` rather than `UPDATE`: rows that merely refer to the
/// merchant (its transactions, sessions) take a key-share lock, which this
/// one leaves free.
fn lock_merchant(sql: &mut Statements<'_>, merchant_id: &str) -> Result<(), StoreError> {
    if sql.dialect() == Dialect::Postgres {
        sql.query(
            "SELECT id FROM merchants WHERE id = ?1 FOR NO KEY UPDATE",
            &[&merchant_id],
            |_| Ok(()),
        )?;
    }
    Ok(())
}

/// The merchant of the token with this hash if it is usable at `now`
/// (unused and unexpired), without using it: what the reset page checks
/// before it shows its form.
pub fn find_valid(
    db: &mut impl Db,
    token_hash: &[u8; 32],
    now: i64,
) -> Result<Option<String>, StoreError> {
    sql(db).query_opt(
        "SELECT merchant_id FROM password_reset_tokens
         WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
        &[&&token_hash[..], &now],
        |row| row.get(0),
    )
}

/// Uses the token with this hash: if it is unused and unexpired at `now`,
/// marks it used and returns its merchant; otherwise (unknown, expired,
/// used, voided) returns `None` and changes nothing. Run it inside the
/// writer job that makes the change the token allows.
pub fn take(
    tx: &mut Tx<'_>,
    token_hash: &[u8; 32],
    now: i64,
) -> Result<Option<String>, StoreError> {
    sql(tx).query_opt(
        "UPDATE password_reset_tokens SET used_at = ?2
         WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2
         RETURNING merchant_id",
        &[&&token_hash[..], &now],
        |row| row.get(0),
    )
}

/// Voids every unused token of `merchant_id`; returns how many. A password
/// changed by its owner must not stay open to a link asked for before.
pub fn void_for_merchant(tx: &mut Tx<'_>, merchant_id: &str) -> Result<usize, StoreError> {
    let mut sql = sql(tx);
    // Taking turns with `create` on other hosts: a link asked for at the
    // same moment is either voided here or made after this change.
    lock_merchant(&mut sql, merchant_id)?;
    let voided = sql.execute(
        "DELETE FROM password_reset_tokens WHERE merchant_id = ?1 AND used_at IS NULL",
        &[&merchant_id],
    )?;
    // A count of rows this process could hold in memory fits a usize.
    Ok(usize::try_from(voided).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::merchants::{self, MerchantRow};
    use crate::{Store, StoreOptions, Tx};
    use rusqlite::Connection;

    const HOUR: i64 = 60 * 60 * 1000;

    fn merchant(id: &str, email: &str) -> MerchantRow {
        MerchantRow {
            id: id.into(),
            name: "Name".into(),
            email: email.into(),
            password_hash: "hash".into(),
        }
    }

    fn database() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        merchants::insert(&mut Tx::sqlite(&conn), &merchant("M1", "one@merchant.test")).unwrap();
        merchants::insert(&mut Tx::sqlite(&conn), &merchant("M2", "two@merchant.test")).unwrap();
        conn
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM password_reset_tokens", [], |r| {
            r.get(0)
        })
        .unwrap()
    }

    #[test]
    fn a_token_is_usable_once_and_only_before_it_expires() {
        let conn = database();
        let (now, token) = (1_000_000, [1u8; 32]);
        create(&mut Tx::sqlite(&conn), &token, "M1", now, now + HOUR).unwrap();
        assert_eq!(
            find_valid(&mut Tx::sqlite(&conn), &token, now)
                .unwrap()
                .as_deref(),
            Some("M1")
        );
        assert_eq!(
            find_valid(&mut Tx::sqlite(&conn), &token, now + HOUR).unwrap(),
            None,
            "expired"
        );
        assert_eq!(
            take(&mut Tx::sqlite(&conn), &token, now + HOUR).unwrap(),
            None,
            "expired"
        );
        assert_eq!(
            find_valid(&mut Tx::sqlite(&conn), &[9u8; 32], now).unwrap(),
            None,
            "unknown"
        );
        assert_eq!(
            take(&mut Tx::sqlite(&conn), &[9u8; 32], now).unwrap(),
            None,
            "unknown"
        );

        assert_eq!(
            take(&mut Tx::sqlite(&conn), &token, now + 1)
                .unwrap()
                .as_deref(),
            Some("M1")
        );
        assert_eq!(
            take(&mut Tx::sqlite(&conn), &token, now + 2).unwrap(),
            None,
            "used"
        );
        assert_eq!(
            find_valid(&mut Tx::sqlite(&conn), &token, now + 2).unwrap(),
            None,
            "used"
        );
        let used_at: Option<i64> = conn
            .query_row(
                "SELECT used_at FROM password_reset_tokens WHERE token_hash = ?1",
                [&token[..]],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(used_at, Some(now + 1));
    }

    #[test]
    fn a_newer_token_voids_the_older_unused_ones_of_that_merchant_only() {
        let conn = database();
        let now = 5_000_000;
        create(&mut Tx::sqlite(&conn), &[1u8; 32], "M1", now, now + HOUR).unwrap();
        create(&mut Tx::sqlite(&conn), &[2u8; 32], "M2", now, now + HOUR).unwrap();
        create(
            &mut Tx::sqlite(&conn),
            &[3u8; 32],
            "M1",
            now + 10,
            now + 10 + HOUR,
        )
        .unwrap();
        assert_eq!(
            find_valid(&mut Tx::sqlite(&conn), &[1u8; 32], now + 20).unwrap(),
            None
        );
        assert_eq!(
            find_valid(&mut Tx::sqlite(&conn), &[3u8; 32], now + 20)
                .unwrap()
                .as_deref(),
            Some("M1")
        );
        assert_eq!(
            find_valid(&mut Tx::sqlite(&conn), &[2u8; 32], now + 20)
                .unwrap()
                .as_deref(),
            Some("M2"),
            "another merchant's token stays"
        );
    }

    #[test]
    fn creating_purges_expired_tokens_and_refuses_a_token_born_expired() {
        let conn = database();
        create(&mut Tx::sqlite(&conn), &[1u8; 32], "M1", 0, HOUR).unwrap();
        create(&mut Tx::sqlite(&conn), &[2u8; 32], "M1", 10, 10 + HOUR).unwrap();
        assert_eq!(
            take(&mut Tx::sqlite(&conn), &[2u8; 32], 20)
                .unwrap()
                .as_deref(),
            Some("M1")
        );
        assert_eq!(count(&conn), 1, "the voided one is gone, the used one kept");
        create(&mut Tx::sqlite(&conn), &[3u8; 32], "M2", 2 * HOUR, 3 * HOUR).unwrap();
        assert_eq!(count(&conn), 1, "M1's expired, used token is purged");
        assert!(create(&mut Tx::sqlite(&conn), &[4u8; 32], "M2", 10, 10).is_err());
        assert!(
            create(&mut Tx::sqlite(&conn), &[5u8; 32], "nobody", 10, 10 + HOUR).is_err(),
            "the merchant must exist"
        );
    }

    #[test]
    fn two_jobs_racing_with_one_token_let_exactly_one_through() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("mpos.db"), &StoreOptions::default()).unwrap();
        let now = 1_000;
        store
            .write_blocking(move |c| {
                merchants::insert(c, &merchant("M1", "one@merchant.test"))?;
                create(c, &[7u8; 32], "M1", now, now + HOUR)
            })
            .unwrap();
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    store
                        .write_blocking(move |c| take(c, &[7u8; 32], now + 1))
                        .unwrap()
                })
            })
            .collect();
        let winners = racers
            .into_iter()
            .filter_map(|racer| racer.join().unwrap())
            .count();
        assert_eq!(winners, 1);
    }
}
