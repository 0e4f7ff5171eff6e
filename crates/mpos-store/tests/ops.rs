//! The typed operations: idempotent provisioning, ownership checks that keep
//! one merchant away from another's devices, revocation by credentials
//! version, and the audit log.

use mpos_store::Store;
use mpos_store::ops::audit::{self, Actor};
use mpos_store::ops::{devices, merchants, terminals};
use mpos_testkit::provision::{MERCHANT, OTHER_MERCHANT, Provision, installment_terminal};

fn merchant(id: &str, email: &str) -> merchants::MerchantRow {
    merchants::MerchantRow {
        id: id.into(),
        name: "Name".into(),
        email: email.into(),
        password_hash: "hash".into(),
    }
}

fn terminal(id: &str, merchant_id: &str) -> terminals::TerminalRow {
    installment_terminal(id, merchant_id, "Рассрочка 3 мес.", 3, 500_000)
}

/// The demo's two merchants with a reader each, the first with an
/// installment terminal.
fn store() -> (tempfile::TempDir, Store) {
    Provision::two_merchants("hash")
        .device("MPOS-0001", MERCHANT, false, "h1")
        .device("MPOS-0101", OTHER_MERCHANT, false, "h2")
        .terminal(terminal("10000002", MERCHANT))
        .store()
}

#[test]
fn provisioning_twice_changes_nothing() {
    let (_dir, store) = store();
    let again = store
        .write_blocking(|conn| {
            Ok((
                merchants::insert(conn, &merchant("MTB000000000001", "demo@merchant.test"))?,
                devices::insert(conn, "MPOS-0001", "MTB000000000001", true, "other")?,
                terminals::insert(conn, &terminal("10000002", "MTB000000000001"))?,
            ))
        })
        .unwrap();
    assert_eq!(again, (false, false, false));
    let listed = store.read(|conn| devices::list(conn, None)).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(!listed[0].blocked, "the existing device was left as it was");
    let t = store
        .read(|conn| terminals::list(conn, Some("MTB000000000001")))
        .unwrap();
    assert_eq!(t, [terminal("10000002", "MTB000000000001")]);
}

#[test]
fn an_e_mail_belongs_to_one_merchant_whatever_its_case() {
    let (_dir, store) = store();
    let clash = store.write_blocking(|conn| {
        merchants::insert(conn, &merchant("MTB000000000003", "DEMO@merchant.test"))
    });
    assert!(clash.unwrap_err().is_unique_violation());
    let found = store
        .read(|conn| merchants::by_email(conn, "Demo@Merchant.Test"))
        .unwrap();
    assert_eq!(found.map(|m| m.id).as_deref(), Some("MTB000000000001"));
}

#[test]
fn a_merchant_cannot_touch_another_merchants_device() {
    let (_dir, store) = store();
    let result = store
        .write_blocking(|conn| {
            Ok((
                devices::set_blocked(
                    conn,
                    "MPOS-0101",
                    Some("MTB000000000001"),
                    true,
                    &Actor::System,
                )?,
                devices::set_app_password(
                    conn,
                    "MPOS-0101",
                    Some("MTB000000000001"),
                    "x",
                    &Actor::System,
                )?,
                devices::set_blocked(conn, "NO-SUCH", None, true, &Actor::System)?,
            ))
        })
        .unwrap();
    assert_eq!(result, (None, false, None));
    store.refresh_directory().unwrap();
    let device = store.directory().device("MPOS-0101").unwrap();
    assert!(!device.blocked);
    assert_eq!(device.app_password_hash, "h2");
}

#[test]
fn blocking_and_new_passwords_reach_the_directory() {
    let (_dir, store) = store();
    store.refresh_directory().unwrap();
    let before = store.directory().device("MPOS-0001").unwrap();
    let changed = store
        .write_blocking(|conn| {
            let blocked = devices::set_blocked(
                conn,
                "MPOS-0001",
                Some("MTB000000000001"),
                true,
                &Actor::System,
            )?;
            let again = devices::set_blocked(conn, "MPOS-0001", None, true, &Actor::System)?;
            devices::set_app_password(conn, "MPOS-0001", None, "new-hash", &Actor::System)?;
            Ok((blocked, again))
        })
        .unwrap();
    assert_eq!(
        changed,
        (Some(true), Some(false)),
        "second block changes nothing"
    );
    store.refresh_directory().unwrap();
    let after = store.directory().device("MPOS-0001").unwrap();
    assert!(after.blocked);
    assert_eq!(after.app_password_hash, "new-hash");
    assert_eq!(
        after.credentials_version,
        before.credentials_version + 1,
        "sign-ons revoked"
    );
    let t = store.directory().terminal("10000002").unwrap();
    assert_eq!(
        (t.limit_minor, t.installment_months),
        (Some(500_000), Some(3))
    );
}

