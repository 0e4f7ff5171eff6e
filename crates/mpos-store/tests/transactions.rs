//! The lookups the host's rules stand on: duplicate keys, what is left to
//! refund (approved, unreversed refunds only), and reversal originals.

use mpos_store::ops::transactions::{self, Kind, NewTransaction};
use mpos_store::ops::{devices, merchants, terminals};
use mpos_store::{Store, StoreOptions};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("mpos.db"), &StoreOptions::default()).unwrap();
    store
        .write_blocking(|conn| {
            merchants::insert(
                conn,
                &merchants::MerchantRow {
                    id: "MTB000000000001".into(),
                    name: "N".into(),
                    email: "a@b.by".into(),
                    password_hash: "h".into(),
                },
            )?;
            devices::insert(conn, "MPOS-0001", "MTB000000000001", false, "h")?;
            terminals::insert(
                conn,
                &terminals::TerminalRow {
                    id: "10000001".into(),
                    merchant_id: "MTB000000000001".into(),
                    name: "Оплата".into(),
                    kind: "standard".into(),
                    installment_months: None,
                    currency: 933,
                    limit_minor: None,
                    active: true,
                },
            )?;
            Ok(())
        })
        .unwrap();
    (dir, store)
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
        mti: if kind == Kind::Reversal {
            "0400"
        } else {
            "0200"
        }
        .into(),
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
    let id = store
        .write_blocking(|c| {
            transactions::insert(
                c,
                &tx(
                    Kind::Purchase,
                    "000001",
                    1000,
                    "00",
                    Some("000000000001"),
                    None,
                ),
            )
        })
        .unwrap();
    let prior = store
        .read(|c| transactions::find_by_key(c, "MPOS-0001", "0200", "000001", "1125093000"))
        .unwrap()
        .unwrap();
    assert_eq!((prior.id, prior.response.as_slice()), (id, &b"0210..."[..]));
    assert!(
        store
            .read(|c| transactions::find_by_key(c, "MPOS-0001", "0400", "000001", "1125093000"))
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
    let purchase = store
        .write_blocking(|c| {
            transactions::insert(
                c,
                &tx(
                    Kind::Purchase,
                    "000001",
                    10_000,
                    "00",
                    Some("000000000001"),
                    None,
                ),
            )
        })
        .unwrap();
    store
        .write_blocking(move |c| {
            transactions::insert(
                c,
                &tx(
                    Kind::Refund,
                    "000002",
                    3_000,
                    "00",
                    Some("000000000002"),
                    Some(purchase),
                ),
            )?;
            transactions::insert(
                c,
                &tx(Kind::Refund, "000003", 2_000, "13", None, Some(purchase)),
            )?;
            let reversed = transactions::insert(
                c,
                &tx(
                    Kind::Refund,
                    "000004",
                    1_000,
                    "00",
                    Some("000000000004"),
                    Some(purchase),
                ),
            )?;
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
    let purchase = store
        .write_blocking(|c| {
            transactions::insert(
                c,
                &tx(
                    Kind::Purchase,
                    "000001",
                    10_000,
                    "00",
                    Some("000000000001"),
                    None,
                ),
            )
        })
        .unwrap();
    let target = store
        .read(|c| transactions::find_reversal_target(c, "MPOS-0001", "000001", "1125093000"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (target.id, target.kind, target.reversed, target.has_refunds),
        (purchase, Kind::Purchase, false, false)
    );
    store
        .write_blocking(move |c| {
            transactions::insert(
                c,
                &tx(
                    Kind::Refund,
                    "000002",
                    500,
                    "00",
                    Some("000000000002"),
                    Some(purchase),
                ),
            )
        })
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
    assert_eq!(store.read(transactions::max_id).unwrap(), 2);
}
