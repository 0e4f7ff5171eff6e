//! The rules running inside the writer: a decision and its insert are one
//! atomic step, so racing refunds of one purchase never spend more than it,
//! and a retransmission is replayed rather than stored twice.

use jiff::civil::date;
use mpos_domain::card::{Expiry, PanKey};
use mpos_domain::ids::{
    DeviceSerial, MerchantId, Rrn, Stan, TerminalId, TransactionKind, TransmissionTime,
};
use mpos_domain::money::{Amount, Currency};
use mpos_domain::rules::{
    CardInput, FinancialDecision, FinancialRequest, Fingerprint, Session, SimulatorIssuer,
    decide_financial,
};
use mpos_store::ledger::SqlLedger;
use mpos_store::ops::transactions::{self, Kind, NewTransaction};
use mpos_store::{Store, StoreError};
use mpos_testkit::provision::Provision;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const CARD: &str = "4276550012341239";

/// The demo merchant with one reader and one standard terminal.
fn store() -> (tempfile::TempDir, Store) {
    Provision::one_merchant().store()
}

fn request(
    kind: TransactionKind,
    stan: u32,
    amount: u64,
    rrn: Option<&str>,
    fingerprint: u8,
) -> FinancialRequest {
    FinancialRequest {
        kind,
        amount: Amount::from_minor(amount),
        currency: Currency::BYN,
        stan: Stan::new(&format!("{stan:06}")).unwrap(),
        transmission_time: TransmissionTime::new("1125093000").unwrap(),
        terminal_id: TerminalId::new("10000001").unwrap(),
        merchant_id: MerchantId::new("MTB000000000001").unwrap(),
        card: CardInput {
            pan_digits: CARD.into(),
            expiry: Expiry::from_yymm("2812").unwrap(),
        },
        original_rrn: rrn.map(|r| Rrn::new(r).unwrap()),
        fingerprint: Fingerprint([fingerprint; 32]),
        received: Default::default(),
    }
}

/// What the host will do per 0200: decide and store in one write. Returns
/// the response code and the RRN of an approval.
async fn process(
    store: &Store,
    key: &Arc<PanKey>,
    rrns: &Arc<AtomicU64>,
    request: FinancialRequest,
) -> (String, Option<String>) {
    let snapshot = store.directory().snapshot();
    let (key, rrns) = (Arc::clone(key), Arc::clone(rrns));
    store
        .write(move |conn| {
            let ledger = SqlLedger::new(conn, snapshot);
            let session = Session {
                device: DeviceSerial::new("MPOS-0001").unwrap(),
                credentials_version: 1,
            };
            let decision = decide_financial(
                &request,
                Some(&session),
                &ledger,
                &SimulatorIssuer,
                &key,
                date(2026, 11, 25),
            )?;
            let (code, original_id, card, rrn) = match decision {
                FinancialDecision::Replay => return Ok(("replay".to_owned(), None)),
                FinancialDecision::Decline {
                    store: false, code, ..
                } => return Ok((code.as_str().to_owned(), None)),
                FinancialDecision::Decline {
                    code,
                    original_id,
                    card,
                    ..
                } => (code.as_str().to_owned(), original_id, card, None),
                FinancialDecision::Approve { original_id, card } => {
                    let rrn = format!("{:012}", rrns.fetch_add(1, Ordering::SeqCst));
                    ("00".to_owned(), original_id, Some(card), Some(rrn))
                }
            };
            transactions::insert(
                conn,
                &NewTransaction {
                    kind: if request.kind == TransactionKind::Refund {
                        Kind::Refund
                    } else {
                        Kind::Purchase
                    },
                    device_serial: "MPOS-0001".into(),
                    merchant_id: "MTB000000000001".into(),
                    vt_id: request.terminal_id.to_string(),
                    stan: request.stan.to_string(),
                    transmission_time: request.transmission_time.to_string(),
                    local_time: None,
                    local_date: None,
                    pos_entry_mode: None,
                    processing_code: "000000".into(),
                    amount_minor: request.amount.minor(),
                    currency: 933,
                    masked_pan: card.as_ref().map(|c| c.masked.to_string()),
                    pan_hash: card.as_ref().map(|c| c.hash.0),
                    rrn: rrn.clone(),
                    auth_code: rrn.as_ref().map(|_| "A1B2C3".to_owned()),
                    response_code: code.clone(),
                    business_day: "2026-11-25".into(),
                    received_at: 0,
                    original_id,
                    original_rrn: request.original_rrn.as_ref().map(|r| r.to_string()),
                    original_data: None,
                    fingerprint: request.fingerprint.0,
                    response: code.as_bytes().to_vec(),
                },
            )?;
            Ok::<_, StoreError>((code, rrn))
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_refunds_never_spend_more_than_the_purchase() {
    let (_dir, store) = store();
    let key = Arc::new(PanKey::new(b"k"));
    let rrns = Arc::new(AtomicU64::new(1));
    let (code, rrn) = process(
        &store,
        &key,
        &rrns,
        request(TransactionKind::Purchase, 1, 10_000, None, 1),
    )
    .await;
    assert_eq!(code, "00");
    let rrn = rrn.unwrap();

    // Ten refunds of 30.00 race for a 100.00 purchase: three fit.
    let racers: Vec<_> = (0..10u32)
        .map(|i| {
            let (store, key, rrns, rrn) = (
                store.clone(),
                Arc::clone(&key),
                Arc::clone(&rrns),
                rrn.clone(),
            );
            tokio::spawn(async move {
                process(
                    &store,
                    &key,
                    &rrns,
                    request(TransactionKind::Refund, 100 + i, 3_000, Some(&rrn), 2),
                )
                .await
                .0
            })
        })
        .collect();
    let mut codes = Vec::new();
    for racer in racers {
        codes.push(racer.await.unwrap());
    }
    codes.sort();
    assert_eq!(codes.iter().filter(|c| *c == "00").count(), 3, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| *c == "13").count(), 7, "{codes:?}");
    let target = store
        .read(|c| transactions::find_refund_target(c, &rrn))
        .unwrap()
        .unwrap();
    assert_eq!(target.refunded_minor, 9_000);
}

#[tokio::test]
async fn a_retransmission_is_replayed_not_stored_twice() {
    let (_dir, store) = store();
    let key = Arc::new(PanKey::new(b"k"));
    let rrns = Arc::new(AtomicU64::new(1));
    let first = process(
        &store,
        &key,
        &rrns,
        request(TransactionKind::Purchase, 7, 1_000, None, 5),
    )
    .await;
    assert_eq!(first.0, "00");
    let again = process(
        &store,
        &key,
        &rrns,
        request(TransactionKind::Purchase, 7, 1_000, None, 5),
    )
    .await;
    assert_eq!(again.0, "replay");
    let clash = process(
        &store,
        &key,
        &rrns,
        request(TransactionKind::Purchase, 7, 2_000, None, 6),
    )
    .await;
    assert_eq!(clash.0, "94");
    let declined = process(
        &store,
        &key,
        &rrns,
        request(TransactionKind::Purchase, 8, 1_051, None, 7),
    )
    .await;
    assert_eq!(declined.0, "51", "declines are stored too");
    let rows: i64 = store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM transactions", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(
        rows, 2,
        "one purchase and one stored decline; replay and 94 change nothing"
    );
    let masked: String = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT masked_pan FROM transactions WHERE stan = '000007'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(masked, "427655******1239", "only the masked PAN is stored");
}
