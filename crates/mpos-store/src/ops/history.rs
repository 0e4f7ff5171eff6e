//! The cabinet's payment history: the business-day totals (read from
//! `daily_totals`, which triggers keep in step with `transactions`) and the
//! transactions themselves, newest first, a page at a time or in chunks for
//! a streamed export.
//!
//! Every query is bound to one merchant: isolation is a `WHERE` clause here,
//! not a check the caller may forget. A page of transactions first reads the
//! per-day row counts from the totals, then scans only the business days that
//! hold the page, so a deep page or a selective filter over a million rows
//! stays a short index range.

use crate::error::StoreError;
use crate::sql::{Dialect, Param, Row};
use crate::unit::{Db, sql};

/// What the history shows: one merchant's rows over a range of business
/// days, optionally narrowed to one device and to some virtual terminals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryFilter {
    /// The merchant whose rows these are; never empty.
    pub merchant_id: String,
    /// First business day, `YYYY-MM-DD`, inclusive.
    pub from_day: String,
    /// Last business day, `YYYY-MM-DD`, inclusive.
    pub to_day: String,
    /// Only this device's rows.
    pub device_serial: Option<String>,
    /// Only these virtual terminals' rows; `Some(empty)` matches nothing
    /// (a name filter that named no terminal).
    pub vt_ids: Option<Vec<String>>,
}

impl HistoryFilter {
    /// The `WHERE` clause over `merchant_id`, `business_day`, `device_serial`
    /// and `vt_id` columns, and its parameters (all text). `None` when the
    /// filter cannot match anything.
    fn clause(&self) -> Option<(String, Vec<&str>)> {
        self.clause_with(
            "business_day BETWEEN ? AND ?",
            vec![self.from_day.as_str(), self.to_day.as_str()],
        )
    }

    /// The clause over exactly `days` (each within the filter's period)
    /// instead of the whole range between the first and the last.
    fn clause_on<'a>(&'a self, days: &'a [String]) -> Option<(String, Vec<&'a str>)> {
        if days.is_empty() {
            return None;
        }
        let mut condition = String::from("business_day IN (");
        for i in 0..days.len() {
            condition.push_str(if i == 0 { "?" } else { ", ?" });
        }
        condition.push(')');
        self.clause_with(&condition, days.iter().map(String::as_str).collect())
    }

    /// The clause over the range from the oldest to the newest of `days`
    /// (newest first, as a [`DayWindow`] holds them): the same rows as
    /// [`HistoryFilter::clause_on`], since the days between them without
    /// one of the filter's rows add none.
    fn clause_spanning<'a>(&'a self, days: &'a [String]) -> Option<(String, Vec<&'a str>)> {
        let (newest, oldest) = (days.first()?, days.last()?);
        self.clause_with("business_day BETWEEN ? AND ?", vec![oldest, newest])
    }

    /// The clause over the one day `day` (within the filter's period).
    fn clause_on_day<'a>(&'a self, day: &'a str) -> Option<(String, Vec<&'a str>)> {
        self.clause_with("business_day = ?", vec![day])
    }

    fn clause_with<'a>(
        &'a self,
        days_condition: &str,
        day_values: Vec<&'a str>,
    ) -> Option<(String, Vec<&'a str>)> {
        let mut sql = format!("merchant_id = ? AND {days_condition}");
        let mut values = vec![self.merchant_id.as_str()];
        values.extend(day_values);
        if let Some(device) = &self.device_serial {
            sql.push_str(" AND device_serial = ?");
            values.push(device);
        }
        if let Some(vt_ids) = &self.vt_ids {
            if vt_ids.is_empty() {
                return None;
            }
            sql.push_str(" AND vt_id IN (");
            for (i, vt_id) in vt_ids.iter().enumerate() {
                sql.push_str(if i == 0 { "?" } else { ", ?" });
                values.push(vt_id);
            }
            sql.push(')');
        }
        Some((sql, values))
    }

    /// The same filter over a narrower range of days.
    fn between(&self, from_day: &str, to_day: &str) -> HistoryFilter {
        HistoryFilter {
            from_day: from_day.to_owned(),
            to_day: to_day.to_owned(),
            ..self.clone()
        }
    }
}

