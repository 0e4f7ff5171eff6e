//! The hosts that share a PostgreSQL database. Each store names its
//! connections `mpos <schema> <instance>` (`application_name`), a fresh instance per
//! store opened, so a host can see in `pg_stat_activity` whether another
//! serves from the same database right now: a host that was killed has no
//! connection left (the server ends a session whose client is gone). The
//! start of upstream mode asks, before it gives up the requests still
//! waiting on the card processor: another live host may be waiting for
//! some of them.

use crate::error::StoreError;
use crate::pg::APPLICATION;
use crate::sql::Dialect;
use crate::unit::{Db, sql};
use std::hash::{BuildHasher, Hasher};

/// A new instance name: 16 hex digits, different for every store opened
/// (the standard library's per-process random hash keys, the process id
/// and the time). A name, not a secret.
pub(crate) fn new_instance() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_i64(crate::ops::now_millis());
    format!("{:016x}", hasher.finish())
}

/// Whether a store other than `instance` has connections open to this
/// schema of this database now; `false` on SQLite.
pub(crate) fn others_serving(db: &mut impl Db, instance: &str) -> Result<bool, StoreError> {
    let mut sql = sql(db);
    if sql.dialect() != Dialect::Postgres {
        return Ok(false);
    }
    sql.exists(
        "SELECT 1 FROM pg_stat_activity
         WHERE datname = current_database()
           AND split_part(application_name, ' ', 1) = ?1
           AND split_part(application_name, ' ', 2) = coalesce(current_schema(), '-')
           AND split_part(application_name, ' ', 3) <> ?2
         LIMIT 1",
        &[&APPLICATION, &instance],
    )
}
