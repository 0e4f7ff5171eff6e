//! The rows the cabinet and the host keep to guard logins and sign-ons —
//! cabinet sessions, password reset tokens, login attempts, sign-on
//! failures — and the terminals the directory loads, through the store on
//! the suite's backend (PostgreSQL too, under `MPOS_TEST_PG`), where the
//! unit tests beside the operations run on SQLite only. A reset link used
//! on two hosts at once is tested with two stores on one database.

use mpos_domain::rules::LOCKOUT_MS;
use mpos_store::ops::{login_attempts, reset_tokens, sessions, sign_on_failures, terminals};
use mpos_store::{Store, StoreOptions};
use mpos_testkit::provision::{
    DEVICE, MERCHANT, MERCHANT_EMAIL, OTHER_MERCHANT, Provision, standard_terminal,
};

const HOUR: i64 = 60 * 60 * 1000;

fn store() -> (tempfile::TempDir, Store) {
    Provision::two_merchants("hash")
        .device(DEVICE, MERCHANT, false, "h")
        .store()
}

#[test]
fn a_session_is_found_by_its_hash_touched_and_ended_alone_or_with_all_but_one() {
    let (_dir, store) = store();
    store
        .write_blocking(|tx| {
            sessions::create(tx, &[1; 32], MERCHANT, "csrf-1", 100)?;
            sessions::create(tx, &[2; 32], MERCHANT, "csrf-2", 101)?;
            sessions::create(tx, &[3; 32], MERCHANT, "csrf-3", 102)?;
            sessions::create(tx, &[4; 32], OTHER_MERCHANT, "csrf-4", 103)
        })
        .unwrap();
    let found = store.read(|r| sessions::find(r, &[1; 32])).unwrap();
    assert_eq!(
        found,
        Some(sessions::SessionRow {
            merchant_id: MERCHANT.into(),
            csrf_token: "csrf-1".into(),
            created_at: 100,
            last_seen_at: 100,
        })
    );
    assert_eq!(store.read(|r| sessions::find(r, &[9; 32])).unwrap(), None);

    store
        .write_blocking(|tx| sessions::touch(tx, &[1; 32], 500))
        .unwrap();
    let touched = store.read(|r| sessions::find(r, &[1; 32])).unwrap();
    assert_eq!(
        touched.map(|s| (s.created_at, s.last_seen_at)),
        Some((100, 500))
    );

    store
        .write_blocking(|tx| sessions::delete(tx, &[2; 32]))
        .unwrap();
    assert_eq!(store.read(|r| sessions::find(r, &[2; 32])).unwrap(), None);

    let live = |store: &Store| {
        store
            .read(|r| {
                let mut live = Vec::new();
                for n in 1..=4u8 {
                    if sessions::find(r, &[n; 32])?.is_some() {
                        live.push(n);
                    }
                }
                Ok(live)
            })
            .unwrap()
    };
    let ended = store
        .write_blocking(|tx| sessions::delete_for_merchant(tx, MERCHANT, Some(&[1; 32])))
        .unwrap();
    assert_eq!(ended, 1, "session 3 ended, the kept one stays");
    assert_eq!(live(&store), [1, 4]);
    let ended = store
        .write_blocking(|tx| sessions::delete_for_merchant(tx, MERCHANT, None))
        .unwrap();
    assert_eq!(ended, 1);
    assert_eq!(live(&store), [4], "another merchant's session stays");
}