/// One business day of one virtual terminal: what counts is approved and
/// unreversed; `rows` counts every stored 0200, declines included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTotal {
    /// `YYYY-MM-DD`.
    pub business_day: String,
    /// DE 41.
    pub vt_id: String,
    /// ISO 4217 numeric.
    pub currency: u16,
    /// Purchases.
    pub payments_count: u64,
    /// Their sum, minor units.
    pub payments_minor: i64,
    /// Refunds.
    pub refunds_count: u64,
    /// Their sum, minor units.
    pub refunds_minor: i64,
    /// Every 0200 row, for the transactions view's page count.
    pub rows: u64,
}

impl DayTotal {
    /// Payments less refunds, minor units.
    pub fn net_minor(&self) -> i64 {
        self.payments_minor - self.refunds_minor
    }
}

/// The totals per business day and virtual terminal, newest day first.
pub fn day_totals(db: &mut impl Db, filter: &HistoryFilter) -> Result<Vec<DayTotal>, StoreError> {
    let Some((clause, values)) = filter.clause() else {
        return Ok(Vec::new());
    };
    sql(db).query(&totals_sql(&clause), &params(&values), |row| {
        Ok(DayTotal {
            business_day: row.get(0)?,
            vt_id: row.get(1)?,
            currency: currency(row.get(2)?),
            payments_count: count(row.get(3)?),
            payments_minor: row.get(4)?,
            refunds_count: count(row.get(5)?),
            refunds_minor: row.get(6)?,
            rows: count(row.get(7)?),
        })
    })
}

/// The totals' statement over the `WHERE` clause. `sum` of a BIGINT is
/// NUMERIC on PostgreSQL: cast back.
fn totals_sql(clause: &str) -> String {
    format!(
        "SELECT business_day, vt_id, currency, CAST(sum(payments_count) AS BIGINT),
                CAST(sum(payments_minor) AS BIGINT), CAST(sum(refunds_count) AS BIGINT),
                CAST(sum(refunds_minor) AS BIGINT), CAST(sum(rows_count) AS BIGINT)
         FROM daily_totals WHERE {clause}
         GROUP BY business_day, vt_id, currency
         ORDER BY business_day DESC, vt_id, currency"
    )
}

/// A stored 0200 as the history lists it: card data only masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// Row id; newer rows have larger ids.
    pub id: i64,
    /// Unix milliseconds, UTC.
    pub received_at: i64,
    /// `YYYY-MM-DD`.
    pub business_day: String,
    /// DE 62 of the signed-on device.
    pub device_serial: String,
    /// DE 41.
    pub vt_id: String,
    /// `true` for a refund, `false` for a purchase.
    pub refund: bool,
    /// First 6 and last 4 digits.
    pub masked_pan: Option<String>,
    /// Minor units.
    pub amount_minor: i64,
    /// ISO 4217 numeric.
    pub currency: u16,
    /// DE 39 sent.
    pub response_code: String,
    /// Reversed by a 0400.
    pub reversed: bool,
    /// DE 37, on approvals.
    pub rrn: Option<String>,
    /// DE 38, on approvals.
    pub auth_code: Option<String>,
}

// The kind and the reversed flag as comparisons: booleans on both backends,
// and no text allocated per row for the kind.
const ROW_COLUMNS: &str = "id, received_at, business_day, device_serial, vt_id, kind = 'refund',
     masked_pan, amount_minor, currency, response_code, reversed = 1, rrn, auth_code";

/// The stored columns [`ROW_COLUMNS`] reads, for a subquery to select.
const STORED_COLUMNS: &str = "id, received_at, business_day, device_serial, vt_id, kind,
     masked_pan, amount_minor, currency, response_code, reversed, rrn, auth_code";

fn history_row(row: &Row<'_>) -> Result<HistoryRow, StoreError> {
    Ok(HistoryRow {
        id: row.get(0)?,
        received_at: row.get(1)?,
        business_day: row.get(2)?,
        device_serial: row.get(3)?,
        vt_id: row.get(4)?,
        refund: row.get(5)?,
        masked_pan: row.get(6)?,
        amount_minor: row.get(7)?,
        currency: currency(row.get(8)?),
        response_code: row.get(9)?,
        reversed: row.get(10)?,
        rrn: row.get(11)?,
        auth_code: row.get(12)?,
    })
}

/// How many transactions the filter matches, from the totals.
pub fn count_rows(totals: &[DayTotal]) -> u64 {
    totals.iter().map(|t| t.rows).sum()
}