#[test]
fn the_audit_log_keeps_who_did_what() {
    let (_dir, store) = store();
    store
        .write_blocking(|conn| {
            audit::record(
                conn,
                &Actor::Merchant("MTB000000000001".into()),
                Some("MTB000000000001"),
                "device.blocked",
                Some("MPOS-0001"),
                None,
            )?;
            audit::record(
                conn,
                &Actor::Operator,
                Some("MTB000000000002"),
                "device.added",
                Some("MPOS-0101"),
                None,
            )?;
            Ok(())
        })
        .unwrap();
    let mine = store
        .read(|conn| audit::recent(conn, Some("MTB000000000001"), 10))
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].actor, "merchant:MTB000000000001");
    assert_eq!(mine[0].action, "device.blocked");
    assert_eq!(
        store
            .read(|conn| audit::recent(conn, None, 10))
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_device_has_one_ticket_until_it_expires_signs_off_or_gets_a_new_password() {
    use mpos_domain::ticket::TicketHash;
    use mpos_store::ops::tickets;
    let (_dir, store) = store();
    let (first, second) = (TicketHash([1; 32]), TicketHash([2; 32]));
    let valid = |ticket: TicketHash, now: i64| {
        store
            .read(move |c| tickets::is_valid(c, "MPOS-0001", &ticket, now))
            .unwrap()
    };
    store
        .write_blocking(move |c| tickets::issue(c, "MPOS-0001", &first, 1_000, 2_000))
        .unwrap();
    assert!(valid(first, 1_999));
    assert!(!valid(first, 2_000), "expired at its expiry");
    assert!(!valid(second, 1_500), "another ticket");
    assert!(
        !store
            .read(move |c| tickets::is_valid(c, "MPOS-0101", &first, 1_500))
            .unwrap(),
        "another device's"
    );
    store
        .write_blocking(move |c| tickets::issue(c, "MPOS-0001", &second, 1_100, 2_100))
        .unwrap();
    assert!(!valid(first, 1_500), "a new ticket voids the one before");
    assert!(valid(second, 1_500));
    store
        .write_blocking(|c| tickets::void(c, "MPOS-0001"))
        .unwrap();
    assert!(!valid(second, 1_500), "void on sign-off");
    store
        .write_blocking(move |c| tickets::issue(c, "MPOS-0001", &first, 1_000, 2_000))
        .unwrap();
    store
        .write_blocking(|c| devices::set_app_password(c, "MPOS-0001", None, "h9", &Actor::System))
        .unwrap();
    assert!(!valid(first, 1_500), "void on a new app password");
}

#[test]
fn a_reader_snapshot_reads_one_state_while_the_writer_commits() {
    let (_dir, store) = store();
    let writer = store.clone();
    let (inside, outside_during) = store
        .read(|reader| {
            reader.snapshot(|snapshot| {
                let before = merchants::list(snapshot)?.len();
                writer.write_blocking(|tx| {
                    merchants::insert(tx, &merchant("MTB000000000009", "nine@merchant.test"))
                })?;
                // A reader outside the snapshot already sees the commit.
                let outside = writer.read(|other| Ok(merchants::list(other)?.len()))?;
                Ok(((before, merchants::list(snapshot)?.len()), outside))
            })
        })
        .unwrap();
    assert_eq!(
        inside.0, inside.1,
        "the snapshot keeps the state it began with"
    );
    assert_eq!(outside_during, inside.0 + 1);
    let after = store
        .read(|reader| Ok(merchants::list(reader)?.len()))
        .unwrap();
    assert_eq!(
        after,
        inside.0 + 1,
        "the commit is seen once the snapshot ends"
    );
}
