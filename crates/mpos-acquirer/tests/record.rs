//! The host's decide-and-store step inside the store's writer: a decision
//! and its insert are one atomic step, so racing refunds of one purchase
//! never spend more than it, and a retransmission is replayed rather than
//! stored twice.

use jiff::civil::date;
use mpos_acquirer::record::{self, Recorded};
use mpos_cli::app::App;
use mpos_domain::card::Expiry;
use mpos_domain::ids::{
    DeviceSerial, MerchantId, Rrn, Stan, TerminalId, TransactionKind, TransmissionTime,
};
use mpos_domain::money::{Amount, Currency};
use mpos_domain::rules::{
    AsReceived, CardInput, FinancialRequest, Fingerprint, RequestHeader, Session, SimulatorIssuer,
};
use mpos_store::ops::transactions;
use mpos_testkit::messages::CARD;
use mpos_testkit::provision::Provision;
use std::sync::Arc;

/// The demo merchant with one reader and one standard terminal.
fn app() -> (tempfile::TempDir, Arc<App>) {
    let (dir, app) = Provision::one_merchant().app();
    (dir, Arc::new(app))
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
        header: RequestHeader {
            amount: Amount::from_minor(amount),
            currency: Currency::BYN,
            stan: Stan::new(&format!("{stan:06}")).unwrap(),
            transmission_time: TransmissionTime::new("1125093000").unwrap(),
            terminal_id: TerminalId::new("10000001").unwrap(),
            merchant_id: MerchantId::new("MTB000000000001").unwrap(),
            fingerprint: Fingerprint([fingerprint; 32]),
            received: AsReceived {
                processing_code: match kind {
                    TransactionKind::Purchase => "000000",
                    TransactionKind::Refund => "200000",
                }
                .into(),
                ..AsReceived::default()
            },
        },
        card: CardInput {
            pan_digits: CARD.into(),
            expiry: Expiry::from_yymm("2812").unwrap(),
        },
        original_rrn: rrn.map(|r| Rrn::new(r).unwrap()),
    }
}

/// One 0200 of MPOS-0001 through `record::financial`, in its own job of
/// the store's writer, as the host runs it.
async fn process(app: &Arc<App>, request: FinancialRequest) -> Recorded {
    let job = Arc::clone(app);
    let directory = app.store.directory().snapshot();
    app.store
        .write(move |conn| {
            let session = Session {
                device: DeviceSerial::new("MPOS-0001").unwrap(),
                credentials_version: 1,
            };
            let ctx = record::Context {
                layout: &job.layout,
                pan_key: &job.pan_key,
                issuer: &SimulatorIssuer,
                link: None,
                directory: &directory,
                session: Some(&session),
                received_at: jiff::Timestamp::now(),
                business_day: date(2026, 11, 25),
                today: date(2026, 11, 25),
            };
            record::financial(conn, &ctx, &request)
        })
        .await
        .expect("the write commits")
}

fn rows(app: &App) -> i64 {
    mpos_testkit::sql::in_table(&app.store, "transactions")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_refunds_never_spend_more_than_the_purchase() {
    let (_dir, app) = app();
    let purchase = process(&app, request(TransactionKind::Purchase, 1, 10_000, None, 1)).await;
    assert_eq!(purchase.code.as_str(), "00");
    let rrn = purchase.rrn.expect("an approval has an RRN");

    // Ten refunds of 30.00 race for a 100.00 purchase: three fit.
    let racers: Vec<_> = (0..10u32)
        .map(|i| {
            let (app, rrn) = (Arc::clone(&app), rrn.clone());
            tokio::spawn(async move {
                let refund = request(TransactionKind::Refund, 100 + i, 3_000, Some(&rrn), 2);
                process(&app, refund).await.code.as_str().to_owned()
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
    let target = app
        .store
        .read(move |c| transactions::find_refund_target(c, &rrn))
        .unwrap()
        .unwrap();
    assert_eq!(target.refunded_minor, 9_000);
}

#[tokio::test]
async fn a_retransmission_is_replayed_not_stored_twice() {
    let (_dir, app) = app();
    let first = process(&app, request(TransactionKind::Purchase, 7, 1_000, None, 5)).await;
    assert_eq!(first.code.as_str(), "00");
    let again = process(&app, request(TransactionKind::Purchase, 7, 1_000, None, 5)).await;
    assert_eq!(
        (again.code, &again.answer),
        (first.code, &first.answer),
        "the replay is the first answer, RRN and authorization code included"
    );
    assert_eq!(rows(&app), 1, "a replay stores nothing");
    let clash = process(&app, request(TransactionKind::Purchase, 7, 2_000, None, 6)).await;
    assert_eq!(clash.code.as_str(), "94");
    let declined = process(&app, request(TransactionKind::Purchase, 8, 1_051, None, 7)).await;
    assert_eq!(declined.code.as_str(), "51", "declines are stored too");
    assert_eq!(
        rows(&app),
        2,
        "one purchase and one stored decline; replay and 94 change nothing"
    );
    let masked: String = app
        .store
        .read(|c| {
            c.sql_for_tests().query_one(
                "SELECT masked_pan FROM transactions WHERE stan = '000007'",
                &[],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert_eq!(masked, "427655******1239", "only the masked PAN is stored");
}
