//! What the database remembers about the hosts that use it: the
//! fingerprint of the PAN hash key it was first used with. Refunds find
//! their purchase by the card's keyed hash, so a host with another key would
//! store hashes no other host matches (deployment.md, section 2): it must
//! refuse to serve instead.

use crate::unit::sql;
use crate::{StoreError, Tx};

/// How a host's key compares with the database's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyBinding {
    /// The database had no key yet: it now remembers this one.
    Bound,
    /// The same key as before.
    Same,
    /// Another key: the fingerprint the database remembers.
    Other(String),
}

/// Binds the database to the key whose fingerprint is `fingerprint` if it
/// has none yet, or compares it with the one it has. Hosts starting at once
/// on one PostgreSQL database may race here: the insert does nothing if
/// another host's went first (waiting for it to commit), and the key read
/// after it is then that host's, so exactly one binds.
pub fn bind_pan_key(tx: &mut Tx<'_>, fingerprint: &str) -> Result<KeyBinding, StoreError> {
    let mut sql = sql(tx);
    let bound = sql.execute(
        "INSERT INTO store_identity (id, pan_key_fingerprint) VALUES (1, ?1)
         ON CONFLICT (id) DO NOTHING",
        &[&fingerprint],
    )? == 1;
    if bound {
        return Ok(KeyBinding::Bound);
    }
    let known: String = sql.query_one(
        "SELECT pan_key_fingerprint FROM store_identity WHERE id = 1",
        &[],
        |row| row.get(0),
    )?;
    Ok(if known == fingerprint {
        KeyBinding::Same
    } else {
        KeyBinding::Other(known)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_db::TestDb;
    use std::time::{Duration, Instant};

    #[test]
    fn the_first_key_is_remembered_and_another_is_told_apart() {
        let mut db = TestDb::open();
        assert_eq!(bind_pan_key(&mut db.tx(), "aa").unwrap(), KeyBinding::Bound);
        assert_eq!(bind_pan_key(&mut db.tx(), "aa").unwrap(), KeyBinding::Same);
        assert_eq!(
            bind_pan_key(&mut db.tx(), "bb").unwrap(),
            KeyBinding::Other("aa".into())
        );
    }

    /// Two hosts starting at once on one PostgreSQL database: the second
    /// binds while the first's binding is not yet committed. It waits for
    /// it and then compares, instead of failing on the primary key. (SQLite
    /// has one writer: nothing races there.)
    #[test]
    fn hosts_binding_at_once_bind_one_key_and_the_other_is_told_apart() {
        let db = TestDb::open();
        let (Some(mut first), Some(mut second), Some(mut watcher)) = (
            db.another_connection(),
            db.another_connection(),
            db.another_connection(),
        ) else {
            return;
        };
        first.client().batch_execute("BEGIN").unwrap();
        assert_eq!(
            bind_pan_key(&mut Tx::postgres(&mut first), "aa").unwrap(),
            KeyBinding::Bound
        );
        let second_pid: i32 = second
            .client()
            .query_one("SELECT pg_backend_pid()", &[])
            .unwrap()
            .get(0);
        let racer = std::thread::spawn(move || {
            second.client().batch_execute("BEGIN").unwrap();
            let binding = bind_pan_key(&mut Tx::postgres(&mut second), "bb");
            second.client().batch_execute("COMMIT").unwrap();
            binding
        });
        // Commit the first only once the second waits on its row, so the
        // two really overlap (bounded: the second cannot take longer to
        // reach the lock than this). Watched from a connection outside any
        // transaction: inside one, pg_stat_activity would not change.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let waiting: bool = watcher
                .client()
                .query_one(
                    "SELECT coalesce(wait_event_type, '') = 'Lock' FROM pg_stat_activity WHERE pid = $1",
                    &[&second_pid],
                )
                .unwrap()
                .get(0);
            if waiting {
                break;
            }
            assert!(Instant::now() < deadline, "the second never waited");
            std::thread::sleep(Duration::from_millis(5));
        }
        first.client().batch_execute("COMMIT").unwrap();
        assert_eq!(
            racer.join().unwrap().unwrap(),
            KeyBinding::Other("aa".into())
        );
    }
}
