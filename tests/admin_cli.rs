//! `mpos admin` as an operator uses it: the real binary on a fresh data
//! folder, output read back, the database checked afterwards.

use mpos_domain::password::PasswordHash;
use mpos_store::Store;
use mpos_store::ops::audit;
use mpos_testkit::server::Mpos;
use mpos_testkit::sql;
use std::path::Path;
use std::process::Output;

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

fn admin(data_dir: &Path, args: &[&str]) -> Output {
    MPOS.admin(data_dir, args)
}

/// `mpos admin device add --serial SERIAL --merchant MERCHANT --password PASSWORD`.
fn add_device(data_dir: &Path, serial: &str, merchant: &str, password: &str) -> Output {
    admin(
        data_dir,
        &[
            "device",
            "add",
            "--serial",
            serial,
            "--merchant",
            merchant,
            "--password",
            password,
        ],
    )
}

/// `mpos admin device set-password SERIAL --password PASSWORD`.
fn set_app_password(data_dir: &Path, serial: &str, password: &str) -> Output {
    admin(
        data_dir,
        &["device", "set-password", serial, "--password", password],
    )
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn failed(out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "must fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

/// Adds a third merchant, MTB000000000003, beside the demo's two.
const ADD_THIRD_MERCHANT: &[&str] = &[
    "merchant",
    "add",
    "--id",
    "MTB000000000003",
    "--name",
    "Третий",
    "--email",
    "third@merchant.test",
    "--password",
    "third-password-3",
];

fn open_store(data_dir: &Path) -> Store {
    mpos_testkit::app::in_dir(data_dir).store
}

fn fixture(name: &str) -> String {
    mpos_testkit::fixture(name).display().to_string()
}

#[test]
fn loading_the_demo_twice_provisions_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = ok(admin(dir.path(), &["load", &fixture("demo.toml")]));
    assert!(
        first.contains("2 merchant(s), 3 device(s), 4 virtual terminal(s) added"),
        "{first}"
    );
    let second = ok(admin(dir.path(), &["load", &fixture("demo.toml")]));
    assert!(
        second
            .contains("0 merchant(s), 0 device(s), 0 virtual terminal(s) added; 9 already present"),
        "{second}"
    );

    let merchants = ok(admin(dir.path(), &["merchant", "list"]));
    assert!(
        merchants.contains("MTB000000000001  demo@merchant.test    ООО «Ромашка»"),
        "{merchants}"
    );
    let terminals = ok(admin(
        dir.path(),
        &["terminal", "list", "--merchant", "MTB000000000001"],
    ));
    assert!(
        terminals.contains("10000002  MTB000000000001  installment 3 mo.  933       500000"),
        "{terminals}"
    );
    assert!(
        !terminals.contains("20000001"),
        "another merchant's terminal is not listed"
    );
}

#[test]
fn the_load_and_fleet_fixtures_have_their_devices_sharing_one_password() {
    for (file, merchant, devices, first, last, terminal) in [
        (
            "load.toml",
            "MTBLOAD00000001",
            256,
            "LOAD-0001",
            "LOAD-0256",
            "90000001",
        ),
        (
            "fleet.toml",
            "MTBFLEET0000001",
            10_000,
            "FLEET-00001",
            "FLEET-10000",
            "90000002",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        ok(admin(dir.path(), &["load", &fixture(file)]));
        let list = ok(admin(
            dir.path(),
            &["device", "list", "--merchant", merchant],
        ));
        assert_eq!(
            list.lines().count(),
            devices + 1,
            "{file}: header and devices"
        );
        assert!(list.contains(first) && list.contains(last), "{file}");
        let store = open_store(dir.path());
        let hashes = sql::count(
            &store,
            "SELECT count(DISTINCT app_password_hash) FROM devices WHERE merchant_id = ?1",
            &[&merchant],
        );
        assert_eq!(hashes, 1, "{file}: one salted hash for the file");
        let terminal = store.directory().terminal(terminal).unwrap();
        assert_eq!(
            (terminal.currency, terminal.limit_minor),
            (933, None),
            "{file}"
        );
    }
}

#[test]
fn device_commands_change_state_and_leave_an_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    ok(admin(dir.path(), &["load", &fixture("demo.toml")]));
    assert_eq!(
        ok(admin(dir.path(), &["device", "block", "MPOS-0002"])),
        "Device MPOS-0002 is now blocked.\n"
    );
    assert_eq!(
        ok(admin(dir.path(), &["device", "block", "MPOS-0002"])),
        "Device MPOS-0002 was already blocked.\n"
    );
    let list = ok(admin(dir.path(), &["device", "list"]));
    assert!(
        list.contains("MPOS-0002  MTB000000000001  blocked"),
        "{list}"
    );
    ok(admin(dir.path(), &["device", "unblock", "MPOS-0002"]));
    ok(set_app_password(dir.path(), "MPOS-0001", "new-app-pass"));
    ok(add_device(
        dir.path(),
        "MPOS-0003",
        "MTB000000000001",
        "app-pass-3",
    ));
    ok(admin(
        dir.path(),
        &[
            "terminal",
            "add",
            "--id",
            "10000004",
            "--merchant",
            "MTB000000000001",
            "--name",
            "Рассрочка 6 мес.",
            "--kind",
            "installment",
            "--months",
            "6",
        ],
    ));
    ok(admin(dir.path(), ADD_THIRD_MERCHANT));

    let store = open_store(dir.path());
    let actions: Vec<String> = store
        .read(|conn| audit::recent(conn, None, 100))
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == "operator")
        .map(|e| format!("{} {}", e.action, e.subject.unwrap_or_default()))
        .collect();
    for expected in [
        "device.blocked MPOS-0002",
        "device.unblocked MPOS-0002",
        "device.app_password_changed MPOS-0001",
        "device.added MPOS-0003",
        "terminal.added 10000004",
        "merchant.added MTB000000000003",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    let device = store.directory().device("MPOS-0001").unwrap();
    assert!(
        device
            .app_password_hash
            .starts_with("pbkdf2-sha256$600000$"),
        "only a slow salted hash is stored"
    );
}

#[test]
fn mistakes_get_one_line_saying_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    ok(admin(dir.path(), &["load", &fixture("demo.toml")]));
    assert!(
        failed(admin(dir.path(), &["device", "block", "NOPE"]))
            .contains("no device NOPE (see `mpos admin device list`)")
    );
    assert!(
        failed(add_device(
            dir.path(),
            "X-1",
            "MTB000000000009",
            "app-pass-9"
        ))
        .contains("no merchant MTB000000000009")
    );
    for (id, email, password, refusal) in [
        (
            "MTB000000000003",
            "DEMO@merchant.test",
            "long-enough-1",
            "already belongs to another merchant",
        ),
        (
            "MTB000000000001",
            "x@merchant.test",
            "long-enough-1",
            "exists already",
        ),
        ("MTB000000000004", "y@merchant.test", "short", "at least 10"),
    ] {
        let out = admin(
            dir.path(),
            &[
                "merchant",
                "add",
                "--id",
                id,
                "--name",
                "X",
                "--email",
                email,
                "--password",
                password,
            ],
        );
        assert!(failed(out).contains(refusal), "{id} {email}: {refusal}");
    }
    assert!(
        failed(admin(dir.path(), &["load", "/nonexistent.toml"]))
            .contains("cannot read /nonexistent.toml")
    );
}

