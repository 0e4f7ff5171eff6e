//! Transactions: every 0200 and 0400 past sign-on, and the lookups the rules
//! of the host interface need — the duplicate key (device, MTI, STAN, DE 7),
//! the purchase a refund points at (by RRN) with what is left to refund, and
//! the original of a reversal (by DE 90). They run on the writer's
//! connection, inside the same transaction as the insert they decide, so two
//! racing refunds can never both spend the same amount.

use crate::deferred::Pending;
use crate::error::StoreError;
use crate::pg::PgConn;
use crate::sql::{Dialect, Param, Statements};
use crate::unit::{Db, Tx, sql};
use mpos_domain::mti::Mti;

/// What a transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 0200 with processing code 00xxxx.
    Purchase,
    /// 0200 with processing code 20xxxx.
    Refund,
    /// 0400.
    Reversal,
}

impl Kind {
    /// The MTI of its request: purchases and refunds are 0200s.
    pub fn mti(self) -> Mti {
        match self {
            Kind::Purchase | Kind::Refund => Mti::Financial,
            Kind::Reversal => Mti::Reversal,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Purchase => "purchase",
            Kind::Refund => "refund",
            Kind::Reversal => "reversal",
        }
    }

    fn from_stored(text: &str) -> Result<Kind, StoreError> {
        match text {
            "purchase" => Ok(Kind::Purchase),
            "refund" => Ok(Kind::Refund),
            "reversal" => Ok(Kind::Reversal),
            other => Err(StoreError::Missing(format!(
                "a known transaction kind (found {other})"
            ))),
        }
    }
}

/// A transaction to store. Card data only as the masked PAN and its keyed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransaction {
    /// Purchase, refund or reversal; the stored MTI follows from it.
    pub kind: Kind,
    /// The device signed on to the connection.
    pub device_serial: String,
    /// The device's merchant.
    pub merchant_id: String,
    /// DE 41 as received.
    pub vt_id: String,
    /// DE 11.
    pub stan: String,
    /// DE 7.
    pub transmission_time: String,
    /// DE 12, if given.
    pub local_time: Option<String>,
    /// DE 13, if given.
    pub local_date: Option<String>,
    /// DE 22, if given.
    pub pos_entry_mode: Option<String>,
    /// DE 3.
    pub processing_code: String,
    /// DE 4, minor units.
    pub amount_minor: u64,
    /// DE 49.
    pub currency: u16,
    /// First 6 and last 4 digits.
    pub masked_pan: Option<String>,
    /// HMAC-SHA-256 of the PAN with the host key.
    pub pan_hash: Option<[u8; 32]>,
    /// DE 37 assigned on approval.
    pub rrn: Option<String>,
    /// DE 38 assigned on approval.
    pub auth_code: Option<String>,
    /// DE 39 sent.
    pub response_code: String,
    /// `YYYY-MM-DD`, fixed now and never recomputed.
    pub business_day: String,
    /// Unix milliseconds, UTC.
    pub received_at: i64,
    /// The purchase a refund refers to, or the transaction a reversal reverses.
    pub original_id: Option<i64>,
    /// A refund's DE 37 as received.
    pub original_rrn: Option<String>,
    /// A reversal's DE 90 as received.
    pub original_data: Option<String>,
    /// Hash of the request's content: tells a retransmission from a clash.
    pub fingerprint: [u8; 32],
    /// The response sent, replayed to identical retransmissions.
    pub response: Vec<u8>,
}

/// The duplicate key of a request: (device, MTI, STAN, DE 7). Given with
/// a write ([`crate::Store::write_expecting`]), it lets a PostgreSQL writer
/// look up every write's key of a batch in one statement before running
/// them ([`crate::deferred`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The signed-on device.
    pub device_serial: String,
    /// 0200 or 0400.
    pub mti: Mti,
    /// DE 11.
    pub stan: String,
    /// DE 7.
    pub transmission_time: String,
}

impl DuplicateKey {
    /// Whether this is the key (`device_serial`, `mti`, `stan`, `transmission_time`).
    pub(crate) fn is(
        &self,
        device_serial: &str,
        mti: Mti,
        stan: &str,
        transmission_time: &str,
    ) -> bool {
        self.device_serial == device_serial
            && self.mti == mti
            && self.stan == stan
            && self.transmission_time == transmission_time
    }
}

