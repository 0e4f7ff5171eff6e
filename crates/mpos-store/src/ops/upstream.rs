//! The upstream mode's rows (upstream-interface.md, sections 2 and 3): a
//! 0200 forwarded to the card processor is *pending* from the moment it is
//! stored until its outcome is settled; reversal advices wait in a queue
//! until the processor acknowledges them.
//!
//! A pending row is stored with response code 91 and the 91 answer, so
//! that it counts nowhere (totals count 00 only) and a crash leaves a 91.
//! Settling it sets the processor's code in the same row (the daily totals'
//! trigger counts an approval then, once). A pending refund counts against
//! its purchase's refundable amount (`transactions::find_refund_target`).

use crate::error::StoreError;
use crate::sql::{Dialect, Statements};
use crate::unit::{Db, Tx, sql};

/// Why a reversal advice is sent (its DE 39).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// 68: the host gave up waiting for the processor's answer.
    Timeout,
    /// 17: the device reversed the purchase (its 0400).
    DeviceReversed,
}

impl Reason {
    /// DE 39 of the advice.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Timeout => "68",
            Reason::DeviceReversed => "17",
        }
    }
}

/// Marks row `id` as forwarded and pending: the RRN it is sent with, and
/// its link STAN and DE 7 (a reversal advice's DE 90 names them).
pub fn mark_pending(
    tx: &mut Tx<'_>,
    id: i64,
    rrn: &str,
    link_stan: &str,
    link_time: &str,
) -> Result<(), StoreError> {
    sql(tx).execute(
        "UPDATE transactions SET rrn = ?2, upstream_pending = 1, upstream_stan = ?3,
             upstream_time = ?4
         WHERE id = ?1",
        &[&id, &rrn, &link_stan, &link_time],
    )?;
    Ok(())
}

/// Settles pending row `id` with the processor's (or the host's 91)
/// outcome and the answer sent for it. `Ok(false)` when it was not pending
/// (settled already, or swept by a start): nothing changed.
pub fn settle(
    tx: &mut Tx<'_>,
    id: i64,
    response_code: &str,
    auth_code: Option<&str>,
    response: &[u8],
) -> Result<bool, StoreError> {
    Ok(sql(tx).execute(
        "UPDATE transactions SET response_code = ?2, auth_code = ?3, response = ?4,
             upstream_pending = 0
         WHERE id = ?1 AND upstream_pending = 1",
        &[&id, &response_code, &auth_code, &response],
    )? == 1)
}

/// Row `id`'s state: still pending, or settled with this code and answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The processor has not been heard from yet.
    Pending,
    /// Settled: the code and the answer sent.
    Settled {
        /// DE 39.
        response_code: String,
        /// The answer's bytes.
        response: Vec<u8>,
    },
}

/// Whether row `id` is pending, or its outcome; `None` if there is no row.
pub fn outcome(db: &mut impl Db, id: i64) -> Result<Option<Outcome>, StoreError> {
    sql(db).query_opt(
        "SELECT upstream_pending = 1, response_code, response FROM transactions WHERE id = ?1",
        &[&id],
        |row| {
            Ok(if row.get::<bool>(0)? {
                Outcome::Pending
            } else {
                Outcome::Settled {
                    response_code: row.get(1)?,
                    response: row.get(2)?,
                }
            })
        },
    )
}

/// How a reversal sees a 0200 the processor was asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// Still waiting on the processor.
    pub pending: bool,
    /// Its response code (91 while pending).
    pub response_code: String,
}

/// Row `id`'s upstream state, if it was forwarded to the processor.
pub fn forwarded(db: &mut impl Db, id: i64) -> Result<Option<Forwarded>, StoreError> {
    sql(db).query_opt(
        "SELECT upstream_pending = 1, response_code FROM transactions
         WHERE id = ?1 AND upstream_stan IS NOT NULL",
        &[&id],
        |row| {
            Ok(Forwarded {
                pending: row.get(0)?,
                response_code: row.get(1)?,
            })
        },
    )
}

/// Queues a reversal advice for row `transaction_id`; its queue id.
pub fn queue_advice(
    tx: &mut Tx<'_>,
    transaction_id: i64,
    reason: Reason,
    now_millis: i64,
) -> Result<i64, StoreError> {
    sql(tx).query_one(
        "INSERT INTO reversal_advices (transaction_id, reason, queued_at) VALUES (?1, ?2, ?3)
         RETURNING id",
        &[&transaction_id, &reason.code(), &now_millis],
        |row| row.get(0),
    )
}

