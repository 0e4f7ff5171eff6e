//! The start's recovery of what a previous run left waiting on the card
//! processor (upstream-interface.md, section 3), on the backend the suite
//! runs on. Alone, a host gives up every pending row: each was a previous
//! run's. While another host serves from the same PostgreSQL database it
//! gives up only rows older than the link's timeout and a grace: a younger
//! one may be that host's, still waiting on the processor.

use mpos_acquirer::upstream;
use mpos_store::{Store, StoreOptions};
use mpos_testkit::provision::Provision;
use mpos_testkit::{backend, sql};
use std::path::Path;
use std::time::{Duration, Instant};

/// A pending 0200 received `age` ago, STAN `stan`.
fn pending(store: &Store, stan: &'static str, age: Duration) {
    let received = mpos_store::ops::now_millis() - i64::try_from(age.as_millis()).unwrap();
    store
        .write_blocking(move |tx| {
            let blob: &[u8] = &[0];
            tx.sql_for_tests().execute(
                "INSERT INTO transactions (mti, kind, device_serial, merchant_id, vt_id, stan,
                     transmission_time, processing_code, amount_minor, currency, response_code,
                     business_day, received_at, fingerprint, response, upstream_pending)
                 VALUES ('0200', 'purchase', 'MPOS-0001', 'MTB000000000001', '10000001', ?1,
                     '1202010000', '000000', 500, 933, '91', '2026-12-02', ?2, ?3, ?3, 1)",
                &[&stan, &received, &blob],
            )
        })
        .expect("a pending row");
}

/// Another host's store on the same data folder's database.
fn another_host(dir: &Path) -> Store {
    Store::open_at(&backend::location(dir), &StoreOptions::default()).expect("store opens")
}

fn still_pending(store: &Store) -> i64 {
    sql::count(
        store,
        "SELECT count(*) FROM transactions WHERE upstream_pending = 1",
        &[],
    )
}

#[test]
fn the_start_leaves_a_live_hosts_requests_to_it_and_gives_up_the_rest() {
    let (dir, first) = Provision::one_merchant().store();
    let timeout = Duration::from_secs(5);
    pending(
        &first,
        "000001",
        upstream::give_up_after(timeout) + Duration::from_secs(60),
    );
    pending(&first, "000002", Duration::from_millis(100));

    // A second host starts while the first serves.
    let second = another_host(dir.path());
    assert_eq!(
        second.other_hosts_serving().unwrap(),
        backend::is_postgres()
    );
    let recovered = upstream::recover(&second, timeout).unwrap();
    if backend::is_postgres() {
        assert_eq!(
            (recovered, still_pending(&second)),
            (1, 1),
            "the young row may be the live host's: left to it"
        );
    } else {
        assert_eq!(
            (recovered, still_pending(&second)),
            (2, 0),
            "SQLite is one host's own: every pending row was a previous run's"
        );
        return;
    }

    // Both stop; a host that starts alone gives up what is left.
    drop(first);
    drop(second);
    let third = another_host(dir.path());
    let gone = Instant::now();
    while third.other_hosts_serving().unwrap() {
        assert!(
            gone.elapsed() < Duration::from_secs(10),
            "the stopped hosts' sessions end"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(upstream::recover(&third, timeout).unwrap(), 1);
    assert_eq!(still_pending(&third), 0);
    assert_eq!(
        sql::in_table(&third, "reversal_advices"),
        2,
        "an advice each"
    );
}