/// Rows `offset .. offset + limit` of the filter's transactions, newest
/// first. `totals` are [`day_totals`] of the same filter (the caller has
/// them already for the page count); they say which business days hold the
/// page, and only those days are scanned.
pub fn transactions_page(
    db: &mut impl Db,
    filter: &HistoryFilter,
    totals: &[DayTotal],
    offset: u64,
    limit: u64,
) -> Result<Vec<HistoryRow>, StoreError> {
    let Some(window) = DayWindow::find(totals, offset, limit) else {
        return Ok(Vec::new());
    };
    let mut sql = sql(db);
    // Only the days that hold the filter's rows: at most one per row of the
    // page, however thinly a rarely used reader's rows are spread.
    let page = match sql.dialect() {
        Dialect::Sqlite => filter
            .clause_on(&window.days)
            .map(|(clause, values)| (page_sql(&clause, limit, window.skip), values)),
        Dialect::Postgres => postgres_page(filter, &window, limit),
    };
    let Some((statement, values)) = page else {
        return Ok(Vec::new());
    };
    sql.query(&statement, &params(&values), history_row)
}

/// A page's statement: rows `skip ..` of the days the `WHERE` clause holds.
fn page_sql(clause: &str, limit: u64, skip: u64) -> String {
    format!(
        "SELECT {ROW_COLUMNS} FROM transactions WHERE {clause} AND mti = '0200'
         ORDER BY business_day DESC, id DESC LIMIT {limit} OFFSET {skip}"
    )
}

/// A page's statement on PostgreSQL, and its parameters. A reader's page
/// is one backward range of its own index (`transactions_by_device`) over
/// the window's days: the reader's rows only, however few of the
/// merchant's they are. Any other, [`page_sql_by_day`].
fn postgres_page<'a>(
    filter: &'a HistoryFilter,
    window: &'a DayWindow,
    limit: u64,
) -> Option<(String, Vec<&'a str>)> {
    if filter.device_serial.is_none() {
        return page_sql_by_day(filter, window, limit);
    }
    filter
        .clause_spanning(&window.days)
        .map(|(clause, values)| (page_sql(&clause, limit, window.skip), values))
}

/// A page's statement on PostgreSQL, and its parameters: one branch per day
/// of the window, each read newest first from the history index and cut to
/// what the page can take from it, then the branches put in order.
///
/// The dialects differ here in their planners, not their SQL. PostgreSQL
/// before 17 reads an IN list on an index's second column out of order, so
/// [`page_sql`] sorts all of the window's rows, and the generic plan a
/// pooled connection settles on may instead walk the merchant's whole index
/// from its newest row, reading the table row of each, down to the page
/// (seen on a cluster: `Filter: business_day = ANY (..)`). With one day per
/// branch each is a short backward index range, whatever the plan, and the
/// final sort sees at most `limit` rows per day.
fn page_sql_by_day<'a>(
    filter: &'a HistoryFilter,
    window: &'a DayWindow,
    limit: u64,
) -> Option<(String, Vec<&'a str>)> {
    let mut branches = Vec::with_capacity(window.days.len());
    let mut values = Vec::new();
    for (i, day) in window.days.iter().enumerate() {
        let (clause, day_values) = filter.clause_on_day(day)?;
        // Rows `skip ..` of the newest day, the first rows of the others.
        let skip = if i == 0 { window.skip } else { 0 };
        branches.push(format!(
            "(SELECT {STORED_COLUMNS} FROM transactions WHERE {clause} AND mti = '0200'
              ORDER BY id DESC LIMIT {limit} OFFSET {skip})"
        ));
        values.extend(day_values);
    }
    if branches.is_empty() {
        return None;
    }
    let statement = format!(
        "SELECT {ROW_COLUMNS} FROM ({}) AS page ORDER BY business_day DESC, id DESC LIMIT {limit}",
        branches.join(" UNION ALL ")
    );
    Some((statement, values))
}

/// An export chunk's statement, `resume` the cursor's condition (or empty).
fn chunk_sql(clause: &str, resume: &str, limit: u64) -> String {
    chunk_select(ROW_COLUMNS, clause, resume, limit)
}

/// A chunk's `columns` of the rows the `WHERE` clause holds.
fn chunk_select(columns: &str, clause: &str, resume: &str, limit: u64) -> String {
    format!(
        "SELECT {columns} FROM transactions WHERE {clause} AND mti = '0200'{resume}
         ORDER BY business_day DESC, id DESC LIMIT {limit}"
    )
}

