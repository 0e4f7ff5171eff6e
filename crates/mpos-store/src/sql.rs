//! One SQL text, two backends. The store's operations write their
//! statements once, in the dialect SQLite and PostgreSQL share (`RETURNING`,
//! `ON CONFLICT`, `CAST(.. AS BIGINT)`, `?N` placeholders), bind values that
//! both drivers know ([`Param`]) and read columns both can decode
//! ([`Column`]). [`Statements`] runs them on whichever backend the handle
//! holds; where the dialects truly differ an operation asks
//! [`Statements::dialect`].
//!
//! Outside the store these types are reachable only through the `testing`
//! feature, for tests' own SQL on either backend.
//!
//! The schemas are kept alike to make this work: every integer is 64-bit
//! (`BIGINT` on PostgreSQL), flags are 0/1 integers on both, blobs are
//! `BYTEA` there.

use crate::error::StoreError;
use crate::pg::PgConn;
use rusqlite::Connection;

/// A value to bind: anything both drivers can bind (`i64`, `&str`,
/// `String`, `&[u8]`, `Vec<u8>`, and `Option`s of them).
pub trait Param: rusqlite::ToSql + postgres::types::ToSql + Sync {}

impl<T: rusqlite::ToSql + postgres::types::ToSql + Sync> Param for T {}

/// A value to read: anything both drivers can decode (`i64`, `String`,
/// `Vec<u8>`, `bool` from a comparison, and `Option`s of them).
pub trait Column: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a> {}

impl<T: rusqlite::types::FromSql + for<'a> postgres::types::FromSql<'a>> Column for T {}

/// How many sequence numbers a PostgreSQL connection reserves at once.
pub const ID_BLOCK: i64 = 64;

/// Which SQL dialect a handle speaks, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.35 or later (the bundled one).
    Sqlite,
    /// PostgreSQL 13 or later.
    Postgres,
}

/// One row of a result, whichever backend produced it.
pub enum Row<'r> {
    /// A row of a SQLite statement.
    Sqlite(&'r rusqlite::Row<'r>),
    /// A row of a PostgreSQL statement.
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    /// The value of column `index` (from 0).
    pub fn get<T: Column>(&self, index: usize) -> Result<T, StoreError> {
        match self {
            Row::Sqlite(row) => Ok(row.get(index)?),
            Row::Postgres(row) => Ok(row.try_get(index)?),
        }
    }
}

/// A backend's connection as an operation runs statements on it.
pub struct Statements<'h>(pub(crate) Handle<'h>);

/// The connection under [`Statements`].
pub(crate) enum Handle<'h> {
    /// SQLite: statements are prepared once per connection and cached.
    Sqlite(&'h Connection),
    /// PostgreSQL: likewise, in [`PgConn`]'s cache.
    Postgres(&'h mut PgConn),
}

fn sqlite_params<'p>(
    params: &'p [&'p dyn Param],
) -> rusqlite::ParamsFromIter<impl Iterator<Item = &'p dyn rusqlite::ToSql>> {
    rusqlite::params_from_iter(params.iter().map(|p| *p as &dyn rusqlite::ToSql))
}