#[test]
fn app_passwords_the_cabinet_refuses_are_refused_saying_why_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    ok(admin(dir.path(), &["load", &fixture("demo.toml")]));
    let too_long = "x".repeat(1000);
    for (password, rule) in [
        (
            "load-pass",
            "an app password must be at least 10 characters",
        ),
        (
            " app-pass-10",
            "an app password must not begin or end with a space",
        ),
        (
            "app-pass-10 ",
            "an app password must not begin or end with a space",
        ),
        ("пароль-пароль-1", "printable ASCII, as DE 48 carries"),
        (
            too_long.as_str(),
            "an app password must be at most 999 characters",
        ),
    ] {
        let add = failed(add_device(
            dir.path(),
            "MPOS-0009",
            "MTB000000000001",
            password,
        ));
        assert!(add.contains(rule), "{rule} for {password:?}: {add}");
        let set = failed(set_app_password(dir.path(), "MPOS-0001", password));
        assert!(set.contains(rule), "{rule} for {password:?}: {set}");
    }
    // The first line of stdin is judged by the same rule.
    let data_dir = dir.path().to_str().unwrap();
    let piped = MPOS.run(
        &[
            "admin",
            "--data-dir",
            data_dir,
            "device",
            "set-password",
            "MPOS-0001",
        ],
        b"short\n",
    );
    assert!(failed(piped).contains("at least 10 characters"));

    let list = ok(admin(dir.path(), &["device", "list"]));
    assert!(!list.contains("MPOS-0009"), "not added: {list}");
    let store = open_store(dir.path());
    let old = store.directory().device("MPOS-0001").unwrap();
    assert!(
        PasswordHash::parse(&old.app_password_hash)
            .unwrap()
            .verify("app-pass-1"),
        "the old password still works"
    );
    let audited = store.read(|conn| audit::recent(conn, None, 100)).unwrap();
    assert!(
        !audited
            .iter()
            .any(|e| e.action == "device.app_password_changed"
                || e.subject.as_deref() == Some("MPOS-0009")),
        "nothing audited: {audited:?}"
    );
    drop(store);

    // What the cabinet accepts, the CLI accepts.
    ok(add_device(
        dir.path(),
        "MPOS-0009",
        "MTB000000000001",
        "app pass 10",
    ));
    ok(set_app_password(dir.path(), "MPOS-0001", "app-pass-10"));
    let store = open_store(dir.path());
    for (serial, password) in [("MPOS-0009", "app pass 10"), ("MPOS-0001", "app-pass-10")] {
        let device = store.directory().device(serial).unwrap();
        assert!(
            PasswordHash::parse(&device.app_password_hash)
                .unwrap()
                .verify(password),
            "{serial}"
        );
    }
    for command in ["add", "set-password"] {
        let help = ok(MPOS.run(&["admin", "device", command, "--help"], b""));
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            help.contains("10 to 999 printable ASCII characters, no space at either end"),
            "the rule in {command} --help: {help}"
        );
    }
}