/// The answer already given to a (device, MTI, STAN, DE 7) key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorAnswer {
    /// Row id.
    pub id: i64,
    /// Fingerprint of the request that got it.
    pub fingerprint: Vec<u8>,
    /// The response bytes sent then.
    pub response: Vec<u8>,
    /// Its DE 39, as stored beside it.
    pub response_code: String,
}

/// A purchase as a refund sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundTarget {
    /// Row id.
    pub id: i64,
    /// Its merchant.
    pub merchant_id: String,
    /// Its card.
    pub pan_hash: Option<Vec<u8>>,
    /// Its amount.
    pub amount_minor: u64,
    /// Its currency.
    pub currency: u16,
    /// Whether it was approved.
    pub approved: bool,
    /// Whether it was reversed.
    pub reversed: bool,
    /// Sum of its approved, unreversed refunds, and of those the card
    /// processor is still deciding (upstream mode): what a pending refund
    /// may yet take is not left to refund, so no purchase is over-refunded.
    pub refunded_minor: u64,
}

/// The original of a reversal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReversalTarget {
    /// Row id.
    pub id: i64,
    /// Purchase or refund.
    pub kind: Kind,
    /// Its amount.
    pub amount_minor: u64,
    /// Its response code.
    pub response_code: String,
    /// Whether it is reversed already.
    pub reversed: bool,
    /// Whether it is a purchase with approved, unreversed refunds (or, in
    /// upstream mode, refunds the processor is still deciding: reversing
    /// the purchase under them could leave a refund of a reversed purchase).
    pub has_refunds: bool,
}

/// The stored columns of a transaction, in the order [`values`] binds them.
macro_rules! columns {
    () => {
        "mti, kind, device_serial, merchant_id, vt_id, stan,
         transmission_time, local_time, local_date, pos_entry_mode, processing_code,
         amount_minor, currency, masked_pan, pan_hash, rrn, auth_code, response_code,
         business_day, received_at, original_id, original_rrn, original_data,
         fingerprint, response"
    };
}

/// Their placeholders, ?1 to ?25.
macro_rules! placeholders {
    () => {
        "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
         ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25"
    };
}

/// What `t`'s columns hold that is not a field of it as it is: the
/// amount checked into the signed range, the codes and hashes as the
/// database types them.
struct Derived<'t> {
    mti: &'static str,
    kind: &'static str,
    amount: i64,
    currency: i64,
    pan_hash: Option<&'t [u8]>,
    fingerprint: &'t [u8],
}

impl<'t> Derived<'t> {
    fn of(t: &'t NewTransaction) -> Result<Derived<'t>, StoreError> {
        Ok(Derived {
            mti: t.kind.mti().as_str(),
            kind: t.kind.as_str(),
            amount: i64::try_from(t.amount_minor).map_err(|_| StoreError::TooLarge {
                what: "amount".into(),
                value: t.amount_minor,
            })?,
            currency: i64::from(t.currency),
            pan_hash: t.pan_hash.as_ref().map(|h| &h[..]),
            fingerprint: &t.fingerprint[..],
        })
    }
}

/// The values of `t` for [`columns`], in their order: borrowed, so that
/// the host's insert allocates nothing to bind them.
fn values<'a>(t: &'a NewTransaction, d: &'a Derived<'a>) -> [&'a dyn Param; 25] {
    [
        &d.mti,
        &d.kind,
        &t.device_serial,
        &t.merchant_id,
        &t.vt_id,
        &t.stan,
        &t.transmission_time,
        &t.local_time,
        &t.local_date,
        &t.pos_entry_mode,
        &t.processing_code,
        &d.amount,
        &d.currency,
        &t.masked_pan,
        &d.pan_hash,
        &t.rrn,
        &t.auth_code,
        &t.response_code,
        &t.business_day,
        &t.received_at,
        &t.original_id,
        &t.original_rrn,
        &t.original_data,
        &d.fingerprint,
        &t.response,
    ]
}