fn pg_params<'p>(params: &'p [&'p dyn Param]) -> Vec<&'p (dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| *p as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

impl Statements<'_> {
    /// The dialect of the backend behind the handle.
    pub fn dialect(&self) -> Dialect {
        match &self.0 {
            Handle::Sqlite(_) => Dialect::Sqlite,
            Handle::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64, StoreError> {
        self.write(sql, params, false)
    }

    /// [`Statements::execute`] for a statement that changes no duplicate
    /// key's answer (the id, fingerprint, response and code of a
    /// transaction), so that a PostgreSQL writer's batch keeps what it
    /// knows of its keys ([`crate::deferred`]).
    pub(crate) fn execute_keeping_answers(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
    ) -> Result<u64, StoreError> {
        self.write(sql, params, true)
    }

    fn write(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        keeps_answers: bool,
    ) -> Result<u64, StoreError> {
        match &mut self.0 {
            Handle::Sqlite(conn) => {
                let changed = conn.prepare_cached(sql)?.execute(sqlite_params(params))?;
                Ok(changed as u64)
            }
            Handle::Postgres(pg) => {
                pg.fence(keeps_answers)?;
                let statement = pg.statement(sql)?;
                Ok(pg.client().execute(&statement, &pg_params(params))?)
            }
        }
    }

    /// The batch of a PostgreSQL writer connection ([`crate::deferred`]);
    /// `None` on SQLite, whose writes all run as they come.
    pub(crate) fn batch(&mut self) -> Option<&mut crate::deferred::Batch> {
        match &mut self.0 {
            Handle::Sqlite(_) => None,
            Handle::Postgres(pg) => Some(&mut pg.batch),
        }
    }

    /// The next number of the PostgreSQL sequence `sequence`, from a block
    /// this connection reserved (one round trip per [`ID_BLOCK`] numbers);
    /// `None` on SQLite, whose row ids come from the insert itself.
    pub fn reserve_id(&mut self, sequence: &'static str) -> Result<Option<i64>, StoreError> {
        match &mut self.0 {
            Handle::Sqlite(_) => Ok(None),
            Handle::Postgres(pg) => pg.reserve_id(sequence).map(Some),
        }
    }

    /// Every row of a query, each through `map`.
    pub fn query<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        mut map: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        match &mut self.0 {
            Handle::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let mut rows = statement.query(sqlite_params(params))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(map(&Row::Sqlite(row))?);
                }
                Ok(out)
            }
            Handle::Postgres(pg) => {
                pg.fence(is_read(sql))?;
                let statement = pg.statement(sql)?;
                let rows = pg.client().query(&statement, &pg_params(params))?;
                rows.iter().map(|row| map(&Row::Postgres(row))).collect()
            }
        }
    }

    /// The first row of a query through `map`, if there is one.
    pub fn query_opt<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        map: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        if let Handle::Postgres(pg) = &mut self.0 {
            pg.fence(is_read(sql))?;
        }
        self.lookup(sql, params, map)
    }

    /// [`Statements::query_opt`] without the fence of a PostgreSQL writer's
    /// batch ([`crate::deferred`]): for the duplicate-key lookup, which
    /// has looked among the deferred rows itself and leaves nothing to undo.
    pub(crate) fn lookup<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        map: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match &mut self.0 {
            Handle::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let mut rows = statement.query(sqlite_params(params))?;
                match rows.next()? {
                    Some(row) => map(&Row::Sqlite(row)).map(Some),
                    None => Ok(None),
                }
            }
            Handle::Postgres(pg) => {
                let statement = pg.statement(sql)?;
                let row = pg.client().query_opt(&statement, &pg_params(params))?;
                row.as_ref().map(|row| map(&Row::Postgres(row))).transpose()
            }
        }
    }

    /// The row a query always returns (an aggregate, `RETURNING` of an
    /// insert), through `map`; its absence is an error naming the statement.
    pub fn query_one<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        map: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.query_opt(sql, params, map)?.ok_or_else(|| {
            StoreError::Missing(format!(
                "the row of `{}`",
                sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ))
        })
    }

    /// Whether a query returns any row.
    pub fn exists(&mut self, sql: &str, params: &[&dyn Param]) -> Result<bool, StoreError> {
        Ok(self.query_opt(sql, params, |_| Ok(()))?.is_some())
    }
}

/// Whether `sql` only reads: a SELECT (locking rows, perhaps, but changing
/// none). What a writer's batch knows of its duplicate keys holds after it.
fn is_read(sql: &str) -> bool {
    sql.trim_start()
        .get(..6)
        .is_some_and(|word| word.eq_ignore_ascii_case("SELECT"))
}

/// PostgreSQL's placeholders for SQLite's: `?N` becomes `$N`, and a bare
/// `?` the next number, as SQLite counts them. Quoted text and identifiers
/// are left alone.
pub(crate) fn postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 1u32;
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '?') => {
                out.push('$');
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str(&next.to_string());
                    next += 1;
                } else {
                    next = digits.parse::<u32>().map_or(next, |n| n + 1);
                    out.push_str(&digits);
                }
            }
            (None, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::postgres_placeholders;

    #[test]
    fn placeholders_are_numbered_as_sqlite_numbers_them() {
        assert_eq!(
            postgres_placeholders("SELECT a FROM t WHERE b = ?1 AND (?2 IS NULL OR c = ?2)"),
            "SELECT a FROM t WHERE b = $1 AND ($2 IS NULL OR c = $2)"
        );
        assert_eq!(
            postgres_placeholders("WHERE a = ? AND b = ? LIMIT ?"),
            "WHERE a = $1 AND b = $2 LIMIT $3"
        );
        assert_eq!(
            postgres_placeholders("SELECT '?' || ?1, \"odd?\" FROM t"),
            "SELECT '?' || $1, \"odd?\" FROM t"
        );
        assert_eq!(
            postgres_placeholders("VALUES (?10, ?)"),
            "VALUES ($10, $11)"
        );
    }
}
