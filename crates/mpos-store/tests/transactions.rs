//! The lookups the host's rules stand on: duplicate keys, what is left to
//! refund (approved, unreversed refunds only), and reversal originals.

use mpos_domain::mti::Mti;
use mpos_store::Store;
use mpos_store::ops::devices;
use mpos_store::ops::transactions::{self, Kind, NewTransaction};
use mpos_testkit::provision::Provision;

/// The demo merchant with one reader and one standard terminal.
fn store() -> (tempfile::TempDir, Store) {
    Provision::one_merchant().store()
}

/// Stores `t`; its id.
fn insert(store: &Store, t: NewTransaction) -> i64 {
    store
        .write_blocking(move |c| transactions::insert(c, &t))
        .unwrap()
}

/// An approved purchase of `amount`: STAN 000001, RRN 000000000001.
fn approved_purchase(amount: u64) -> NewTransaction {
    tx(
        Kind::Purchase,
        "000001",
        amount,
        "00",
        Some("000000000001"),
        None,
    )
}

/// An approved refund of `amount` against row `original`; its RRN ends in
/// its STAN.
fn approved_refund(stan: &str, amount: u64, original: i64) -> NewTransaction {
    let rrn = format!("000000{stan}");
    tx(Kind::Refund, stan, amount, "00", Some(&rrn), Some(original))
}

fn tx(
    kind: Kind,
    stan: &str,
    amount: u64,
    code: &str,
    rrn: Option<&str>,
    original_id: Option<i64>,
) -> NewTransaction {
    NewTransaction {
        kind,
        device_serial: "MPOS-0001".into(),
        merchant_id: "MTB000000000001".into(),
        vt_id: "10000001".into(),
        stan: stan.into(),
        transmission_time: "1125093000".into(),
        local_time: None,
        local_date: None,
        pos_entry_mode: Some("071".into()),
        processing_code: if kind == Kind::Refund {
            "200000"
        } else {
            "000000"
        }
        .into(),
        amount_minor: amount,
        currency: 933,
        masked_pan: Some("427655******1234".into()),
        pan_hash: Some([7; 32]),
        rrn: rrn.map(str::to_owned),
        auth_code: rrn.map(|_| "A1B2C3".to_owned()),
        response_code: code.into(),
        business_day: "2026-11-25".into(),
        received_at: 0,
        original_id,
        original_rrn: None,
        original_data: None,
        fingerprint: [1; 32],
        response: b"0210...".to_vec(),
    }
}

#[test]
fn the_duplicate_key_finds_the_answer_given() {
    let (_dir, store) = store();
    let id = insert(&store, approved_purchase(1000));
    let prior = store
        .read(|c| transactions::find_by_key(c, "MPOS-0001", Mti::Financial, "000001", "1125093000"))
        .unwrap()
        .unwrap();
    assert_eq!((prior.id, prior.response.as_slice()), (id, &b"0210..."[..]));
    assert!(
        store
            .read(|c| transactions::find_by_key(
                c,
                "MPOS-0001",
                Mti::Reversal,
                "000001",
                "1125093000"
            ))
            .unwrap()
            .is_none()
    );
    let again = store.write_blocking(|c| {
        transactions::insert(c, &tx(Kind::Purchase, "000001", 1000, "00", None, None))
    });
    assert!(
        again.unwrap_err().is_unique_violation(),
        "the key is unique"
    );
}