/// At start, before devices are accepted: every row still pending (the
/// process stopped while the processor was deciding) becomes a 91 for
/// good — it was stored with the 91 answer — and gets a reversal advice
/// with reason 68, in row order. How many there were.
pub fn recover_pending(tx: &mut Tx<'_>, now_millis: i64) -> Result<usize, StoreError> {
    recover_pending_received_before(tx, now_millis, i64::MAX)
}

/// While serving: rows still pending that were received before
/// `cutoff_millis` — long past the link's timeout, so no forwarder is
/// going to settle them (its commit failed) — become 91s with a reversal
/// advice (68), as at a start. A forwarder that settles later finds its
/// row no longer pending ([`settle`] says so) and answers the 91. How many
/// there were.
pub fn recover_pending_received_before(
    tx: &mut Tx<'_>,
    now_millis: i64,
    cutoff_millis: i64,
) -> Result<usize, StoreError> {
    let mut sql = sql(tx);
    // The CAST types the parameter on PostgreSQL, where a select list's
    // untyped parameter would be text.
    sql.execute(
        "INSERT INTO reversal_advices (transaction_id, reason, queued_at)
         SELECT id, '68', CAST(?1 AS BIGINT) FROM transactions
         WHERE upstream_pending = 1 AND received_at < ?2 ORDER BY id",
        &[&now_millis, &cutoff_millis],
    )?;
    let given_up = sql.execute(
        "UPDATE transactions SET upstream_pending = 0
         WHERE upstream_pending = 1 AND received_at < ?1",
        &[&cutoff_millis],
    )?;
    Ok(usize::try_from(given_up).unwrap_or(usize::MAX))
}

/// The advice at the head of the queue, with what its message needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    /// Its queue id.
    pub id: i64,
    /// The reversed row.
    pub transaction_id: i64,
    /// DE 39: `68` or `17`.
    pub reason: String,
    /// Tries so far: 0 means the next is the first (a 0420).
    pub tries: i64,
    /// The original's DE 3.
    pub processing_code: String,
    /// The original's DE 4, minor units.
    pub amount_minor: u64,
    /// The original's DE 49.
    pub currency: u16,
    /// The original's RRN (DE 37).
    pub rrn: String,
    /// DE 41.
    pub vt_id: String,
    /// DE 42.
    pub merchant_id: String,
    /// The original's link STAN.
    pub link_stan: String,
    /// The original's DE 7 on the link.
    pub link_time: String,
    /// The host that last took it for a try (its store's instance), if any.
    pub claimed_by: Option<String>,
    /// When that try was, Unix milliseconds.
    pub last_try_at: Option<i64>,
}

/// The oldest advice not yet acknowledged.
pub fn next_advice(db: &mut impl Db) -> Result<Option<Advice>, StoreError> {
    head(&mut sql(db), "")
}

/// The queue's head; `lock` is appended to the statement (a row lock).
fn head(sql: &mut Statements<'_>, lock: &str) -> Result<Option<Advice>, StoreError> {
    sql.query_opt(
        &format!(
            "SELECT a.id, a.transaction_id, a.reason, a.tries, t.processing_code,
                    t.amount_minor, t.currency, coalesce(t.rrn, ''), t.vt_id, t.merchant_id,
                    coalesce(t.upstream_stan, ''), coalesce(t.upstream_time, ''),
                    a.claimed_by, a.last_try_at
             FROM reversal_advices a JOIN transactions t ON t.id = a.transaction_id
             WHERE a.acknowledged_at IS NULL ORDER BY a.id LIMIT 1{lock}"
        ),
        &[],
        |row| {
            Ok(Advice {
                id: row.get(0)?,
                transaction_id: row.get(1)?,
                reason: row.get(2)?,
                tries: row.get(3)?,
                processing_code: row.get(4)?,
                amount_minor: u64::try_from(row.get::<i64>(5)?).unwrap_or(0),
                // Stored as ISO 4217 numbers, three digits.
                currency: u16::try_from(row.get::<i64>(6)?).unwrap_or(0),
                rrn: row.get(7)?,
                vt_id: row.get(8)?,
                merchant_id: row.get(9)?,
                link_stan: row.get(10)?,
                link_time: row.get(11)?,
                claimed_by: row.get(12)?,
                last_try_at: row.get(13)?,
            })
        },
    )
}

/// A host that would take the queue's head for a try.
#[derive(Debug, Clone, Copy)]
pub struct Claimant<'a> {
    /// Its store's instance ([`crate::Store::instance`]).
    pub instance: &'a str,
    /// How long after another host's try that host keeps the head: its own
    /// repeat comes by then (the link's timeout and the repeat interval),
    /// so the processor does not get the same advice from two hosts.
    pub lease_millis: i64,
}

