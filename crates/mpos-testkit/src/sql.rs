//! A test's own SQL on a store, for what the typed operations do not do:
//! count rows, read the transactions stored under one RRN, age a row, take
//! a table away to make the store fail. Written once, in the SQL both
//! backends accept (`?N` placeholders, `count(*)` as a 64-bit integer), and
//! run through the store's own statements, so the same test runs on SQLite
//! and PostgreSQL alike — also beside a running `mpos serve`, through
//! `crate::app::in_dir(server.data_dir()).store`.

use mpos_store::Store;
use mpos_store::testing::{Dialect, Param};
use std::sync::mpsc;

/// The number a `SELECT count(*) …` (or any query of one integer) gives
/// with `params`.
pub fn count(store: &Store, sql: &str, params: &[&dyn Param]) -> i64 {
    store
        .read(|reader| {
            reader
                .sql_for_tests()
                .query_one(sql, params, |row| row.get::<i64>(0))
        })
        .unwrap_or_else(|e| panic!("`{sql}` counts: {e}"))
}

/// How many rows `table` holds.
pub fn in_table(store: &Store, table: &str) -> i64 {
    count(store, &format!("SELECT count(*) FROM {table}"), &[])
}

/// How many transactions are approved (response code 00).
pub fn approved(store: &Store) -> i64 {
    count(
        store,
        "SELECT count(*) FROM transactions WHERE response_code = '00'",
        &[],
    )
}

/// How many transactions of device `serial` are approved.
pub fn approved_of(store: &Store, serial: &str) -> i64 {
    count(
        store,
        "SELECT count(*) FROM transactions WHERE device_serial = ?1 AND response_code = '00'",
        &[&serial],
    )
}

/// A transaction as the look-ups by RRN give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its MTI (`0200`, `0400`).
    pub mti: String,
    /// The device that sent it.
    pub device_serial: String,
    /// Its DE 11.
    pub stan: String,
    /// Its DE 39.
    pub response_code: String,
}

/// Every transaction stored under `rrn`, in insertion order: one for an
/// approval.
pub fn by_rrn(store: &Store, rrn: &str) -> Vec<Stored> {
    store
        .read(|reader| {
            reader.sql_for_tests().query(
                "SELECT mti, device_serial, stan, response_code FROM transactions
                 WHERE rrn = ?1 ORDER BY id",
                &[&rrn],
                |row| {
                    Ok(Stored {
                        mti: row.get(0)?,
                        device_serial: row.get(1)?,
                        stan: row.get(2)?,
                        response_code: row.get(3)?,
                    })
                },
            )
        })
        .unwrap_or_else(|e| panic!("the rows of RRN {rrn} read: {e}"))
}

/// Runs `sql` (an `UPDATE` that ages rows, an `ALTER TABLE` that takes a
/// table away) in a write of its own; the number of rows it changed.
pub fn execute(store: &Store, sql: &str) -> u64 {
    let statement = sql.to_owned();
    store
        .write_blocking(move |tx| tx.sql_for_tests().execute(&statement, &[]))
        .unwrap_or_else(|e| panic!("`{sql}` runs: {e}"))
}

/// Renames `table` to `to`: a fault of every operation that needs the
/// table, on both backends (dropping it would be refused on PostgreSQL
/// when another table refers to it). Rename it back to end the fault.
pub fn rename_table(store: &Store, table: &str, to: &str) {
    execute(store, &format!("ALTER TABLE {table} RENAME TO {to}"));
}

/// Another writer holding what a payment's insert needs, as a host on the
/// same database would in the middle of its commit: a job of `store`'s
/// writer that waits, inside its batch's transaction, until
/// [`WritesHeld::release`] (or the drop). On SQLite that transaction holds
/// the file's one write lock already; on PostgreSQL it locks the
/// transactions table against writers. A server's next payment then waits
/// (at most its backend's lock timeout: 5 s on SQLite, 3 s on PostgreSQL).
pub struct WritesHeld {
    release: Option<mpsc::Sender<()>>,
    holder: Option<std::thread::JoinHandle<()>>,
}

/// Holds the writes of `store`'s database from another writer; see
/// [`WritesHeld`]. Returns once the hold is in place.
pub fn hold_writes(store: &Store) -> WritesHeld {
    let (held, is_held) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let store = store.clone();
    let holder = std::thread::spawn(move || {
        store
            .write_blocking(move |tx| {
                let mut sql = tx.sql_for_tests();
                if sql.dialect() == Dialect::Postgres {
                    sql.execute("LOCK TABLE transactions IN EXCLUSIVE MODE", &[])?;
                }
                let _ = held.send(());
                // Until released, or the holder is gone.
                let _ = released.recv();
                Ok(())
            })
            .expect("the writer that held the writes commits");
    });
    is_held.recv().expect("the writes are held");
    WritesHeld {
        release: Some(release),
        holder: Some(holder),
    }
}

impl WritesHeld {
    /// Lets the waiting writes through, once the holder's transaction ended.
    pub fn release(mut self) {
        self.end();
    }

    fn end(&mut self) {
        drop(self.release.take());
        if let Some(holder) = self.holder.take() {
            if holder.join().is_err() && !std::thread::panicking() {
                panic!("the writer that held the writes failed");
            }
        }
    }
}

impl Drop for WritesHeld {
    fn drop(&mut self) {
        self.end();
    }
}