#[test]
fn refunded_so_far_counts_only_approved_unreversed_refunds() {
    let (_dir, store) = store();
    let purchase = insert(&store, approved_purchase(10_000));
    store
        .write_blocking(move |c| {
            transactions::insert(c, &approved_refund("000002", 3_000, purchase))?;
            transactions::insert(
                c,
                &tx(Kind::Refund, "000003", 2_000, "13", None, Some(purchase)),
            )?;
            let reversed = transactions::insert(c, &approved_refund("000004", 1_000, purchase))?;
            transactions::mark_reversed(c, reversed)?;
            Ok(())
        })
        .unwrap();
    let target = store
        .read(|c| transactions::find_refund_target(c, "000000000001"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (target.id, target.amount_minor, target.refunded_minor),
        (purchase, 10_000, 3_000)
    );
    assert!(target.approved && !target.reversed);
    assert_eq!(target.pan_hash.as_deref(), Some(&[7u8; 32][..]));
    assert!(
        store
            .read(|c| transactions::find_refund_target(c, "000000000002"))
            .unwrap()
            .is_none(),
        "a refund's RRN is not a purchase"
    );
    assert!(
        store
            .read(|c| transactions::find_refund_target(c, "999999999999"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_reversal_finds_its_original_and_reverses_it_once() {
    let (_dir, store) = store();
    let purchase = insert(&store, approved_purchase(10_000));
    let target = store
        .read(|c| transactions::find_reversal_target(c, "MPOS-0001", "000001", "1125093000"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (target.id, target.kind, target.reversed, target.has_refunds),
        (purchase, Kind::Purchase, false, false)
    );
    let refund = store
        .write_blocking(move |c| transactions::insert(c, &approved_refund("000002", 500, purchase)))
        .unwrap();
    let target = store
        .read(|c| transactions::find_reversal_target(c, "MPOS-0001", "000001", "1125093000"))
        .unwrap()
        .unwrap();
    assert!(target.has_refunds, "a purchase with approved refunds");
    let first = store.write_blocking(move |c| transactions::mark_reversed(c, purchase));
    assert!(first.unwrap(), "the first reversal reverses");
    let second = store.write_blocking(move |c| transactions::mark_reversed(c, purchase));
    assert!(!second.unwrap(), "a repeated reversal changes nothing");
    // Ids are dense on SQLite; on PostgreSQL each writer connection takes
    // them from a block of its own, so the refund's may be far above.
    assert_eq!(
        store.read(|r| transactions::max_id(r)).unwrap(),
        purchase.max(refund)
    );
}

mod history {
    //! The history's reads: the daily totals the triggers keep, and pages
    //! and chunks of transactions, newest first, bound to one merchant.

    use super::*;
    use mpos_store::ops::history::{self, Cursor, HistoryFilter};

    fn filter() -> HistoryFilter {
        HistoryFilter {
            merchant_id: "MTB000000000001".into(),
            from_day: "2026-11-01".into(),
            to_day: "2026-11-30".into(),
            device_serial: None,
            vt_ids: None,
        }
    }

    fn on_day(mut t: NewTransaction, day: &str) -> NewTransaction {
        t.business_day = day.into();
        t
    }

    #[test]
    fn totals_count_approved_unreversed_rows_and_follow_reversals() {
        let (_dir, store) = store();
        let purchase = store
            .write_blocking(|c| {
                let id = transactions::insert(c, &approved_purchase(10_000))?;
                transactions::insert(c, &tx(Kind::Purchase, "000002", 2_000, "51", None, None))?;
                transactions::insert(c, &approved_refund("000003", 1_500, id))?;
                transactions::insert(
                    c,
                    &on_day(
                        tx(
                            Kind::Purchase,
                            "000004",
                            700,
                            "00",
                            Some("000000000004"),
                            None,
                        ),
                        "2026-11-24",
                    ),
                )?;
                Ok(id)
            })
            .unwrap();
        let totals = store.read(|c| history::day_totals(c, &filter())).unwrap();
        assert_eq!(totals.len(), 2);
        let today = &totals[0];
        assert_eq!(today.business_day, "2026-11-25", "newest day first");
        assert_eq!(
            (
                today.payments_count,
                today.payments_minor,
                today.refunds_count,
                today.refunds_minor
            ),
            (1, 10_000, 1, 1_500)
        );
        assert_eq!(today.rows, 3, "the decline is a row but not a payment");
        assert_eq!(today.net_minor(), 8_500);

        store
            .write_blocking(move |c| {
                transactions::insert(
                    c,
                    &tx(Kind::Reversal, "000005", 10_000, "00", None, Some(purchase)),
                )?;
                transactions::mark_reversed(c, purchase)
            })
            .unwrap();
        let totals = store.read(|c| history::day_totals(c, &filter())).unwrap();
        assert_eq!(
            (
                totals[0].payments_count,
                totals[0].payments_minor,
                totals[0].rows
            ),
            (0, 0, 3),
            "a reversed purchase no longer counts; the 0400 is not a row"
        );
        assert_eq!(totals[1].payments_minor, 700);
    }

    #[test]
    fn filters_narrow_and_another_merchant_sees_nothing() {
        let (_dir, store) = store();
        store
            .write_blocking(|c| {
                for i in 0..5 {
                    let mut t = tx(Kind::Purchase, &format!("{i:06}"), 100, "00", None, None);
                    t.rrn = Some(format!("{i:012}"));
                    transactions::insert(c, &t)?;
                }
                Ok(())
            })
            .unwrap();
        let count = |f: HistoryFilter| {
            let totals = store.read(move |c| history::day_totals(c, &f)).unwrap();
            history::count_rows(&totals)
        };
        assert_eq!(count(filter()), 5);
        let device = |serial: &str| HistoryFilter {
            device_serial: Some(serial.into()),
            ..filter()
        };
        assert_eq!(count(device("MPOS-0001")), 5);
        assert_eq!(count(device("MPOS-0002")), 0);
        let vts = |ids: Vec<String>| HistoryFilter {
            vt_ids: Some(ids),
            ..filter()
        };
        assert_eq!(count(vts(vec!["10000001".into()])), 5);
        assert_eq!(count(vts(vec![])), 0);
        let other = HistoryFilter {
            merchant_id: "MTB000000000002".into(),
            ..filter()
        };
        assert_eq!(count(other.clone()), 0);
        assert!(
            store
                .read(move |c| history::transactions_after(c, &other, None, 100))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn pages_and_chunks_list_every_row_once_newest_first() {
        let (_dir, store) = store();
        store
            .write_blocking(|c| {
                for i in 0..23 {
                    // Three days, the newest rows on the newest day.
                    let day = ["2026-11-20", "2026-11-22", "2026-11-25"][i / 8];
                    let code = if i % 5 == 0 { "51" } else { "00" };
                    let t = on_day(
                        tx(Kind::Purchase, &format!("{i:06}"), 100, code, None, None),
                        day,
                    );
                    transactions::insert(c, &t)?;
                }
                Ok(())
            })
            .unwrap();
        let f = filter();
        let totals = store.read(|c| history::day_totals(c, &f)).unwrap();
        assert_eq!(history::count_rows(&totals), 23);
        let mut paged = Vec::new();
        for page in 0..5 {
            let rows = store
                .read(|c| history::transactions_page(c, &f, &totals, page * 5, 5))
                .unwrap();
            assert_eq!(rows.len(), if page < 4 { 5 } else { 3 }, "page {page}");
            paged.extend(rows.into_iter().map(|r| r.id));
        }
        let expected: Vec<i64> = (1..=23).rev().collect();
        assert_eq!(paged, expected);

        let mut chunked = Vec::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let after = cursor.clone();
            let rows = store
                .read(|c| history::transactions_after(c, &f, after.as_ref(), 7))
                .unwrap();
            chunked.extend(rows.iter().map(|r| r.id));
            match rows.last() {
                Some(last) if rows.len() == 7 => {
                    cursor = Some(Cursor {
                        business_day: last.business_day.clone(),
                        id: last.id,
                    })
                }
                _ => break,
            }
        }
        assert_eq!(chunked, expected);
    }

    /// Reads `f` in chunks of `size` from the newest row, as an export does.
    fn chunked(store: &Store, f: &HistoryFilter, size: u64) -> Vec<i64> {
        let mut ids = Vec::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let after = cursor.clone();
            let rows = store
                .read(|c| history::transactions_after(c, f, after.as_ref(), size))
                .unwrap();
            ids.extend(rows.iter().map(|r| r.id));
            match rows.last() {
                Some(last) if rows.len() as u64 == size => {
                    cursor = Some(Cursor {
                        business_day: last.business_day.clone(),
                        id: last.id,
                    })
                }
                _ => return ids,
            }
        }
    }

    #[test]
    fn chunks_and_pages_resume_right_after_their_place_whatever_order_the_ids_are_in() {
        // Row ids do not follow the business days here (a second seeding
        // run, a changed cutoff): the export's order is (day, id) all the
        // same, and a chunk resumes exactly after its cursor's row, also in
        // the middle of a day and with a filter.
        let (_dir, store) = store();
        let days = [
            "2026-11-25",
            "2026-11-20",
            "2026-11-22",
            "2026-10-31",
            "2026-11-01",
        ];
        let mut expected: Vec<(String, i64, String)> = store
            .write_blocking(move |c| {
                transactions::insert(c, &tx(Kind::Purchase, "999999", 1, "00", None, None))?;
                devices::insert(c, "MPOS-0002", "MTB000000000001", false, "h")?;
                let mut rows = Vec::new();
                for i in 0..40 {
                    let day = days[(i * 7) % days.len()];
                    let mut t = on_day(
                        tx(Kind::Purchase, &format!("{i:06}"), 100, "00", None, None),
                        day,
                    );
                    if i % 3 == 0 {
                        t.device_serial = "MPOS-0002".into();
                    }
                    let device = t.device_serial.clone();
                    rows.push((day.to_owned(), transactions::insert(c, &t)?, device));
                }
                Ok(rows)
            })
            .unwrap();
        expected.retain(|(day, ..)| day.as_str() >= "2026-11-01");
        expected.sort_by(|a, b| (&b.0, b.1).cmp(&(&a.0, a.1)));
        let all: Vec<i64> = expected.iter().map(|e| e.1).collect();
        let mut in_range = all.clone();
        in_range.push(1); // the first row, on the test's default day
        let f = filter();
        let whole = store
            .read(|c| history::transactions_after(c, &f, None, 1_000))
            .unwrap();
        assert_eq!(whole.len(), in_range.len());
        for size in [1, 3, 7, 64] {
            let ids = chunked(&store, &f, size);
            let mut sorted_whole: Vec<i64> = whole.iter().map(|r| r.id).collect();
            assert_eq!(ids, sorted_whole, "chunks of {size}");
            sorted_whole.sort_unstable();
            sorted_whole.dedup();
            assert_eq!(sorted_whole.len(), ids.len(), "each row once");
        }
        let device = HistoryFilter {
            device_serial: Some("MPOS-0002".into()),
            from_day: "2026-11-02".into(),
            to_day: "2026-11-24".into(),
            ..filter()
        };
        let want: Vec<i64> = expected
            .iter()
            .filter(|(day, _, serial)| {
                serial == "MPOS-0002" && ("2026-11-02".."2026-11-25").contains(&day.as_str())
            })
            .map(|e| e.1)
            .collect();
        assert!(want.len() > 3);
        for size in [1, 2, 5] {
            assert_eq!(chunked(&store, &device, size), want, "chunks of {size}");
        }
        // Pages read only the days that hold the filter's rows: the same rows.
        let totals = store.read(|c| history::day_totals(c, &device)).unwrap();
        assert_eq!(history::count_rows(&totals), want.len() as u64);
        for size in [1, 2, 3] {
            let mut paged = Vec::new();
            for page in 0..want.len().div_ceil(size) as u64 {
                let rows = store
                    .read(|c| {
                        history::transactions_page(
                            c,
                            &device,
                            &totals,
                            page * size as u64,
                            size as u64,
                        )
                    })
                    .unwrap();
                paged.extend(rows.into_iter().map(|r| r.id));
            }
            assert_eq!(paged, want, "pages of {size}");
        }
        // A cursor past the period's end starts at the period's end.
        let late = Cursor {
            business_day: "2026-12-31".into(),
            id: i64::MAX,
        };
        let rows = store
            .read(|c| history::transactions_after(c, &device, Some(&late), 100))
            .unwrap();
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), want);
    }
}

mod one_batch {
    //! Writes that share one batch of the writer see each other, and one
    //! that fails, or whose row is refused, fails alone. On PostgreSQL this
    //! is the batch that defers the transactions' rows and inserts them
    //! together (`mpos_store::deferred`); SQLite inserts them as they come.

    use super::*;
    use mpos_store::ops::transactions::DuplicateKey;
    use mpos_store::{StoreError, WriteAck};
    use std::time::Duration;

    /// The writer every write here goes to (one key: one writer).
    const KEY: &str = "MPOS-0001";

    /// Holds the writer for a moment, so that the writes queued right after
    /// it are taken as one batch when it is done.
    fn hold_the_writer(store: &Store) -> WriteAck<()> {
        store.write_keyed(KEY, |_| {
            std::thread::sleep(Duration::from_millis(300));
            Ok(())
        })
    }

    fn purchase(stan: &str) -> NewTransaction {
        tx(Kind::Purchase, stan, 1_000, "05", None, None)
    }

    /// Queues the insert of `t`.
    fn queue_insert(store: &Store, t: NewTransaction) -> WriteAck<i64> {
        store.write_keyed(KEY, move |c| transactions::insert(c, &t))
    }

    fn stans(store: &Store) -> Vec<String> {
        store
            .read(|c| {
                c.sql_for_tests()
                    .query("SELECT stan FROM transactions ORDER BY stan", &[], |r| {
                        r.get(0)
                    })
            })
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_row_refused_fails_its_write_alone() {
        let (_dir, store) = store();
        insert(&store, purchase("000007"));
        let held = hold_the_writer(&store);
        let first = queue_insert(&store, purchase("000001"));
        let clash = queue_insert(&store, purchase("000007"));
        let last = queue_insert(&store, purchase("000002"));
        held.await.unwrap();
        assert!(first.await.is_ok());
        let refused = clash.await.unwrap_err();
        assert!(refused.is_unique_violation(), "{refused}");
        assert!(last.await.is_ok());
        assert_eq!(stans(&store), ["000001", "000002", "000007"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_sees_the_rows_written_before_it_in_its_batch() {
        let (_dir, store) = store();
        let held = hold_the_writer(&store);
        let first = queue_insert(&store, purchase("000001"));
        // The duplicate-key lookup finds the row not inserted yet...
        let lookup = store.write_keyed(KEY, |c| {
            transactions::find_by_key(c, "MPOS-0001", Mti::Financial, "000001", "1125093000")
        });
        // ...and any other statement finds it in the table.
        let count = store.write_keyed(KEY, |c| {
            c.sql_for_tests().query_one(
                "SELECT CAST(count(*) AS BIGINT) FROM transactions",
                &[],
                |r| r.get::<i64>(0),
            )
        });
        // A write after that statement whose row clashes with the first's
        // is refused alone.
        let again = queue_insert(&store, purchase("000001"));
        let last = queue_insert(&store, purchase("000002"));
        held.await.unwrap();
        let id = first.await.unwrap();
        let prior = lookup.await.unwrap().expect("the row of the first write");
        assert_eq!((prior.id, prior.response_code.as_str()), (id, "05"));
        assert_eq!(count.await.unwrap(), 1);
        assert!(again.await.unwrap_err().is_unique_violation());
        assert!(last.await.is_ok());
        assert_eq!(stans(&store), ["000001", "000002"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_leaves_none_of_its_rows() {
        let (_dir, store) = store();
        let held = hold_the_writer(&store);
        let failing = store.write_keyed(KEY, |c| {
            transactions::insert(c, &purchase("000001"))?;
            Err::<(), _>(StoreError::Aborted("refused on purpose".into()))
        });
        let fenced_failing = store.write_keyed(KEY, |c| {
            transactions::insert(c, &purchase("000002"))?;
            transactions::mark_reversed(c, 0)?;
            Err::<(), _>(StoreError::Aborted("refused on purpose".into()))
        });
        let last = queue_insert(&store, purchase("000003"));
        held.await.unwrap();
        assert!(matches!(failing.await, Err(StoreError::Aborted(_))));
        assert!(matches!(fenced_failing.await, Err(StoreError::Aborted(_))));
        assert!(last.await.is_ok());
        assert_eq!(stans(&store), ["000003"]);
    }

    /// The duplicate key of `stan` on the one device.
    fn key(stan: &str) -> DuplicateKey {
        DuplicateKey {
            device_serial: KEY.into(),
            mti: Mti::Financial,
            stan: stan.into(),
            transmission_time: "1125093000".into(),
        }
    }

    /// Queues a write that names its duplicate key and looks it up.
    fn queue_lookup(store: &Store, stan: &'static str) -> WriteAck<Option<i64>> {
        store.write_expecting(key(stan), move |c| {
            let prior = transactions::find_by_key(c, KEY, Mti::Financial, stan, "1125093000")?;
            Ok(prior.map(|p| p.id))
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn keys_named_ahead_are_answered_as_the_table_stands_at_each_write() {
        let (_dir, store) = store();
        let stored = insert(&store, purchase("000001"));
        let held = hold_the_writer(&store);
        let before = queue_lookup(&store, "000001");
        let free = queue_lookup(&store, "000002");
        let deferred = queue_insert(&store, purchase("000002"));
        let after_insert = queue_lookup(&store, "000002");
        // A write that reads first and then stores a row at once (inside
        // its savepoint): its row answers the key after it...
        let read_then_insert = |stan: &'static str, fail: bool| {
            move |c: &mut mpos_store::Tx<'_>| {
                c.sql_for_tests().query_one(
                    "SELECT CAST(count(*) AS BIGINT) FROM transactions",
                    &[],
                    |r| r.get::<i64>(0),
                )?;
                let id = transactions::insert(c, &purchase(stan))?;
                if fail {
                    return Err(StoreError::Aborted("refused on purpose".into()));
                }
                Ok(id)
            }
        };
        let fenced = store.write_keyed(KEY, read_then_insert("000004", false));
        let after_fenced = queue_lookup(&store, "000004");
        // ...unless that write fails: rolled back, its row answers nothing.
        let rolled_back = store.write_keyed(KEY, read_then_insert("000005", true));
        let after_rollback = queue_lookup(&store, "000005");
        // A statement of a write's own (here a test's SQL) may change any
        // row: the keys named ahead are looked up again after it.
        let written = store.write_keyed(KEY, |c| {
            c.sql_for_tests().query_one(
                "INSERT INTO transactions (mti, kind, device_serial, merchant_id, vt_id, stan,
                     transmission_time, processing_code, amount_minor, currency, response_code,
                     business_day, received_at, fingerprint, response)
                 VALUES ('0200', 'purchase', 'MPOS-0001', 'MTB000000000001', '10000001',
                     '000003', '1125093000', '000000', 1000, 933, '05', '2026-11-25', 0,
                     ?1, ?1)
                 RETURNING id",
                &[&&[0u8][..]],
                |r| r.get::<i64>(0),
            )
        });
        let after_statement = queue_lookup(&store, "000003");
        held.await.unwrap();
        assert_eq!(before.await.unwrap(), Some(stored));
        assert_eq!(free.await.unwrap(), None);
        let id = deferred.await.unwrap();
        assert_eq!(after_insert.await.unwrap(), Some(id));
        let written = written.await.unwrap();
        assert_eq!(after_statement.await.unwrap(), Some(written));
        let fenced = fenced.await.unwrap();
        assert_eq!(after_fenced.await.unwrap(), Some(fenced));
        assert!(rolled_back.await.is_err());
        assert_eq!(after_rollback.await.unwrap(), None);
    }
}