/// One step of the advice queue, in one commit: advice `acknowledged` (the
/// one just answered with a 0430, if any) leaves the queue, and `claim`'s
/// host takes the head for a try — its try counted before it is sent, so
/// that after a crash the next one is a repeat (0421) — unless another
/// host took it less than the claimant's lease ago (on PostgreSQL the head
/// is locked while this is decided, so two hosts never take it at once).
/// The head as it was before this try (`tries` 0: send a 0420), and the
/// queue's length.
pub fn step_queue(
    tx: &mut Tx<'_>,
    acknowledged: Option<i64>,
    claim: Option<Claimant<'_>>,
    now_millis: i64,
) -> Result<(Option<Advice>, u64), StoreError> {
    if let Some(id) = acknowledged {
        advice_acknowledged(tx, id, now_millis)?;
    }
    let head = match claim {
        Some(claimant) => claim_head(tx, claimant, now_millis)?,
        None => None,
    };
    Ok((head, queue_len(tx)?))
}

/// The head for `claimant`'s try, counted as tried by it; `None` if the
/// queue is empty or another host holds the head.
fn claim_head(
    tx: &mut Tx<'_>,
    claimant: Claimant<'_>,
    now_millis: i64,
) -> Result<Option<Advice>, StoreError> {
    let mut sql = sql(tx);
    let lock = match sql.dialect() {
        Dialect::Postgres => " FOR UPDATE OF a",
        Dialect::Sqlite => "",
    };
    let Some(advice) = head(&mut sql, lock)? else {
        return Ok(None);
    };
    let held_by_another = advice
        .claimed_by
        .as_deref()
        .is_some_and(|host| host != claimant.instance)
        && advice
            .last_try_at
            .is_some_and(|at| now_millis.saturating_sub(at) < claimant.lease_millis);
    if held_by_another {
        return Ok(None);
    }
    advice_tried(tx, advice.id, now_millis, claimant.instance)?;
    Ok(Some(advice))
}

/// Advice `id` is about to be sent (again) by host `instance`: counted
/// before it goes, so a crash meanwhile makes the next try a repeat (0421).
pub fn advice_tried(
    tx: &mut Tx<'_>,
    id: i64,
    now_millis: i64,
    instance: &str,
) -> Result<(), StoreError> {
    sql(tx).execute(
        "UPDATE reversal_advices SET tries = tries + 1, last_try_at = ?2, claimed_by = ?3
         WHERE id = ?1",
        &[&id, &now_millis, &instance],
    )?;
    Ok(())
}

/// The processor acknowledged advice `id` (0430): off the queue.
pub fn advice_acknowledged(tx: &mut Tx<'_>, id: i64, now_millis: i64) -> Result<(), StoreError> {
    sql(tx).execute(
        "UPDATE reversal_advices SET acknowledged_at = ?2 WHERE id = ?1 AND acknowledged_at IS NULL",
        &[&id, &now_millis],
    )?;
    Ok(())
}