#[test]
fn a_fixture_breaking_the_app_password_rule_is_refused_whole_naming_file_and_device() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.toml");
    std::fs::write(
        &file,
        "[[merchants]]\nid = \"MTB000000000009\"\nname = \"N\"\nemail = \"n@merchant.test\"\npassword = \"long-enough-1\"\n\n\
         [[devices]]\nserial = \"BAD-0001\"\nmerchant = \"MTB000000000009\"\napp_password = \"load-pass\"\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let refused = failed(admin(&data, &["load", file.to_str().unwrap()]));
    let expected = format!(
        "{}: devices[0] (BAD-0001): an app password must be at least 10 characters",
        file.display()
    );
    assert!(refused.contains(&expected), "{expected} in {refused}");
    assert_eq!(
        ok(admin(&data, &["merchant", "list"])),
        "ID  E-MAIL  NAME\n(none)\n",
        "nothing from the file is stored"
    );
}

#[test]
fn the_first_use_creates_a_private_data_folder_and_pan_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    ok(admin(&data, &["merchant", "list"]));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("pan-hash.key")), 0o600);
    let key = std::fs::read_to_string(data.join("pan-hash.key")).unwrap();
    ok(admin(&data, &["merchant", "list"]));
    assert_eq!(
        std::fs::read_to_string(data.join("pan-hash.key")).unwrap(),
        key,
        "kept, not regenerated"
    );
}

/// `(day, vt, device, currency, rows, payments, sum, refunds, sum)`.
type TotalsRow = (String, String, String, i64, i64, i64, i64, i64, i64);