/// Where a streamed export has got to: the last row it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// That row's business day.
    pub business_day: String,
    /// That row's id.
    pub id: i64,
}

/// The next `limit` transactions after `after` (from the newest when
/// `None`), newest first: an export reads the whole period in such chunks,
/// each on a connection it gives back before writing, so memory stays flat
/// and a slow download holds no reader.
///
/// A resumed read starts its index range at the cursor: the period ends on
/// the cursor's day and the row value `(business_day, id) < (day, id)`
/// bounds the range, so every chunk costs the same wherever it falls in
/// the period. (The cursor written as `business_day < ? OR (business_day =
/// ? AND id < ?)`, the day bound as two parameters, gave SQLite no range
/// bound: each chunk walked the index down from the period's newest row,
/// 2.3 ms for an early chunk of a million-row year, 97 ms for one 90 % of
/// the way in. With one parameter used twice SQLite did derive the bound;
/// an explicit end of the period does not depend on that.)
pub fn transactions_after(
    db: &mut impl Db,
    filter: &HistoryFilter,
    after: Option<&Cursor>,
    limit: u64,
) -> Result<Vec<HistoryRow>, StoreError> {
    let narrowed;
    let filter = match after {
        // The cursor's day is in the period (its row was); clamp it anyway so
        // a cursor from elsewhere cannot widen the range.
        Some(cursor) => {
            let to_day = cursor.business_day.as_str().min(filter.to_day.as_str());
            narrowed = filter.between(&filter.from_day, to_day);
            &narrowed
        }
        None => filter,
    };
    let mut sql = sql(db);
    let parts = chunk_parts(filter, sql.dialect());
    let Some(clauses) = parts
        .iter()
        .map(HistoryFilter::clause)
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(Vec::new());
    };
    let mut params: Vec<&dyn Param> = Vec::new();
    for (_, values) in &clauses {
        params.extend(values.iter().map(|value| value as &dyn Param));
        if let Some(cursor) = after {
            params.push(&cursor.business_day);
            params.push(&cursor.id);
        }
    }
    let resume = if after.is_some() { RESUME } else { "" };
    sql.query(
        &chunk_statement(&clauses, resume, limit),
        &params,
        history_row,
    )
}

/// The filters a chunk reads, each in a branch of its own: the filter.
///
/// On PostgreSQL with several terminals, one per terminal instead.
/// PostgreSQL before 17 reads an IN list on a later column of an index out
/// of order, so its plan may read and sort the filter's whole period for
/// every chunk (seen on a cluster), and an export read it again chunk after
/// chunk. One terminal per branch, each is read in order and cut to a
/// chunk, as [`page_sql_by_day`] does for days.
fn chunk_parts(filter: &HistoryFilter, dialect: Dialect) -> Vec<HistoryFilter> {
    match &filter.vt_ids {
        Some(vt_ids) if vt_ids.len() > 1 && dialect == Dialect::Postgres => vt_ids
            .iter()
            .map(|vt_id| HistoryFilter {
                vt_ids: Some(vec![vt_id.clone()]),
                ..filter.clone()
            })
            .collect(),
        _ => vec![filter.clone()],
    }
}

/// A chunk's statement over the `WHERE` clauses of [`chunk_parts`], each
/// followed by `resume` (the cursor's condition, or empty): SQLite's
/// [`chunk_sql`] for one, the branches put in order for several.
fn chunk_statement(clauses: &[(String, Vec<&str>)], resume: &str, limit: u64) -> String {
    if let [(clause, _)] = clauses {
        return chunk_sql(clause, resume, limit);
    }
    let branches: Vec<String> = clauses
        .iter()
        .map(|(clause, _)| format!("({})", chunk_select(STORED_COLUMNS, clause, resume, limit)))
        .collect();
    format!(
        "SELECT {ROW_COLUMNS} FROM ({}) AS chunk
         ORDER BY business_day DESC, id DESC LIMIT {limit}",
        branches.join(" UNION ALL ")
    )
}

/// The condition that resumes an export chunk after its cursor's row: the
/// cursor's day and id, the id bound as an integer.
const RESUME: &str = " AND (business_day, id) < (?, CAST(? AS BIGINT))";