/// Advices waiting for a 0430.
pub fn queue_len(db: &mut impl Db) -> Result<u64, StoreError> {
    let n: i64 = sql(db).query_one(
        "SELECT count(*) FROM reversal_advices WHERE acknowledged_at IS NULL",
        &[],
        |row| row.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_db::TestDb;

    /// Rows of a test's own: one SQL text for both backends, the blobs
    /// bound (SQLite's `x''` literals are not PostgreSQL's).
    const INSERT_TRANSACTION: &str = "INSERT INTO transactions (mti, kind, device_serial,
             merchant_id, vt_id, stan, transmission_time, processing_code, amount_minor,
             currency, response_code, business_day, received_at, reversed, fingerprint,
             response, original_id)
         VALUES ('0200', ?1, 'D', 'M', 'V', ?2, 't', ?3, ?4, 933, '91', '2026-12-01', 0, 0,
             ?5, ?6, ?7)";

    /// Merchant M, device D, and rows 1 and 2: purchases of 500 and 700
    /// stored with the 91 answer, on the backend the suite runs on.
    fn db() -> TestDb {
        let mut db = TestDb::open();
        db.execute(
            "INSERT INTO merchants VALUES ('M', 'n', 'e@x.by', 'h', 0)",
            &[],
        );
        db.execute(
            "INSERT INTO devices (serial, merchant_id, state, app_password_hash, created_at)
             VALUES ('D', 'M', 'active', 'h', 0)",
            &[],
        );
        for (stan, amount) in [("1", 500_i64), ("2", 700)] {
            db.execute(
                INSERT_TRANSACTION,
                &[
                    &"purchase",
                    &stan,
                    &"000000",
                    &amount,
                    &&b""[..],
                    &&b"\x91"[..],
                    &None::<i64>,
                ],
            );
        }
        db
    }

    /// Rows 1 and 2 stored pending, with link STANs 1 and 2.
    fn mark_both_pending(db: &mut TestDb) {
        for (id, stan, time) in [(1, "000001", "1201190507"), (2, "000002", "1201190508")] {
            mark_pending(&mut db.tx(), id, &format!("{id:012}"), stan, time).unwrap();
        }
    }

    fn totals(db: &mut TestDb) -> (i64, i64) {
        db.sql()
            .query_one(
                "SELECT payments_count, payments_minor FROM daily_totals",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    }

    #[test]
    fn a_settled_approval_counts_once_and_a_second_settle_changes_nothing() {
        let mut db = db();
        mark_pending(&mut db.tx(), 1, "000000000001", "000042", "1201190507").unwrap();
        assert_eq!(outcome(&mut db.tx(), 1).unwrap(), Some(Outcome::Pending));
        assert_eq!(totals(&mut db), (0, 0), "pending counts nowhere");
        assert!(settle(&mut db.tx(), 1, "00", Some("AB12CD"), b"answer").unwrap());
        assert_eq!(totals(&mut db), (1, 500));
        assert!(!settle(&mut db.tx(), 1, "00", Some("AB12CD"), b"answer").unwrap());
        assert_eq!(totals(&mut db), (1, 500), "never counted twice");
        assert_eq!(
            outcome(&mut db.tx(), 1).unwrap(),
            Some(Outcome::Settled {
                response_code: "00".into(),
                response: b"answer".to_vec()
            })
        );
    }

    #[test]
    fn the_start_turns_pending_rows_into_91s_with_a_68_advice_each_in_order() {
        let mut db = db();
        mark_pending(&mut db.tx(), 2, "000000000002", "000002", "1201190508").unwrap();
        mark_pending(&mut db.tx(), 1, "000000000001", "000001", "1201190507").unwrap();
        assert_eq!(recover_pending(&mut db.tx(), 5).unwrap(), 2);
        assert_eq!(recover_pending(&mut db.tx(), 6).unwrap(), 0, "once");
        assert_eq!(queue_len(&mut db.tx()).unwrap(), 2);
        let first = next_advice(&mut db.tx()).unwrap().unwrap();
        assert_eq!(
            (first.transaction_id, first.reason.as_str(), first.tries),
            (1, "68", 0)
        );
        assert_eq!(
            (first.link_stan.as_str(), first.link_time.as_str()),
            ("000001", "1201190507")
        );
        assert_eq!(
            outcome(&mut db.tx(), 1).unwrap(),
            Some(Outcome::Settled {
                response_code: "91".into(),
                response: b"\x91".to_vec()
            })
        );
        advice_tried(&mut db.tx(), first.id, 7, "A").unwrap();
        assert_eq!(
            next_advice(&mut db.tx()).unwrap().unwrap().tries,
            1,
            "same advice, repeated"
        );
        advice_acknowledged(&mut db.tx(), first.id, 8).unwrap();
        assert_eq!(
            next_advice(&mut db.tx()).unwrap().unwrap().transaction_id,
            2
        );
        assert_eq!(queue_len(&mut db.tx()).unwrap(), 1);
    }

    #[test]
    fn while_serving_only_rows_pending_since_before_the_cutoff_are_given_up() {
        let mut db = db();
        db.execute(
            "UPDATE transactions SET received_at = 1000 WHERE id = 1",
            &[],
        );
        db.execute(
            "UPDATE transactions SET received_at = 9000 WHERE id = 2",
            &[],
        );
        mark_both_pending(&mut db);
        // Row 1 is old (its outcome's commit failed); row 2's forwarder
        // may still be waiting on the processor.
        assert_eq!(
            recover_pending_received_before(&mut db.tx(), 10_000, 5_000).unwrap(),
            1
        );
        assert_eq!(outcome(&mut db.tx(), 2).unwrap(), Some(Outcome::Pending));
        let advice = next_advice(&mut db.tx()).unwrap().unwrap();
        assert_eq!((advice.transaction_id, advice.reason.as_str()), (1, "68"));
        assert_eq!(queue_len(&mut db.tx()).unwrap(), 1);
        // A late outcome for the given-up row changes nothing: it stays the
        // stored 91, reversed, and counts nowhere.
        assert!(!settle(&mut db.tx(), 1, "00", Some("AB12CD"), b"late").unwrap());
        assert_eq!(
            outcome(&mut db.tx(), 1).unwrap(),
            Some(Outcome::Settled {
                response_code: "91".into(),
                response: b"\x91".to_vec()
            })
        );
        assert_eq!(totals(&mut db), (0, 0), "nothing counted");
        assert!(settle(&mut db.tx(), 2, "00", Some("AB12CD"), b"answer").unwrap());
        assert_eq!(totals(&mut db), (1, 700), "the other settles as usual");
    }

    #[test]
    fn one_queue_step_acknowledges_the_last_and_claims_the_next() {
        let mut db = db();
        mark_both_pending(&mut db);
        recover_pending(&mut db.tx(), 5).unwrap();
        let host = Some(Claimant {
            instance: "A",
            lease_millis: 1_000,
        });
        // Not claiming (the link is down): nothing taken, nothing counted.
        assert_eq!(step_queue(&mut db.tx(), None, None, 6).unwrap(), (None, 2));
        let (first, len) = step_queue(&mut db.tx(), None, host, 6).unwrap();
        let first = first.unwrap();
        assert_eq!((first.transaction_id, first.tries, len), (1, 0, 2));
        // Not acknowledged: the same one again, now a repeat.
        let (again, _) = step_queue(&mut db.tx(), None, host, 7).unwrap();
        assert_eq!(
            (again.as_ref().unwrap().id, again.unwrap().tries),
            (first.id, 1)
        );
        // Acknowledged: the next one, a first try.
        let (next, len) = step_queue(&mut db.tx(), Some(first.id), host, 8).unwrap();
        let next = next.unwrap();
        assert_eq!((next.transaction_id, next.tries, len), (2, 0, 1));
        assert_eq!(
            step_queue(&mut db.tx(), Some(next.id), host, 9).unwrap(),
            (None, 0)
        );
    }

    #[test]
    fn a_head_another_host_is_trying_is_left_to_it_until_its_lease_ends() {
        let mut db = db();
        mark_both_pending(&mut db);
        recover_pending(&mut db.tx(), 5).unwrap();
        let host = |instance| {
            Some(Claimant {
                instance,
                lease_millis: 1_000,
            })
        };
        let (a, b) = (host("A"), host("B"));
        let tries =
            |step: (Option<Advice>, u64)| step.0.map(|head| (head.transaction_id, head.tries));
        for (host, now, expected, why) in [
            (a, 10, Some((1, 0)), "A takes the head"),
            (
                b,
                11,
                None,
                "B would send A's advice again while A waits: no",
            ),
            (a, 12, Some((1, 1)), "A repeats its own when it will"),
            (b, 1_011, None, "still within A's lease"),
            (b, 1_012, Some((1, 2)), "a lease later A is taken for gone"),
            (a, 1_013, None, "B's now: A waits in turn"),
        ] {
            let step = step_queue(&mut db.tx(), None, host, now).unwrap();
            assert_eq!(tries(step), expected, "{why}");
        }
        // The next one follows the 0430.
        let head = next_advice(&mut db.tx()).unwrap().unwrap();
        assert_eq!(head.claimed_by.as_deref(), Some("B"));
        assert_eq!(
            tries(step_queue(&mut db.tx(), Some(head.id), a, 1_014).unwrap()),
            Some((2, 0))
        );
    }

    #[test]
    fn a_pending_refund_counts_against_what_is_left_to_refund() {
        let mut db = db();
        db.execute(
            "UPDATE transactions SET response_code = '00', rrn = 'P1' WHERE id = 1",
            &[],
        );
        db.execute(
            INSERT_TRANSACTION,
            &[
                &"refund",
                &"3",
                &"200000",
                &300_i64,
                &&b""[..],
                &&b""[..],
                &Some(1_i64),
            ],
        );
        let target = |db: &mut TestDb| {
            crate::ops::transactions::find_refund_target(&mut db.tx(), "P1")
                .unwrap()
                .unwrap()
                .refunded_minor
        };
        assert_eq!(target(&mut db), 0, "a declined (91) refund takes nothing");
        mark_pending(&mut db.tx(), 3, "R1", "000003", "1201190509").unwrap();
        assert_eq!(
            target(&mut db),
            300,
            "a pending one may yet take its amount"
        );
        let has_refunds = |db: &mut TestDb| {
            crate::ops::transactions::find_reversal_target(&mut db.tx(), "D", "1", "t")
                .unwrap()
                .unwrap()
                .has_refunds
        };
        assert!(
            has_refunds(&mut db),
            "nor can its purchase be reversed meanwhile"
        );
        settle(&mut db.tx(), 3, "05", None, b"").unwrap();
        assert_eq!(target(&mut db), 0, "declined by the processor: free again");
        assert!(!has_refunds(&mut db));
    }
}