#[test]
fn a_reset_token_works_once_before_it_expires_and_only_the_newest_works() {
    let (_dir, store) = store();
    let now = 1_000_000;
    store
        .write_blocking(move |tx| {
            reset_tokens::create(tx, &[1; 32], MERCHANT, now, now + HOUR)?;
            reset_tokens::create(tx, &[2; 32], OTHER_MERCHANT, now, now + HOUR)?;
            reset_tokens::create(tx, &[3; 32], MERCHANT, now + 10, now + 10 + HOUR)
        })
        .unwrap();
    let valid = |token: u8, at: i64| {
        store
            .read(move |r| reset_tokens::find_valid(r, &[token; 32], at))
            .unwrap()
    };
    assert_eq!(valid(1, now + 20), None, "voided by the newer one");
    assert_eq!(valid(3, now + 20).as_deref(), Some(MERCHANT));
    assert_eq!(valid(3, now + 10 + HOUR), None, "expired");
    assert_eq!(valid(2, now + 20).as_deref(), Some(OTHER_MERCHANT));

    let take = |token: u8, at: i64| {
        store
            .write_blocking(move |tx| reset_tokens::take(tx, &[token; 32], at))
            .unwrap()
    };
    assert_eq!(take(3, now + 10 + HOUR), None, "expired");
    assert_eq!(take(9, now + 20), None, "unknown");
    assert_eq!(take(3, now + 20).as_deref(), Some(MERCHANT));
    assert_eq!(take(3, now + 21), None, "used");
    assert_eq!(valid(3, now + 21), None, "used");

    let voided = store
        .write_blocking(|tx| reset_tokens::void_for_merchant(tx, OTHER_MERCHANT))
        .unwrap();
    assert_eq!(voided, 1);
    assert_eq!(valid(2, now + 20), None, "voided");

    let born_expired =
        store.write_blocking(move |tx| reset_tokens::create(tx, &[4; 32], MERCHANT, now, now));
    assert!(born_expired.is_err());
    let nobodys = store
        .write_blocking(move |tx| reset_tokens::create(tx, &[5; 32], "nobody", now, now + HOUR));
    assert!(nobodys.is_err(), "the merchant must exist");
}

#[test]
fn two_hosts_racing_with_one_reset_token_let_exactly_one_through() {
    let (dir, first) = store();
    let second = Store::open_at(
        &mpos_testkit::backend::location(dir.path()),
        &StoreOptions::default(),
    )
    .unwrap();
    let now = 1_000;
    first
        .write_blocking(move |tx| reset_tokens::create(tx, &[7; 32], MERCHANT, now, now + HOUR))
        .unwrap();
    let racers: Vec<_> = (0..8)
        .map(|n| {
            let host = if n % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            std::thread::spawn(move || {
                host.write_blocking(move |tx| reset_tokens::take(tx, &[7; 32], now + 1))
                    .unwrap()
            })
        })
        .collect();
    let winners = racers
        .into_iter()
        .filter_map(|racer| racer.join().unwrap())
        .count();
    assert_eq!(winners, 1);
}

#[test]
fn two_hosts_asking_for_links_at_once_leave_only_the_newest_working() {
    use std::sync::mpsc;
    use std::time::Duration;
    let (dir, first) = store();
    let second = Store::open_at(
        &mpos_testkit::backend::location(dir.path()),
        &StoreOptions::default(),
    )
    .unwrap();
    let now = 1_000;
    // The first host's job makes its link and holds its batch open while
    // the second host makes another for the same merchant.
    let (created, made) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let holder = first.clone();
    let held = std::thread::spawn(move || {
        holder.write_blocking(move |tx| {
            reset_tokens::create(tx, &[1; 32], MERCHANT, now, now + HOUR)?;
            created.send(()).unwrap();
            let _ = released.recv_timeout(Duration::from_secs(10));
            Ok(())
        })
    });
    made.recv_timeout(Duration::from_secs(10)).unwrap();
    let racing = second.clone();
    let racer = std::thread::spawn(move || {
        racing.write_blocking(move |tx| {
            reset_tokens::create(tx, &[2; 32], MERCHANT, now + 1, now + 1 + HOUR)
        })
    });
    // Time for the second job to reach the first's uncommitted link; it must
    // wait for it rather than miss it, however long this takes.
    std::thread::sleep(Duration::from_millis(300));
    release.send(()).unwrap();
    held.join().unwrap().unwrap();
    racer.join().unwrap().unwrap();
    let valid = |token: u8| {
        first
            .read(move |r| reset_tokens::find_valid(r, &[token; 32], now + 2))
            .unwrap()
    };
    assert_eq!(valid(1), None, "the older link is void");
    assert_eq!(valid(2).as_deref(), Some(MERCHANT));
}