/// Stores a transaction; returns its row id. A second transaction with the
/// same (device, MTI, STAN, DE 7) or RRN is a unique violation: at once, or
/// inside a PostgreSQL writer's batch, where the row is inserted with the
/// batch's others ([`crate::deferred`]), as the write's error when the
/// batch commits.
pub fn insert(tx: &mut Tx<'_>, t: &NewTransaction) -> Result<i64, StoreError> {
    let derived = Derived::of(t)?;
    let mut sql = sql(tx);
    let Some(id) = sql.reserve_id(SEQUENCE)? else {
        return sql.query_one(
            concat!(
                "INSERT INTO transactions (",
                columns!(),
                ") VALUES (",
                placeholders!(),
                ") RETURNING id"
            ),
            &values(t, &derived),
            |row| row.get(0),
        );
    };
    insert_with_id(&mut sql, id, t.clone())?;
    Ok(id)
}

/// Stores `row` under `id`, taken from the PostgreSQL sequence: handed to
/// the writer's batch where it defers inserts ([`crate::deferred`]), else
/// inserted now, and the batch told what its duplicate key answers now.
fn insert_with_id(
    sql: &mut Statements<'_>,
    id: i64,
    row: NewTransaction,
) -> Result<(), StoreError> {
    match sql.batch() {
        Some(batch) if batch.defers() => batch.defer(id, row),
        _ => {
            let derived = Derived::of(&row)?;
            let mut params = values(&row, &derived).to_vec();
            params.push(&id);
            sql.execute_keeping_answers(INSERT_WITH_ID, &params)?;
            if let Some(batch) = sql.batch() {
                batch.learn(id, &row);
            }
        }
    }
    Ok(())
}

/// The PostgreSQL sequence of transaction ids.
const SEQUENCE: &str = "transactions_id_seq";

