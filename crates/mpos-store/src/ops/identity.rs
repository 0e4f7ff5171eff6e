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

    #[test]
    fn the_first_key_is_remembered_and_another_is_told_apart() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        let mut tx = Tx::sqlite(&conn);
        assert_eq!(bind_pan_key(&mut tx, "aa").unwrap(), KeyBinding::Bound);
        assert_eq!(bind_pan_key(&mut tx, "aa").unwrap(), KeyBinding::Same);
        assert_eq!(
            bind_pan_key(&mut tx, "bb").unwrap(),
            KeyBinding::Other("aa".into())
        );
    }
}