/// Every `daily_totals` row, or the same aggregate computed from `transactions`.
fn totals(store: &Store, direct: bool) -> Vec<TotalsRow> {
    let sql = if direct {
        "SELECT business_day, vt_id, device_serial, currency, count(*),
                CAST(sum(CASE WHEN kind = 'purchase' AND response_code = '00' AND reversed = 0
                         THEN 1 ELSE 0 END) AS BIGINT),
                CAST(sum(CASE WHEN kind = 'purchase' AND response_code = '00' AND reversed = 0
                         THEN amount_minor ELSE 0 END) AS BIGINT),
                CAST(sum(CASE WHEN kind = 'refund' AND response_code = '00' AND reversed = 0
                         THEN 1 ELSE 0 END) AS BIGINT),
                CAST(sum(CASE WHEN kind = 'refund' AND response_code = '00' AND reversed = 0
                         THEN amount_minor ELSE 0 END) AS BIGINT)
         FROM transactions WHERE mti = '0200'
         GROUP BY merchant_id, business_day, vt_id, device_serial, currency ORDER BY 1, 2, 3, 4"
    } else {
        "SELECT business_day, vt_id, device_serial, currency, rows_count, payments_count,
                payments_minor, refunds_count, refunds_minor
         FROM daily_totals ORDER BY 1, 2, 3, 4"
    };
    store
        .read(|c| {
            c.sql_for_tests().query(sql, &[], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })
        })
        .unwrap()
}

fn count(store: &Store, query: &str) -> i64 {
    sql::count(store, query, &[])
}

/// Whether `masked` is a PAN as the host stores it: the first six and the
/// last four digits, stars between.
fn is_masked_pan(masked: &str) -> bool {
    let bytes = masked.as_bytes();
    bytes.len() >= 12
        && bytes[..6].iter().all(u8::is_ascii_digit)
        && bytes[bytes.len() - 4..].iter().all(u8::is_ascii_digit)
        && bytes[6..bytes.len() - 4].iter().all(|&b| b == b'*')
}

const SEED: [&str; 8] = [
    "seed-history",
    "--merchant",
    "MTB000000000001",
    "--transactions",
    "3000",
    "--days",
    "30",
    "--seed",
];

