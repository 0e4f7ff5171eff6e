//! A seeded history is what the host stores: its answers, links and card
//! facts are the host's, and a seeded request sent again to the host is a
//! retransmission of a request the host answered.

use super::*;
use crate::config::{Config, FlagOverrides};
use crate::fixtures;
use bytes::BytesMut;
use jiff::Timestamp;
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::SimulatorIssuer;
use mpos_iso8583::MessageBuilder;
use std::collections::{HashMap, HashSet};
use std::path::Path;

const MERCHANT: &str = "MTB000000000001";

/// The application over a fresh data folder with the demo fixture.
fn demo(dir: &Path) -> App {
    let config = Config::load(
        None,
        &FlagOverrides {
            data_dir: Some(dir.to_owned()),
            ..FlagOverrides::default()
        },
    )
    .unwrap();
    let app = App::build(config).unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo.toml");
    fixtures::load(&app.store, &demo, Actor::Operator).unwrap();
    app
}

/// A stored row, as these tests look at it.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    mti: String,
    kind: String,
    device: String,
    stan: String,
    transmission_time: String,
    amount: i64,
    rrn: Option<String>,
    auth_code: Option<String>,
    code: String,
    masked_pan: Option<String>,
    pan_hash: Option<Vec<u8>>,
    original_id: Option<i64>,
    original_rrn: Option<String>,
    reversed: bool,
    response: Vec<u8>,
}

fn rows(store: &Store) -> Vec<Row> {
    store
        .read(|c| {
            c.sql_for_tests().query(
                "SELECT id, mti, kind, device_serial, stan, transmission_time, amount_minor,
                        rrn, auth_code, response_code, masked_pan, pan_hash, original_id,
                        original_rrn, reversed = 1, response
                 FROM transactions ORDER BY id",
                &[],
                |r| {
                    Ok(Row {
                        id: r.get(0)?,
                        mti: r.get(1)?,
                        kind: r.get(2)?,
                        device: r.get(3)?,
                        stan: r.get(4)?,
                        transmission_time: r.get(5)?,
                        amount: r.get(6)?,
                        rrn: r.get(7)?,
                        auth_code: r.get(8)?,
                        code: r.get(9)?,
                        masked_pan: r.get(10)?,
                        pan_hash: r.get(11)?,
                        original_id: r.get(12)?,
                        original_rrn: r.get(13)?,
                        reversed: r.get(14)?,
                        response: r.get(15)?,
                    })
                },
            )
        })
        .unwrap()
}

fn generator(app: &App, shape: Shape, now: Timestamp) -> Generator {
    Generator::new(shape, &app.clock, app.clock.zone(), now).unwrap()
}

/// The frame a device sends for `request`.
fn frame(app: &App, request: &Request) -> bytes::Bytes {
    let mti = mpos_iso8583::Mti::new(request.mti.as_str()).unwrap();
    let mut out = BytesMut::new();
    app.layout
        .encode(
            &MessageBuilder::from_fields(mti, request.fields()),
            &mut out,
        )
        .unwrap();
    out.freeze()
}