/// Inserts deferred rows, with their ids, in one statement (a PostgreSQL
/// writer's batch; [`crate::deferred`]). Runs on the connection itself, not
/// through [`Statements`], whose statements would fence again.
pub(crate) fn insert_rows(pg: &mut PgConn, rows: &[Pending]) -> Result<(), StoreError> {
    if let [one] = rows {
        let derived = Derived::of(&one.row)?;
        let mut params = values(&one.row, &derived).to_vec();
        params.push(&one.id);
        let params: Vec<_> = params
            .iter()
            .map(|p| *p as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let statement = pg.statement(INSERT_WITH_ID)?;
        pg.client().execute(&statement, &params)?;
        return Ok(());
    }
    let derived = rows
        .iter()
        .map(|p| Derived::of(&p.row))
        .collect::<Result<Vec<_>, _>>()?;
    let text = |f: fn(&NewTransaction) -> &str| rows.iter().map(|p| f(&p.row)).collect::<Vec<_>>();
    let maybe =
        |f: fn(&NewTransaction) -> Option<&str>| rows.iter().map(|p| f(&p.row)).collect::<Vec<_>>();
    let columns: [&(dyn postgres::types::ToSql + Sync); 26] = [
        &derived.iter().map(|d| d.mti).collect::<Vec<_>>(),
        &derived.iter().map(|d| d.kind).collect::<Vec<_>>(),
        &text(|t| &t.device_serial),
        &text(|t| &t.merchant_id),
        &text(|t| &t.vt_id),
        &text(|t| &t.stan),
        &text(|t| &t.transmission_time),
        &maybe(|t| t.local_time.as_deref()),
        &maybe(|t| t.local_date.as_deref()),
        &maybe(|t| t.pos_entry_mode.as_deref()),
        &text(|t| &t.processing_code),
        &derived.iter().map(|d| d.amount).collect::<Vec<_>>(),
        &derived.iter().map(|d| d.currency).collect::<Vec<_>>(),
        &maybe(|t| t.masked_pan.as_deref()),
        &derived.iter().map(|d| d.pan_hash).collect::<Vec<_>>(),
        &maybe(|t| t.rrn.as_deref()),
        &maybe(|t| t.auth_code.as_deref()),
        &text(|t| &t.response_code),
        &text(|t| &t.business_day),
        &rows.iter().map(|p| p.row.received_at).collect::<Vec<_>>(),
        &rows.iter().map(|p| p.row.original_id).collect::<Vec<_>>(),
        &maybe(|t| t.original_rrn.as_deref()),
        &maybe(|t| t.original_data.as_deref()),
        &derived.iter().map(|d| d.fingerprint).collect::<Vec<_>>(),
        &rows
            .iter()
            .map(|p| p.row.response.as_slice())
            .collect::<Vec<_>>(),
        &rows.iter().map(|p| p.id).collect::<Vec<_>>(),
    ];
    let statement = pg.statement(INSERT_MANY)?;
    pg.client().execute(&statement, &columns)?;
    Ok(())
}

/// The answers already given to `keys`, in one statement, on a PostgreSQL
/// writer's connection (outside any savepoint: it only reads); each key
/// with its answer, or with none if it is free.
pub(crate) fn prefetch(
    pg: &mut PgConn,
    keys: Vec<DuplicateKey>,
) -> Result<Vec<(DuplicateKey, Option<PriorAnswer>)>, StoreError> {
    let column = |f: fn(&DuplicateKey) -> &str| keys.iter().map(f).collect::<Vec<_>>();
    let statement = pg.statement(
        // One probe of the unique key's index per key: the LIMIT keeps the
        // planner from making it a join over the whole table.
        "SELECT k.device_serial, k.mti, k.stan, k.transmission_time,
                t.id, t.fingerprint, t.response, t.response_code
         FROM unnest(CAST(?1 AS TEXT[]), CAST(?2 AS TEXT[]), CAST(?3 AS TEXT[]),
                     CAST(?4 AS TEXT[])) AS k(device_serial, mti, stan, transmission_time)
         CROSS JOIN LATERAL (
             SELECT id, fingerprint, response, response_code FROM transactions
             WHERE device_serial = k.device_serial AND mti = k.mti
               AND stan = k.stan AND transmission_time = k.transmission_time
             LIMIT 1) t",
    )?;
    let rows = pg.client().query(
        &statement,
        &[
            &column(|k| &k.device_serial),
            &column(|k| k.mti.as_str()),
            &column(|k| &k.stan),
            &column(|k| &k.transmission_time),
        ],
    )?;
    let mut known: Vec<(DuplicateKey, Option<PriorAnswer>)> =
        keys.into_iter().map(|key| (key, None)).collect();
    for row in &rows {
        let (device, mti, stan, time): (&str, &str, &str, &str) = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
        );
        let answer = PriorAnswer {
            id: row.try_get(4)?,
            fingerprint: row.try_get(5)?,
            response: row.try_get(6)?,
            response_code: row.try_get(7)?,
        };
        for (key, found) in &mut known {
            if key.device_serial == device
                && key.mti.as_str() == mti
                && key.stan == stan
                && key.transmission_time == time
            {
                *found = Some(answer.clone());
            }
        }
    }
    Ok(known)
}

/// One row with its id (taken from the sequence before).
const INSERT_WITH_ID: &str = concat!(
    "INSERT INTO transactions (",
    columns!(),
    ", id) VALUES (",
    placeholders!(),
    ", ?26)"
);

/// Many rows with their ids, one array per column, in [`columns`]' order.
const INSERT_MANY: &str = concat!(
    "INSERT INTO transactions (",
    columns!(),
    ", id) SELECT * FROM unnest(
         CAST(?1 AS TEXT[]), CAST(?2 AS TEXT[]), CAST(?3 AS TEXT[]), CAST(?4 AS TEXT[]),
         CAST(?5 AS TEXT[]), CAST(?6 AS TEXT[]), CAST(?7 AS TEXT[]), CAST(?8 AS TEXT[]),
         CAST(?9 AS TEXT[]), CAST(?10 AS TEXT[]), CAST(?11 AS TEXT[]), CAST(?12 AS BIGINT[]),
         CAST(?13 AS BIGINT[]), CAST(?14 AS TEXT[]), CAST(?15 AS BYTEA[]), CAST(?16 AS TEXT[]),
         CAST(?17 AS TEXT[]), CAST(?18 AS TEXT[]), CAST(?19 AS TEXT[]), CAST(?20 AS BIGINT[]),
         CAST(?21 AS BIGINT[]), CAST(?22 AS TEXT[]), CAST(?23 AS TEXT[]), CAST(?24 AS BYTEA[]),
         CAST(?25 AS BYTEA[]), CAST(?26 AS BIGINT[]))"
);