#[test]
fn seed_history_writes_what_the_host_would_and_the_totals_follow() {
    let dir = tempfile::tempdir().unwrap();
    ok(admin(dir.path(), &["load", &fixture("demo.toml")]));
    let mut args = SEED.to_vec();
    args.push("7");
    let said = ok(admin(dir.path(), &args));
    assert!(
        said.starts_with(
            "Seeded 3000 transactions for merchant MTB000000000001 over 30 business day(s) ("
        ),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "one summary line: {said}");

    let store = open_store(dir.path());
    let check = |store: &Store, rows: i64| {
        assert_eq!(
            count(
                store,
                "SELECT count(*) FROM transactions WHERE mti = '0200' AND merchant_id = 'MTB000000000001'"
            ),
            rows
        );
        assert_eq!(
            totals(store, false),
            totals(store, true),
            "the triggers kept the totals"
        );
        let unmasked: Vec<String> = store
            .read(|c| {
                c.sql_for_tests().query(
                    "SELECT DISTINCT masked_pan FROM transactions WHERE masked_pan IS NOT NULL",
                    &[],
                    |r| r.get(0),
                )
            })
            .unwrap()
            .into_iter()
            .filter(|masked: &String| !is_masked_pan(masked))
            .collect();
        assert_eq!(unmasked, Vec::<String>::new(), "only masked card numbers");
        // The RRN is the row id in 12 digits: '000000000000' || id cut to
        // its last 12 characters.
        assert_eq!(
            count(
                store,
                "SELECT count(*) FROM transactions WHERE response_code = '00' AND mti = '0200'
                          AND (rrn IS DISTINCT FROM substr('000000000000' || CAST(id AS TEXT),
                                                           length(CAST(id AS TEXT)) + 1)
                               OR length(auth_code) != 6)"
            ),
            0,
            "approvals carry the RRN the host makes of the row id"
        );
        assert_eq!(
            count(store, "SELECT count(*) FROM transactions o WHERE o.reversed = 1 AND NOT EXISTS
                          (SELECT 1 FROM transactions r WHERE r.mti = '0400' AND r.original_id = o.id)"),
            0,
            "every reversed row has its 0400"
        );
        assert_eq!(
            count(store, "SELECT count(*) FROM transactions r JOIN transactions p ON p.id = r.original_id
                          WHERE r.kind = 'refund' AND (p.kind != 'purchase' OR p.response_code != '00'
                          OR p.reversed = 1 OR p.pan_hash IS DISTINCT FROM r.pan_hash
                          OR r.original_rrn IS DISTINCT FROM p.rrn)"),
            0,
            "refunds name a live purchase of the same card by its RRN"
        );
        assert_eq!(
            count(
                store,
                "SELECT count(*) FROM transactions p WHERE p.kind = 'purchase' AND p.amount_minor <
                          (SELECT coalesce(sum(amount_minor), 0) FROM transactions r
                           WHERE r.original_id = p.id AND r.kind = 'refund')"
            ),
            0,
            "never refunded beyond the purchase"
        );
        assert!(
            count(
                store,
                "SELECT count(*) FROM transactions WHERE mti = '0400'"
            ) > 0
        );
        assert!(
            count(
                store,
                "SELECT count(DISTINCT response_code) FROM transactions"
            ) >= 4
        );
    };
    check(&store, 3000);
    let entries = store
        .read(|c| audit::recent(c, Some("MTB000000000001"), 10))
        .unwrap();
    assert!(
        entries.iter().any(|e| e.actor == "operator"
            && e.action == "history.seeded"
            && e.detail.as_deref() == Some("3000 transaction(s) over 30 business day(s), seed 7")),
        "{entries:?}"
    );
    drop(store);

    // The same seed again: its STANs clash with the stored rows' and move on.
    ok(admin(dir.path(), &args));
    let store = open_store(dir.path());
    check(&store, 6000);
}

#[test]
fn seed_history_is_deterministic_for_a_seed() {
    let rows = |seed: &str| {
        let dir = tempfile::tempdir().unwrap();
        ok(admin(dir.path(), &["load", &fixture("demo.toml")]));
        let mut args = SEED.to_vec();
        args[4] = "500";
        args.push(seed);
        ok(admin(dir.path(), &args));
        let store = open_store(dir.path());
        store
            .read(|c| {
                c.sql_for_tests().query_one(
                    "SELECT string_agg(concat_ws(',', id, business_day, device_serial, vt_id, kind,
                         amount_minor, response_code, masked_pan, reversed, stan), ';' ORDER BY id)
                     FROM transactions",
                    &[],
                    |r| r.get::<String>(0),
                )
            })
            .unwrap()
    };
    // Today's rows fall between the day's start and now, so their times
    // are left out; everything else is the same for the same seed.
    assert_eq!(rows("11"), rows("11"));
    assert_ne!(rows("11"), rows("12"));
}

#[test]
fn seed_history_refuses_a_merchant_it_cannot_pay_for() {
    let dir = tempfile::tempdir().unwrap();
    ok(admin(dir.path(), &["load", &fixture("demo.toml")]));
    ok(admin(dir.path(), ADD_THIRD_MERCHANT));
    let seed = |merchant: &str| {
        admin(
            dir.path(),
            &[
                "seed-history",
                "--merchant",
                merchant,
                "--transactions",
                "10",
            ],
        )
    };
    let no_devices = failed(seed("MTB000000000003"));
    assert!(
        no_devices.contains(
            "merchant MTB000000000003 has no card readers: add one with `mpos admin device add --merchant MTB000000000003` first"
        ),
        "{no_devices}"
    );
    assert!(failed(seed("MTB000000000009")).contains("no merchant MTB000000000009"));
    let help = ok(MPOS
        .command()
        .args(["admin", "seed-history", "--help"])
        .output()
        .unwrap());
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for words in [
        "--transactions <N>",
        "--days <D>",
        "[default: 365]",
        "--seed <S>",
        "no full card number",
    ] {
        assert!(help.contains(words), "{words} in {help}");
    }
}