#[test]
fn a_seeded_history_is_what_the_host_stores() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo(dir.path());
    // Blocked today, but it took payments before: its history is seeded.
    app.store
        .write_blocking(|c| {
            devices::set_blocked(c, "MPOS-0002", None, true, &Actor::Operator).map(|_| ())
        })
        .unwrap();
    let shape = shape_of(&app.store, MERCHANT, 2_000, 30, 5).unwrap();
    let reader = shape.devices[0].clone();
    let now = Timestamp::now();
    let summary = seed(
        &app,
        generator(&app, shape.clone(), now),
        Actor::System,
        |_| {},
    )
    .unwrap();
    assert_eq!(summary.transactions, 2_000);
    assert!(summary.reversed > 0 && summary.refunds > 0 && summary.declined > 0);

    let rows = rows(&app.store);
    assert_eq!(rows.iter().filter(|r| r.mti == "0200").count(), 2_000);
    assert_eq!(
        rows.iter().filter(|r| r.mti == "0400").count() as u64,
        summary.reversed
    );
    assert!(
        rows.iter().any(|r| r.device == "MPOS-0002"),
        "the blocked reader's history is there"
    );
    let by_id: HashMap<i64, &Row> = rows.iter().map(|r| (r.id, r)).collect();
    let mut codes = HashSet::new();
    let mut rrns = HashSet::new();
    let mut refunded: HashMap<i64, i64> = HashMap::new();
    for row in &rows {
        codes.insert(row.code.as_str());
        // The stored answer is the one sent: it decodes, and what it says
        // is what the row says.
        let answer = app.layout.decode(&row.response).unwrap();
        let answered = if row.mti == "0200" { "0210" } else { "0410" };
        assert_eq!(answer.mti().as_str(), answered);
        assert_eq!(answer.str(39), Some(row.code.as_str()));
        assert_eq!(answer.str(37), row.rrn.as_deref());
        assert_eq!(answer.str(38), row.auth_code.as_deref());
        assert_eq!(answer.str(11), Some(row.stan.as_str()));
        assert_eq!(answer.str(7), Some(row.transmission_time.as_str()));
        assert_eq!(answer.str(4), Some(format!("{:012}", row.amount).as_str()));
        assert!(!answer.has(2), "the card number is never echoed");
        if let Some(masked) = &row.masked_pan {
            assert_eq!(masked.len(), 16);
            assert_eq!(&masked[6..12], "******", "{masked}");
        }
        if row.code == "14" {
            assert!(row.masked_pan.is_none() && row.pan_hash.is_none());
        }
        if row.mti == "0200" && row.code == "00" {
            let rrn = row.rrn.clone().unwrap();
            assert_eq!(rrn.len(), 12);
            assert!(rrns.insert(rrn), "RRNs are unique");
            assert_eq!(row.auth_code.as_ref().map(String::len), Some(6));
        } else {
            assert!(row.rrn.is_none() && row.auth_code.is_none());
        }
        if row.kind == "refund" {
            let purchase = by_id[&row.original_id.unwrap()];
            assert_eq!(purchase.kind, "purchase");
            assert_eq!(purchase.code, "00");
            assert!(!purchase.reversed);
            assert!(purchase.pan_hash.is_some());
            assert_eq!(purchase.pan_hash, row.pan_hash, "the same card");
            assert_eq!(row.original_rrn, purchase.rrn, "named by its RRN");
            let total = refunded.entry(purchase.id).or_default();
            *total += row.amount;
            assert!(*total <= purchase.amount, "never beyond the purchase");
        }
        if row.reversed {
            assert!(
                rows.iter().any(|r| r.mti == "0400"
                    && r.original_id == Some(row.id)
                    && r.code == "00"
                    && r.amount == row.amount),
                "reversed row {} has its 0400",
                row.id
            );
        }
        if row.mti == "0400" {
            assert!(by_id[&row.original_id.unwrap()].reversed);
        }
    }
    for code in ["00", "51", "05", "54", "14", "13"] {
        assert!(codes.contains(code), "{code} among {codes:?}");
    }

    // No full card number reached the database.
    let events: Vec<Event> = generator(&app, shape, now).collect();
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
    }
    let stored = String::from_utf8_lossy(&stored);
    for event in events.iter().step_by(50) {
        let pan = event.request.field(2).unwrap();
        assert!(
            !stored.contains(pan),
            "a full card number in the data folder"
        );
    }

    // The first approved purchase sent again by its reader: the host
    // replays the stored answer, byte for byte, and stores nothing.
    let event = events
        .iter()
        .find(|e| e.approved() && e.refund_of.is_none() && e.device == 0)
        .unwrap();
    let row = rows
        .iter()
        .find(|r| {
            r.mti == "0200"
                && r.device == reader
                && Some(r.stan.as_str()) == event.request.field(11)
                && Some(r.transmission_time.as_str()) == event.request.field(7)
        })
        .unwrap();
    let state = Arc::new(app.host_state(Arc::new(SimulatorIssuer)));
    let device = app.store.directory().device(&reader).unwrap();
    let mut session = Some(Session {
        device: DeviceSerial::new(&reader).unwrap(),
        credentials_version: device.credentials_version,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let answer = runtime
        .block_on(mpos_acquirer::process(
            &state,
            &mut session,
            frame(&app, &event.request),
        ))
        .unwrap();
    assert_eq!(answer.as_ref(), row.response.as_slice());
    // Anything else under the same key is a 94.
    let mut other = event.request.clone();
    other.set(4, format!("{:012}", other.amount_minor() + 1));
    let answer = runtime
        .block_on(mpos_acquirer::process(
            &state,
            &mut session,
            frame(&app, &other),
        ))
        .unwrap();
    assert_eq!(
        app.layout.decode(&answer).unwrap().str(39),
        Some(ResponseCode::Duplicate.as_str())
    );
    drop(state);
    assert_eq!(self::rows(&app.store).len(), rows.len(), "nothing new");
}

#[test]
fn a_request_the_rules_answer_otherwise_stops_the_seeding() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo(dir.path());
    let mut shape = shape_of(&app.store, MERCHANT, 100, 5, 1).unwrap();
    // The generator pays in dollars on a terminal that takes roubles: the
    // rules answer 13 where it meant 00.
    for terminal in &mut shape.terminals {
        terminal.currency = 840;
    }
    let error = seed(
        &app,
        generator(&app, shape, Timestamp::now()),
        Actor::System,
        |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            &error,
            SeedError::Stopped {
                stored: 0,
                stop: Stop::Disagree {
                    decided: ResponseCode::InvalidAmount,
                    ..
                }
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("disagree"), "{error}");
    assert!(
        rows(&app.store).is_empty(),
        "the failed batch is rolled back"
    );
}