/// The filter's text values as parameters.
fn params<'v>(values: &'v [&'v str]) -> Vec<&'v dyn Param> {
    values.iter().map(|value| value as &dyn Param).collect()
}

/// The business days that hold rows `offset .. offset + limit`, newest
/// first, and how many rows of the newest of them come before the page.
#[derive(Debug, PartialEq, Eq)]
struct DayWindow {
    days: Vec<String>,
    skip: u64,
}

impl DayWindow {
    /// `totals` newest day first, as [`day_totals`] returns them.
    fn find(totals: &[DayTotal], offset: u64, limit: u64) -> Option<DayWindow> {
        let end = offset.checked_add(limit)?;
        let mut before = 0u64; // rows on days newer than the current one
        let mut window: Option<DayWindow> = None;
        for day in totals.chunk_by(|a, b| a.business_day == b.business_day) {
            let rows: u64 = day.iter().map(|t| t.rows).sum();
            let (first, last) = (before, before + rows);
            let name = &day[0].business_day;
            if rows > 0 && last > offset && first < end {
                match &mut window {
                    None => {
                        window = Some(DayWindow {
                            days: vec![name.clone()],
                            skip: offset - first,
                        })
                    }
                    Some(w) => w.days.push(name.clone()),
                }
            }
            before = last;
            if before >= end {
                break;
            }
        }
        window
    }
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Currencies are stored as ISO 4217 numbers, three digits.
fn currency(value: i64) -> u16 {
    u16::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, params_from_iter};

    fn total(day: &str, vt: &str, rows: u64) -> DayTotal {
        DayTotal {
            business_day: day.into(),
            vt_id: vt.into(),
            currency: 933,
            payments_count: 0,
            payments_minor: 0,
            refunds_count: 0,
            refunds_minor: 0,
            rows,
        }
    }

    #[test]
    fn the_window_covers_exactly_the_days_of_the_page() {
        let totals = [
            total("2026-11-25", "10000001", 3),
            total("2026-11-25", "10000002", 2),
            total("2026-11-24", "10000001", 0),
            total("2026-11-23", "10000001", 10),
            total("2026-11-20", "10000001", 4),
        ];
        let window = |offset, limit| DayWindow::find(&totals, offset, limit);
        let days = |days: &[&str]| days.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            window(0, 5).unwrap(),
            DayWindow {
                days: days(&["2026-11-25"]),
                skip: 0
            }
        );
        assert_eq!(
            window(3, 5).unwrap(),
            DayWindow {
                days: days(&["2026-11-25", "2026-11-23"]),
                skip: 3
            },
            "a day without rows is not read"
        );
        assert_eq!(
            window(12, 50).unwrap(),
            DayWindow {
                days: days(&["2026-11-23", "2026-11-20"]),
                skip: 7
            }
        );
        assert_eq!(window(19, 5), None, "past the last row");
        assert_eq!(window(0, 0), None);
        assert_eq!(DayWindow::find(&[], 0, 50), None);
    }

    /// SQLite's plan of `sql` on the current schema, one line per step.
    fn plan(sql: &str, parameters: usize) -> String {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        let values = vec!["x"; parameters];
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let steps: Vec<String> = statement
            .query_map(params_from_iter(values), |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        steps.join("\n")
    }

    #[test]
    fn pages_and_chunks_filter_in_the_history_index_and_never_sort() {
        // Filters are tested on the index (migration 3), so a rarely used
        // reader or terminal costs an index walk, not a table row per
        // transaction; and the index gives the order, so nothing is sorted.
        let filter = HistoryFilter {
            merchant_id: "MTB000000000001".into(),
            from_day: "2025-11-26".into(),
            to_day: "2026-11-25".into(),
            device_serial: Some("MPOS-0009".into()),
            vt_ids: Some(vec!["10000001".into(), "10000005".into()]),
        };
        let unfiltered = HistoryFilter {
            device_serial: None,
            vt_ids: None,
            ..filter.clone()
        };
        for f in [&filter, &unfiltered] {
            let (clause, values) = f.clause().unwrap();
            let days = [
                "2026-11-25".to_owned(),
                "2026-11-20".to_owned(),
                "2026-01-03".to_owned(),
            ];
            let (on_days, day_values) = f.clause_on(&days).unwrap();
            let page = plan(&page_sql(&on_days, 50, 10), day_values.len());
            assert!(
                page.contains(
                    "USING INDEX transactions_history_filters (merchant_id=? AND business_day=?)"
                ),
                "{page}"
            );
            assert!(
                !page.contains("TEMP B-TREE"),
                "the days are read newest first: {page}"
            );
            for (sql, n) in [
                (chunk_sql(&clause, "", 2_000), values.len()),
                (chunk_sql(&clause, RESUME, 2_000), values.len() + 2),
            ] {
                let plan = plan(&sql, n);
                assert!(
                    plan.contains("USING INDEX transactions_history_filters (merchant_id=? AND business_day>? AND business_day<?)"),
                    "{plan}"
                );
                assert!(!plan.contains("TEMP B-TREE"), "{plan}");
            }
        }
        let day_totals = plan(
            "SELECT business_day, vt_id, currency, sum(rows_count) FROM daily_totals
             WHERE merchant_id = ? AND business_day BETWEEN ? AND ? AND device_serial = ?
             GROUP BY business_day, vt_id, currency",
            4,
        );
        assert!(
            day_totals.contains(
                "USING PRIMARY KEY (merchant_id=? AND business_day>? AND business_day<?)"
            ),
            "{day_totals}"
        );
    }

    /// PostgreSQL's generic plan of `sql` (what a pooled connection runs
    /// after its first five executions) with `args`, SQL literals for its
    /// parameters; one line per step.
    fn postgres_plan(pg: &mut crate::pg::PgConn, sql: &str, args: &[String]) -> String {
        let client = pg.client();
        client
            .batch_execute(&format!(
                "DEALLOCATE ALL; SET plan_cache_mode = force_generic_plan;
                 PREPARE planned AS {}",
                crate::sql::postgres_placeholders(sql)
            ))
            .unwrap();
        let steps: Vec<String> = client
            .query(
                &format!("EXPLAIN EXECUTE planned({})", args.join(", ")),
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        steps.join("\n")
    }

    /// `values` as SQL literals (test constants: no quote inside).
    fn literals(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| format!("'{v}'")).collect()
    }

    #[test]
    fn on_postgresql_pages_chunks_and_totals_use_the_same_indexes() {
        let db = crate::test_db::TestDb::open();
        let Some(mut pg) = db.another_connection() else {
            return; // SQLite: the test above checks its plans.
        };
        // 29,000 rows, fewer than ANALYZE samples: its statistics, and so
        // the plans, are the same every run. 30 days of 900 rows over 9
        // readers and 5 terminals, and another merchant's.
        pg.client()
            .batch_execute(
                "INSERT INTO merchants VALUES ('M1', 'n', 'a@x.by', 'h', 0), ('M2', 'n', 'b@x.by', 'h', 0);
                 INSERT INTO devices (serial, merchant_id, state, app_password_hash, created_at)
                     SELECT 'D0' || g, 'M1', 'active', 'h', 0 FROM generate_series(1, 9) g;
                 INSERT INTO devices (serial, merchant_id, state, app_password_hash, created_at)
                     VALUES ('E1', 'M2', 'active', 'h', 0);
                 INSERT INTO transactions (mti, kind, device_serial, merchant_id, vt_id, stan,
                     transmission_time, processing_code, amount_minor, currency, response_code,
                     business_day, received_at, reversed, fingerprint, response)
                 SELECT '0200', 'purchase', 'D0' || (1 + g % 9), 'M1', '1000000' || (1 + g % 5),
                     g::text, 't', '000000', 100, 933, '00',
                     to_char(date '2026-11-01' + g / 900, 'YYYY-MM-DD'), g, 0, '', ''
                 FROM generate_series(0, 26999) g;
                 INSERT INTO transactions (mti, kind, device_serial, merchant_id, vt_id, stan,
                     transmission_time, processing_code, amount_minor, currency, response_code,
                     business_day, received_at, reversed, fingerprint, response)
                 SELECT '0200', 'purchase', 'E1', 'M2', '20000001', g::text, 't', '000000', 100,
                     933, '00', to_char(date '2026-11-01' + g / 70, 'YYYY-MM-DD'), g, 0, '', ''
                 FROM generate_series(0, 1999) g;
                 ANALYZE;",
            )
            .unwrap();
        let filter = HistoryFilter {
            merchant_id: "M1".into(),
            from_day: "2026-11-01".into(),
            to_day: "2026-11-30".into(),
            device_serial: Some("D03".into()),
            vt_ids: Some(vec!["10000001".into(), "10000005".into()]),
        };
        let unfiltered = HistoryFilter {
            device_serial: None,
            vt_ids: None,
            ..filter.clone()
        };
        for (f, filtered) in [(&filter, true), (&unfiltered, false)] {
            // The filters are tested in the index, as on SQLite: only the
            // rows shown read the table.
            let in_index = |plan: &str| {
                let cond = plan
                    .lines()
                    .find(|line| line.contains("Index Cond"))
                    .unwrap_or_default();
                !filtered || (cond.contains("device_serial") && cond.contains("vt_id"))
            };
            // A page: one branch per day, each a backward range of the
            // history index on its day, whatever the window; filtered by
            // reader, one range of the reader's index over the window.
            for days in [
                vec!["2026-11-20".to_owned()],
                vec![
                    "2026-11-25".to_owned(),
                    "2026-11-20".to_owned(),
                    "2026-11-03".to_owned(),
                ],
            ] {
                let window = DayWindow { days, skip: 10 };
                let (sql, values) = postgres_page(f, &window, 50).unwrap();
                let page = postgres_plan(&mut pg, &sql, &literals(&values));
                let scans: Vec<&str> = page
                    .lines()
                    .filter(|line| line.contains(" Scan") && !line.contains("Subquery Scan"))
                    .collect();
                let conds: Vec<&str> = page
                    .lines()
                    .filter(|line| line.contains("Index Cond"))
                    .collect();
                if filtered {
                    assert_eq!(scans.len(), 1, "{page}");
                    assert!(scans[0].contains("using transactions_by_device"), "{page}");
                    assert!(conds[0].contains("(business_day >= $"), "{page}");
                } else {
                    assert_eq!(scans.len(), window.days.len(), "{page}");
                    for scan in scans {
                        assert!(
                            scan.contains("Index Scan Backward using transactions_history_filters"),
                            "{page}"
                        );
                    }
                    assert_eq!(conds.len(), window.days.len(), "{page}");
                    for cond in conds {
                        assert!(cond.contains("(business_day = $"), "one day each: {page}");
                    }
                    assert!(
                        page.matches("Sort  (").count() <= 1,
                        "each day read newest first, the days at most put in order: {page}"
                    );
                }
                assert!(in_index(&page), "{page}");
                assert!(!page.contains("Filter"), "{page}");
            }

            // A chunk: one backward range of the history index per
            // terminal (one in all unless several are asked for), or of
            // the reader's index when it is filtered by reader.
            let parts = chunk_parts(f, Dialect::Postgres);
            let clauses: Vec<_> = parts.iter().map(|p| p.clause().unwrap()).collect();
            for resume in ["", RESUME] {
                let mut args = Vec::new();
                for (_, values) in &clauses {
                    args.extend(literals(values));
                    if !resume.is_empty() {
                        args.extend(["'2026-11-20'".to_owned(), "12345".to_owned()]);
                    }
                }
                let plan = postgres_plan(&mut pg, &chunk_statement(&clauses, resume, 2_000), &args);
                let scans: Vec<&str> = plan
                    .lines()
                    .filter(|line| line.contains(" Scan") && !line.contains("Subquery Scan"))
                    .collect();
                assert_eq!(scans.len(), if filtered { 2 } else { 1 }, "{plan}");
                let index = if filtered {
                    "transactions_by_device"
                } else {
                    "transactions_history_filters"
                };
                for scan in scans {
                    assert!(
                        scan.contains(&format!("Index Scan Backward using {index}")),
                        "{plan}"
                    );
                }
                assert!(!plan.contains("Sort  ("), "merged in order: {plan}");
                assert!(in_index(&plan), "{plan}");
                assert!(!plan.contains("Filter"), "{plan}");
            }

            let (clause, values) = f.clause().unwrap();

            let totals = postgres_plan(&mut pg, &totals_sql(&clause), &literals(&values));
            assert!(totals.contains("using daily_totals_pkey"), "{totals}");
        }
    }

    #[test]
    fn an_empty_terminal_list_matches_nothing() {
        let filter = HistoryFilter {
            merchant_id: "MTB000000000001".into(),
            from_day: "2026-11-01".into(),
            to_day: "2026-11-30".into(),
            device_serial: Some("MPOS-0001".into()),
            vt_ids: Some(vec![]),
        };
        assert!(filter.clause().is_none());
        let two = HistoryFilter {
            vt_ids: Some(vec!["10000001".into(), "20000003".into()]),
            ..filter
        };
        let (sql, values) = two.clause().unwrap();
        assert!(
            sql.ends_with("AND device_serial = ? AND vt_id IN (?, ?)"),
            "{sql}"
        );
        assert_eq!(values.len(), 6);
    }
}