/// Python's `ssl` (OpenSSL, not ours) between a server with server.pem and a
/// client trusting ca.pem and showing a device's certificate: the chain, the
/// name 127.0.0.1 and the key pairs hold, and the server reads the
/// device's serial as the client certificate's CN.
const MUTUAL_TLS_HANDSHAKE: &str = r#"
import socket, ssl, sys, threading
folder, serial = sys.argv[1], sys.argv[2]
server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server.load_cert_chain(f"{folder}/server.pem", f"{folder}/server.key")
server.load_verify_locations(f"{folder}/ca.pem")
server.verify_mode = ssl.CERT_REQUIRED
client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
client.load_verify_locations(f"{folder}/ca.pem")
client.load_cert_chain(f"{folder}/{serial}.pem", f"{folder}/{serial}.key")
listener = socket.create_server(("127.0.0.1", 0))
seen = []
def serve():
    conn, _ = listener.accept()
    with server.wrap_socket(conn, server_side=True) as tls:
        subject = dict(x[0] for x in tls.getpeercert()["subject"])
        seen.append(subject["commonName"])
        tls.sendall(b"ok")
thread = threading.Thread(target=serve)
thread.start()
with socket.create_connection(listener.getsockname(), timeout=10) as raw:
    with client.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        assert tls.recv(2) == b"ok"
        org = dict(x[0] for x in tls.getpeercert()["subject"])["organizationName"]
thread.join(10)
print(seen[0], "|", org)
"#;

#[test]
fn demo_certificates_for_testing_only_pass_a_mutual_tls_handshake_in_python() {
    let data = tempfile::tempdir().unwrap();
    let folder = data.path().join("demo-tls");
    let folder_text = folder.to_str().unwrap();
    let out = ok(admin(
        data.path(),
        &["tls", "demo-certs", folder_text, "--device", "MPOS-0001"],
    ));
    assert!(out.contains("FOR TESTING ONLY"), "{out}");
    let handshake = std::process::Command::new(mpos_testkit::server::python())
        .args(["-c", MUTUAL_TLS_HANDSHAKE, folder_text, "MPOS-0001"])
        .output()
        .unwrap();
    assert!(
        handshake.status.success(),
        "{}",
        String::from_utf8_lossy(&handshake.stderr)
    );
    assert_eq!(
        String::from_utf8(handshake.stdout).unwrap().trim(),
        "MPOS-0001 | mpos demo - FOR TESTING ONLY"
    );
    // Never overwritten: a second run refuses, in one line, naming the file.
    let err = failed(admin(data.path(), &["tls", "demo-certs", folder_text]));
    assert!(err.contains("ca.pem exists already"), "{err}");
}

/// The PAN hash key must be the same for everything that uses one
/// database (deployment.md, section 2): the database remembers the first
/// key's fingerprint; another key is refused in one line saying what to do;
/// `[store] pan_hash_key_file` names a copy of the first host's key (never
/// created: a missing one is an error naming the setting).
#[test]
fn a_store_refuses_another_pan_hash_key_and_takes_a_copy_of_the_first() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().unwrap();
    ok(admin(data.path(), &["merchant", "list"]));
    let key_file = data.path().join("pan-hash.key");
    let first_key = std::fs::read_to_string(&key_file).unwrap();

    // Another key in the data folder: refused, before anything is served.
    std::fs::write(&key_file, format!("{}\n", "ab".repeat(32))).unwrap();
    let refused = failed(admin(data.path(), &["merchant", "list"]));
    for words in ["another PAN hash key", "pan-hash.key", "pan_hash_key_file"] {
        assert!(refused.contains(words), "{words}: {refused}");
    }
    std::fs::write(&key_file, &first_key).unwrap();
    ok(admin(data.path(), &["merchant", "list"]));

    // A key file named by the setting: never created, and a copy of the
    // first key works like the original.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("shared-pan-hash.key");
    let with_copy = |path: &Path| {
        MPOS.command()
            .args(["admin", "--data-dir"])
            .arg(data.path())
            .args(["merchant", "list"])
            .env("MPOS_STORE__PAN_HASH_KEY_FILE", path)
            .output()
            .unwrap()
    };
    let missing = failed(with_copy(&copy));
    assert!(
        missing.contains("does not exist") && missing.contains("[store] pan_hash_key_file"),
        "{missing}"
    );
    assert!(!copy.exists(), "never created");
    std::fs::write(&copy, &first_key).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
    ok(with_copy(&copy));
}