#[test]
fn login_failures_count_per_e_mail_whatever_its_case_until_forgotten() {
    let (_dir, store) = store();
    let other = "second@merchant.test";
    store
        .write_blocking(move |tx| {
            login_attempts::record(tx, MERCHANT_EMAIL, 10, false)?;
            login_attempts::record(tx, &MERCHANT_EMAIL.to_uppercase(), 20, false)?;
            login_attempts::record(tx, MERCHANT_EMAIL, 30, true)?;
            login_attempts::record(tx, other, 40, false)
        })
        .unwrap();
    let failures = |email: &'static str, since: i64| {
        store
            .read(move |r| login_attempts::failures_since(r, email, since))
            .unwrap()
    };
    assert_eq!(failures("Demo@Merchant.Test", 0), (2, Some(20)));
    assert_eq!(failures(MERCHANT_EMAIL, 15), (1, Some(20)));
    assert_eq!(
        failures(MERCHANT_EMAIL, 25),
        (0, None),
        "a success is no failure"
    );
    assert_eq!(failures("nobody@merchant.test", 0), (0, None));

    let forgotten = store
        .write_blocking(|tx| login_attempts::forget_failures(tx, "DEMO@merchant.test"))
        .unwrap();
    assert_eq!(forgotten, 2);
    assert_eq!(failures(MERCHANT_EMAIL, 0), (0, None));
    assert_eq!(failures(other, 0), (1, Some(40)), "another e-mail's stay");
}

#[test]
fn the_sign_on_lockout_window_ends_at_the_latest_failure_and_forgetting_clears_it() {
    let (_dir, store) = store();
    let latest = |serial: &'static str| {
        store
            .read(move |r| sign_on_failures::latest(r, serial))
            .unwrap()
    };
    assert_eq!(latest(DEVICE), (0, None));
    let minute = 60_000;
    store
        .write_blocking(move |tx| {
            for at in [0, 20, 21, 22, 23, 24] {
                sign_on_failures::record(tx, DEVICE, at * minute)?;
            }
            // Unknown serials count alike: nothing refers to devices.
            sign_on_failures::record(tx, "NO-SUCH-READER", 24 * minute)
        })
        .unwrap();
    assert_eq!(
        latest(DEVICE),
        (5, Some(24 * minute)),
        "minute 0 is more than {LOCKOUT_MS} ms before the latest: outside the window"
    );
    assert_eq!(latest("NO-SUCH-READER"), (1, Some(24 * minute)));
    store
        .write_blocking(|tx| sign_on_failures::forget(tx, DEVICE))
        .unwrap();
    assert_eq!(latest(DEVICE), (0, None));
    assert_eq!(latest("NO-SUCH-READER"), (1, Some(24 * minute)));
}

#[test]
fn a_terminal_reads_back_as_it_was_written() {
    let (_dir, store) = store();
    let inactive = terminals::TerminalRow {
        active: false,
        currency: 840,
        limit_minor: Some(1),
        ..standard_terminal("10000009", OTHER_MERCHANT, "Бонус")
    };
    let bonus = terminals::TerminalRow {
        kind: "bonus".into(),
        ..standard_terminal("10000008", MERCHANT, "Бонусы")
    };
    let written = [inactive.clone(), bonus.clone()];
    let added = store
        .write_blocking(move |tx| {
            written
                .iter()
                .map(|t| terminals::insert(tx, t))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    assert_eq!(added, [true, true]);
    assert_eq!(
        store.read(|r| terminals::list(r, None)).unwrap(),
        [bonus.clone(), inactive.clone()]
    );
    assert_eq!(
        store
            .read(|r| terminals::list(r, Some(OTHER_MERCHANT)))
            .unwrap(),
        [inactive]
    );
    let too_large = terminals::TerminalRow {
        limit_minor: Some(u64::MAX),
        ..standard_terminal("10000007", MERCHANT, "Много")
    };
    let refused = store.write_blocking(move |tx| terminals::insert(tx, &too_large));
    assert!(refused.is_err(), "a limit past i64 is refused, not wrapped");
}