/// What an approval adds to its row once its id is known: the RRN (made
/// of the id), the authorization code and the answer that carries both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// DE 37.
    pub rrn: String,
    /// DE 38.
    pub auth_code: String,
    /// The response sent, replayed to retransmissions.
    pub response: Vec<u8>,
}

/// Stores an approved transaction whose RRN, authorization code and answer
/// depend on its own row id (`approve` makes them from it); returns the id
/// and the approval. On PostgreSQL the id is taken from the sequence first
/// (a block of them per connection, [`Statements::reserve_id`]) and the row
/// inserted whole, in one statement (with its batch's others where the
/// batch defers inserts, [`crate::deferred`]); on SQLite the row is
/// inserted, then completed: an in-process step, where the sequence is the
/// row id itself.
pub fn insert_approved(
    tx: &mut Tx<'_>,
    t: &NewTransaction,
    approve: impl FnOnce(i64) -> Approval,
) -> Result<(i64, Approval), StoreError> {
    let mut sql = sql(tx);
    let Some(id) = sql.reserve_id(SEQUENCE)? else {
        let id = insert(tx, t)?;
        let approval = approve(id);
        set_approval(
            tx,
            id,
            &approval.rrn,
            &approval.auth_code,
            &approval.response,
        )?;
        return Ok((id, approval));
    };
    let approval = approve(id);
    let complete = NewTransaction {
        rrn: Some(approval.rrn.clone()),
        auth_code: Some(approval.auth_code.clone()),
        response: approval.response.clone(),
        ..t.clone()
    };
    Derived::of(&complete)?;
    insert_with_id(&mut sql, id, complete)?;
    Ok((id, approval))
}

/// The answer already given to this key, if any.
pub fn find_by_key(
    db: &mut impl Db,
    device_serial: &str,
    mti: Mti,
    stan: &str,
    transmission_time: &str,
) -> Result<Option<PriorAnswer>, StoreError> {
    let mut sql = sql(db);
    // Inside a PostgreSQL writer's batch, a row this batch has not inserted
    // yet answers first, then what the batch looked up before its writes;
    // else the database is asked, outside the job's savepoint.
    if let Some(known) = sql
        .batch()
        .and_then(|batch| batch.prior(device_serial, mti, stan, transmission_time))
    {
        return Ok(known);
    }
    sql.lookup(
        "SELECT id, fingerprint, response, response_code FROM transactions
         WHERE device_serial = ?1 AND mti = ?2 AND stan = ?3 AND transmission_time = ?4",
        &[&device_serial, &mti.as_str(), &stan, &transmission_time],
        |row| {
            Ok(PriorAnswer {
                id: row.get(0)?,
                fingerprint: row.get(1)?,
                response: row.get(2)?,
                response_code: row.get(3)?,
            })
        },
    )
}

/// The purchase with this RRN and what is left of it, if any. Inside a
/// write job on PostgreSQL the purchase's row is locked first, until the
/// job's batch commits: two hosts refunding (or reversing) the same
/// purchase at once take turns, and the second sees the first's refund.
pub fn find_refund_target(db: &mut impl Db, rrn: &str) -> Result<Option<RefundTarget>, StoreError> {
    let mut sql = sql(db);
    lock_purchase(&mut sql, rrn)?;
    sql.query_opt(
        "SELECT p.id, p.merchant_id, p.pan_hash, p.amount_minor, p.currency,
                p.response_code = '00', p.reversed = 1,
                (SELECT CAST(coalesce(sum(r.amount_minor), 0) AS BIGINT) FROM transactions r
                 WHERE r.original_id = p.id AND r.kind = 'refund'
                   AND (r.response_code = '00' OR r.upstream_pending = 1)
                   AND r.reversed = 0)
         FROM transactions p WHERE p.rrn = ?1 AND p.kind = 'purchase'",
        &[&rrn],
        |row| {
            Ok(RefundTarget {
                id: row.get(0)?,
                merchant_id: row.get(1)?,
                pan_hash: row.get(2)?,
                amount_minor: non_negative(row.get(3)?),
                currency: currency(row.get(4)?),
                approved: row.get(5)?,
                reversed: row.get(6)?,
                refunded_minor: non_negative(row.get(7)?),
            })
        },
    )
}

/// Locks the purchase with this RRN until the end of the transaction, on
/// PostgreSQL (SQLite has one writer: nothing to lock). A statement of its
/// own: in READ COMMITTED the next statement's snapshot, taken after the
/// lock is granted, sees what the lock's previous holder committed.
fn lock_purchase(sql: &mut Statements<'_>, rrn: &str) -> Result<(), StoreError> {
    if sql.dialect() == Dialect::Postgres {
        sql.query(
            "SELECT id FROM transactions WHERE rrn = ?1 AND kind = 'purchase' FOR UPDATE",
            &[&rrn],
            |_| Ok(()),
        )?;
    }
    Ok(())
}

/// The 0200 this device sent with that STAN and DE 7 (from a reversal's DE
/// 90). On PostgreSQL inside a write job, locked like a refund's purchase.
pub fn find_reversal_target(
    db: &mut impl Db,
    device_serial: &str,
    stan: &str,
    transmission_time: &str,
) -> Result<Option<ReversalTarget>, StoreError> {
    let mut sql = sql(db);
    if sql.dialect() == Dialect::Postgres {
        sql.query(
            "SELECT id FROM transactions
             WHERE device_serial = ?1 AND mti = '0200' AND stan = ?2 AND transmission_time = ?3
             FOR UPDATE",
            &[&device_serial, &stan, &transmission_time],
            |_| Ok(()),
        )?;
    }
    sql.query_opt(
        "SELECT o.id, o.kind, o.amount_minor, o.response_code, o.reversed = 1,
                EXISTS (SELECT 1 FROM transactions r WHERE r.original_id = o.id
                        AND r.kind = 'refund' AND r.reversed = 0
                        AND (r.response_code = '00' OR r.upstream_pending = 1))
         FROM transactions o
         WHERE o.device_serial = ?1 AND o.mti = '0200' AND o.stan = ?2 AND o.transmission_time = ?3",
        &[&device_serial, &stan, &transmission_time],
        |row| {
            Ok(ReversalTarget {
                id: row.get(0)?,
                kind: Kind::from_stored(&row.get::<String>(1)?)?,
                amount_minor: non_negative(row.get(2)?),
                response_code: row.get(3)?,
                reversed: row.get(4)?,
                has_refunds: row.get(5)?,
            })
        },
    )
}

/// Completes an approval: the RRN and authorization code it was given and
/// the response that carries them (RRNs derive from the row id, so they are
/// known only after the insert).
pub fn set_approval(
    tx: &mut Tx<'_>,
    id: i64,
    rrn: &str,
    auth_code: &str,
    response: &[u8],
) -> Result<(), StoreError> {
    sql(tx).execute(
        "UPDATE transactions SET rrn = ?2, auth_code = ?3, response = ?4 WHERE id = ?1",
        &[&id, &rrn, &auth_code, &response],
    )?;
    Ok(())
}

/// Marks a transaction reversed; `Ok(false)` if it already was.
pub fn mark_reversed(tx: &mut Tx<'_>, id: i64) -> Result<bool, StoreError> {
    Ok(sql(tx).execute_keeping_answers(
        "UPDATE transactions SET reversed = 1 WHERE id = ?1 AND reversed = 0",
        &[&id],
    )? == 1)
}

/// The largest row id so far (0 when empty), to seed RRN sequences.
pub fn max_id(db: &mut impl Db) -> Result<i64, StoreError> {
    sql(db).query_one(
        "SELECT CAST(coalesce(max(id), 0) AS BIGINT) FROM transactions",
        &[],
        |row| row.get(0),
    )
}

/// Amounts are stored non-negative (a CHECK constraint says so).
fn non_negative(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// Currencies are stored as ISO 4217 numbers, three digits.
fn currency(value: i64) -> u16 {
    u16::try_from(value).unwrap_or(0)
}
